#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pytorch_env_record
version_added: 1.1.0
short_description: Write a PyTorch environment's record with the fingerprint of its installed distributions
description:
  - Works out the fingerprint of the environment in O(prefix), the one M(torchfleet.lab.pytorch_env_state)
    compares on a re-run, adds it to O(content) as its C(fingerprint) key, and writes the result to O(path) as
    JSON (four-space indent, sorted keys, a final newline; what C(to_nice_json) writes).
  - One round trip for what would otherwise take two tasks (one reading the fingerprint, one copying the file).
  - Writes only when the file is missing or its text differs, into a temporary file beside O(path) that is
    renamed over it, so a reader never sees half a record. Sets O(mode) on the file.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description: The environment (a venv, or a conda environment) on a Linux or macOS host.
    type: path
    required: true
  path:
    description: Where the record goes; its directory must exist.
    type: path
    required: true
  content:
    description: The record's keys and values, without C(fingerprint).
    type: dict
    required: true
  mode:
    description: The record's mode.
    type: raw
    default: "0644"
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
  - module: torchfleet.lab.pytorch_env_state
"""

EXAMPLES = r"""
- name: Write the record
  torchfleet.lab.pytorch_env_record:
    prefix: /opt/torchfleet/envs/pytorch_env
    path: /opt/torchfleet/envs/pytorch_env/torchfleet-env.json
    content:
      requested: {version: "2.13", python: "3.11", compute: auto, packages: [torch]}
      installed: {torch: 2.13.0+cpu, python: 3.11.2, cuda: null}
"""

RETURN = r"""
fingerprint:
  description: The fingerprint written into the record; empty when the prefix does not exist.
  returned: always
  type: str
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_state


def record_text(content):
    """What ``to_nice_json`` gives for plain data (ansible-core lib/ansible/plugins/filter/core.py, to_nice_json:
    indent 4, sort_keys, separators ``,`` and ``: ``), and a newline: a record the role wrote before stays equal."""
    return json.dumps(content, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def main():
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "path": {"type": "path", "required": True},
            "content": {"type": "dict", "required": True},
            "mode": {"type": "raw", "default": "0644"},
        },
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    found = _env_state.fingerprint(params["prefix"])
    text = record_text(dict(params["content"], fingerprint=found))
    try:
        with open(path, encoding="utf-8") as handle:
            changed = handle.read() != text
    except FileNotFoundError:
        changed = True
    except (OSError, UnicodeDecodeError):  # unreadable as text: written again
        changed = True
    if changed and not module.check_mode:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            module.fail_json(msg=f"{directory} does not exist: the record goes into the environment's directory")
        handle, partial = tempfile.mkstemp(prefix=".torchfleet-env.", dir=directory)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        module.atomic_move(partial, path)
    if os.path.exists(path):
        changed = module.set_mode_if_different(path, params["mode"], changed)
    module.exit_json(changed=changed, fingerprint=found)


if __name__ == "__main__":
    main()
