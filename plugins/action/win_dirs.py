# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create a role's directories on a Windows host; at system scope give what it creates a protected ACL.

The decision (which directories are missing, which one on each path is the top of what gets created) is
``plugins/module_utils/_windows_dirs.py``; this action reaches the host only through ``WindowsHost``
(plugin_utils/_windows.py): it reads with ``stat`` (``win_stat``) and carries the decision out with ``make_dir``
(``win_file``), ``grant`` (``win_acl``) and ``protect_acl`` (``win_acl_inheritance``), in this order for each top
directory:

1. ``win_file`` creates it (with C:\\ProgramData's inherited ACL, for a moment);
2. ``win_acl`` adds Administrators and SYSTEM full control and Users read and execute as explicit entries that
   files and subfolders inherit; ``win_acl`` compares ``IsInherited`` too, so the inherited entries of the
   parent do not count as these (ansible.windows plugins/modules/win_acl.ps1, the ``$match`` loop);
3. ``win_acl_inheritance`` ``state=absent`` ``reorganize=false`` turns inheritance off and drops the inherited
   entries.  ``reorganize=true`` would copy them as explicit ones, keeping the Users create-files and
   ``CREATOR OWNER`` entries this is meant to remove.  Adding the explicit entries first means the directory
   never has an empty ACL in between;
4. ``win_file`` creates the rest of the path, which inherits the three entries.

A directory that exists is never changed.  Check mode reads only.  The action is Windows-only and changes the
host, so it is an ``ActionBase`` (no Python module to run elsewhere) and fails on any other connection.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.torchfleet.lab.plugins.module_utils import _windows_dirs as wd
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("path", "protect"))
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        try:
            paths, protect = self._arguments()
            probes = _probes(paths)
            # Read-only probes run with check mode lifted; the changing calls are made only outside check mode.
            host = _windows.WindowsHost(self, task_vars or {})
            decided = wd.plan(paths, _existing(host, probes), protect)
            result.update(created=decided["create"], protected=decided["protect"], changed=bool(decided["create"]))
            if not host.check_mode and decided["create"]:
                _carry_out(host, decided)
        except _Refused as exc:
            return {**result, "failed": True, "msg": str(exc)}
        return result

    def _arguments(self):
        """``path`` as a non-empty list and ``protect`` as a boolean."""
        if not _windows.is_powershell(self._connection):
            raise _Refused("torchfleet.lab.win_dirs is for Windows hosts; use ansible.builtin.file elsewhere.")
        paths = self._task.args.get("path")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, (list, tuple)) or not paths:
            raise _Refused(f"path must be a directory or a list of them, not {paths!r}.")
        try:
            return paths, boolean(self._task.args.get("protect", True), strict=True)
        except TypeError as exc:
            raise _Refused(f"torchfleet.lab.win_dirs: {exc}") from None


class _Refused(Exception):
    """Why the task fails; the message is the task's ``msg``."""


def _probes(paths):
    try:
        return wd.probe_paths(paths)
    except (TypeError, wd.WindowsDirsError) as exc:
        raise _Refused(f"torchfleet.lab.win_dirs: {exc}") from None


def _existing(host, probes):
    """The probed paths that exist, each a directory (anything else there is refused)."""
    existing = []
    for path in probes:
        try:
            info = host.stat(path, strict=True)
        except _windows.WindowsModuleError as exc:
            raise _Refused(f"Could not read {path}: {exc.msg}") from None
        if info.get("exists") and not info.get("isdir"):
            raise _Refused(
                f"{path} exists and is not a directory; the role leaves it alone. Move it away, or "
                "choose another directory. Nothing was changed."
            )
        if info.get("exists"):
            existing.append(path)
    return existing


def _carry_out(host, decided):
    """Run the steps in order; on a failure say which protected tops were left created but unprotected."""
    created = set()
    for name, path, kwargs in _steps(decided):
        try:
            getattr(host, name)(path, **kwargs)
        except _windows.WindowsModuleError as exc:
            # A top created but not protected is not "created by this run" for the next one: say so now.
            left = [top for top in decided["protect"] if wd.key(top) in created]
            raise _Refused(
                f"{exc}. System scope needs an administrator connection."
                + (
                    f" {', '.join(left)} was created but not protected, and the next run leaves an existing "
                    "directory alone: remove it (it is empty unless another account wrote into it) and run again."
                    if left
                    else ""
                )
            ) from None
        if name == "make_dir":
            created.add(wd.key(path))
        elif name == "protect_acl":
            created.discard(wd.key(path))


def _steps(decided):
    """The ``WindowsHost`` calls (method, path, options) that create the directories, each top one protected
    first (see above)."""
    steps = []
    for top in decided["protect"]:
        steps.append(("make_dir", top, {}))
        steps.extend(
            ("grant", top, {"user": ace["user"], "rights": ace["rights"], "inherit": wd.INHERIT, "propagation": "None"})
            for ace in wd.PROTECTED_ACL
        )
        steps.append(("protect_acl", top, {}))
    steps.extend(("make_dir", path, {}) for path in decided["create"])
    return steps
