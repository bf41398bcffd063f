# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the right implementation of ``torchfleet.lab.gpu_facts`` for the target's shell.

The module has a Python implementation (Linux, macOS) and a PowerShell one (Windows).
They cannot share the name ``gpu_facts``: for a POSIX target Ansible asks the module
loader for any extension and takes the first match in sorted order, and
``gpu_facts.ps1`` sorts before ``gpu_facts.py``.  So the PowerShell module is
``win_gpu_facts`` and this action picks it when the connection's shell is PowerShell.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

POSIX_MODULE = "torchfleet.lab.gpu_facts"
WINDOWS_MODULE = "torchfleet.lab.win_gpu_facts"
# Options that only the Linux implementation has; dropped for Windows targets so a
# play that sets them for a mixed fleet still runs there.
POSIX_ONLY_OPTIONS = ("sysfs_root",)


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5

        module_args = dict(self._task.args)
        if getattr(self._connection._shell, "SHELL_FAMILY", "") == "powershell":
            module_name = WINDOWS_MODULE
            for option in POSIX_ONLY_OPTIONS:
                module_args.pop(option, None)
        else:
            module_name = POSIX_MODULE

        result.update(self._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars))
        return result
