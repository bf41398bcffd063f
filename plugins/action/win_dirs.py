# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create a role's directories on a Windows host; at system scope give what it creates a protected ACL.

The decision (which directories are missing, which one on each path is the top of what gets created) is
``plugins/module_utils/_windows_dirs.py``; this action reads the host with ``win_stat`` and carries the decision
out with ``win_file``, ``win_acl`` and ``win_acl_inheritance``, in this order for each top directory:

1. ``win_file`` creates it (with C:\\ProgramData's inherited ACL, for a moment);
2. ``win_acl`` adds Administrators and SYSTEM full control and Users read and execute as explicit entries that
   files and subfolders inherit; ``win_acl`` compares ``IsInherited`` too, so the inherited entries of the
   parent do not count as these (ansible.windows plugins/modules/win_acl.ps1, the ``$match`` loop);
3. ``win_acl_inheritance`` ``state=absent`` ``reorganize=false`` turns inheritance off and drops the inherited
   entries.  ``reorganize=true`` would copy them as explicit ones, keeping the Users create-files and
   ``CREATOR OWNER`` entries this is meant to remove.  Adding the explicit entries first means the directory
   never has an empty ACL in between;
4. ``win_file`` creates the rest of the path, which inherits the three entries.

A directory that exists is never changed.  Check mode reads only.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.torchfleet.lab.plugins.module_utils import _windows_dirs as wd
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("path", "protect"))
    _supports_check_mode = True

    def _win(self, module, args, check_mode=None):
        with _windows.check_mode_as(self._task, check_mode):
            return self._execute_module(module_name=module, module_args=args, task_vars=self._task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        self._task_vars = task_vars or {}
        try:
            paths, protect = self._arguments()
            decided = wd.plan(paths, self._existing(_probes(paths)), protect)
            result.update(created=decided["create"], protected=decided["protect"], changed=bool(decided["create"]))
            if not self._task.check_mode and decided["create"]:
                self._carry_out(decided)
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

    def _existing(self, probes):
        """The probed paths that exist, each a directory (anything else there is refused)."""
        existing = []
        for path in probes:
            # Read-only, so it also runs in check mode.
            stat = self._win("ansible.windows.win_stat", {"path": path, "get_checksum": False}, check_mode=False)
            if stat.get("failed"):
                raise _Refused(f"Could not read {path}: {stat.get('msg', '')}")
            info = stat.get("stat") or {}
            if info.get("exists") and not info.get("isdir"):
                raise _Refused(
                    f"{path} exists and is not a directory; the role leaves it alone. Move it away, or "
                    "choose another directory. Nothing was changed."
                )
            if info.get("exists"):
                existing.append(path)
        return existing

    def _carry_out(self, decided):
        """Run the steps in order; on a failure say which protected tops were left created but unprotected."""
        created = set()
        for module, args in _steps(decided):
            done = self._win(module, args)
            if done.get("failed"):
                # A top created but not protected is not "created by this run" for the next one: say so now.
                left = [top for top in decided["protect"] if wd.key(top) in created]
                raise _Refused(
                    f"{module} on {args['path']} failed: {done.get('msg', '')}. System scope needs an "
                    "administrator connection."
                    + (
                        f" {', '.join(left)} was created but not protected, and the next run leaves an existing "
                        "directory alone: remove it (it is empty unless another account wrote into it) and run again."
                        if left
                        else ""
                    )
                )
            if module == "ansible.windows.win_file":
                created.add(wd.key(args["path"]))
            elif module == "ansible.windows.win_acl_inheritance":
                created.discard(wd.key(args["path"]))


class _Refused(Exception):
    """Why the task fails; the message is the task's ``msg``."""


def _probes(paths):
    try:
        return wd.probe_paths(paths)
    except (TypeError, wd.WindowsDirsError) as exc:
        raise _Refused(f"torchfleet.lab.win_dirs: {exc}") from None


def _steps(decided):
    """The (module, args) calls that create the directories, protecting each top one first (see above)."""
    steps = []
    for top in decided["protect"]:
        steps.append(("ansible.windows.win_file", {"path": top, "state": "directory"}))
        steps.extend(
            (
                "ansible.windows.win_acl",
                {
                    "path": top,
                    "user": ace["user"],
                    "rights": ace["rights"],
                    "type": "allow",
                    "state": "present",
                    "inherit": wd.INHERIT,
                    "propagation": "None",
                },
            )
            for ace in wd.PROTECTED_ACL
        )
        steps.append(("ansible.windows.win_acl_inheritance", {"path": top, "state": "absent", "reorganize": False}))
    steps.extend(("ansible.windows.win_file", {"path": path, "state": "directory"}) for path in decided["create"])
    return steps
