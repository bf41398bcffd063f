"""Make the checkout importable as ``ansible_collections.torchfleet.lab``, and hold what several tests build.

Modules and filters import shared code by its collection path, so the unit tests
need the repository to appear under that name.  A symlink tree in a temporary
directory does it without copying or installing anything.

The helpers below (tiny wheels, a venv with pip, the dev venv's uv) are imported by the tests that run the real
pip and uv: ``from ...conftest import make_wheel`` (pyproject.toml's --import-mode=importlib loads this file as
``tests.unit.conftest``).
"""

from __future__ import annotations

import base64
import compileall
import contextlib
import ensurepip
import hashlib
import importlib
import json
import os
import re
import shutil
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# uv of the dev venv (requirements-dev.txt pins the release the role installs), else one on PATH.
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def _collection_root() -> Path:
    # Already inside an ansible_collections/torchfleet/lab tree (ansible-test units)?
    if REPO_ROOT.parent.name == "torchfleet" and REPO_ROOT.parent.parent.name == "ansible_collections":
        return REPO_ROOT.parent.parent.parent
    base = Path(tempfile.mkdtemp(prefix="torchfleet-units-"))
    ns = base / "ansible_collections" / "torchfleet"
    ns.mkdir(parents=True)
    os.symlink(REPO_ROOT, ns / "lab")
    return base


_root = str(_collection_root())
if _root not in sys.path:
    sys.path.insert(0, _root)

# ansible.module_utils replaces sys.intern with a patch object when a module test imports it.
# torch._dynamo, imported lazily by torch.optim, registers a substitute for sys.intern and refuses
# anything that is not a function. The trainer tests run the scripts in-process after the module
# tests, so torch._dynamo must be imported while sys.intern is still the builtin.
with contextlib.suppress(ImportError):  # torch is optional outside the trainer tests
    importlib.import_module("torch._dynamo")


