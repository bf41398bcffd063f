#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: env_integrity
version_added: 1.0.0
short_description: Find the packages an interrupted install left half-made in a Python environment
description:
  - Reads every C(.dist-info) directory in the environment's site-packages, without running the environment's
    interpreter and without changing anything.
  - A distribution is unfinished when its C(RECORD) lists a file that is missing or whose size differs, or when
    its C(INSTALLER) file is missing or not in C(RECORD) (uv and pip write both last, after the files and the
    console scripts). Compiled files (C(__pycache__), C(.pyc)) are not checked.
  - pip and uv take any C(.dist-info) as an installed distribution, so a second install after a killed one
    reports nothing to do; RV(reinstall_args) are the uv options that make it install those again.
  - Fails, naming the directory, when an unfinished C(.dist-info) has no C(RECORD) at all; uv cannot uninstall
    such a distribution, and the module never removes anything.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description:
      - The environment (a venv, or a conda environment) on a Linux or macOS host.
      - Its C(lib/python3.*/site-packages) directories are read; a prefix that does not exist has nothing
        unfinished.
    type: path
    required: true
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
  - The rules follow the packaging specification's "Recording installed projects"
    (U(https://packaging.python.org/en/latest/specifications/recording-installed-packages/)) and the order in
    which uv installs a wheel (astral-sh/uv C(crates/uv-install-wheel/src/install.rs)).
"""

EXAMPLES = r"""
- name: Look for packages an interrupted install left half-made
  torchfleet.lab.env_integrity:
    prefix: /opt/torchfleet/envs/pytorch_env
  register: __pytorch_env_integrity

- name: Have uv install them again
  ansible.builtin.command:
    argv: "{{ ['/opt/torchfleet/bin/uv', 'pip', 'install', 'torch'] + __pytorch_env_integrity.reinstall_args }}"
  when: __pytorch_env_integrity.reinstall | length > 0
"""

RETURN = r"""
incomplete:
  description: The unfinished distributions, each with what is wrong with it.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The project name, normalised (PEP 503).
      type: str
      sample: torch
    dist_info:
      description: Path of its C(.dist-info) directory.
      type: str
    problems:
      description: What is missing or wrong.
      type: list
      elements: str
      sample: ["torch-2.13.0+cpu.dist-info/INSTALLER is missing or not in RECORD: the install did not finish"]
    repairable:
      description: Whether a C(RECORD) is there, so that uv can uninstall and install it again.
      type: bool
reinstall:
  description: Names of the unfinished distributions that a reinstall repairs.
  returned: always
  type: list
  elements: str
  sample: [torch]
reinstall_args:
  description: uv's C(--reinstall-package NAME) for each name in RV(reinstall).
  returned: always
  type: list
  elements: str
  sample: [--reinstall-package, torch]
unrepairable:
  description: C(.dist-info) directories of unfinished distributions without a C(RECORD).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_record


def main():
    module = AnsibleModule(
        argument_spec={"prefix": {"type": "path", "required": True}},
        supports_check_mode=True,
    )
    prefix = module.params["prefix"]
    result = _env_record.check_environment(prefix)
    if result["unrepairable"]:
        module.fail_json(msg=_env_record.unrepairable_message(prefix, result["unrepairable"]), changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
