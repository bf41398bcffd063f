# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``torchfleet.lab.conda_env`` on any host.

On Linux and macOS this executes the Python module as it is.  Ansible cannot run a Python module on Windows,
so for a host whose shell is PowerShell the same logic (module_utils/_conda_env.py) runs here on the controller
and every conda and pip command goes through ``ansible.windows.win_command`` as an argument vector: the module
and the action decide the same way because they share that code.
"""

from __future__ import annotations

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows

MODULE = "torchfleet.lab.conda_env"


class ActionModule(_windows.PosixOrWindowsAction):
    MODULE = MODULE

    def run_windows(self, result, task_vars):
        _validation, params = self.validate_argument_spec(
            argument_spec=_windows.windows_options(_conda_env.ARGUMENT_SPEC),
            mutually_exclusive=_conda_env.MUTUALLY_EXCLUSIVE,
            required_one_of=_conda_env.REQUIRED_ONE_OF,
        )
        host = _windows.WindowsHost(self, task_vars)
        # win_command resolves a bare name on PATH and adds .exe.
        conda = params["conda"] or "conda"
        try:
            outcome = _conda_env.CondaEnv(params, host, conda).run()
        except _conda_env.CondaEnvError as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.msg, changed=False)
            return result
        except ValueError as exc:  # a relative prefix
            result.update(failed=True, msg=f"conda_env: {exc}", changed=False)
            return result
        result.update(outcome)
        return result