def record_hash(data: bytes) -> str:
    """A RECORD hash: sha256, urlsafe base64 without padding (packaging.python.org, "Recording installed projects")."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, name: str, version: str, files: dict, requires=(), dist_info=None) -> Path:
    """A py3-none-any wheel of project NAME holding FILES ({path: text}), laid out as the binary distribution format
    says (https://packaging.python.org/en/latest/specifications/binary-distribution-format/): a .dist-info with
    METADATA (a Requires-Dist per REQUIRES), WHEEL, the DIST_INFO files ({name: text}, e.g. entry_points.txt) and a
    RECORD of every file's hash and size. The file and .dist-info names escape NAME as that page's "Escaping and
    Unicode" says (runs of -_. become _, lower case); METADATA keeps NAME as given."""
    escaped = re.sub(r"[-_.]+", "_", name).lower()
    dist = f"{escaped}-{version}.dist-info"
    entries = dict(files)
    entries[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {req}\n" for req in requires
    )
    entries[f"{dist}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: torchfleet-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries.update({f"{dist}/{file}": text for file, text in (dist_info or {}).items()})
    record = [f"{path},{record_hash(text.encode())},{len(text.encode())}" for path, text in entries.items()]
    entries[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{escaped}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in entries.items():
            archive.writestr(path, text)
    return wheel


def make_pip_venv(prefix: Path) -> Path:
    """A venv at PREFIX with pip: the wheel Python bundles for ensurepip, unpacked into site-packages (a wheel is a
    zip of the installed files; skipping ensurepip's own pip run saves most of the time on a busy machine), and
    byte-compiled once, so that copies made with copytree (which keeps mtimes) use these .pyc files."""
    venv.EnvBuilder(with_pip=False).create(prefix)
    bundled = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    assert bundled, "this Python has no bundled pip wheel"
    site = next((prefix / "lib").glob("python3*/site-packages"))
    with zipfile.ZipFile(bundled[-1]) as archive:
        archive.extractall(site)
    compileall.compile_dir(str(site), quiet=1, workers=0)
    return prefix


# ------------------------------------------------------------------------------------ results of `conda tos --json`
# The registered results of the miniconda role's `conda tos --json --ignore-cache --override-channels` task, shared
# by the role's test (tests/unit/roles/test_miniconda_terms.py) and module_utils/_conda_tos.py's. Written from:
# - anaconda/conda-anaconda-tos 0.2.2 (commit 06c5dfa): `conda tos --json` without a subcommand prints a mapping of
#   each channel's base URL to its newest local record (or the served terms when none is recorded) plus "outdated"
#   and "path", or to null for a channel without terms (conda_anaconda_tos/console/render.py:94-148, render_list);
#   records hold version, text, support, base_url, tos_accepted, acceptance_timestamp (models.py:17-40); the served
#   metadata (RemoteToSMetadata, models.py:17-31) has no tos_accepted.
# - conda 24.9 (>= 23.7, no terms plugin): argparse's own "invalid choice" error, rc 2 (conda/conda 24.11.3
#   conda/cli/conda_argparse.py, subcommands under metavar COMMAND; CPython argparse's message format).
# - conda 23.5 (< 23.7): CommandNotFoundError, rc 1 (conda/conda 23.5.2 conda/cli/conda_argparse.py:176-213,
#   conda/exceptions.py:331-342 and 1239-1259) on stderr. The role looks on stdout too, where conda writes an error
#   as JSON under --json (conda/exceptions.py, print_conda_exception); TOS_COMMAND_NOT_FOUND_JSON is written from
#   that format, like TOS_HTTP_ERROR.
TOS_MAIN = "https://repo.anaconda.com/pkgs/main"
TOS_R = "https://repo.anaconda.com/pkgs/r"
TOS_OLD = "2025-05-12T00:00:00Z"


def tos_record(url, accepted=True, outdated=False, version=TOS_OLD):
    """A local record, as `conda tos --json` lists it."""
    return {
        "version": version, "text": "terms", "support": "anaconda.com/legal", "base_url": url,
        "tos_accepted": accepted, "acceptance_timestamp": "2025-07-01T10:00:00.000000Z",
        "outdated": outdated, "path": f"/opt/miniconda3/conda-meta/tos/x/{version}.json",
    }  # fmt: skip


def tos_served(url):  # no local record: the served metadata (a RemotePair, path None)
    return {"version": TOS_OLD, "text": "terms", "support": "anaconda.com/legal", "outdated": False, "path": "None"}


def tos_ok(doc):
    """A successful `conda tos --json` printing ``doc``."""
    return {"rc": 0, "stdout": json.dumps(doc, indent=2), "stderr": "", "changed": False}


TOS_ARGPARSE = {
    "rc": 2,
    "stdout": "",
    "stderr": "usage: conda [-h] [-v] [--no-plugins] [-V] COMMAND ...\n"
    "conda: error: argument COMMAND: invalid choice: 'tos' (choose from 'clean', 'compare', 'config', 'create', "
    "'info', 'init', 'install', 'list', 'notices', 'package', 'remove', 'uninstall', 'rename', 'run', 'search', "
    "'update', 'upgrade', 'env')\n",
}
TOS_COMMAND_NOT_FOUND = {"rc": 1, "stdout": "", "stderr": "\nCommandNotFoundError: No command 'conda tos'.\n\n"}
TOS_COMMAND_NOT_FOUND_JSON = {
    "rc": 1,
    "stdout": json.dumps(
        {"exception_name": "CommandNotFoundError", "error": "CommandNotFoundError: No command 'conda tos'."}
    ),
    "stderr": "",
}
TOS_HTTP_ERROR = {
    "rc": 1,
    "stdout": json.dumps({"exception_name": "CondaHTTPError", "error": "CondaHTTPError: HTTP 000 CONNECTION FAILED"}),
    "stderr": "",
}
