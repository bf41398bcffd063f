# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which distributions in a Python environment an interrupted install left half-made (``env_integrity``).

An installer that is killed while it installs a wheel leaves the wheel's files partly in site-packages, and it
may leave the ``.dist-info`` directory too, which is all that pip and uv look at to decide that a distribution
is installed. A second ``uv pip install`` then reports "Audited" and changes nothing, and the environment stays
broken. The rules below tell such a distribution from a finished one by what a finished install writes:

- The record of installed files, ``<name>-<version>.dist-info/RECORD``, lists every installed file with its
  size (https://packaging.python.org/en/latest/specifications/recording-installed-packages/#the-record-file).
  A file it lists that is missing, or whose size differs, was not (fully) installed.
- uv links the wheel's files, the ``.dist-info`` among them, in directory order, and only then writes the
  console scripts, ``INSTALLER`` and the final RECORD (astral-sh/uv crates/uv-install-wheel/src/install.rs,
  ``install_wheel``: ``link_wheel_files``, then ``write_script_entrypoints``, ``write_installer_metadata``,
  ``write_record``); pip writes ``INSTALLER`` and RECORD last as well (pypa/pip
  src/pip/_internal/operations/install/wheel.py, ``_install_wheel``). A ``.dist-info`` without ``INSTALLER``,
  or whose RECORD does not list it, is one whose install did not finish (its scripts may be missing too).
- uv cannot uninstall a distribution whose RECORD is missing (crates/uv-install-wheel/src/uninstall.rs,
  ``Error::MissingRecord``), so such a one cannot be repaired by a reinstall: it is reported apart.

Compiled files (``__pycache__``, ``.pyc``) are not checked: Python writes them again. Standard library only,
Python 3.8 syntax: the module runs on the host.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import re

# At most this many missing or changed files are named per distribution in a problem.
SHOWN = 3


def site_packages_dirs(prefix):
    """The site-packages directories of a venv or conda environment on Linux and macOS."""
    found = []
    for pattern in ("lib/python3*/site-packages", "lib64/python3*/site-packages"):
        for path in sorted(glob.glob(os.path.join(prefix, pattern))):
            real = os.path.realpath(path)
            if os.path.isdir(path) and real not in [os.path.realpath(p) for p in found]:
                found.append(path)
    return found


def canonical_name(name):
    """A project name normalised as PEP 503 says (what uv's --reinstall-package accepts)."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def parse_record(text):
    """RECORD's rows as (path, size or None); rows without a path are skipped."""
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        size = row[2].strip() if len(row) > 2 else ""
        rows.append((row[0], int(size) if size.isdigit() else None))
    return rows


def _metadata_name(dist_info):
    try:
        with open(os.path.join(dist_info, "METADATA"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                if line.lower().startswith("name:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _compiled(path):
    return path.endswith(".pyc") or "__pycache__/" in path


def check_dist_info(dist_info, stat=os.stat):
    """The problems of one ``.dist-info`` directory (empty when its install finished)."""
    site_packages = os.path.dirname(dist_info)
    base = os.path.basename(dist_info)
    record_path = os.path.join(dist_info, "RECORD")
    try:
        with open(record_path, encoding="utf-8", errors="replace") as handle:
            rows = parse_record(handle.read())
    except FileNotFoundError:
        return [f"{base}/RECORD is missing"]
    except OSError as exc:
        return [f"{base}/RECORD cannot be read: {exc.strerror or exc}"]
    problems = []
    listed = {os.path.normpath(os.path.join(site_packages, path)) for path, _size in rows}
    installer = os.path.join(dist_info, "INSTALLER")
    if not os.path.isfile(installer) or os.path.normpath(installer) not in listed:
        problems.append(f"{base}/INSTALLER is missing or not in RECORD: the install did not finish")
    missing, changed = [], []
    for path, size in rows:
        if _compiled(path) or path.endswith(".dist-info/RECORD"):
            continue
        full = path if os.path.isabs(path) else os.path.join(site_packages, path)
        try:
            info = stat(full)
        except OSError:
            missing.append(path)
            continue
        if size is not None and info.st_size != size:
            changed.append(path)
    if missing:
        problems.append(
            "{} of the files RECORD lists are missing ({}{})".format(
                len(missing), ", ".join(missing[:SHOWN]), ", ..." if len(missing) > SHOWN else ""
            )
        )
    if changed:
        problems.append(
            "{} files differ in size from RECORD ({}{})".format(
                len(changed), ", ".join(changed[:SHOWN]), ", ..." if len(changed) > SHOWN else ""
            )
        )
    return problems


def check_environment(prefix):
    """Every unfinished distribution under ``prefix``: a dict with ``incomplete`` (list of {name, dist_info,
    problems, repairable}), ``reinstall`` (names uv can reinstall), ``reinstall_args`` (uv's
    ``--reinstall-package`` options for them) and ``unrepairable`` (those without a RECORD)."""
    incomplete = []
    for site_packages in site_packages_dirs(prefix):
        for dist_info in sorted(glob.glob(os.path.join(site_packages, "*.dist-info"))):
            if not os.path.isdir(dist_info):
                continue
            problems = check_dist_info(dist_info)
            if not problems:
                continue
            name = _metadata_name(dist_info) or os.path.basename(dist_info)[: -len(".dist-info")].split("-")[0]
            incomplete.append(
                {
                    "name": canonical_name(name),
                    "dist_info": dist_info,
                    "problems": problems,
                    "repairable": os.path.isfile(os.path.join(dist_info, "RECORD")),
                }
            )
    reinstall = sorted({item["name"] for item in incomplete if item["repairable"]})
    args = []
    for name in reinstall:
        args += ["--reinstall-package", name]
    return {
        "incomplete": incomplete,
        "reinstall": reinstall,
        "reinstall_args": args,
        "unrepairable": [item["dist_info"] for item in incomplete if not item["repairable"]],
    }


def unrepairable_message(prefix, dist_infos):
    """Why the environment cannot be repaired by a reinstall, and what the user does about it."""
    return (
        "{} holds packages whose install was interrupted before their RECORD was written ({}); uv can neither "
        "uninstall nor reinstall them, and nothing is removed automatically. Remove those .dist-info directories "
        "(or the whole environment, if it holds nothing of yours) and run the play again.".format(
            prefix, ", ".join(dist_infos)
        )
    )
