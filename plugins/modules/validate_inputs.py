#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
---
module: validate_inputs
version_added: 1.0.0
short_description: Check a torchfleet.lab role's variables before the role changes anything
description:
  - Applies the collection's input rules to the variables of one role, on the controller (no module runs on
    the host), and fails with one line per broken rule, each naming the variable, its value (credentials
    redacted, long values cut) and what to change.
  - "Paths: absolute and normalised (no C(.), C(..), C(//) or trailing separator), no control characters, no
    longer than the OS accepts (Linux C(PATH_MAX) 4096 and C(NAME_MAX) 255, Windows C(MAX_PATH) 260); a
    directory the role creates is never C(/), a system directory (C(/usr), C(/etc), C(/opt), C(/tmp),
    C(C:\\), C(C:\\Windows), C(C:\\ProgramData), ...) or a home directory itself (C(/home/alice),
    C(/Users/alice), C(C:\\Users\\alice))."
  - "URLs: http or https (file where a local directory makes sense), parsed, without whitespace, control
    characters or characters RFC 3986 does not allow; those written into files other programs parse (the
    Debian mirror, C(torchfleet_mirror_url)) without shell syntax either. Credentials are allowed and shown as
    C(https://user:***@host/)."
  - "Versions: strings; a YAML number (C(2.10) read as C(2.1)) is refused with the advice to quote it, never
    converted; at most 64 characters."
  - "Package lists: PEP 508 requirements, never options (nothing starting with C(-)). A string where a list is
    expected is refused, never split. Numbers: whole numbers in range (ports 1-65535; retries, timeouts,
    epochs and process counts at least 1); a boolean is not a number."
  - Variables named with one of the collection's prefixes (C(pytorch_), C(miniconda_), C(gpu_driver_),
    C(trainers_), C(torchfleet_)) that no role reads are reported with the closest known name ("did you mean
    pytorch_version?"), as a warning, or as an error when C(torchfleet_strict_vars) is true.
  - Each role of the collection runs it as the first task of its C(tasks/preflight.yml).
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  role:
    description: The role whose variables are checked.
    type: str
    required: true
    choices: [gpu_driver, miniconda, pytorch_env, trainers]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [posix, windows]
    details:
      - Runs on the controller only; paths are checked by the rules of the host's OS (Windows when its facts
        say so or its connection uses PowerShell).
notes:
  - The values checked are the play's variables as given, not the copy Ansible's role argument validation
    converts, so an unquoted version is seen as the number it became.
  - The rules live in C(plugins/module_utils/_validate.py); the list of inputs each rule refuses, with the
    message, is in the collection's C(docs/bad-inputs.md).
"""

EXAMPLES = r"""
- name: Check the pytorch_env variables before anything changes
  torchfleet.lab.validate_inputs:
    role: pytorch_env

# A misspelled variable stops the play instead of being ignored.
- name: Provision with strict variable names
  hosts: gpu_hosts
  vars:
    torchfleet_strict_vars: true
  roles:
    - torchfleet.lab.pytorch_env
"""

RETURN = r"""
problems:
  description: One line per broken rule; empty when every input passed.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      pytorch_version=2.1 is a number, not a string (YAML reads an unquoted 2.10 as the number 2.1);
      quote it: pytorch_version: "...".
unknown_variables:
  description: Variables with a collection prefix that no role of the collection reads.
  returned: always
  type: list
  elements: str
  sample: [pytorch_verison]
"""
