# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers for action plugins that carry out a Python module's decisions on a Windows host.

Ansible runs only PowerShell modules on Windows.  The conda_env, gpu_facts and torch_info actions keep their logic in
module_utils (shared with the POSIX modules) and run each command with ``ansible.windows.win_command`` as an
argument vector, which win_command escapes with the C runtime's rules: no shell, no ``conda activate``, no
PowerShell execution policy involved.
"""

from __future__ import annotations

import contextlib
import ntpath

from ansible.plugins.action import ActionBase

WIN_COMMAND = "ansible.windows.win_command"
WIN_STAT = "ansible.windows.win_stat"


def is_powershell(connection):
    return getattr(getattr(connection, "_shell", None), "SHELL_FAMILY", "") == "powershell"


@contextlib.contextmanager
def check_mode_as(task, check_mode):
    """Run the calls inside with the task's check mode set to ``check_mode`` (None keeps it).

    win_command does not support check mode and would skip, so a read-only probe lifts check mode for its call:
    the task's flag is what ``_execute_module`` hands to the module.
    """
    saved = task.check_mode
    if check_mode is not None:
        task.check_mode = check_mode
    try:
        yield
    finally:
        task.check_mode = saved


class PosixOrWindowsAction(ActionBase):
    """An action that runs the Python module ``MODULE`` on Linux and macOS, and ``run_windows`` on PowerShell hosts.

    Subclasses keep the module's decisions in module_utils and carry them out on Windows with built-in Windows
    modules, since Ansible cannot run a Python module there.
    """

    MODULE = ""
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        task_vars = task_vars or {}
        if not is_powershell(self._connection):
            result.update(
                self._execute_module(module_name=self.MODULE, module_args=dict(self._task.args), task_vars=task_vars)
            )
            return result
        return self.run_windows(result, task_vars)

    def run_windows(self, result, task_vars):
        raise NotImplementedError


def windows_options(argument_spec):
    """The module's spec for validation on the controller, with ``path`` options read as plain strings.

    ``type: path`` would expand ``~`` and ``$VAR`` with the controller's environment, which means nothing on the
    Windows host.
    """
    spec = {}
    for name, option in argument_spec.items():
        spec[name] = dict(option, type="str") if option.get("type") == "path" else dict(option)
    return spec


class WindowsHost:
    """The managed Windows host as the shared module logic sees it (see module_utils/_conda_env.py)."""

    system = "Windows"

    def __init__(self, action, task_vars):
        self._action = action
        self._task_vars = task_vars
        self.check_mode = bool(action._task.check_mode)
        self.commands = []

    def _module(self, name, args):
        with check_mode_as(self._action._task, False):
            return self._action._execute_module(module_name=name, module_args=args, task_vars=self._task_vars)

    def run(self, argv, read_only=True, not_started_rc=None):
        """Run ``argv`` and return ``(rc, stdout, stderr)``; a command that cannot start gives rc != 0 and why.

        ``not_started_rc``: the rc to give for a command that cannot start, where the caller must tell that apart
        from the program's own exit status (win_command gives the Windows error code, or 2).
        """
        if self.check_mode and not read_only:
            raise RuntimeError(f"refusing to run a changing command in check mode: {argv!r}")
        argv = [str(a) for a in argv]
        self.commands.append(argv)
        result = self._module(WIN_COMMAND, {"argv": argv})
        rc = result.get("rc")
        stdout = result.get("stdout") or ""
        stderr = result.get("stderr") or ""
        if rc is None or (result.get("failed") and "stdout" not in result):
            # win_command failed before the process ran (executable missing, access denied): its msg says why.
            rc = rc if rc not in (None, 0) else 2
            if not_started_rc is not None:
                rc = not_started_rc
            stderr = stderr or str(result.get("msg") or "win_command failed")
        return int(rc), stdout, stderr

    def stat(self, path):
        result = self._module(WIN_STAT, {"path": path, "get_checksum": False})
        if result.get("failed"):
            return {"exists": False}
        return result.get("stat") or {"exists": False}

    def is_file(self, path):
        stat = self.stat(path)
        return bool(stat.get("exists")) and not stat.get("isdir")

    def usable_dir(self, directory):
        # conda lists envs_dirs with the writable one first (an unwritable root moves ROOT\envs behind the user's
        # directory), so an existing or creatable directory is taken as conda would take it.
        stat = self.stat(directory)
        return bool(stat.get("isdir")) or not stat.get("exists")

    @staticmethod
    def abspath(path):
        text = str(path).replace("/", "\\")
        if not ntpath.isabs(text) or not (text[1:2] == ":" or text.startswith("\\\\")):
            raise ValueError(f"{path!r} is not an absolute Windows path (such as C:\\envs\\lab)")
        return ntpath.normpath(text)
