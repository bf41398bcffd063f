#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pytorch_env_state
version_added: 1.1.0
short_description: Tell whether a PyTorch environment is still what the pytorch_env role installed and verified
description:
  - One look at the host that answers "is everything as asked?" for the pytorch_env role's re-runs. The role
    skips its install and verification as a block when RV(current) is true, and runs them in full otherwise.
  - The environment is current when its record (C(torchfleet-env.json), written by the last verified run)
    holds every key of O(expected) with the same value, every path of O(files) exists, each pair of
    O(same_files) has the same content, the fingerprint of its installed distributions is the recorded one, and
    no distribution is half-made (the rules of M(torchfleet.lab.env_integrity)).
  - The fingerprint is a SHA-256 over the names of every C(.dist-info) and C(.egg-info) directory in the
    environment's site-packages, every C(conda-meta/*.json) file, and the content of C(pyvenv.cfg). An install,
    upgrade or removal by pip, uv or conda changes it.
  - Reads only; never changes anything.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description: The environment (a venv, or a conda environment) on a Linux or macOS host.
    type: path
    required: true
  record:
    description: Path of the environment's record. Left out, only RV(fingerprint) is worked out.
    type: path
  expected:
    description: The keys of the record a run would write now, with their values.
    type: dict
    default: {}
  files:
    description: Paths that the role's steps leave behind and that must exist.
    type: list
    elements: path
    default: []
  same_files:
    description: Pairs C([source, copy]) of files the role copies one from the other; both must exist and be equal.
    type: list
    elements: list
    default: []
  look:
    description:
      - Paths to look for, whatever their kind. Those that do not exist are returned in RV(absent); a symbolic
        link counts as existing, as for M(ansible.builtin.stat) (which does not follow links by default).
      - The role's install steps read this instead of looking again, one task per path.
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: torchfleet.lab.env_integrity
"""

EXAMPLES = r"""
- name: Ask the host whether the environment is as asked
  torchfleet.lab.pytorch_env_state:
    prefix: /opt/torchfleet/envs/pytorch_env
    record: /opt/torchfleet/envs/pytorch_env/torchfleet-env.json
    expected:
      requested: {version: "2.13", python: "3.11", compute: auto, packages: [torch]}
      manager: uv
    files: [/opt/torchfleet/bin/uv, /opt/torchfleet/envs/pytorch_env/bin/python]
  register: __pytorch_env_state
"""

RETURN = r"""
current:
  description: Whether everything is as asked, so that the install and the verification can be skipped.
  returned: always
  type: bool
reasons:
  description: Why the environment is not current (empty when it is).
  returned: always
  type: list
  elements: str
  sample: ["the record's requested differs from what is asked now"]
fingerprint:
  description: The fingerprint of the installed distributions; empty when the prefix does not exist.
  returned: always
  type: str
record:
  description: The record's content, or null when it is missing or unreadable (or no O(record) was given).
  returned: always
  type: dict
absent:
  description: The paths of O(look) that do not exist, in their order.
  returned: always
  type: list
  elements: str
  sample: ["/opt/torchfleet/envs"]
pyvenv_cfg:
  description: The text of C(pyvenv.cfg) in O(prefix), or null when it is missing or unreadable.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_state


def main():
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "record": {"type": "path"},
            "expected": {"type": "dict", "default": {}},
            "files": {"type": "list", "elements": "path", "default": []},
            "same_files": {"type": "list", "elements": "list", "default": []},
            "look": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    for pair in params["same_files"]:
        if len(pair) != 2:
            module.fail_json(msg=f"each item of same_files is a [source, copy] pair, got {pair!r}")
    seen = {"absent": _env_state.absent(params["look"]), "pyvenv_cfg": _env_state.read_pyvenv_cfg(params["prefix"])}
    if params["record"] is None:
        found = _env_state.fingerprint(params["prefix"])
        result = {"current": False, "reasons": ["no record asked for"], "fingerprint": found, "record": None}
    else:
        result = _env_state.probe(
            params["record"],
            params["expected"],
            params["prefix"],
            files=params["files"],
            same_files=params["same_files"],
        )
    module.exit_json(changed=False, **result, **seen)


if __name__ == "__main__":
    main()
