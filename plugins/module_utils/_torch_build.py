# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the PyTorch build for a host: version, companions, compute build, index, Python, conda.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, because modules ship it to
managed hosts; the ``torch_build`` filter is a thin wrapper around :func:`resolve`, the ``pytorch_release``
filter one around :func:`pytorch_release`.  The facts come from ``_torch_matrix`` (sources cited there).

Choices made here, beyond the data:
- ``python`` omitted: the newest Python the release supports as stable.  Pythons that the release's
  compatibility matrix calls experimental (3.12 for 2.2/2.3, 3.13 for 2.5, 3.15 for 2.15) are accepted when
  asked for explicitly (``python_experimental`` is then true) but never chosen by default.
- ``system`` and ``machine`` are named as ``_platform`` names them: ``x86_64`` everywhere, ``aarch64`` (Linux) or
  ``arm64`` (macOS, Windows) for 64-bit Arm, matching the wheel platform tags.
- ``index_url`` is None where plain PyPI serves that very build (macOS, Windows CPU, and the one CUDA build
  PyPI carries for Linux), else ``index_base/<build>``; ``build_index_url`` is always the per-build index,
  for roles that prefer to pin it.
- The driver rule (``driver_rule`` in the result): the newest release build whose toolkit minimum driver
  (NVIDIA's Table 3) the driver meets (``toolkit``); failing that, the newest whose CUDA major family the driver
  runs under minor-version compatibility (Table 2) and which carries machine code for every GPU of the host
  (``minor_version``; without GPU information it is allowed with a note).  ``full_driver`` is the Table 3
  minimum of the chosen build, ``min_driver`` the driver it needs under the rule used.
- Builds off the release matrix (``cuda_off_matrix``) are used only when named, with a warning note.  A
  companion the chosen build's index lacks (``index_lacks``) is null, with a note, when that index is used.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.torchfleet.lab.plugins.module_utils import _platform
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_matrix import (
    CONDA_PLATFORMS,
    CUDA_ARCHS,
    CUDA_MIN_DRIVER,
    CUDA_MINOR_COMPAT_DRIVER,
    DEFAULT_INDEX_BASE,
    LAST_MACOS_X86_64,
    MPS_MACOS_MIN,
    OLDEST_SUPPORTED,
    RELEASES,
)

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


def cuda_of(build):
    """cu118 -> '11.8', cu130 -> '13.0': the CUDA release a PyTorch ``cuXYZ`` build label names."""
    digits = build[2:]
    return f"{digits[:-1]}.{digits[-1]}"


_cuda_of = cuda_of  # the name this module and its tests use; other modules call cuda_of


def exact_release(version):
    """The release (X.Y.Z) that ``pytorch_version`` names: '' or 'latest' the newest in the data, X.Y its newest
    patch.  TorchBuildError, saying what to write instead, for a number (YAML's 2.10 is 2.1), another form, or a
    release outside the data."""
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


def _reusable(version, known):
    """Whether ``known`` is a :func:`pytorch_release` answer for this very string (a number never is)."""
    return (
        isinstance(version, str)
        and isinstance(known, Mapping)
        and known.get("requested") == version
        and known.get("version") in RELEASES
    )


def pytorch_release(version, known=None):
    """``{"requested": version as given, as a string, "version": its exact release}``.

    ``known`` is an earlier answer (the ``torchfleet_pytorch_release`` fact): returned unchanged, without resolving
    again, when it was made from the same string, so each host resolves ``pytorch_version`` once.
    """
    if _reusable(version, known):
        return known
    return {"requested": "" if version is None else str(version), "version": exact_release(version)}


def _norm_system(system):
    name = _platform.system_name(system)
    if name is None:
        raise TorchBuildError(
            f"system {system!r} is not supported; use ansible_facts['system']: Linux, Darwin or Windows (Win32NT)"
        )
    return name


def _norm_machine(system, machine):
    name = _platform.machine_name(system, machine)
    if name in ("x86_64", "aarch64", "arm64"):
        return name
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


def minor_compat_driver(cuda, system):
    """Lowest driver that runs a CUDA version under minor-version compatibility (Table 2), or None."""
    floors = CUDA_MINOR_COMPAT_DRIVER.get(str(cuda).split(".", 1)[0])
    if floors is None:
        return None
    linux, windows = floors
    return windows if system == "Windows" else linux


_CC_RE = re.compile(r"^(\d{1,2})\.(\d)$")


def parse_compute_capabilities(capabilities):
    """The host's GPU compute capabilities as ((major, minor) or None, ...); None when no list was given.

    A device whose capability is unknown (an old driver cannot report it) is None in the tuple.
    """
    if capabilities is None or isinstance(capabilities, bool):
        if capabilities:
            raise TorchBuildError("gpu_compute_capabilities must be a list such as ['8.0', '9.0'], not a boolean")
        return None
    if isinstance(capabilities, (str, bytes)) or not hasattr(capabilities, "__iter__"):
        capabilities = [capabilities]
    parsed = []
    for item in capabilities:
        if item is None or (isinstance(item, str) and not item.strip()):
            parsed.append(None)
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise TorchBuildError(
                f"gpu_compute_capabilities item {item!r} is not a compute capability; give strings like '8.6', "
                "as gpu_facts reports them in torchfleet_gpu.devices[].compute_capability"
            )
        text = f"{item}.0" if isinstance(item, int) else str(item).strip()
        match = _CC_RE.match(text)
        if not match:
            raise TorchBuildError(
                f"gpu_compute_capabilities item {item!r} is not a compute capability like '8.6' (major.minor)"
            )
        parsed.append((int(match.group(1)), int(match.group(2))))
    return tuple(parsed) if parsed else None


def _cc_text(cc):
    return f"{cc[0]}.{cc[1]}"


def sass_covers(archs, cc):
    """Whether machine code for ``archs`` ('8.0', ...) runs on a GPU of compute capability ``cc``.

    A cubin for X.y runs on devices of compute capability X.z with z >= y (CUDA C++ Programming Guide,
    "Binary Compatibility").
    """
    for arch in archs:
        major, minor = (int(part) for part in arch.split("."))
        if major == cc[0] and minor <= cc[1]:
            return True
    return False


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

    def off_matrix_builds(self):
        return self.release.get("cuda_off_matrix", {}).get(self.platform, ())

    def archs(self, build):
        return CUDA_ARCHS.get(self.version, {}).get(self.platform, {}).get(build)


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


def _minor_version_check(host, build, driver, gpus):
    """Why ``build`` cannot run on ``driver`` under minor-version compatibility, or None when it can.

    Returns (reason or None, notes for the choice).
    """
    cuda = _cuda_of(build)
    floor = minor_compat_driver(cuda, host.system)
    if floor is None or not driver_at_least(driver, floor):
        return f"CUDA {cuda.split('.', 1)[0]}.x needs driver >= {floor} even under minor-version compatibility", []
    if gpus is None:
        return None, [
            f"no GPU compute capabilities given: not checked that {build} carries machine code for this host's "
            "GPUs, which minor-version compatibility needs (PTX cannot be JIT-compiled on an older driver)"
        ]
    known = [cc for cc in gpus if cc is not None]
    notes = []
    if len(known) < len(gpus):
        notes.append(
            f"{len(gpus) - len(known)} GPU(s) reported no compute capability: not checked that {build} carries "
            "machine code for them"
        )
    if not known:
        return None, notes
    archs = host.archs(build)
    if archs is None:
        return (
            f"the data has no architecture list for {build} of PyTorch {host.version} on {host.label}, so its "
            "machine code for these GPUs cannot be shown",
            [],
        )
    missing = sorted({_cc_text(cc) for cc in known if not sass_covers(archs, cc)})
    if missing:
        return f"{build} carries no machine code for compute capability {', '.join(missing)}", []
    return None, notes


def minor_version_floor(version, system, machine, build, gpu_compute_capabilities=None):
    """(driver, None) with the lowest driver that runs ``build`` under minor-version compatibility on this host
    (its GPUs checked as the resolver checks them), or (None, why not).  gpu_driver's floor check uses it."""
    host = _Host(exact_release(version), _norm_system(system), _norm_machine(_norm_system(system), machine))
    floor = minor_compat_driver(_cuda_of(build), host.system)
    if floor is None:
        return None, f"CUDA {_cuda_of(build)} has no minor-version compatibility floor in the data"
    reason = _minor_version_check(
        host, build, parse_driver(floor), parse_compute_capabilities(gpu_compute_capabilities)
    )[0]
    return (None, reason) if reason else (floor, None)


def _minor_version_note(host, build, driver, full):
    return (
        f"driver {driver} is older than {full}, the toolkit minimum of {build} (CUDA {_cuda_of(build)}) on "
        f"{host.system}: {build} runs under NVIDIA's minor-version compatibility (limited feature set: no PTX JIT); "
        f"driver >= {full} gives full compatibility"
    )


def _pick_cuda(host, driver, driver_required, gpus, notes):
    """Return (build, rule) by the driver rule; raise when no release build qualifies."""
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
        return None, None
    fitting = [b for b in builds if driver_at_least(driver, min_driver(_cuda_of(b), host.system))]
    if fitting:
        return fitting[-1], "toolkit"
    reasons = []
    for build in reversed(builds):
        reason, extra = _minor_version_check(host, build, driver, gpus)
        if reason is None:
            notes.extend([_minor_version_note(host, build, driver, min_driver(_cuda_of(build), host.system)), *extra])
            return build, "minor_version"
        reasons.append(f"{build}: {reason}")
    oldest = builds[0]
    need = min_driver(_cuda_of(oldest), host.system)
    raise TorchBuildError(
        f"NVIDIA driver {driver} is older than every CUDA build of PyTorch {host.version} for {host.label} "
        f"({_builds_text(builds)}): the oldest, {oldest} (CUDA {_cuda_of(oldest)}), needs driver >= {need} "
        f"on {host.system}, and none runs under minor-version compatibility ({'; '.join(reasons)}); upgrade the "
        f"driver to >= {need} or use compute=cpu"
    )


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


def _explicit_cuda_build(host, compute, driver, gpus, notes):
    builds = host.cuda_builds()
    off_matrix = host.off_matrix_builds()
    if compute not in builds and compute not in off_matrix:
        raise TorchBuildError(
            f"PyTorch {host.version} has no {compute} build for {host.label}; its CUDA builds there are "
            f"{_builds_text(builds)}; use one of those, compute=cuda to pick by driver, or compute=cpu"
        )
    if compute in off_matrix:
        notes.append(
            f"warning: {compute} is not a release build of PyTorch {host.version}: PyTorch's release matrix lists "
            f"{_builds_text(builds)} for {host.label}, and {compute} was seen only in an older wheel-index listing; "
            "it is used because it was asked for by name, and the index may not carry it"
        )
    if driver is None:
        notes.append(f"no NVIDIA driver given: {compute} was not checked against a driver")
        return compute, None
    need = min_driver(_cuda_of(compute), host.system)
    if driver_at_least(driver, need):
        return compute, "toolkit"
    reason, extra = _minor_version_check(host, compute, driver, gpus)
    if reason is None:
        notes.extend([_minor_version_note(host, compute, driver, need), *extra])
        return compute, "minor_version"
    try:
        best = f"compute={_pick_cuda(host, driver, False, gpus, [])[0]} (the newest build this driver runs)"
    except TorchBuildError:
        best = "compute=cpu"
    raise TorchBuildError(
        f"{compute} (CUDA {_cuda_of(compute)}) needs NVIDIA driver >= {need} on {host.system}, found {driver}, and "
        f"minor-version compatibility does not apply ({reason}); upgrade the driver, or use {best} or "
        "compute=auto"
    )


def _resolve_compute(host, compute, driver, gpus):
    """Return the build name (cpu, mps, cuXYZ, rocmX.Y), the driver rule used (or None) and notes."""
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
        return "mps", None, notes
    if compute == "cpu":
        return "cpu", None, notes
    if compute.startswith("rocm"):
        return _rocm_build(host, compute), None, notes
    if compute == "cuda":
        return (*_pick_cuda(host, driver, True, gpus, notes), notes)
    if compute.startswith("cu"):
        return (*_explicit_cuda_build(host, compute, driver, gpus, notes), notes)
    # auto
    if host.system == "Darwin":
        return ("mps" if apple_silicon else "cpu"), None, notes
    if driver is None:
        return "cpu", None, notes
    if not host.cuda_builds():
        notes.append(
            f"an NVIDIA driver was given, but PyTorch {host.version} has no CUDA build for {host.label}: chose cpu"
        )
        return "cpu", None, notes
    return (*_pick_cuda(host, driver, True, gpus, notes), notes)


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


def _check_platform(host):
    """Refuse a platform the release publishes no build for."""
    if host.platform == "windows-arm64":
        raise TorchBuildError(
            "PyTorch publishes no supported Windows arm64 build (PyPI has no win_arm64 torch wheels and the "
            "install matrix lists none); use an x86_64 Windows host, or Linux aarch64 (e.g. WSL2) instead"
        )
    if host.platform == "darwin-x86_64" and not host.release["macos_x86_64"]:
        raise TorchBuildError(
            f"PyTorch {host.version} has no macOS Intel (x86_64) build: Intel Mac wheels end with "
            f"{LAST_MACOS_X86_64}; use pytorch_version 2.2 ({LAST_MACOS_X86_64}) on this Mac, or an Apple silicon "
            "Mac for newer releases"
        )


def _index_urls(host, index_build, index_base):
    """(the build's own index URL, the index pip needs: None when PyPI carries the build)."""
    base = str(index_base or DEFAULT_INDEX_BASE).rstrip("/")
    build_index_url = f"{base}/{index_build}"
    on_pypi = host.system in ("Darwin",) or index_build == _pypi_build(host.release, host.platform)
    return build_index_url, None if on_pypi else build_index_url


def _glibc_min(host, build):
    """The oldest glibc the Linux wheels run on; None off Linux."""
    if host.system != "Linux":
        return None
    glibc_min = host.release.get("glibc_by_build", {}).get(build) if host.machine == "x86_64" else None
    return glibc_min or host.release["glibc"][host.platform]


def _companions(release, index_build, index_url, notes):
    """torchvision and torchaudio of the release; None for one the build's index does not carry."""
    companions = {name: release[name] for name in ("torchvision", "torchaudio")}
    for name in release.get("index_lacks", {}).get(index_build, ()):
        if index_url is not None and companions[name]:
            notes.append(
                f"{name}: none, the {index_build} index carries no {name} {companions[name]} (nor any current "
                f"{name}); install it from another build, or leave {name} out"
            )
            companions[name] = None
    return companions


@dataclass
class BuildRequest:
    """What the torch_build filter is asked: the PyTorch version, the host's system and machine, and the options.

    ``gpu_compute_capabilities``: the host's NVIDIA GPUs (['8.0', '9.0'], as gpu_facts reports each device's
    ``compute_capability``); used only to check a build chosen under minor-version compatibility.
    """

    version: Any
    system: Any = None
    machine: Any = None
    python: Any = None
    compute: Any = "auto"
    nvidia_driver: Any = None
    index_base: Any = DEFAULT_INDEX_BASE
    gpu_compute_capabilities: Any = None


def resolve(version, system, machine, **options):
    """Describe the PyTorch build to install; raise TorchBuildError for an impossible request.

    ``options`` are the fields of :class:`BuildRequest` after ``machine``.
    """
    return resolve_request(BuildRequest(version, system, machine, **options))


def resolve_request(request):
    """:func:`resolve` of one :class:`BuildRequest`."""
    version, system, machine, python = request.version, request.system, request.machine, request.python
    version = exact_release(version)
    system = _norm_system(system)
    host = _Host(version, system, _norm_machine(system, machine))
    release, machine, platform = host.release, host.machine, host.platform
    compute, driver = _parse_compute(request.compute), parse_driver(request.nvidia_driver)
    gpus, python = parse_compute_capabilities(request.gpu_compute_capabilities), _norm_python(python)
    _check_platform(host)
    build, rule, notes = _resolve_compute(host, compute, driver, gpus)
    python, experimental = _choose_python(host, python)
    if experimental:
        notes.append(f"Python {python} is experimental for PyTorch {version}")
    index_build = "cpu" if build == "mps" else build
    build_index_url, index_url = _index_urls(host, index_build, request.index_base)
    cuda = _cuda_of(build) if build.startswith("cu") else None
    conda_channel, conda_packages, conda_channels = _conda(version, release, platform, python, build)
    glibc_min = _glibc_min(host, build)
    companions = _companions(release, index_build, index_url, notes)
    full_driver = min_driver(cuda, system) if cuda else None
    result = {
        "torch": version,
        "torchvision": companions["torchvision"],
        "torchaudio": companions["torchaudio"],
        "compute": build,
        "cuda": cuda,
        "rocm": build[4:] if build.startswith("rocm") else None,
        "min_driver": minor_compat_driver(cuda, system) if rule == "minor_version" else full_driver,
        "full_driver": full_driver,
        "driver_rule": rule,
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
