# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the PyTorch build for a host: version, companions, compute build, index, Python, conda.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, because modules ship it to
managed hosts; the ``torch_build`` filter is a thin wrapper around :func:`resolve`.  The facts come from
``_torch_matrix`` (sources cited there).

Choices made here, beyond the data:
- ``python`` omitted: the newest Python the release supports as stable.  Pythons that the release's
  compatibility matrix calls experimental (3.12 for 2.2/2.3, 3.13 for 2.5, 3.15 for 2.15) are accepted when
  asked for explicitly (``python_experimental`` is then true) but never chosen by default.
- ``machine`` is reported as ``x86_64`` everywhere and as ``aarch64`` (Linux) or ``arm64`` (macOS, Windows)
  for 64-bit Arm, matching the wheel platform tags.
- ``index_url`` is None where plain PyPI serves that very build (macOS, Windows CPU, and the one CUDA build
  PyPI carries for Linux), else ``index_base/<build>``; ``build_index_url`` is always the per-build index,
  for roles that prefer to pin it.
"""

import re

from ansible_collections.torchfleet.lab.plugins.module_utils._torch_matrix import (
    CONDA_PLATFORMS,
    CUDA_MIN_DRIVER,
    DEFAULT_INDEX_BASE,
    LAST_MACOS_X86_64,
    MPS_MACOS_MIN,
    OLDEST_SUPPORTED,
    RELEASES,
)

_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "windows": "Windows"}
_X86 = ("x86_64", "amd64", "x64", "x86-64")
_ARM = ("aarch64", "arm64", "aarch64_be", "armv8", "armv8l")
_COMPUTE_HELP = "auto, cpu, cuda, cuXYZ (e.g. cu126), rocm, rocmX.Y (e.g. rocm6.2) or mps"
_DRIVER_RE = re.compile(r"^\d+(\.\d+){0,3}$")
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


class TorchBuildError(ValueError):
    """An impossible request; the message names the constraint and the way out."""


class _Driver(tuple):
    """A driver version as a tuple of ints that remembers how it was written (535.104.05)."""

    text = ""

    def __str__(self):
        return self.text


def _vkey(text):
    return tuple(int(part) for part in text.split("."))


def _sorted_versions():
    return sorted(RELEASES, key=_vkey)


def _range_text(versions):
    return f"{versions[0]} .. {versions[-1]}"


def _cuda_of(build):
    # cu118 -> 11.8, cu130 -> 13.0
    digits = build[2:]
    return f"{digits[:-1]}.{digits[-1]}"


def _norm_version(version):
    versions = _sorted_versions()
    if isinstance(version, float):
        raise TorchBuildError(
            f"pytorch_version {version!r} arrived as a number, which loses trailing zeros (2.10 reads as 2.1); "
            "quote it in YAML, e.g. pytorch_version: '2.10'"
        )
    text = str(version if version is not None else "").strip().lower()
    if text in ("", "latest"):
        return versions[-1]
    match = _VERSION_RE.match(text)
    if not match:
        raise TorchBuildError(
            f"pytorch_version {version!r} is not X.Y.Z, X.Y or 'latest'; supported releases: {_range_text(versions)}"
        )
    major, minor, patch = match.groups()
    wanted = (int(major), int(minor))
    if _vkey(OLDEST_SUPPORTED)[:2] > wanted:
        raise TorchBuildError(
            f"PyTorch {text} is older than {OLDEST_SUPPORTED}, the oldest release this collection supports "
            f"({_range_text(versions)}); use pytorch_version 2.0 or newer"
        )
    if patch is None:
        same_minor = [v for v in versions if _vkey(v)[:2] == wanted]
        if same_minor:
            return same_minor[-1]
    else:
        exact = f"{int(major)}.{int(minor)}.{int(patch)}"
        if exact in RELEASES:
            return exact
    raise TorchBuildError(
        f"PyTorch {text} is not in the compatibility data, which covers {_range_text(versions)}; pick one of "
        f"those releases (or 'latest'), or update the collection if {text} is newer"
    )


def _norm_system(system):
    key = str(system or "").strip().lower()
    if key not in _SYSTEMS:
        raise TorchBuildError(
            f"system {system!r} is not supported; use ansible_facts['system']: Linux, Darwin or Windows"
        )
    return _SYSTEMS[key]


def _norm_machine(system, machine):
    key = str(machine or "").strip().lower()
    if key in _X86:
        return "x86_64"
    if key in _ARM:
        return "aarch64" if system == "Linux" else "arm64"
    raise TorchBuildError(
        f"machine {machine!r} is not supported; PyTorch ships 64-bit wheels only: x86_64 (AMD64) or "
        "aarch64 (arm64), as ansible_facts['machine'] reports them"
    )


def _norm_python(python):
    if python is None:
        return None
    if isinstance(python, float):
        raise TorchBuildError(
            f"python {python!r} arrived as a number, which loses trailing zeros (3.10 reads as 3.1); "
            "quote it in YAML, e.g. python: '3.10'"
        )
    text = str(python).strip()
    if not text:
        return None
    match = re.match(r"^(?:python|py)?\s*(3)\.(\d+)(?:\.\d+)?$", text, re.IGNORECASE)
    if not match:
        raise TorchBuildError(f"python {text!r} is not a version like '3.11'; give major.minor, e.g. python: '3.11'")
    return f"{match.group(1)}.{int(match.group(2))}"


def parse_driver(driver):
    """Return the driver version as a tuple of ints, None when absent; TorchBuildError when malformed."""
    if driver is None or isinstance(driver, bool):
        if driver:
            raise TorchBuildError("nvidia_driver must be a version string like '535.104.05', not a boolean")
        return None
    if isinstance(driver, float):
        raise TorchBuildError(
            f"nvidia_driver {driver!r} arrived as a number, which loses trailing zeros (570.10 reads as 570.1); "
            "quote it, e.g. nvidia_driver: '570.10'"
        )
    text = str(driver).strip()
    if not text:
        return None
    if not _DRIVER_RE.match(text):
        raise TorchBuildError(
            f"nvidia_driver {text!r} is not a driver version; expected digits separated by dots as nvidia-smi "
            "prints them, e.g. '535.104.05' or '570.26', or leave it empty for a host without an NVIDIA driver"
        )
    parsed = _Driver(int(part) for part in text.split("."))
    parsed.text = text
    return parsed


def driver_at_least(driver, minimum):
    """Compare driver versions numerically per component; missing components count as 0."""
    have = tuple(driver) if isinstance(driver, tuple) else parse_driver(driver)
    need = tuple(int(part) for part in str(minimum).split("."))
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))


def min_driver(cuda, system):
    """Minimum NVIDIA driver (Table 3) for a CUDA version ('12.6') on Linux or Windows."""
    linux, windows = CUDA_MIN_DRIVER[cuda]
    return windows if system == "Windows" else linux


def _python_ok(release, platform, python):
    low, high = release["python"]
    stable = _vkey(low) <= _vkey(python) <= _vkey(high)
    experimental = python in release.get("python_experimental", ())
    only_on = release.get("python_only_on", {}).get(python)
    if only_on and platform not in only_on:
        return None
    if stable:
        return "stable"
    if experimental:
        return "experimental"
    return None


def _python_hint(python, platform):
    """Name the releases that do support ``python`` on ``platform``."""
    stable = [v for v in _sorted_versions() if _python_ok(RELEASES[v], platform, python) == "stable"]
    any_kind = [v for v in _sorted_versions() if _python_ok(RELEASES[v], platform, python)]
    if not any_kind:
        return f"no release in the data supports Python {python}"
    if not stable:
        return f"Python {python} is available, as experimental, from PyTorch {any_kind[0]}"
    text = f"Python {python} is supported by PyTorch {_range_text(stable)}"
    if stable and any_kind[0] != stable[0]:
        text += f" (experimental from {any_kind[0]})"
    return text


class _Host:
    """The release and platform one request is about."""

    def __init__(self, version, system, machine):
        self.version = version
        self.release = RELEASES[version]
        self.system = system
        self.machine = machine
        self.platform = f"{system.lower()}-{machine}"
        self.label = f"{system} {machine}"

    def cuda_builds(self):
        return self.release["cuda"].get(self.platform, ())


def _choose_python(host, python):
    low, high = host.release["python"]
    if python is None:
        return high, False
    kind = _python_ok(host.release, host.platform, python)
    if kind:
        return python, kind == "experimental"
    only_on = host.release.get("python_only_on", {}).get(python)
    where = f" ({python} wheels exist only for {', '.join(only_on)})" if only_on else ""
    raise TorchBuildError(
        f"PyTorch {host.version} supports Python {low} .. {high}{where}, not {python}; "
        f"{_python_hint(python, host.platform)}; or use python {high} with PyTorch {host.version}"
    )


def _builds_text(builds):
    return ", ".join(builds) if builds else "none"


def _pick_cuda(host, driver, driver_required):
    builds = host.cuda_builds()
    if not builds:
        others = [v for v in _sorted_versions() if RELEASES[v]["cuda"].get(host.platform)]
        hint = (
            f"releases with CUDA builds for {host.label}: {_range_text(others)}"
            if others
            else f"no release has CUDA builds for {host.label}"
        )
        raise TorchBuildError(f"PyTorch {host.version} has no CUDA build for {host.label}; {hint}; or use compute=cpu")
    if driver is None:
        if driver_required:
            raise TorchBuildError(
                "compute=cuda needs an NVIDIA driver, but none was given (nvidia_driver is empty): install one "
                "(torchfleet.lab.gpu_driver role) and pass its version, or use compute=cpu"
            )
        return None
    fitting = [b for b in builds if driver_at_least(driver, min_driver(_cuda_of(b), host.system))]
    if not fitting:
        oldest = builds[0]
        need = min_driver(_cuda_of(oldest), host.system)
        raise TorchBuildError(
            f"NVIDIA driver {driver} is older than every CUDA build of PyTorch {host.version} for {host.label} "
            f"({_builds_text(builds)}): the oldest, {oldest} (CUDA {_cuda_of(oldest)}), needs driver >= {need} "
            f"on {host.system}; upgrade the driver to >= {need} or use compute=cpu"
        )
    return fitting[-1]


def _parse_compute(compute):
    text = str(compute if compute is not None else "").strip().lower()
    if text in ("", "auto"):
        return "auto"
    if text in ("cpu", "cuda", "rocm", "mps"):
        return text
    if re.match(r"^cu\d{3}$", text) or re.match(r"^rocm\d+(\.\d+){1,2}$", text):
        return text
    raise TorchBuildError(f"compute {compute!r} is not one of {_COMPUTE_HELP}")


def _rocm_build(host, compute):
    if host.platform != "linux-x86_64":
        also = "" if host.system == "Darwin" else " or cuda"
        raise TorchBuildError(
            f"compute={compute}: ROCm builds exist for Linux x86_64 only, not {host.label}; use compute=cpu{also}"
        )
    rocm = host.release["rocm"]
    if not rocm:
        others = [v for v in _sorted_versions() if RELEASES[v]["rocm"]]
        raise TorchBuildError(
            f"PyTorch {host.version} has no ROCm build on the PyTorch wheel index in the data; use a release "
            f"with one ({_range_text(others)}, e.g. {others[-1]}) or compute=cpu"
        )
    if compute == "rocm":
        return rocm[-1]
    if compute not in rocm:
        raise TorchBuildError(
            f"PyTorch {host.version} has no {compute} build; its ROCm builds are {_builds_text(rocm)}; "
            "use one of those or compute=rocm"
        )
    return compute


def _explicit_cuda_build(host, compute, driver, notes):
    builds = host.cuda_builds()
    if compute not in builds:
        raise TorchBuildError(
            f"PyTorch {host.version} has no {compute} build for {host.label}; its CUDA builds there are "
            f"{_builds_text(builds)}; use one of those, compute=cuda to pick by driver, or compute=cpu"
        )
    if driver is None:
        notes.append(f"no NVIDIA driver given: {compute} was not checked against a driver")
        return compute
    need = min_driver(_cuda_of(compute), host.system)
    if not driver_at_least(driver, need):
        best = _pick_cuda(host, driver, False)
        raise TorchBuildError(
            f"{compute} (CUDA {_cuda_of(compute)}) needs NVIDIA driver >= {need} on {host.system}, found {driver}; "
            f"upgrade the driver, or use compute={best} (the newest build this driver runs) or compute=auto"
        )
    return compute


def _resolve_compute(host, compute, driver):
    """Return the build name (cpu, mps, cuXYZ, rocmX.Y) and notes."""
    notes = []
    apple_silicon = host.platform == "darwin-arm64"
    if host.system == "Darwin" and compute not in ("auto", "cpu", "mps"):
        instead = "mps (or cpu)" if apple_silicon else "cpu"
        raise TorchBuildError(
            f"compute={compute} is impossible on macOS: PyTorch has no CUDA or ROCm builds for macOS; "
            f"use compute={instead}"
        )
    if compute == "mps":
        if not apple_silicon:
            also = "" if host.system == "Darwin" else " or compute=cuda / auto with an NVIDIA driver"
            raise TorchBuildError(
                f"compute=mps needs Apple silicon (Darwin arm64), not {host.label}; use compute=cpu{also}"
            )
        return "mps", notes
    if compute == "cpu":
        return "cpu", notes
    if compute.startswith("rocm"):
        return _rocm_build(host, compute), notes
    if compute == "cuda":
        return _pick_cuda(host, driver, True), notes
    if compute.startswith("cu"):
        return _explicit_cuda_build(host, compute, driver, notes), notes
    # auto
    if host.system == "Darwin":
        return ("mps" if apple_silicon else "cpu"), notes
    if driver is None:
        return "cpu", notes
    if not host.cuda_builds():
        notes.append(
            f"an NVIDIA driver was given, but PyTorch {host.version} has no CUDA build for {host.label}: chose cpu"
        )
        return "cpu", notes
    return _pick_cuda(host, driver, True), notes


def _pypi_build(release, platform):
    if platform == "linux-x86_64":
        return release["pypi_linux_x86_64"]
    if platform == "linux-aarch64":
        return release["pypi_linux_aarch64"]
    return "cpu"


def _macos_min(release, python, build):
    floor = release.get("macos_arm64_min_by_python", {}).get(python, release["macos_arm64_min"])
    if build == "mps" and _vkey(MPS_MACOS_MIN) > _vkey(floor):
        return MPS_MACOS_MIN
    return floor


def _conda(version, release, platform, python, build):
    conda = release.get("conda")
    if not conda or platform not in CONDA_PLATFORMS:
        return False, [], []
    if platform == "darwin-x86_64" and not conda["macos_x86_64"]:
        return False, [], []
    wanted = "cpu" if build == "mps" else build
    low, high = conda["python"]
    if wanted not in conda["builds"] or not _vkey(low) <= _vkey(python) <= _vkey(high):
        return False, [], []
    packages = [
        f"pytorch=={version}",
        f"torchvision=={conda.get('conda_torchvision', release['torchvision'])}",
        f"torchaudio=={conda.get('conda_torchaudio', release['torchaudio'])}",
    ]
    channels = ["pytorch"]
    if build.startswith("cu"):
        packages.append(f"pytorch-cuda={_cuda_of(build)}")
        channels.append("nvidia")
    elif platform.startswith(("linux", "windows")):
        packages.append("cpuonly")
    return True, packages, channels


def resolve(
    version,
    system,
    machine,
    python=None,
    compute="auto",
    nvidia_driver=None,
    index_base=DEFAULT_INDEX_BASE,
):
    """Describe the PyTorch build to install; raise TorchBuildError for an impossible request."""
    version = _norm_version(version)
    system = _norm_system(system)
    host = _Host(version, system, _norm_machine(system, machine))
    release, machine, platform = host.release, host.machine, host.platform
    compute = _parse_compute(compute)
    driver = parse_driver(nvidia_driver)
    python = _norm_python(python)

    if platform == "windows-arm64":
        raise TorchBuildError(
            "PyTorch publishes no supported Windows arm64 build (PyPI has no win_arm64 torch wheels and the "
            "install matrix lists none); use an x86_64 Windows host, or Linux aarch64 (e.g. WSL2) instead"
        )
    if platform == "darwin-x86_64" and not release["macos_x86_64"]:
        raise TorchBuildError(
            f"PyTorch {version} has no macOS Intel (x86_64) build: Intel Mac wheels end with {LAST_MACOS_X86_64}; "
            f"use pytorch_version 2.2 ({LAST_MACOS_X86_64}) on this Mac, or an Apple silicon Mac for newer releases"
        )

    build, notes = _resolve_compute(host, compute, driver)
    python, experimental = _choose_python(host, python)
    if experimental:
        notes.append(f"Python {python} is experimental for PyTorch {version}")

    base = str(index_base or DEFAULT_INDEX_BASE).rstrip("/")
    index_build = "cpu" if build == "mps" else build
    build_index_url = f"{base}/{index_build}"
    on_pypi = system in ("Darwin",) or index_build == _pypi_build(release, platform)
    index_url = None if on_pypi else build_index_url

    cuda = _cuda_of(build) if build.startswith("cu") else None
    conda_channel, conda_packages, conda_channels = _conda(version, release, platform, python, build)

    glibc_min = None
    if system == "Linux":
        glibc_min = release.get("glibc_by_build", {}).get(build) if machine == "x86_64" else None
        glibc_min = glibc_min or release["glibc"][platform]

    result = {
        "torch": version,
        "torchvision": release["torchvision"],
        "torchaudio": release["torchaudio"],
        "compute": build,
        "cuda": cuda,
        "rocm": build[4:] if build.startswith("rocm") else None,
        "min_driver": min_driver(cuda, system) if cuda else None,
        "index_url": index_url,
        "build_index_url": build_index_url,
        "python": python,
        "python_experimental": experimental,
        "conda_channel": conda_channel,
        "conda_packages": conda_packages,
        "conda_channels": conda_channels,
        "glibc_min": glibc_min,
        "macos_min": _macos_min(release, python, build) if platform == "darwin-arm64" else None,
        "system": system,
        "machine": machine,
        "notes": notes,
    }
    result["requirements"] = [
        f"{name}=={result[name]}" for name in ("torch", "torchvision", "torchaudio") if result[name]
    ]
    return result
