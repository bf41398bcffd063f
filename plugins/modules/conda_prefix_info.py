#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
---
module: conda_prefix_info
version_added: 1.0.0
short_description: Tell whether a Miniconda or Miniforge prefix is a complete installation
description:
  - Inspects an installation prefix without changing it and classifies it as absent, empty, complete,
    interrupted (left half-made by an installer that did not finish) or foreign (a directory that is not
    a conda installation and must not be touched).
  - A complete prefix has C(bin/conda) and C(condabin/conda) (Windows C(Scripts\conda.exe)), a non-empty
    C(conda-meta/history), none of the installer's temporary files, and a C(conda info --json) that parses.
  - Reads the marker the C(torchfleet.lab.miniconda) role writes after a successful install
    (C(conda-meta/torchfleet-install.json)) and the constructor's C(.installer.info).
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description: The installation prefix.
    type: path
    required: true
  marker:
    description: Name of the install marker under C(conda-meta).
    type: str
    default: torchfleet-install.json
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
notes:
  - The rules follow conda/constructor's installer templates (C(header.sh)), which create C(install_tmp/)
    and the C(preconda)/C(postconda) archives while they run and remove them at the end.
"""

EXAMPLES = r"""
- name: Inspect the Miniconda prefix
  torchfleet.lab.conda_prefix_info:
    prefix: /opt/miniconda3
  register: __miniconda_prefix_state

- name: Refuse a foreign directory
  ansible.builtin.assert:
    that: __miniconda_prefix_state.state != 'foreign'
    fail_msg: "{{ __miniconda_prefix_state.problems | join('; ') }}"
"""

RETURN = r"""
state:
  description: One of C(absent), C(empty), C(complete), C(interrupted), C(foreign).
  returned: always
  type: str
  sample: complete
problems:
  description: Why the prefix is not complete.
  returned: always
  type: list
  elements: str
  sample: ["conda-meta/history is missing", "install_tmp is left over from an unfinished install"]
marker:
  description: The install marker's content, or null.
  returned: always
  type: dict
  sample: {"distribution": "miniconda", "version": "py313_25.11.1-1", "sha256": "e0b1..."}
installer_info:
  description: The constructor's C(.installer.info) content, or null.
  returned: always
  type: dict
conda_version:
  description: C(conda_version) from C(conda info --json) when the prefix is complete.
  returned: always
  type: str
  sample: 25.11.1
root_prefix:
  description: C(root_prefix) from C(conda info --json) when the prefix is complete.
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

# Left behind by constructor's .sh installer when it stops before its cleanup step.
LEFTOVERS = ("install_tmp", "preconda.tar.bz2", "postconda.tar.bz2", ".messages.txt")
# Any of these marks a directory an installer has worked in.
CONDA_SIGNS = ("conda-meta", "_conda", "_conda.exe", "condabin", "install_tmp", "preconda.tar.bz2", ".installer.info")


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def classify(prefix, listing, exists):
    """Classify a prefix from what is in it; returns (state, problems)."""
    if not exists:
        return "absent", []
    if not listing:
        return "empty", []
    if not any(name in listing for name in CONDA_SIGNS):
        return "foreign", [
            f"{prefix} exists and is not a conda installation (no conda-meta, condabin or installer files); "
            "it is left untouched: choose another miniconda_prefix or move it away"
        ]
    problems = []
    windows = "Scripts" in listing and not os.path.isdir(os.path.join(prefix, "bin"))
    conda_paths = ["Scripts/conda.exe", "condabin/conda.bat"] if windows else ["bin/conda", "condabin/conda"]
    for rel in conda_paths:
        if not os.path.exists(os.path.join(prefix, rel)):
            problems.append(f"{rel} is missing")
    history = os.path.join(prefix, "conda-meta", "history")
    if not os.path.isfile(history):
        problems.append("conda-meta/history is missing")
    elif os.path.getsize(history) == 0:
        problems.append("conda-meta/history is empty")
    for name in LEFTOVERS:
        if name in listing:
            problems.append(f"{name} is left over from an unfinished install")
    return ("interrupted" if problems else "complete"), problems


def main():
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "marker": {"type": "str", "default": "torchfleet-install.json"},
        },
        supports_check_mode=True,
    )
    prefix = module.params["prefix"]
    exists = os.path.lexists(prefix)
    if exists and not os.path.isdir(prefix):
        module.fail_json(msg=f"{prefix} exists and is not a directory; choose another miniconda_prefix")
    listing = sorted(os.listdir(prefix)) if exists else []
    state, problems = classify(prefix, listing, exists)

    result = {
        "changed": False,
        "state": state,
        "problems": problems,
        "marker": None,
        "installer_info": None,
        "conda_version": None,
        "root_prefix": None,
    }
    if state in ("complete", "interrupted"):
        result["marker"] = _read_json(os.path.join(prefix, "conda-meta", module.params["marker"]))
        result["installer_info"] = _read_json(os.path.join(prefix, ".installer.info"))
    if state == "complete":
        conda = os.path.join(prefix, "bin", "conda")
        rc, out, err = module.run_command([conda, "info", "--json"])
        info = None
        if rc == 0:
            # conda < 23.9 may print NUL-separated progress records before the document.
            chunks = [c for c in out.split("\0") if c.strip()]
            try:
                info = json.loads(chunks[-1]) if chunks else None
            except ValueError:
                info = None
        if not isinstance(info, dict):
            result["state"] = "interrupted"
            result["problems"].append(f"'conda info --json' failed (rc={rc}): {(err or out).strip()[-300:]}")
        else:
            result["conda_version"] = info.get("conda_version")
            result["root_prefix"] = info.get("root_prefix")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
