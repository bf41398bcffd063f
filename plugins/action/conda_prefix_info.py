# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``torchfleet.lab.conda_prefix_info`` on any host.

The module is Python, which Ansible cannot run on a Windows host (it runs PowerShell modules there).
For a PowerShell connection this action reads the prefix with read-only built-in Windows modules
(``win_stat``, ``win_find``, ``slurp``, and ``win_command`` for ``conda.exe info --json``) and applies
the same classification as the module (``module_utils/_conda_prefix.py``). Other hosts run the module.
"""

from __future__ import annotations

import base64
import ntpath

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_prefix as cp
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows

MODULE = "torchfleet.lab.conda_prefix_info"
SYSTEM = "Windows"


class ActionModule(_windows.PosixOrWindowsAction):
    MODULE = MODULE
    _VALID_ARGS = frozenset(("prefix", "marker"))

    def run_windows(self, result, task_vars):
        self._task_vars = task_vars
        prefix = str(self._task.args.get("prefix") or "").replace("/", "\\")
        if not prefix:
            return {**result, "failed": True, "msg": "prefix is required"}
        if not (len(prefix) == 3 and prefix.endswith(":\\")):
            prefix = prefix.rstrip("\\")
        marker = self._task.args.get("marker") or cp.DEFAULT_MARKER
        result.update(self._inspect_windows(prefix, marker))
        return result

    # ------------------------------------------------------------------------------------------ Windows
    def _win(self, module, args, check_mode=None):
        """Run a built-in Windows module; ``check_mode=False`` runs a read-only probe in check mode too."""
        with _windows.check_mode_as(self._task, check_mode):
            return self._execute_module(module_name=module, module_args=args, task_vars=self._task_vars)

    def _listing(self, prefix):
        names = []
        # One call per type: file_type=any needs ansible.windows 3.2, the collection supports 2.0.
        for file_type in ("directory", "file"):
            found = self._win(
                "ansible.windows.win_find",
                {"paths": [prefix], "file_type": file_type, "hidden": True, "get_checksum": False},
            )
            if found.get("failed"):
                return None, found
            names.extend(str(f.get("filename")) for f in found.get("files") or [])
        return sorted(names), None

    def _probes(self, prefix):
        """Size of each probe path that exists, from one win_find over their directories."""
        full = {rel: ntpath.join(prefix, *rel.split("/")) for rel in cp.probe_paths(SYSTEM)}
        by_path = {path.lower(): rel for rel, path in full.items()}
        found = self._win(
            "ansible.windows.win_find",
            {
                # A directory that is not there is skipped with a warning, which is what a half-made prefix has.
                "paths": sorted({ntpath.dirname(path) for path in full.values()}),
                "patterns": sorted({ntpath.basename(path) for path in full.values()}),
                "file_type": "file",
                "hidden": True,
                "get_checksum": False,
            },
        )
        sizes = {}
        for entry in found.get("files") or []:
            rel = by_path.get(str(entry.get("path", "")).lower())
            if rel:
                sizes[rel] = int(entry.get("size") or 0)
        return sizes

    def _slurp_json(self, path):
        got = self._win("ansible.windows.slurp", {"src": path})
        if got.get("failed") or "content" not in got:
            return None
        try:
            return cp.parse_json_document(base64.b64decode(got["content"]))
        except ValueError:
            return None

    def _inspect_windows(self, prefix, marker):
        stat = self._win("ansible.windows.win_stat", {"path": prefix, "get_checksum": False})
        if stat.get("failed"):
            return {"failed": True, "msg": f"Could not read {prefix}: {stat.get('msg', '')}"}
        info = stat.get("stat") or {}
        exists = bool(info.get("exists"))
        if exists and not info.get("isdir"):
            return {"failed": True, "msg": f"{prefix} exists and is not a directory; choose another miniconda_prefix"}
        listing = []
        if exists:
            listing, failure = self._listing(prefix)
            if failure is not None:
                return {"failed": True, "msg": f"Could not list {prefix}: {failure.get('msg', '')}"}
        found = self._probes(prefix) if listing and cp.has_conda_signs(listing, SYSTEM) else {}
        state, problems = cp.classify(prefix, listing, exists, found, SYSTEM)

        result = cp.new_result(state, problems, listing, SYSTEM)
        if state in ("complete", "interrupted"):
            result["marker"] = self._slurp_json(ntpath.join(prefix, "conda-meta", marker))
            result["installer_info"] = self._slurp_json(ntpath.join(prefix, ".installer.info"))
        if state == "complete":
            conda = ci.executables(prefix, SYSTEM)["conda"]
            # Read-only, so it runs in check mode too (win_command would skip itself there).
            ran = self._win("ansible.windows.win_command", {"argv": [conda, "info", "--json"]}, check_mode=False)
            cp.apply_conda_info(result, ran.get("rc"), ran.get("stdout"), ran.get("stderr") or ran.get("msg"))
        return result
