# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``torchfleet.lab.torch_info`` on any host.

On Linux and macOS this executes the Python module as it is.  On a host whose shell is PowerShell, where Ansible
cannot run a Python module, it runs the module's program (module_utils/_torch_info.py) with the environment's
``python.exe`` through ``ansible.windows.win_command`` and reads the report here.  The probe is read-only, so it
also runs in check mode.
"""

from __future__ import annotations

from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_info
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows

MODULE = "torchfleet.lab.torch_info"


class ActionModule(_windows.PosixOrWindowsAction):
    MODULE = MODULE

    def run_windows(self, result, task_vars):
        _validation, params = self.validate_argument_spec(
            argument_spec=_windows.windows_options(_torch_info.ARGUMENT_SPEC)
        )
        python = params["python"]
        device = params["device"]
        host = _windows.WindowsHost(self, task_vars)
        try:
            cmd = _torch_info.command(python, device, _torch_info.check_size(params["matmul_size"]))
            rc, out, err = host.run(cmd, read_only=True)
            report, warnings = _torch_info.evaluate(python, device, rc, out, err)
        except _torch_info.TorchInfoError as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.msg, changed=False)
            return result
        result.update(report)
        result["changed"] = False
        if warnings:
            result["warnings"] = warnings
        return result
