# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``torchfleet.lab.gpu_facts`` on any host.

On Linux and macOS this executes the Python module as it is.  On a host whose shell is PowerShell, where Ansible
cannot run a Python module, it runs read-only commands through ``ansible.windows.win_command`` (one
``powershell.exe`` probe of CIM, nvidia-smi.exe's location and Secure Boot, then nvidia-smi.exe itself) and
module_utils/_gpu.py (``windows_facts``) makes the same fact from their output.  The probe changes nothing, so it
also runs in check mode.
"""

from __future__ import annotations

from ansible_collections.torchfleet.lab.plugins.module_utils import _gpu
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows

MODULE = "torchfleet.lab.gpu_facts"
# An executable that cannot start counts as rc 255, never as an exit status nvidia-smi gives a meaning to
# (2 would ask for the legacy query).
NOT_STARTED_RC = 255


class ActionModule(_windows.PosixOrWindowsAction):
    MODULE = MODULE

    def run_windows(self, result, task_vars):
        # sysfs_root (Linux only) is in the spec, so a play that sets it for a mixed fleet still runs here; it is
        # ignored.
        _validation, params = self.validate_argument_spec(argument_spec=_windows.windows_options(_gpu.ARGUMENT_SPEC))
        host = _windows.WindowsHost(self, task_vars)

        def run(argv):
            return host.run(argv, read_only=True, not_started_rc=NOT_STARTED_RC)

        try:
            facts = _gpu.windows_facts(run, params["nvidia_smi"])
        except _gpu.WindowsProbeError as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.msg, changed=False)
            return result
        result["changed"] = False
        result["ansible_facts"] = {"torchfleet_gpu": facts}
        if facts["warnings"]:
            result["warnings"] = list(facts["warnings"])
        return result
