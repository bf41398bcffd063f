#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_env
short_description: Manage a conda environment and the pip requirements inside it
version_added: 1.0.0
description:
  - Creates or removes a conda environment, installs missing conda packages into it, and installs pip requirements
    with the environment's own Python.
  - State is read from C(conda env list --json) and C(conda list --json); nothing is installed when the requested
    conda specs and pip requirements are already satisfied, so the module is idempotent.
  - Pip requirements the module cannot judge (URLs, markers, paths) are handed to pip; the task then reports a change
    only when pip says it installed something.
  - Anaconda's channel terms are never accepted by this module. When conda refuses with
    C(CondaToSNonInteractiveError) the failure names the role variable that accepts them.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  name:
    description:
      - Name of the environment, resolved by conda against its C(envs_dirs).
      - Mutually exclusive with O(prefix); one of the two is required.
    type: str
  prefix:
    description:
      - Full path of the environment.
      - Mutually exclusive with O(name); one of the two is required.
    type: path
  state:
    description:
      - V(present) creates the environment and installs what is missing; V(absent) removes the whole environment.
    type: str
    choices: [present, absent]
    default: present
  conda:
    description:
      - Path of the conda executable. By default C(conda) is looked up on E(PATH).
    type: path
  python:
    description:
      - Python version of the environment, for example V(3.11). On creation it becomes the spec C(python=3.11).
      - When an existing environment has a different Python version it is removed and created again.
    type: str
  packages:
    description:
      - Conda package specs, for example V(numpy>=1.26) or V(pip).
      - C(pip) is added automatically when O(pip_requirements) is given.
    type: list
    elements: str
    default: []
  channels:
    description:
      - Channels passed to conda with C(-c), in order.
    type: list
    elements: str
    default: []
  override_channels:
    description:
      - Pass C(--override-channels) so that only O(channels) are searched, not those of C(.condarc).
    type: bool
    default: false
  pip_requirements:
    description:
      - Pip requirement strings installed with the environment's Python, for example V(torch==2.13.0).
    type: list
    elements: str
    default: []
  pip_index_url:
    description:
      - Base URL of the Python package index (C(pip --index-url)).
      - pip runs isolated from the host's pip configuration (C(--isolated), C(PIP_CONFIG_FILE) set to the null
        device), so the indexes given here are the only ones it uses.
    type: str
  pip_build_index_url:
    description:
      - Index that alone serves O(pip_requirements) themselves, for example V(https://download.pytorch.org/whl/cu128).
      - They are installed from it first with C(--no-deps); their dependencies then come from O(pip_index_url),
        with this index as an extra one. pip searches every index for every name, so a higher version on the
        general index could otherwise replace them (dependency confusion).
    type: str
  pip_reinstall:
    description:
      - Install O(pip_requirements) again even where they are met, replacing them (C(--force-reinstall --no-deps)
        from O(pip_build_index_url), then their dependencies as usual).
      - For a torch of another build whose version still meets the requirement (PEP 440 ignores the installed
        local label when the requirement has none).
    type: bool
    default: false
  pip_extra_index_urls:
    description:
      - Extra package indexes (C(pip --extra-index-url)), in order.
    type: list
    elements: str
    default: []
  pip_trusted_hosts:
    description:
      - Hosts pip trusts without valid HTTPS (C(pip --trusted-host)).
      - B(Unsafe.) pip then accepts plain http and any certificate from these hosts, so anyone on the network
        path can serve packages that run as the environment's owner
        (U(https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-trusted-host)). Prefer an https index
        whose CA the host trusts; use this only for a host on a network you control, and pin the packages
        by hash.
    type: list
    elements: str
    default: []
  pip_extra_args:
    description:
      - Further arguments passed to C(pip install) before the requirements.
    type: list
    elements: str
    default: []
  force_recreate:
    description:
      - Remove and create the environment even when it exists.
      - The task then always reports a change.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details:
      - On hosts whose shell is PowerShell the action plugin makes the module's decisions on the controller and
        runs each conda and pip command with M(ansible.windows.win_command), as an argument vector.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Read-only probes (C(conda env list), C(conda info), C(conda list), C(pip install --dry-run)) still run.
  diff_mode:
    support: full
  platform:
    support: full
    platforms: linux, darwin, windows
notes:
  - Conda is always run with C(--json) and C(-y), and called by its path; nothing relies on C(conda activate), shell
    hooks or the PowerShell execution policy.
  - The environment's interpreter is C(PREFIX/bin/python) (C(PREFIX\python.exe) on Windows).
  - On Windows give absolute paths, such as C(C:\ProgramData\miniconda3\Scripts\conda.exe); C(~) and
    environment variables are not expanded there.
  - A URL with a user or a password in O(pip_index_url), O(pip_build_index_url), O(pip_extra_index_urls),
    O(pip_extra_args) or O(channels) is refused before anything runs, because every local user can read a
    command line. Give pip's credentials in a netrc file named by C(NETRC) in the task's C(environment) (pip
    reads it even with C(--isolated)), and a channel's in the C(.condarc).
seealso:
  - module: torchfleet.lab.torch_info
"""

EXAMPLES = r"""
- name: Create the PyTorch environment with the CPU build of torch
  torchfleet.lab.conda_env:
    name: torch
    conda: /opt/miniforge3/bin/conda
    python: "3.11"
    pip_requirements:
      - torch==2.13.0
    pip_index_url: https://download.pytorch.org/whl/cpu

- name: Create an environment at a fixed path from conda-forge only
  torchfleet.lab.conda_env:
    prefix: /opt/envs/lab
    python: "3.12"
    packages:
      - numpy>=1.26
    channels:
      - conda-forge
    override_channels: true

- name: Remove an environment
  torchfleet.lab.conda_env:
    name: scratch
    state: absent
"""

RETURN = r"""
prefix:
  description: Full path of the environment.
  returned: always
  type: str
  sample: /opt/miniforge3/envs/torch
python:
  description: Path of the environment's Python interpreter.
  returned: always
  type: str
  sample: /opt/miniforge3/envs/torch/bin/python
packages:
  description:
    - Installed packages after the run, normalised name to version, from C(conda list --json).
    - In check mode, the packages found before the run.
  returned: always
  type: dict
  sample: {"python": "3.11.9", "pip": "24.2", "torch": "2.13.0+cpu"}
created:
  description: Whether the environment was created (or, in check mode, would be).
  returned: always
  type: bool
  sample: true
installed:
  description:
    - What was installed, as C(name-version) from conda's LINK actions and pip's C(Successfully installed) line.
    - In check mode, the specs and requirements that would be installed.
  returned: always
  type: list
  elements: str
  sample: ["python-3.11.9", "pip-24.2", "torch-2.13.0+cpu"]
exception_name:
  description: Conda's exception name when conda failed.
  returned: failure
  type: str
  sample: CondaToSNonInteractiveError
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env


class ModuleHost:
    """The managed host as the shared logic sees it, when the module runs there (Linux, macOS)."""

    def __init__(self, module):
        self.module = module
        self.system = platform.system()
        self.check_mode = module.check_mode

    def run(self, argv, read_only=True):
        return self.module.run_command(argv)

    @staticmethod
    def is_file(path):
        return os.path.isfile(path)

    @staticmethod
    def usable_dir(directory):
        if os.access(directory, os.W_OK):
            return True
        probe = directory
        while probe and not os.path.exists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                return False
            probe = parent
        return probe != directory and os.access(probe, os.W_OK)

    @staticmethod
    def abspath(path):
        return os.path.abspath(path)


def main():
    module = AnsibleModule(
        argument_spec=_conda_env.ARGUMENT_SPEC,
        mutually_exclusive=_conda_env.MUTUALLY_EXCLUSIVE,
        required_one_of=_conda_env.REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    conda = module.params["conda"] or module.get_bin_path("conda", required=True)
    try:
        result = _conda_env.CondaEnv(module.params, ModuleHost(module), conda).run()
    except _conda_env.CondaEnvError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
