# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a Miniconda/Miniforge prefix a complete installation, and what does the miniconda role do with it?

Private to torchfleet.lab. Plain standard library, Python 3.8 syntax: the ``conda_prefix_info`` module
imports it on Linux and macOS hosts (reading the prefix with ``os``), its action plugin on the controller
for Windows hosts (reading the prefix through ``win_stat``/``win_find``/``slurp``), and the
``conda_prefix_plan`` filter. One set of rules for every OS.

Sources (shared reference conda.md section 1.2, conda/constructor ``header.sh`` and ``nsis/main.nsi.tmpl``):

- ``.sh`` (Linux, macOS): writes ``_conda``, extracts ``preconda.tar.bz2`` (an empty ``conda-meta/history``)
  into ``install_tmp``, installs, extracts ``postconda.tar.bz2`` (the real history), then removes
  ``install_tmp``, the archives and ``.messages.txt``. Complete: ``bin/conda``, ``condabin/conda``, a
  non-empty history and none of those leftovers.
- ``.exe`` (Windows): creates ``PREFIX\\tmp`` and points TMP/TEMP there, writes ``conda-meta\\history``,
  ``_conda.exe``, ``pre_uninstall.bat``, ``.installer.info`` and (JustMe) ``.nonadmin`` first, installs,
  writes ``Uninstall-<NAME>.exe`` last and then removes ``tmp``. Complete: ``Scripts\\conda.exe``,
  ``condabin\\conda.bat``, a non-empty history, the uninstaller and no ``tmp``.
