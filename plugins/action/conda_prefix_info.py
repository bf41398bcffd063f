# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``torchfleet.lab.conda_prefix_info`` on any host.

The module is Python, which Ansible cannot run on a Windows host (it runs PowerShell modules there).
For a PowerShell connection this action reads the prefix through ``WindowsHost`` (plugin_utils/_windows.py:
``stat``, ``listdir``, ``find``, ``read_bytes``, and ``run`` for ``conda.exe info --json``, all read-only) and
applies the same classification as the module (``module_utils/_conda_prefix.py``). Other hosts run the module.
"""

from __future__ import annotations

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
        prefix = str(self._task.args.get("prefix") or "").replace("/", "\\")
        if not prefix:
            return {**result, "failed": True, "msg": "prefix is required"}
        if not (len(prefix) == 3 and prefix.endswith(":\\")):
            prefix = prefix.rstrip("\\")
        marker = self._task.args.get("marker") or cp.DEFAULT_MARKER
        # win_stat, win_find and slurp see the task's check mode (they support it); conda info runs for real.
        host = _windows.WindowsHost(self, task_vars, lift_check_mode=False)
        try:
            result.update(_inspect(host, prefix, marker))
        except _windows.WindowsModuleError as exc:
            verb = "read" if exc.module == _windows.WIN_STAT else "list"
            return {**result, "failed": True, "msg": f"Could not {verb} {prefix}: {exc.msg}"}
        return result


def _inspect(host, prefix, marker):
    info = host.stat(prefix, strict=True)
    exists = bool(info.get("exists"))
    if exists and not info.get("isdir"):
        return {"failed": True, "msg": f"{prefix} exists and is not a directory; choose another miniconda_prefix"}
    listing = host.listdir(prefix) if exists else []
    found = _probes(host, prefix) if listing and cp.has_conda_signs(listing, SYSTEM) else {}
    state, problems = cp.classify(prefix, listing, exists, found, SYSTEM)

    result = cp.new_result(state, problems, listing, SYSTEM)
    if state in ("complete", "interrupted"):
        result["marker"] = cp.parse_json_document(host.read_bytes(ntpath.join(prefix, "conda-meta", marker)))
        result["installer_info"] = cp.parse_json_document(host.read_bytes(ntpath.join(prefix, ".installer.info")))
    if state == "complete":
        rc, out, err = host.run([ci.executables(prefix, SYSTEM)["conda"], "info", "--json"], read_only=True)
        cp.apply_conda_info(result, rc, out, err)
    return result


def _probes(host, prefix):
    """Size of each probe path that exists, from one win_find over their directories."""
    full = {rel: ntpath.join(prefix, *rel.split("/")) for rel in cp.probe_paths(SYSTEM)}
    by_path = {path.lower(): rel for rel, path in full.items()}
    try:
        # A directory that is not there is skipped, which is what a half-made prefix has.
        entries = host.find(
            sorted({ntpath.dirname(path) for path in full.values()}),
            "file",
            patterns=sorted({ntpath.basename(path) for path in full.values()}),
        )
    except _windows.WindowsModuleError:
        entries = []  # win_find fails before it lists anything (its files stay empty)
    sizes = {}
    for entry in entries:
        rel = by_path.get(str(entry.get("path", "")).lower())
        if rel:
            sizes[rel] = int(entry.get("size") or 0)
    return sizes
