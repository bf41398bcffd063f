#!/usr/bin/env python
"""Write the test lab's own files for its mirror, and the inventory that has the mirror role publish them.

The lab's mirror is built by the collection's mirror role (playbooks/mirror.yml, ``mirror_serve: false``: publish
only, no nginx), run by ``lab.sh mirror`` on the controller. This script keeps what is test-specific: the files
this machine cannot download, written into one directory laid out by their path in the mirror,

    whl/cpu/torch-<version>+cpu-....whl       the on-disk CPU torch wheel (/opt/wheels), hard-linked
    uv/<ver>/uv-x86_64-unknown-linux-gnu.tar.gz
                                              laid out like uv's release asset, rebuilt from uv's PyPI wheel
                                              (GitHub is out of reach here); the wheel itself is kept in
    pypi/packages/uv-<ver>-....whl            and published in pypi/simple
    miniconda/Miniconda3-<ver>-Linux-x86_64.sh
    miniforge/<tag>/Miniforge3-<tag>-Linux-x86_64.sh
                                              conda stand-in installers (TEST DOUBLES), not Miniconda or Miniforge
    mnist/<the four IDX .gz files>            scikit-learn's real digits at 28x28, not MNIST

and ``inventory.json``: the lab's mirror host (the controller, connection local) with ``mirror_local_files``
naming those files, and one stand-in fleet host per kind of host the lab provisions (uv, Miniconda, Miniforge),
so that the role plans every index and installer the lab's scenarios read. The PEP 503 indexes, torch's
dependencies and the lab's PyPI packages (mirror-pins.txt), the ``.sha256`` and ``SHA256SUMS`` files,
``manifest.json`` and the release layout all come from the role.

Each file is rewritten only when it is missing or its inputs changed; a second run does nothing.
Standard library only: it runs with the machine's python3 (pip is used to download uv's wheel).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

HARNESS_DIR = Path(__file__).resolve().parent
REPO_ROOT = HARNESS_DIR.parents[1]
DEFAULT_CACHE = REPO_ROOT / ".cache" / "lab"
PINS_FILE = HARNESS_DIR / "mirror-pins.txt"
STANDIN_DIR = HARNESS_DIR / "conda_standin"
STANDIN_BUILDER = STANDIN_DIR / "build_installer.py"
DIGITS_WRITER = HARNESS_DIR / "make_digits_idx.py"
# make_digits_idx.py needs numpy and scikit-learn, which the machine's python3 lacks: use the dev venv's.
DIGITS_PYTHON = Path(os.environ.get("TORCHFLEET_DIGITS_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# The one place the lab's versions are pinned (lab.sh prints them with --print-env).
TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
UV_VERSION = "0.13.9"
MINICONDA_VERSION = "py311_25.11.1-1"
MINIFORGE_VERSION = "25.11.0-1"

# The lab's hosts: Debian 12's CPython 3.11 on x86_64.
PYTHON_VERSION = "3.11"
UV_TRIPLE = "x86_64-unknown-linux-gnu"
UV_ASSET = f"uv-{UV_TRIPLE}.tar.gz"
# uv's wheels on PyPI for x86_64 Linux are tagged py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64
# (https://pypi.org/project/uv/#files); pip download picks it with these target options.
UV_WHEEL_PLATFORMS = ("manylinux_2_17_x86_64", "manylinux2014_x86_64")

STATE_DIR_NAME = ".state"
INVENTORY_NAME = "inventory.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_if_changed(path: Path, text: str) -> bool:
    """Write text to path unless it already holds exactly that; report whether it wrote."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def _stamp_key(payload: Dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _read_stamp(path: Path) -> Dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def read_pins(path: Path = PINS_FILE) -> List[str]:
    """The requirement lines of mirror-pins.txt (comments and blank lines left out)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


# --------------------------------------------------------------------------- the files


def place_file(src: Path, dest: Path) -> bool:
    """Hard-link (or copy) src to dest unless dest already is that file, or a file of the same size and sum."""
    if dest.is_file():
        if os.path.samefile(src, dest):
            return False
        if dest.stat().st_size == src.stat().st_size and sha256_file(dest) == sha256_file(src):
            return False
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)
    return True


def place_torch(out: Path, torch_wheel: Path) -> bool:
    if not torch_wheel.is_file():
        raise SystemExit(f"build_mirror: torch wheel not found: {torch_wheel} (set --torch-wheel)")
    changed = place_file(torch_wheel, out / "whl" / "cpu" / torch_wheel.name)
    for other in (out / "whl" / "cpu").glob("torch-*.whl"):
        if other.name != torch_wheel.name:
            other.unlink()
            changed = True
    return changed


def uv_wheel_command(dest: Path, version: str = UV_VERSION) -> List[str]:
    """pip download of uv's manylinux wheel alone, for the lab's target rather than this machine's
    (https://pip.pypa.io/en/stable/cli/pip_download/: --platform and friends need --only-binary=:all:)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-input", "--disable-pip-version-check", "--no-deps"]
    cmd += ["--dest", str(dest), "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    for platform in UV_WHEEL_PLATFORMS:
        cmd += ["--platform", platform]
    return [*cmd, f"uv=={version}"]


def fetch_uv_wheel(out: Path, log) -> tuple:
    """uv's wheel in out/pypi/packages (downloaded once); returns (path, changed)."""
    packages = out / "pypi" / "packages"
    found = sorted(packages.glob(f"uv-{UV_VERSION}-*.whl"))
    if found:
        return found[0], False
    tmp_root = out / STATE_DIR_NAME / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        cmd = uv_wheel_command(Path(tmp))
        log(f"  $ pip download uv=={UV_VERSION} (its manylinux wheel)")
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        wheels = sorted(Path(tmp).glob(f"uv-{UV_VERSION}-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            sys.stderr.write(result.stdout)
            raise SystemExit(f"build_mirror: pip download of uv {UV_VERSION} failed (rc={result.returncode})")
        packages.mkdir(parents=True, exist_ok=True)
        for old in packages.glob("uv-*.whl"):
            old.unlink()
        dest = packages / wheels[0].name
        shutil.move(str(wheels[0]), str(dest))
    return dest, True


def _tar_member(name: str, data: bytes, mode: int) -> tuple:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uname = info.gname = "root"
    return info, io.BytesIO(data)


def make_uv_archive(wheel: Path, version: str) -> bytes:
    """A release-style tar.gz (top directory uv-<triple>/ holding uv and uvx) from uv's wheel; reproducible."""
    prefix = f"uv-{version}.data/scripts/"
    with zipfile.ZipFile(wheel) as archive:
        binaries = {name: archive.read(prefix + name) for name in ("uv", "uvx")}
    top = f"uv-{UV_TRIPLE}"
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, tarfile.open(
        fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT
    ) as tar:
        directory = tarfile.TarInfo(top)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = 0
        tar.addfile(directory)
        for name, data in binaries.items():
            tar.addfile(*_tar_member(f"{top}/{name}", data, 0o755))
    return raw.getvalue()


def build_uv_release(out: Path, wheel: Path, log) -> bool:
    """out/uv/<version>/<asset> from uv's wheel, unless the stamp says it was built from this very wheel."""
    archive = out / "uv" / UV_VERSION / UV_ASSET
    stamp = out / STATE_DIR_NAME / "uv.json"
    key = _stamp_key({"wheel": wheel.name, "size": wheel.stat().st_size})
    if archive.is_file() and _read_stamp(stamp).get("key") == key:
        return False
    data = make_uv_archive(wheel, UV_VERSION)
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(archive.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(archive)
    write_if_changed(stamp, json.dumps({"key": key}) + "\n")
    for old in (out / "uv").iterdir():
        if old.is_dir() and old.name != UV_VERSION:
            shutil.rmtree(old)
    log(f"  wrote {archive.relative_to(out)} (sha256 {hashlib.sha256(data).hexdigest()})")
    return True


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_mnist(out: Path, log, python: Path = DIGITS_PYTHON) -> Optional[bool]:
    """Write the digits as MNIST .gz files; None when no Python with scikit-learn is found."""
    # os.access, not Path.is_file: a venv whose interpreter lies in another user's home is not usable either.
    if not os.access(python, os.X_OK):
        log(f"  SKIPPED: {python} not found or not executable")
        log("  (make_digits_idx.py needs scikit-learn; set TORCHFLEET_DIGITS_PYTHON)")
        return None
    target = out / "mnist"
    key = _stamp_key({"writer": DIGITS_WRITER.read_text()})
    stamp = out / STATE_DIR_NAME / "mnist.json"
    if all((target / name).is_file() for name in MNIST_FILES) and _read_stamp(stamp).get("key") == key:
        return False
    target.mkdir(parents=True, exist_ok=True)
    cmd = [str(python), str(DIGITS_WRITER), "--out", str(target), "--gzip"]
    log("  $ " + " ".join(cmd[1:]))
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0 or not all((target / name).is_file() for name in MNIST_FILES):
        sys.stderr.write(result.stdout)
        raise SystemExit(f"build_mirror: make_digits_idx.py failed (rc={result.returncode})")
    write_if_changed(stamp, json.dumps({"key": key}) + "\n")
    return True


def standin_paths() -> Dict[str, str]:
    """Each stand-in installer's path in the mirror, as the miniconda role asks for it (module_utils/
    _conda_installer.py installer: miniconda/<file> like repo.anaconda.com/miniconda, miniforge/<tag>/<file> like
    Miniforge's GitHub releases)."""
    return {
        "miniconda": f"miniconda/Miniconda3-{MINICONDA_VERSION}-Linux-x86_64.sh",
        "miniforge": f"miniforge/{MINIFORGE_VERSION}/Miniforge3-{MINIFORGE_VERSION}-Linux-x86_64.sh",
    }


def build_conda_standins(out: Path, log) -> Optional[bool]:
    """Build the stand-in installers; None when the stand-in builder is not in the tree yet."""
    if not STANDIN_BUILDER.is_file():
        log(f"  SKIPPED: {STANDIN_BUILDER.relative_to(REPO_ROOT)} not found; rerun `lab.sh mirror` once it exists")
        return None
    key = tree_digest(STANDIN_DIR)
    changed = False
    versions = {"miniconda": MINICONDA_VERSION, "miniforge": MINIFORGE_VERSION}
    for flavor, path in standin_paths().items():
        installer = out / path
        stamp = out / STATE_DIR_NAME / f"{flavor}.json"
        if installer.is_file() and _read_stamp(stamp).get("key") == key:
            continue
        installer.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(STANDIN_BUILDER), "--flavor", flavor, "--version", versions[flavor]]
        cmd += ["--os", "Linux", "--arch", "x86_64", "--out", str(installer.parent)]
        log("  $ " + " ".join(cmd[1:]))
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if result.returncode != 0 or not installer.is_file():
            sys.stderr.write(result.stdout)
            raise SystemExit(f"build_mirror: conda stand-in builder failed for {flavor} (rc={result.returncode})")
        write_if_changed(stamp, json.dumps({"key": key}) + "\n")
        changed = True
    return changed


# --------------------------------------------------------------------------- the role's inventory


def local_files(out: Path, torch_wheel: Path, uv_wheel: Optional[Path]) -> Dict[str, str]:
    """mirror_local_files: every file under out that the role publishes, by its path in the mirror."""
    files = {f"whl/cpu/{torch_wheel.name}": str(out / "whl" / "cpu" / torch_wheel.name)}
    if uv_wheel is not None:
        files[f"pypi/packages/{uv_wheel.name}"] = str(uv_wheel)
    files[f"uv/{UV_VERSION}/{UV_ASSET}"] = str(out / "uv" / UV_VERSION / UV_ASSET)
    for path in standin_paths().values():
        if (out / path).is_file():
            files[path] = str(out / path)
    # All four or none: the role publishes mnist/ whole (mirror_mnist) and refuses a local file it does not publish.
    if all((out / "mnist" / name).is_file() for name in MNIST_FILES):
        files.update({f"mnist/{name}": str(out / "mnist" / name) for name in MNIST_FILES})
    return files


def inventory(files: Dict[str, str], mirror_root: Path, downloads: Path, torch_version: str) -> Dict:
    """The inventory playbooks/mirror.yml runs on: the group ``mirror`` (the controller) and ``lab_fleet``.

    The fleet hosts are names only, reached with the local connection: the role plans from their variables and
    from the facts playbooks/mirror.yml gathers on them, which are the controller's (the lab's controller is the
    Debian 12 its containers run, so their glibc and the wheels' platform tags agree).
    """
    have = set(files)
    conda_hosts = {
        "lab-miniconda": {"miniconda_distribution": "miniconda", "miniconda_version": MINICONDA_VERSION},
        "lab-miniforge": {"miniconda_distribution": "miniforge", "miniconda_version": MINIFORGE_VERSION},
    }
    fleet = {"lab-uv": {"pytorch_env_manager": "uv", "pytorch_env_uv_version": UV_VERSION}}
    for name, settings in conda_hosts.items():
        if standin_paths()[settings["miniconda_distribution"]] in have:
            fleet[name] = dict(settings, pytorch_env_manager="conda")
    uv_pins = [f"uv=={UV_VERSION}"] if any(p.startswith("pypi/packages/uv-") for p in have) else []
    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            },
            "children": {
                "mirror": {
                    "hosts": {
                        "lab-mirror": {
                            # The task keyword become: true of the role's publish steps is overridden by this
                            # variable ("variables override playbook keywords":
                            # https://docs.ansible.com/ansible/latest/reference_appendices/general_precedence.html):
                            # the lab's mirror lies in the user's own cache, so the lab never needs sudo.
                            "ansible_become": False,
                            "mirror_serve": False,
                            "mirror_root": str(mirror_root),
                            "mirror_cache_dir": str(downloads),
                            "mirror_keep_releases": 1,
                            "mirror_local_files": files,
                            # The stand-ins and the digits are not the public files the collection knows sums for.
                            "mirror_check_local_sums": False,
                            # Without the digits (no scikit-learn), no mnist/: MNIST itself is not downloaded.
                            "mirror_mnist": all(f"mnist/{name}" in have for name in MNIST_FILES),
                            "mirror_pypi_requirements": read_pins() + uv_pins,
                        }
                    }
                },
                "lab_fleet": {
                    "vars": {
                        "pytorch_version": torch_version,
                        "pytorch_python_version": PYTHON_VERSION,
                        "pytorch_compute": "cpu",
                        "pytorch_env_packages": ["torch"],
                    },
                    "hosts": fleet,
                },
            },
        }
    }


# --------------------------------------------------------------------------- command line


def versions(torch_wheel: Path) -> Dict[str, str]:
    torch_version = torch_wheel.name.split("-")[1] if torch_wheel.name.startswith("torch-") else "unknown"
    return {
        "torch": torch_version,
        "python": PYTHON_VERSION,
        "uv": UV_VERSION,
        "miniconda": MINICONDA_VERSION,
        "miniforge": MINIFORGE_VERSION,
    }


def print_env(torch_wheel: Path) -> None:
    info = versions(torch_wheel)
    print(f"TORCHFLEET_TORCH_VERSION={info['torch'].split('+')[0]}")
    print(f"TORCHFLEET_UV_VERSION={UV_VERSION}")
    print(f"TORCHFLEET_MINICONDA_VERSION={MINICONDA_VERSION}")
    print(f"TORCHFLEET_MINIFORGE_VERSION={MINIFORGE_VERSION}")


def mirror_status(mirror: Path) -> int:
    """Print each part of the published mirror (the role's ``current`` release) as built or missing; exit status 0
    only when the whole mirror is there."""
    checks = {
        "whl/cpu": (mirror / "whl" / "cpu" / "torch" / "index.html").is_file(),
        "pypi/simple": (mirror / "pypi" / "simple" / "uv" / "index.html").is_file(),
        "uv": (mirror / "uv" / UV_VERSION / UV_ASSET).is_file(),
        "miniconda": (mirror / standin_paths()["miniconda"]).is_file(),
        "miniforge": (mirror / standin_paths()["miniforge"]).is_file(),
        "mnist": (mirror / "mnist" / "SHA256SUMS").is_file(),
        "manifest.json": (mirror / "manifest.json").is_file(),
    }
    for part, ok in checks.items():
        print(f"  {part:14} {'built' if ok else 'missing'}")
    return 0 if all(checks.values()) else 1


def main(argv: Optional[List[str]] = None) -> int:
    cache = Path(os.environ.get("TORCHFLEET_LAB_CACHE", DEFAULT_CACHE))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=cache / "mirror-files", help="where the lab's files go")
    parser.add_argument("--mirror-root", type=Path, default=cache / "mirror", help="the role's mirror_root")
    parser.add_argument("--downloads", type=Path, default=cache / "mirror-downloads", help="mirror_cache_dir")
    parser.add_argument("--torch-wheel", type=Path, default=TORCH_WHEEL)
    parser.add_argument("--skip-conda", action="store_true", help="do not build the conda stand-in installers")
    parser.add_argument("--print-env", action="store_true", help="print the pinned versions as KEY=VALUE and exit")
    parser.add_argument("--status", type=Path, metavar="MIRROR", help="report which parts MIRROR holds and exit")
    args = parser.parse_args(argv)

    if args.print_env:
        print_env(args.torch_wheel)
        return 0
    if args.status:
        return mirror_status(args.status)

    def log(message: str) -> None:
        print(message, flush=True)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    log(f"mirror files: {out}")
    results["torch wheel"] = place_torch(out, args.torch_wheel)
    uv_wheel, results["uv wheel"] = fetch_uv_wheel(out, log)
    results["uv archive"] = build_uv_release(out, uv_wheel, log)
    results["conda stand-in"] = None if args.skip_conda else build_conda_standins(out, log)
    results["mnist"] = build_mnist(out, log)
    files = local_files(out, args.torch_wheel, uv_wheel)
    torch_version = versions(args.torch_wheel)["torch"].split("+")[0]
    spec = inventory(files, args.mirror_root.resolve(), args.downloads.resolve(), torch_version)
    results[INVENTORY_NAME] = write_if_changed(out / INVENTORY_NAME, json.dumps(spec, indent=1) + "\n")
    shutil.rmtree(out / STATE_DIR_NAME / "tmp", ignore_errors=True)
    for part, changed in results.items():
        word = "skipped" if changed is None else ("updated" if changed else "up to date")
        log(f"  {part:16} {word}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