- Either way the last word is ``conda info --json`` from the prefix's own conda parsing.
"""

import json
import re

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci

STATES = ("absent", "empty", "complete", "interrupted", "foreign")
ACTIONS = ("install", "repair", "upgrade", "none")
HISTORY = "conda-meta/history"
DEFAULT_MARKER = "torchfleet-install.json"

_LAYOUTS = {
    "posix": {
        "conda": ("bin/conda", "condabin/conda"),
        # Any of these marks a directory an installer has worked in.
        "signs": (
            "conda-meta",
            "_conda",
            "_conda.exe",
            "condabin",
            "install_tmp",
            "preconda.tar.bz2",
            ".installer.info",
        ),
        # Left behind when the installer stops before its cleanup step.
        "leftovers": ("install_tmp", "preconda.tar.bz2", "postconda.tar.bz2", ".messages.txt"),
        "uninstaller": False,
    },
    "windows": {
        "conda": ("Scripts/conda.exe", "condabin/conda.bat"),
        "signs": ("conda-meta", "_conda.exe", "condabin", ".installer.info", ".nonadmin", "pre_uninstall.bat"),
        "leftovers": ("tmp",),
        "uninstaller": True,
    },
}
_UNINSTALLER = re.compile(r"^uninstall-.+\.exe$")


def _layout(system):
    return _LAYOUTS[ci.family(system)]


def _names(listing, system):
    """Entry names as compared: Windows file names are case-insensitive."""
    if ci.family(system) == "windows":
        return {str(n).lower() for n in listing}
    return {str(n) for n in listing}


def _shown(rel, system):
    return rel.replace("/", "\\") if ci.family(system) == "windows" else rel


def probe_paths(system):
    """Paths under the prefix (``/``-separated) whose presence and size :func:`classify` needs."""
    return [*_layout(system)["conda"], HISTORY]


def has_conda_signs(listing, system):
    """Whether an installer has worked in the directory (else it is someone else's and stays untouched)."""
    names = _names(listing, system)
    layout = _layout(system)
    if names & _names(layout["signs"], system):
        return True
    return layout["uninstaller"] and any(_UNINSTALLER.match(n) for n in names)


def classify(prefix, listing, exists, found, system="Linux"):
    """Classify a prefix from what is in it; returns ``(state, problems)``.

    ``listing`` holds the names directly under the prefix, ``found`` maps each of :func:`probe_paths` that
    exists (the history only when it is a regular file) to its size in bytes.
    """
    if not exists:
        return "absent", []
    if not listing:
        return "empty", []
    if not has_conda_signs(listing, system):
        signs = "no conda-meta, condabin or installer files"
        return "foreign", [
            f"{prefix} exists and is not a conda installation ({signs}); "
            "it is left untouched: choose another miniconda_prefix or move it away"
        ]
    windows = ci.family(system) == "windows"
    present = {(k.lower() if windows else k): v for k, v in (found or {}).items()}
    names = _names(listing, system)
    layout = _layout(system)
    problems = []
    for rel in layout["conda"]:
        if (rel.lower() if windows else rel) not in present:
            problems.append(f"{_shown(rel, system)} is missing")
    history = present.get(HISTORY.lower() if windows else HISTORY)
    if history is None:
        problems.append(f"{_shown(HISTORY, system)} is missing")
    elif not history:
        problems.append(f"{_shown(HISTORY, system)} is empty")
    if layout["uninstaller"] and not any(_UNINSTALLER.match(n) for n in names):
        problems.append("Uninstall-<NAME>.exe is missing (the installer writes it last)")
    for name in layout["leftovers"]:
        if (name.lower() if windows else name) in names:
            problems.append(f"{name} is left over from an unfinished install")
    return ("interrupted" if problems else "complete"), problems


def installed_for(listing, system):
    """Who the installation belongs to: ``.nonadmin`` marks a JustMe (Windows) or non-root (.sh) install."""
    return "user" if ".nonadmin" in _names(listing, system) else "system"


def new_result(state, problems, listing, system):
    """The module's result before the marker and ``conda info`` are read."""
    return {
        "changed": False,
        "state": state,
        "problems": list(problems),
        "marker": None,
        "installer_info": None,
        "conda_version": None,
        "root_prefix": None,
        "installed_for": installed_for(listing, system) if state in ("complete", "interrupted") else None,
    }


def parse_json_document(text):
    """A JSON object from a file's text (BOM tolerated), or None."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        doc = json.loads((text or "").lstrip("\ufeff"))
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def apply_conda_info(result, rc, out, err):
    """Fold the outcome of ``conda info --json`` into a complete prefix's result."""
    info = None
    if rc == 0:
        # conda < 23.9 may print NUL-separated progress records before the document.
        chunks = [c for c in (out or "").split("\0") if c.strip()]
        info = parse_json_document(chunks[-1]) if chunks else None
    if not isinstance(info, dict):
        result["state"] = "interrupted"
        result["problems"].append(f"'conda info --json' failed (rc={rc}): {(err or out or '').strip()[-300:]}")
    else:
        result["conda_version"] = info.get("conda_version")
        result["root_prefix"] = info.get("root_prefix")
    return result


def plan(state, problems, marker, distribution, version, system, prefix, upgrade=False):
    """What the miniconda role does with the prefix.

    Returns ``{"action": install|repair|upgrade|none, "installed": {...}, "refusal": str}``; a non-empty
    ``refusal`` says why the role stops and what to change, before anything on the host changed.
    """
    if state not in STATES:
        raise ValueError(f"unknown prefix state {state!r}")
    windows = ci.family(system) == "windows"
    installed = marker if state == "complete" and isinstance(marker, dict) else {}
    result = {"action": "none", "installed": installed, "refusal": ""}
    if state == "foreign":
        result["refusal"] = "; ".join(problems)
        return result
    if "distribution" in installed and installed["distribution"] != distribution:
        result["refusal"] = (
            f"{prefix} holds {installed['distribution']} {installed.get('version', '')}, not {distribution}. "
            "Choose another miniconda_prefix, or remove that installation yourself; the role does not delete "
            "environments."
        )
        return result
    changes_version = version != "latest" and "version" in installed and installed["version"] != version
    if changes_version and not upgrade and not windows:
        result["refusal"] = (
            f"{prefix} holds {distribution} {installed['version']} and {version} was asked. Set "
            "miniconda_upgrade: true to update it in place (its environments are kept), or pin "
            f"miniconda_version: {installed['version']}."
        )
        return result
    if state in ("absent", "empty"):
        result["action"] = "install"
    elif state == "interrupted":
        result["action"] = "repair"
    elif changes_version:
        result["action"] = "upgrade"
    if windows and result["action"] == "repair":
        # The .exe refuses a non-empty target, and what is there may hold someone's environments.
        result["refusal"] = (
            f"{prefix} was left half-made by an installer that did not finish ({'; '.join(problems)}). "
            "The Windows installer only installs into an empty directory, and the role deletes no directory: "
            f"run {prefix}\\{ci.uninstaller_name(distribution)} /S if it is there, or delete the directory, then "
            "run the role again. Nothing was changed."
        )
    elif windows and result["action"] == "upgrade":
        result["refusal"] = (
            f"{prefix} holds {distribution} {installed['version']} and {version} was asked, but the Windows "
            "installer cannot update an installation in place (it refuses a non-empty directory). Pin "
            f"miniconda_version: {installed['version']}, or uninstall it ({prefix}\\"
            f"{ci.uninstaller_name(distribution)} /S) and run the role again. Nothing was changed."
        )
    return result
