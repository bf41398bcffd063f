#!/usr/bin/env python
"""Build the test lab's local mirror: one directory that stands in for every upstream download.

Served over HTTP (see lab.sh), its root is the single ``torchfleet_mirror_url`` the roles take
their downloads from.  Layout, relative to the mirror root:

    whl/cpu/                  PEP 503 index standing in for the PyTorch CPU wheel index
    pypi/simple/              PEP 503 index standing in for PyPI (uv, pip, setuptools, wheel)
    pypi/packages/            the files pypi/simple links to
    uv/<ver>/uv-x86_64-unknown-linux-gnu.tar.gz(.sha256)   laid out like uv's release assets
    miniconda/                conda stand-in installer (a TEST DOUBLE), like Miniconda's archive
    miniforge/<tag>/          conda stand-in installer (a TEST DOUBLE), like Miniforge's releases
    mnist/                    the four MNIST IDX .gz files (scikit-learn's real digits at 28x28) + SHA256SUMS
    manifest.json             every file with size and sha256, and what each part stands in for

Each part is rebuilt only when it is missing or its inputs changed; a second run does nothing.
Standard library only: it runs with the machine's python3 (pip is used for downloads).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Dict, Iterable, List, Optional
from urllib.parse import quote

HARNESS_DIR = Path(__file__).resolve().parent
REPO_ROOT = HARNESS_DIR.parents[1]
DEFAULT_MIRROR = REPO_ROOT / ".cache" / "lab" / "mirror"
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

# Target of every download: Debian 12's CPython 3.11 on x86_64, wheels no newer than manylinux_2_28.
PYTHON_VERSION = "3.11"
ABI = "cp311"
MANYLINUX_GLIBC_MAX = 28
EXTRA_TORCH_PACKAGES = ("numpy",)  # optional for torch, which warns at import without it
# ipykernel, jupyterlab: pytorch_env_jupyter_kernel / pytorch_env_jupyterlab; nbclient: the notebook test.
PYPI_PACKAGES = (f"uv=={UV_VERSION}", "pip", "setuptools", "wheel", "ipykernel", "jupyterlab", "nbclient")
UV_TRIPLE = "x86_64-unknown-linux-gnu"

SECTIONS = {
    "whl/cpu": {
        "stands_in_for": "https://download.pytorch.org/whl/cpu",
        "description": "PEP 503 index of the CPU torch wheel and its runtime dependencies (cp311, manylinux x86_64)",
    },
    "pypi": {
        "stands_in_for": "https://pypi.org/simple",
        "description": "PEP 503 index (pypi/simple) of the Python tools the lab installs into hosts",
    },
    "uv": {
        "stands_in_for": "https://github.com/astral-sh/uv/releases/download",
        "description": "uv release archives, rebuilt from the binaries inside uv's wheel",
    },
    "miniconda": {
        "stands_in_for": "https://repo.anaconda.com/miniconda",
        "description": "TEST DOUBLE: conda stand-in installer with Miniconda's interface, not Miniconda",
    },
    "miniforge": {
        "stands_in_for": "https://github.com/conda-forge/miniforge/releases/download",
        "description": "TEST DOUBLE: conda stand-in installer with Miniforge's interface, not Miniforge",
    },
    "mnist": {
        "stands_in_for": "https://ossci-datasets.s3.amazonaws.com/mnist",
        "description": "MNIST-format IDX files (.gz) of scikit-learn's real 8x8 digits resized to 28x28, not MNIST",
    },
}

STATE_DIR_NAME = ".state"
MANIFEST_NAME = "manifest.json"
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


# --------------------------------------------------------------------------- index generation


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_project(filename: str) -> str:
    """Project name (not yet normalised) of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise ValueError(f"not a wheel file name: {filename}")
        return parts[0]
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            if "-" not in stem:
                raise ValueError(f"not an sdist file name: {filename}")
            return stem.rsplit("-", 1)[0]
    raise ValueError(f"not a distribution file: {filename}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_metadata(path: Path) -> Dict[str, List[str]]:
    """Headers of a wheel's METADATA file, each as a list of values."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(names) != 1:
            raise ValueError(f"{path.name}: expected one .dist-info/METADATA, found {len(names)}")
        text = archive.read(names[0]).decode("utf-8")
    headers = HeaderParser().parsestr(text, headersonly=True)
    result: Dict[str, List[str]] = {}
    for key, value in headers.items():
        result.setdefault(key, []).append(value)
    return result


def runtime_requirements(path: Path) -> List[str]:
    """Requires-Dist entries of a wheel that no extra gates."""
    reqs = wheel_metadata(path).get("Requires-Dist", [])
    return [r.strip() for r in reqs if not re.search(r"\bextra\s*==", r)]


def requires_python(path: Path) -> Optional[str]:
    if not path.name.endswith(".whl"):
        return None
    values = wheel_metadata(path).get("Requires-Python")
    return values[0].strip() if values else None


class HashCache:
    """sha256 of files keyed by path, size and mtime, so unchanged large wheels are hashed once."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.data: Dict[str, List] = {}
        if path is not None and path.is_file():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                self.data = {}

    def sha256(self, file: Path) -> str:
        stat = file.stat()
        key = str(file.resolve())
        entry = self.data.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = sha256_file(file)
        self.data[key] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            live = {k: v for k, v in self.data.items() if Path(k).exists()}
            write_if_changed(self.path, json.dumps(live, indent=1, sort_keys=True) + "\n")


def write_if_changed(path: Path, text: str) -> bool:
    """Write text to path unless it already holds exactly that; report whether it wrote."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


_PAGE_HEAD = '<!DOCTYPE html>\n<html>\n<head>\n<meta name="pypi:repository-version" content="1.0">\n'


def render_root_index(projects: Iterable[str]) -> str:
    names = sorted({normalize_name(p) for p in projects})
    links = "".join(f'<a href="{html.escape(quote(n))}/">{html.escape(n)}</a><br>\n' for n in names)
    return f"{_PAGE_HEAD}<title>Simple index</title>\n</head>\n<body>\n{links}</body>\n</html>\n"


def render_project_page(project: str, entries: Iterable[Dict[str, Optional[str]]]) -> str:
    """entries: dicts with filename, href (relative, unquoted), sha256 and requires_python (or None)."""
    name = normalize_name(project)
    lines = []
    for entry in sorted(entries, key=lambda e: str(e["filename"])):
        href = quote(str(entry["href"])) + "#sha256=" + str(entry["sha256"])
        attrs = f'href="{html.escape(href)}"'
        if entry.get("requires_python"):
            attrs += f' data-requires-python="{html.escape(str(entry["requires_python"]))}"'
        lines.append(f"<a {attrs}>{html.escape(str(entry['filename']))}</a><br>\n")
    title = f"Links for {html.escape(name)}"
    return f"{_PAGE_HEAD}<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{''.join(lines)}</body>\n</html>\n"


def write_simple_index(index_dir: Path, files_dir: Path, hashes: HashCache) -> List[Path]:
    """(Re)write a PEP 503 index in index_dir for the distributions in files_dir; return the pages changed."""
    groups: Dict[str, List[Dict[str, Optional[str]]]] = {}
    for file in sorted(files_dir.iterdir()):
        if not file.is_file() or not file.name.endswith(DIST_SUFFIXES):
            continue
        project = normalize_name(dist_project(file.name))
        href = os.path.relpath(file, index_dir / project)
        groups.setdefault(project, []).append(
            {
                "filename": file.name,
                "href": href.replace(os.sep, "/"),
                "sha256": hashes.sha256(file),
                "requires_python": requires_python(file),
            }
        )
    changed = []
    if write_if_changed(index_dir / "index.html", render_root_index(groups)):
        changed.append(index_dir / "index.html")
    for project, entries in groups.items():
        page = index_dir / project / "index.html"
        if write_if_changed(page, render_project_page(project, entries)):
            changed.append(page)
    # Drop pages of projects that left the index.
    for child in index_dir.iterdir():
        if child.is_dir() and child.name not in groups and (child / "index.html").is_file():
            shutil.rmtree(child)
            changed.append(child)
    return changed


def build_manifest(mirror: Path, hashes: HashCache, versions: Dict[str, str]) -> Dict:
    files = []
    for path in sorted(mirror.rglob("*")):
        rel = path.relative_to(mirror).as_posix()
        if not path.is_file() or rel == MANIFEST_NAME or rel.startswith(STATE_DIR_NAME + "/"):
            continue
        section = next((s for s in SECTIONS if rel.startswith(s + "/")), None)
        files.append({"path": rel, "size": path.stat().st_size, "sha256": hashes.sha256(path), "section": section})
    present = {f["section"] for f in files}
    return {
        "generator": "tests/harness/build_mirror.py",
        "note": "Offline stand-in for the upstream download sites; the conda installers are test doubles.",
        "versions": versions,
        "sections": {name: dict(info, present=name in present) for name, info in SECTIONS.items()},
        "files": files,
    }


# --------------------------------------------------------------------------- building the parts


def manylinux_platforms(max_minor: int = MANYLINUX_GLIBC_MAX, arch: str = "x86_64") -> List[str]:
    # pip before 24 does not widen --platform manylinux_2_28 to older tags itself.
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(max_minor, 4, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


def pip_download(requirements: List[str], dest: Path, log) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-input", "--disable-pip-version-check"]
    cmd += ["--dest", str(dest), "--only-binary=:all:", "--python-version", PYTHON_VERSION]
    cmd += ["--implementation", "cp", "--abi", ABI]
    for platform in manylinux_platforms():
        cmd += ["--platform", platform]
    cmd += ["--constraint", str(PINS_FILE), *requirements]
    log("  $ pip download " + " ".join(requirements))
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout)
        raise SystemExit(f"build_mirror: pip download failed (rc={result.returncode}) for {' '.join(requirements)}")


def _stamp_key(payload: Dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _read_stamp(path: Path) -> Dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def sync_downloads(files_dir: Path, requirements: List[str], stamp: Path, keep: Iterable[str], log) -> bool:
    """Make files_dir hold exactly the wheels pip resolves for requirements (plus keep); False if already so."""
    key = _stamp_key(
        {
            "reqs": requirements,
            "pins": PINS_FILE.read_text(),
            "python": PYTHON_VERSION,
            "platforms": manylinux_platforms(),
        }
    )
    old = _read_stamp(stamp)
    if old.get("key") == key and all((files_dir / f).is_file() for f in old.get("files", [])):
        return False
    files_dir.mkdir(parents=True, exist_ok=True)
    tmp_root = stamp.parent / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        pip_download(requirements, Path(tmp), log)
        fetched = sorted(p.name for p in Path(tmp).iterdir() if p.name.endswith(DIST_SUFFIXES))
        for name in fetched:
            shutil.move(str(Path(tmp) / name), str(files_dir / name))
    wanted = set(fetched) | set(keep)
    for stale in files_dir.iterdir():
        if stale.is_file() and stale.name.endswith(DIST_SUFFIXES) and stale.name not in wanted:
            log(f"  removed stale {stale.name}")
            stale.unlink()
    write_if_changed(stamp, json.dumps({"key": key, "files": fetched}, indent=1) + "\n")
    log(f"  downloaded {len(fetched)} distributions into {files_dir}")
    return True


def place_file(src: Path, dest: Path) -> bool:
    """Hard-link (or copy) src to dest unless dest already holds the same file."""
    if dest.is_file():
        if os.path.samefile(src, dest) or dest.stat().st_size == src.stat().st_size:
            return False
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)
    return True


def build_torch_index(mirror: Path, torch_wheel: Path, hashes: HashCache, log) -> bool:
    if not torch_wheel.is_file():
        raise SystemExit(f"build_mirror: torch wheel not found: {torch_wheel} (set --torch-wheel)")
    index = mirror / "whl" / "cpu"
    changed = place_file(torch_wheel, index / torch_wheel.name)
    for other in index.glob("torch-*.whl"):
        if other.name != torch_wheel.name:
            other.unlink()
            changed = True
    reqs = [*runtime_requirements(torch_wheel), *EXTRA_TORCH_PACKAGES]
    stamp = mirror / STATE_DIR_NAME / "whl-cpu.json"
    changed |= sync_downloads(index, reqs, stamp, keep=[torch_wheel.name], log=log)
    changed |= bool(write_simple_index(index, index, hashes))
    return changed


def build_pypi_index(mirror: Path, hashes: HashCache, log) -> bool:
    files = mirror / "pypi" / "packages"
    stamp = mirror / STATE_DIR_NAME / "pypi.json"
    changed = sync_downloads(files, list(PYPI_PACKAGES), stamp, keep=[], log=log)
    changed |= bool(write_simple_index(mirror / "pypi" / "simple", files, hashes))
    return changed


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


def build_uv_release(mirror: Path, log) -> bool:
    wheels = sorted((mirror / "pypi" / "packages").glob(f"uv-{UV_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"build_mirror: uv {UV_VERSION} wheel missing from pypi/packages")
    out_dir = mirror / "uv" / UV_VERSION
    archive = out_dir / f"uv-{UV_TRIPLE}.tar.gz"
    sidecar = archive.with_name(archive.name + ".sha256")
    stamp = mirror / STATE_DIR_NAME / "uv.json"
    key = _stamp_key({"wheel": wheels[0].name, "size": wheels[0].stat().st_size})
    if archive.is_file() and sidecar.is_file() and _read_stamp(stamp).get("key") == key:
        return False
    data = make_uv_archive(wheels[0], UV_VERSION)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    sidecar.write_text(f"{digest}  {archive.name}\n")
    write_if_changed(stamp, json.dumps({"key": key}) + "\n")
    for old in (mirror / "uv").iterdir():
        if old.is_dir() and old.name != UV_VERSION:
            shutil.rmtree(old)
    log(f"  wrote {archive.relative_to(mirror)} (sha256 {digest})")
    return True


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_sha256sums(directory: Path, hashes: HashCache, pattern: str = "*.sh") -> bool:
    lines = [f"{hashes.sha256(p)}  {p.name}\n" for p in sorted(directory.glob(pattern))]
    return write_if_changed(directory / "SHA256SUMS", "".join(lines))


def build_mnist(mirror: Path, hashes: HashCache, log, python: Path = DIGITS_PYTHON) -> Optional[bool]:
    """Write the digits as MNIST .gz files and their SHA256SUMS; None when no Python with scikit-learn is found."""
    if not python.is_file():
        log(f"  SKIPPED: {python} not found (make_digits_idx.py needs scikit-learn; set TORCHFLEET_DIGITS_PYTHON)")
        return None
    out = mirror / "mnist"
    key = _stamp_key({"writer": DIGITS_WRITER.read_text()})
    stamp = mirror / STATE_DIR_NAME / "mnist.json"
    changed = False
    if not all((out / name).is_file() for name in MNIST_FILES) or _read_stamp(stamp).get("key") != key:
        out.mkdir(parents=True, exist_ok=True)
        cmd = [str(python), str(DIGITS_WRITER), "--out", str(out), "--gzip"]
        log("  $ " + " ".join(cmd[1:]))
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if result.returncode != 0 or not all((out / name).is_file() for name in MNIST_FILES):
            sys.stderr.write(result.stdout)
            raise SystemExit(f"build_mirror: make_digits_idx.py failed (rc={result.returncode})")
        write_if_changed(stamp, json.dumps({"key": key}) + "\n")
        changed = True
    changed |= write_sha256sums(out, hashes, "*.gz")
    return changed


def build_conda_standins(mirror: Path, hashes: HashCache, log) -> Optional[bool]:
    """Build the stand-in installers; None when the stand-in builder is not in the tree yet."""
    if not STANDIN_BUILDER.is_file():
        log(f"  SKIPPED: {STANDIN_BUILDER.relative_to(REPO_ROOT)} not found; rerun `lab.sh mirror` once it exists")
        return None
    key = tree_digest(STANDIN_DIR)
    changed = False
    jobs = (
        ("miniconda", "Miniconda3", MINICONDA_VERSION, mirror / "miniconda"),
        ("miniforge", "Miniforge3", MINIFORGE_VERSION, mirror / "miniforge" / MINIFORGE_VERSION),
    )
    for flavor, stem, version, out in jobs:
        installer = out / f"{stem}-{version}-Linux-x86_64.sh"
        stamp = mirror / STATE_DIR_NAME / f"{flavor}.json"
        if installer.is_file() and Path(str(installer) + ".sha256").is_file() and _read_stamp(stamp).get("key") == key:
            continue
        out.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(STANDIN_BUILDER), "--flavor", flavor, "--version", version]
        cmd += ["--os", "Linux", "--arch", "x86_64", "--out", str(out)]
        log("  $ " + " ".join(cmd[1:]))
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if result.returncode != 0 or not installer.is_file():
            sys.stderr.write(result.stdout)
            raise SystemExit(f"build_mirror: conda stand-in builder failed for {flavor} (rc={result.returncode})")
        write_if_changed(stamp, json.dumps({"key": key}) + "\n")
        changed = True
    if (mirror / "miniconda").is_dir():
        changed |= write_sha256sums(mirror / "miniconda", hashes)
    return changed


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
    """Print each part as built or missing; exit status 0 only when the whole mirror is there."""
    checks = {
        "whl/cpu": (mirror / "whl" / "cpu" / "torch" / "index.html").is_file(),
        "pypi/simple": (mirror / "pypi" / "simple" / "uv" / "index.html").is_file(),
        "uv": (mirror / "uv" / UV_VERSION / f"uv-{UV_TRIPLE}.tar.gz").is_file(),
        "miniconda": any((mirror / "miniconda").glob("Miniconda3-*.sh")),
        "miniforge": any((mirror / "miniforge").glob("*/Miniforge3-*.sh")),
        "mnist": (mirror / "mnist" / "SHA256SUMS").is_file(),
        "manifest.json": (mirror / MANIFEST_NAME).is_file(),
    }
    for part, ok in checks.items():
        print(f"  {part:14} {'built' if ok else 'missing'}")
    return 0 if all(checks.values()) else 1


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path(os.environ.get("TORCHFLEET_MIRROR_DIR", DEFAULT_MIRROR)))
    parser.add_argument("--torch-wheel", type=Path, default=TORCH_WHEEL)
    parser.add_argument("--skip-conda", action="store_true", help="do not build the conda stand-in installers")
    parser.add_argument("--print-env", action="store_true", help="print the pinned versions as KEY=VALUE and exit")
    parser.add_argument("--status", action="store_true", help="report which parts are built and exit")
    args = parser.parse_args(argv)

    if args.print_env:
        print_env(args.torch_wheel)
        return 0
    mirror = args.mirror.resolve()
    if args.status:
        return mirror_status(mirror)

    def log(message: str) -> None:
        print(message, flush=True)

    mirror.mkdir(parents=True, exist_ok=True)
    hashes = HashCache(mirror / STATE_DIR_NAME / "hashes.json")
    results = {}
    log(f"mirror: {mirror}")
    log("whl/cpu (torch CPU index):")
    results["whl/cpu"] = build_torch_index(mirror, args.torch_wheel, hashes, log)
    log("pypi/simple (uv, pip, setuptools, wheel, Jupyter):")
    results["pypi/simple"] = build_pypi_index(mirror, hashes, log)
    log(f"uv/{UV_VERSION} (release archive):")
    results["uv"] = build_uv_release(mirror, log)
    log("miniconda/, miniforge/ (conda stand-in, a test double):")
    results["conda stand-in"] = None if args.skip_conda else build_conda_standins(mirror, hashes, log)
    if args.skip_conda:
        log("  SKIPPED: --skip-conda")
    log("mnist/ (scikit-learn's digits as MNIST IDX files):")
    results["mnist"] = build_mnist(mirror, hashes, log)
    manifest = build_manifest(mirror, hashes, versions(args.torch_wheel))
    results["manifest.json"] = write_if_changed(mirror / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
    hashes.save()
    shutil.rmtree(mirror / STATE_DIR_NAME / "tmp", ignore_errors=True)

    for part, changed in results.items():
        word = "skipped" if changed is None else ("updated" if changed else "up to date")
        log(f"  {part:16} {word}")
    if not any(results.values()):
        log("mirror: nothing to do, already complete")
    total = sum(f["size"] for f in manifest["files"])
    log(f"mirror: {len(manifest['files'])} files, {total / 1e6:.0f} MB; uv {UV_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
