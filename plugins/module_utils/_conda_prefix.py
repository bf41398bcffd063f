# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a Miniconda/Miniforge prefix a complete installation, and what does the miniconda role do with it?

Private to torchfleet.lab. Plain standard library, Python 3.8 syntax: the ``conda_prefix_info`` module
imports it on Linux and macOS hosts (reading the prefix with ``os``), its action plugin on the controller
for Windows hosts (reading the prefix through ``win_stat``/``win_find``/``slurp``), and the
``conda_prefix_plan`` filter. One set of rules for every OS.

Sources (https://github.com/conda/constructor at commit f57a3e7: ``constructor/header.sh`` and
``constructor/nsis/main.nsi.tmpl``, the templates of the Miniconda and Miniforge installers):

- ``.sh`` (Linux, macOS): writes ``_conda``, extracts ``preconda.tar.bz2`` (an empty ``conda-meta/history``)
  into ``install_tmp``, installs, extracts ``postconda.tar.bz2`` (the real history), then removes
  ``install_tmp``, the archives and ``.messages.txt``. Complete: ``bin/conda``, ``condabin/conda``, a
  non-empty history and none of those leftovers.
- ``.exe`` (Windows): creates ``PREFIX\\tmp`` and points TMP/TEMP there, writes ``conda-meta\\history``,
  ``_conda.exe``, ``pre_uninstall.bat``, ``.installer.info`` and (JustMe) ``.nonadmin`` first, installs,
  writes ``Uninstall-<NAME>.exe`` last and then removes ``tmp``. Complete: ``Scripts\\conda.exe``,
  ``condabin\\conda.bat``, a non-empty history, the uninstaller and no ``tmp``.
- Either way the last word is ``conda info --json`` from the prefix's own conda parsing; when it fails the
  installation is ``unusable`` and the role refuses it, quoting conda's error (it is never reinstalled over).

What an interrupted ``.sh`` install leaves (conda/constructor ``constructor/header.sh`` at commit f57a3e7):
``PREFIX/_conda`` (or ``micromamba`` plus a ``_conda`` link) is written first (lines 513-522), then
``install_tmp/`` (536-538), ``.nonadmin`` (555-558), the payload with ``preconda.tar.bz2`` and
``postconda.tar.bz2`` (560-568), ``.messages.txt`` (590-591), the base environment's files (622-630) and an
``envs/`` directory (633); ``postconda.tar.bz2`` and ``install_tmp/`` are removed only at the end (674-678),
``.messages.txt`` after that (697-700). So ``install_tmp``, the archives or ``.messages.txt``, or nothing but the
bootstrapper, prove an installer stopped half-way. The role repairs such a prefix by running the installer
again with ``-u`` (header.sh 184-186: ``FORCE=1``, which lets it proceed into the existing directory, 428-434):
it rewrites its own files and deletes nothing. A prefix that also holds environments under ``envs/``, or that
has conda files but no sign of an interrupted installer (an environment made by ``conda create``, a damaged
installation), is refused and left as it is.
"""

import json
import re
import stat

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci

STATES = ("absent", "empty", "complete", "interrupted", "foreign", "environment", "damaged", "unusable")
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
        # Left behind when the installer stops before its cleanup step (header.sh 536-538, 560-568, 590-591,
        # removed at 674-678 and 697-700).
        "leftovers": ("install_tmp", "preconda.tar.bz2", "postconda.tar.bz2", ".messages.txt"),
        # All a prefix holds when the installer stopped right after writing its bootstrapper (513-522, 555-558).
        "bootstrap": ("_conda", "micromamba", ".nonadmin"),
        # Written by the installer only, never by `conda create` into an environment.
        "installer_only": (
            "_conda",
            "micromamba",
            "condabin",
            "install_tmp",
            "preconda.tar.bz2",
            "postconda.tar.bz2",
            ".messages.txt",
            ".installer.info",
        ),
        "uninstaller": False,
    },
    "windows": {
        "conda": ("Scripts/conda.exe", "condabin/conda.bat"),
        "signs": ("conda-meta", "_conda.exe", "condabin", ".installer.info", ".nonadmin", "pre_uninstall.bat"),
        "leftovers": ("tmp",),
        "bootstrap": (),
        "installer_only": ("_conda.exe", "condabin", ".installer.info", "pre_uninstall.bat", "tmp"),
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


# More than five arguments (ruff PLR0913): the probe's findings, one argument each, as the action gathers them.
def classify(prefix, listing, exists, found, system="Linux", environments=()):  # noqa: PLR0913
    """Classify a prefix from what is in it; returns ``(state, problems)``.

    ``listing`` holds the names directly under the prefix, ``found`` maps each of :func:`probe_paths` that
    exists (the history only when it is a regular file) to its size in bytes, ``environments`` the names under
    ``envs/`` (read on Linux and macOS, where a half-made prefix may be repaired).

    ``interrupted`` (Linux, macOS) is only a prefix an installer demonstrably stopped in and that holds no
    environment: the one state the role repairs. ``environment`` (a ``conda create`` prefix) and ``damaged``
    (anything else that is not complete) are refused.
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
    names = _names(listing, system)
    problems, leftovers = _missing_parts(names, found, system)
    if not problems:
        return "complete", []
    layout = _layout(system)
    installer_files = names & _names(layout["installer_only"], system)
    if layout["uninstaller"]:
        installer_files |= {n for n in names if _UNINSTALLER.match(n)}
    if not installer_files and "conda-meta" in names:
        return "environment", [
            f"{prefix} is a conda environment (conda-meta, no installer files), not a Miniconda or Miniforge "
            "installation"
        ]
    if ci.family(system) == "windows":
        # The .exe's leftovers are refused whatever they hold (plan); nothing is repaired there.
        return "interrupted", problems
    stopped = bool(leftovers) or names <= _names(layout["bootstrap"], system)
    if not stopped:
        problems.append("nothing shows an installer that stopped half-way (no install_tmp, no installer archives)")
        return "damaged", problems
    held = sorted(str(e) for e in environments or ())
    if held:
        problems.append("envs/ holds {}".format(", ".join(held)))
        return "damaged", problems
    return "interrupted", problems


