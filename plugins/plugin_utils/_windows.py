# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers for action plugins that carry out a Python module's decisions on a Windows host.

Ansible runs only PowerShell modules on Windows.  The conda_env, conda_prefix_info, gpu_facts, torch_info and
win_dirs actions keep their logic in module_utils and reach the host only through :class:`WindowsHost`, which
calls built-in ``ansible.windows`` modules.  Commands run with ``ansible.windows.win_command`` as an argument
vector, which win_command escapes with the C runtime's rules: no shell, no ``conda activate``, no PowerShell
execution policy involved.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ntpath

from ansible.plugins.action import ActionBase

# Each module's options and results: https://docs.ansible.com/ansible/latest/collections/ansible/windows/
WIN_COMMAND = "ansible.windows.win_command"
WIN_STAT = "ansible.windows.win_stat"
WIN_FIND = "ansible.windows.win_find"
SLURP = "ansible.windows.slurp"
WIN_FILE = "ansible.windows.win_file"
WIN_ACL = "ansible.windows.win_acl"
WIN_ACL_INHERITANCE = "ansible.windows.win_acl_inheritance"


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


class WindowsModuleError(Exception):
    """A built-in Windows module failed; ``msg`` is its own message (``""`` when it gave none)."""

    def __init__(self, module, path, msg):
        super().__init__(f"{module} on {path} failed: {msg}")
        self.module = module
        self.path = path
        self.msg = msg


class WindowsHost:
    """The managed Windows host as the shared module logic sees it (see module_utils/_conda_env.py).

    Every call goes through a built-in ``ansible.windows`` module.  Read-only calls also run in check mode: a
    command through win_command (which would skip itself there) always with check mode lifted, and the other
    probes too unless ``lift_check_mode`` is false, when they get the task's check mode (win_stat, win_find and
    slurp support it and read the same either way).  A changing call (``run`` with ``read_only=False``,
    ``make_dir``, ``grant``, ``protect_acl``) is refused in check mode.
    """

    system = "Windows"

    def __init__(self, action, task_vars, lift_check_mode=True):
        self._action = action
        self._task_vars = task_vars
        self._lift = lift_check_mode
        self.check_mode = bool(action._task.check_mode)
        self.commands = []

    def _module(self, name, args, lift=True):
        with check_mode_as(self._action._task, False if lift else None):
            return self._action._execute_module(module_name=name, module_args=args, task_vars=self._task_vars)

    def _probe(self, name, args):
        return self._module(name, args, lift=self._lift)

    def _change(self, name, args):
        """Run a changing module with the task's check mode; returns whether it changed anything."""
        if self.check_mode:
            raise RuntimeError(f"refusing to run {name} in check mode: {args!r}")
        result = self._module(name, args, lift=False)
        if result.get("failed"):
            raise WindowsModuleError(name, args["path"], result.get("msg", ""))
        return bool(result.get("changed"))

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

    def stat(self, path, strict=False):
        """win_stat's ``stat`` (``exists``, ``isdir``, ...); a failed win_stat reads as absent unless ``strict``,
        when it raises :class:`WindowsModuleError`."""
        result = self._probe(WIN_STAT, {"path": path, "get_checksum": False})
        if result.get("failed"):
            if strict:
                raise WindowsModuleError(WIN_STAT, path, result.get("msg", ""))
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

    def find(self, paths, file_type, patterns=None):
        """win_find's ``files`` (each with ``filename``, ``path``, ``size``, ...) directly in ``paths``, hidden
        ones included; raises :class:`WindowsModuleError` when win_find fails.

        ``file_type`` is ``file`` or ``directory`` (``any`` needs ansible.windows 3.2; the collection supports
        2.0).  ``patterns`` are PowerShell wildcards on the name.  A path that is not a directory is skipped with
        a warning, not failed (win_find options ``paths``, ``file_type``, ``patterns``, ``hidden``,
        ``get_checksum``: https://docs.ansible.com/ansible/latest/collections/ansible/windows/win_find_module.html).
        """
        args = {"paths": list(paths), "file_type": file_type, "hidden": True, "get_checksum": False}
        if patterns:
            args["patterns"] = list(patterns)
        result = self._probe(WIN_FIND, args)
        if result.get("failed"):
            raise WindowsModuleError(WIN_FIND, ", ".join(args["paths"]), result.get("msg", ""))
        return list(result.get("files") or [])

    def listdir(self, path):
        """The sorted names of the directories and files directly under ``path``, hidden ones included."""
        names = []
        for file_type in ("directory", "file"):
            names.extend(str(entry.get("filename")) for entry in self.find([path], file_type))
        return sorted(names)

    def read_bytes(self, path):
        """The file's content, or None when slurp cannot read it (missing, a directory, denied).

        slurp returns the content base64-encoded in ``content``
        (https://docs.ansible.com/ansible/latest/collections/ansible/windows/slurp_module.html).
        """
        result = self._probe(SLURP, {"src": path})
        if result.get("failed") or "content" not in result:
            return None
        try:
            return base64.b64decode(result["content"])
        except (binascii.Error, ValueError):
            return None

    def make_dir(self, path):
        """Create ``path`` and its missing parents (win_file ``state=directory``,
        https://docs.ansible.com/ansible/latest/collections/ansible/windows/win_file_module.html)."""
        return self._change(WIN_FILE, {"path": path, "state": "directory"})

    def grant(self, path, user, rights, inherit, propagation="None"):
        """Add an explicit allow entry for ``user`` (win_acl ``type=allow`` ``state=present``; ``rights``,
        ``inherit`` and ``propagation`` as win_acl takes them,
        https://docs.ansible.com/ansible/latest/collections/ansible/windows/win_acl_module.html)."""
        return self._change(
            WIN_ACL,
            {
                "path": path,
                "user": user,
                "rights": rights,
                "type": "allow",
                "state": "present",
                "inherit": inherit,
                "propagation": propagation,
            },
        )

    def protect_acl(self, path):
        """Turn inheritance off and drop the inherited entries (win_acl_inheritance ``state=absent``
        ``reorganize=false``; ``true`` would keep them as explicit ones,
        https://docs.ansible.com/ansible/latest/collections/ansible/windows/win_acl_inheritance_module.html)."""
        return self._change(WIN_ACL_INHERITANCE, {"path": path, "state": "absent", "reorganize": False})

    @staticmethod
    def abspath(path):
        text = str(path).replace("/", "\\")
        if not ntpath.isabs(text) or not (text[1:2] == ":" or text.startswith("\\\\")):
            raise ValueError(f"{path!r} is not an absolute Windows path (such as C:\\envs\\lab)")
        return ntpath.normpath(text)