def _missing_parts(names, found, system):
    """What a complete installation has and this prefix lacks, and the unfinished install's leftovers in it."""
    windows = ci.family(system) == "windows"
    present = {(k.lower() if windows else k): v for k, v in (found or {}).items()}
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
    leftovers = [n for n in layout["leftovers"] if (n.lower() if windows else n) in names]
    for name in leftovers:
        problems.append(f"{name} is left over from an unfinished install")
    return problems, leftovers


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


def _conda_error(out, err):
    """conda's own words for a failure: the ``message`` of its ``--json`` error document, else its output."""
    for text in (out, err):
        chunks = [c for c in (text or "").split("\0") if c.strip()]
        doc = parse_json_document(chunks[-1]) if chunks else None
        if doc and (doc.get("message") or doc.get("error")):
            name = doc.get("exception_name") or ""
            message = str(doc.get("message") or doc.get("error")).strip()
            return f"{name}: {message}" if name and not message.startswith(name) else message
    return (err or out or "").strip()[-600:] or "no output"


def apply_conda_info(result, rc, out, err):
    """Fold the outcome of ``conda info --json`` into a complete prefix's result.

    A finished installation whose conda does not answer is ``unusable``: the role refuses it and quotes conda.
    """
    info = None
    if rc == 0:
        # conda < 23.9 may print NUL-separated progress records before the document.
        chunks = [c for c in (out or "").split("\0") if c.strip()]
        info = parse_json_document(chunks[-1]) if chunks else None
    if not isinstance(info, dict):
        result["state"] = "unusable"
        said = _conda_error(out, err) if rc != 0 else "its output is not a JSON document: " + (out or "").strip()[-300:]
        result["problems"].append(f"'conda info --json' failed (rc={rc}): {said}")
    else:
        result["conda_version"] = info.get("conda_version")
        result["root_prefix"] = info.get("root_prefix")
    return result


# ----------------------------------------------------------------------------------------- who may run conda
def chain(path):
    """``path`` and every directory above it, from the root down (POSIX, absolute, already resolved)."""
    parts = [p for p in str(path).split("/") if p]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def unsafe_owner(path, st_uid, st_gid, st_mode, uid):
    """Why a user other than ``uid`` (and root) could change ``path``; ``""`` when none can.

    A directory with the sticky bit (``/tmp``) lets nobody but an entry's owner rename or remove it, so its
    own write bits do not matter for the entries below (POSIX ``unlink``/``rename``, EACCES on sticky dirs).
    """
    if st_uid not in (0, uid):
        return f"{path} is owned by uid {st_uid}"
    if stat.S_ISDIR(st_mode) and st_mode & stat.S_ISVTX:
        return ""
    if st_mode & stat.S_IWOTH:
        return f"{path} is writable by every user (mode {st_mode & 0o7777:04o})"
    if st_mode & stat.S_IWGRP and st_gid != 0:
        return f"{path} is writable by group gid {st_gid} (mode {st_mode & 0o7777:04o})"
    return ""


def trust_problems(paths, uid, stat_of):
    """What makes running the resolved ``paths`` (conda's script, its interpreter, its package) unsafe for
    ``uid``: every path and every directory above it must be owned by root or ``uid`` and writable by no one
    else. ``stat_of(path)`` returns ``(st_uid, st_gid, st_mode)`` and may raise OSError (missing: skipped)."""
    problems = []
    seen = set()
    for target in paths:
        for path in chain(target):
            if path in seen:
                continue
            seen.add(path)
            try:
                st_uid, st_gid, st_mode = stat_of(path)
            except OSError:
                continue
            why = unsafe_owner(path, st_uid, st_gid, st_mode, uid)
            if why:
                problems.append(why)
    return problems


def trust_refusal(prefix, uid, problems):
    """The module's message when conda may not be run."""
    who = "root" if uid == 0 else f"uid {uid}"
    return (
        f"{prefix}/bin/conda would run as {who} to read the installation, but {'; '.join(problems)}: whoever can "
        f"change those files can run code as {who}. Install it with miniconda_scope: user (the role then runs "
        f"conda as that user, without become), or give the installation and the directories above it to root "
        f"(chown -R root:root {prefix}; chmod -R go-w {prefix}) and run the role again. Nothing was changed."
    )


# More than five arguments (ruff PLR0913): classify()'s result and the conda_prefix_plan filter's options.
def plan(state, problems, marker, distribution, version, system, prefix, upgrade=False):  # noqa: PLR0913
    """What the miniconda role does with the prefix.

    Returns ``{"action": install|repair|upgrade|none, "update": bool, "installed": {...}, "refusal": str}``;
    ``update`` asks for the ``.sh`` installer's ``-u``, without which it refuses any existing path, even an
    empty directory (constructor ``header.sh`` lines 428-431). A non-empty ``refusal`` says why the role stops
    and what to change, before anything on the host changed. No action ever removes anything.
    """
    if state not in STATES:
        raise ValueError(f"unknown prefix state {state!r}")
    windows = ci.family(system) == "windows"
    installed = marker if state == "complete" and isinstance(marker, dict) else {}
    result = {"action": "none", "update": False, "installed": installed, "refusal": ""}
    refusal = _state_refusal(state, "; ".join(problems), prefix, system)
    if refusal:
        result["refusal"] = refusal
        return result
    # A half-made prefix keeps the record of the installation it was (an interrupted -u): another distribution's
    # installer is not run over it.
    recorded = marker if state in ("complete", "interrupted") and isinstance(marker, dict) else {}
    if "distribution" in recorded and recorded["distribution"] != distribution:
        result["refusal"] = (
            f"{prefix} holds {recorded['distribution']} {recorded.get('version', '')}, not {distribution}. "
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
    # -u on an existing path only: an empty directory, a half-made prefix (the installer rewrites its own files
    # and removes nothing), an installation being updated. The .exe takes an empty directory as it is.
    result["update"] = not windows and state != "absent" and result["action"] != "none"
    if windows:
        result["refusal"] = _windows_refusal(result["action"], problems, prefix, distribution, (installed, version))
    return result


def _state_refusal(state, said, prefix, system):
    """Why a prefix in a state the role never installs over is refused (``said``: its problems); "" otherwise."""
    if state == "foreign":
        return said
    if state == "environment":
        return (
            f"{said}. Set miniconda_prefix to the installation it belongs to (the directory that holds envs/) "
            "or to a new directory; the role installs nothing over an environment. Nothing was changed."
        )
    if state == "damaged":
        return (
            f"{prefix} is not a complete installation ({said}), and it holds more than an interrupted installer "
            "leaves, so the role does not repair it. Look at what is there: to finish the install yourself run the "
            f"installer with -u (bash <installer>.sh -b -u -p {prefix}), which keeps envs/, or move the directory "
            "away and run the role again. Nothing was changed."
        )
    if state == "unusable":
        return (
            f"{prefix} holds a finished installation, but its conda does not answer: {said}. Fix what conda "
            f"reports (a .condarc it cannot read, in {ci.condarc_path(prefix, system)}, the user's home or "
            "$CONDARC, is a common cause) and run the role again; the role never reinstalls over an installation, "
            "whose environments would go with it. Nothing was changed."
        )
    return ""


def _windows_refusal(action, problems, prefix, distribution, versions):
    """Why the Windows installer cannot do ``action`` (``versions``: the installed record and the asked one)."""
    installed, version = versions
    if action == "repair":
        # The .exe refuses a non-empty target, and what is there may hold someone's environments.
        return (
            f"{prefix} was left half-made by an installer that did not finish ({'; '.join(problems)}). "
            "The Windows installer only installs into an empty directory, and the role deletes no directory: "
            f"run {prefix}\\{ci.uninstaller_name(distribution)} /S if it is there, or delete the directory, then "
            "run the role again. Nothing was changed."
        )
    if action == "upgrade":
        return (
            f"{prefix} holds {distribution} {installed['version']} and {version} was asked, but the Windows "
            "installer cannot update an installation in place (it refuses a non-empty directory). Pin "
            f"miniconda_version: {installed['version']}, or uninstall it ({prefix}\\"
            f"{ci.uninstaller_name(distribution)} /S) and run the role again. Nothing was changed."
        )
    return ""
