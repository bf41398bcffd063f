# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions behind the ``gpu_driver`` role: what to install, from where, and whether to refuse.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax.  The ``driver_plan`` filter is a
thin wrapper around :func:`plan`; the role's YAML only carries out the plan it returns, so everything that
differs by OS, distribution, branch or kernel-module flavour is here and unit-tested.

Sources (``[V]`` seen in the source; ``[NV]`` inferred, kept only where the role double-checks it):
- Open kernel modules: Turing or newer only (compute capability >= 7.5), the default from the 560 series,
  NVIDIA Driver Installation Guide "Kernel Modules" (docs.nvidia.com/datacenter/tesla/driver-installation-guide/
  kernel-modules.html) [V].  Grace Hopper and Blackwell need the open flavour (LFS "NVIDIA-r580") [V].
- Maxwell, Pascal and Volta are dropped from the 590 series: stay on 580 (Rocky Linux documentation,
  docs/desktop/display/installing_nvidia_gpu_drivers.md) [V].
- First CUDA release per architecture: Ada (8.9) and Hopper (9.0) from CUDA 11.8 (CMake MR 8031, GROMACS MR
  3180); Blackwell (10.0, 12.0) from CUDA 12.8 [V].  The driver floor of that CUDA release comes from
  ``_torch_matrix.CUDA_MIN_DRIVER`` (NVIDIA's Table 3), not from a second table here.
- Debian 12: ``nvidia-driver``, ``nvidia-kernel-dkms``, ``nvidia-smi``, ``libcuda1``, ``nvidia-persistenced``
  in non-free, ``nvidia-open-kernel-dkms`` in contrib, ``firmware-misc-nonfree`` in non-free-firmware, all of
  the 535 branch (apt-cache policy on bookworm, 535.261.03-1) [V]; the binary packages come from the source
  package ``nvidia-graphics-drivers`` [V]; nvidia-persistenced runs as ``nvpd`` there [V].
- Ubuntu: ``nvidia-headless-B-server[-open]`` (DKMS + userspace) and ``nvidia-utils-B-server`` (packages.ubuntu.com)
  [V]; end-of-life branches turn into transitional packages of a newer branch [V], which the role catches by
  comparing the installed version with the branch after the install.  nvidia-persistenced user
  ``nvidia-persistenced`` (Ubuntu's unit file) [V].
- CUDA repository: keyring ``cuda-keyring_1.1-1_all.deb`` under ``compute/cuda/repos/<dir>/`` with dirs
  ``ubuntu2204``, ``ubuntu2404``, ``debian12`` and ``x86_64``/``sbsa`` [V]; ``nvidia-driver-pinning-B`` then
  ``nvidia-open`` or ``cuda-drivers`` (Driver Installation Guide, Recent Updates) [V]; ``cuda-drivers-B`` and
  ``nvidia-kernel-open-dkms`` for older branches [V for 580, NV before].  RHEL: ``cuda-rhel<N>.repo``, module
  streams ``nvidia-driver:B-dkms`` and ``nvidia-driver:B-open`` (NVIDIA yum-packaging issues, guide) [V].
- Nouveau: ``blacklist nouveau`` + ``options nouveau modeset=0``, then ``update-initramfs -u`` (Debian family)
  or ``dracut --force`` (RHEL) (CUDA Installation Guide "Disabling Nouveau") [V].
- GPU generation without a driver: the PCI device id (sysfs, no driver needed) looked up in NVIDIA's own lists,
  see ``_nvidia_pci_ids`` (open-gpu-kernel-modules README "Compatible GPUs" and the proprietary driver's
  supported-gpus.json, i.e. README Appendix A) [V].
- Secure Boot: dkms sources /etc/dkms/framework.conf and then /etc/dkms/framework.conf.d/*.conf as shell
  (dell/dkms v3.0.10 dkms.in:652-656 ``read_framework_conf``, :406-413 ``safe_source``) and reads
  ``mok_signing_key`` / ``mok_certificate`` only when it builds (:900 ``prepare_signing``); without them it
  generates /var/lib/dkms/mok.key and signs with that (:954-969) [V].  mokutil's ``--test-key`` answers are in
  :func:`mok_state` [V].
- EPEL: ``powertools`` on EL8 rebuilds, ``crb`` on EL9 (docs.fedoraproject.org/en-US/epel/getting-started/,
  wiki.rockylinux.org/rocky/repo/) [V]; keys by fingerprint (fedoraproject.org/security/) [V].
- Windows: PyTorch's CI installs the data-center driver ``<ver>-data-center-tesla-desktop-win10-win11-64bit-dch-
  international.exe`` with ``-s -noreboot`` [V]; 3010 as "reboot required" is the Windows Installer convention,
  not documented by NVIDIA for this installer [NV], so the role treats it as success with a reboot pending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.torchfleet.lab.plugins.module_utils import _nvidia_pci_ids, _platform, _torch_build, _validate
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_matrix import RELEASES

# Driver branches this collection knows how to install and check.  Each has a CUDA release whose minimum
# driver names it (Table 3), or is a documented long-term branch (535, 580).
KNOWN_BRANCHES = (535, 550, 560, 565, 570, 575, 580, 590, 595)

# First branch whose recommended (default) kernel modules are the open ones.
OPEN_DEFAULT_FROM = 560
# Maxwell, Pascal and Volta: last branch that drives them.
PRE_TURING_LAST_BRANCH = 580
# Turing: first architecture the open modules drive.
OPEN_MIN_CC = (7, 5)
# Grace Hopper (9.0 with Grace, not detectable from the GPU alone) and Blackwell (10.x, 12.x) need open modules.
OPEN_REQUIRED_CC = (10, 0)

# Compute capability -> first CUDA release that knows it; the branch floor follows from CUDA_MIN_DRIVER.
CC_FIRST_CUDA = (
    ((8, 9), "11.8"),  # Ada
    ((9, 0), "11.8"),  # Hopper
    ((10, 0), "12.8"),  # Blackwell data centre
    ((12, 0), "12.8"),  # Blackwell workstation/consumer
)

SUPPORTED = {
    "Debian": ("12",),
    "Ubuntu": ("22", "24"),
    "RedHat": ("8", "9"),
    "Rocky": ("8", "9"),
    "AlmaLinux": ("8", "9"),
}

# Branches each distribution's own archive carries under a name that really pins the branch.
DISTRO_BRANCHES = {"Debian": (535,), "Ubuntu": (535, 580)}

CONTAINER_TYPES = ("container", "docker", "podman", "lxc", "containerd", "systemd-nspawn", "wsl")

CUDA_REPO_BASE = "https://developer.download.nvidia.com/compute/cuda/repos"
CUDA_KEYRING_FILE = "cuda-keyring_1.1-1_all.deb"
# The keyring's SHA-256 could not be read from any source this collection can cite, so none is built in:
# gpu_driver_cuda_keyring_sha256 must carry it (nothing is installed unverified).
CUDA_KEYRING_SHA256: Dict[str, str] = {}
CUDA_REPO_GPGKEY = "D42D0685.pub"

MOK_DKMS_CONF = "/etc/dkms/framework.conf.d/torchfleet-mok.conf"
MOK_OLD_HASH_FILE = "/root/.torchfleet-mok.hash"
# apt reads credentials from auth.conf.d, so the 0644 sources file never holds them (apt_auth.conf(5)).
DEBIAN_NONFREE_AUTH = "/etc/apt/auth.conf.d/torchfleet-nonfree.conf"
# EPEL's release RPM and signing keys, pinned by full fingerprint (https://fedoraproject.org/security/, the
# "EPEL 8" and "EPEL 9" keys; also the key files named by fingerprint in fedora-web's static/keys/).
EPEL_RELEASE_URL = "https://dl.fedoraproject.org/pub/epel/epel-release-latest-{major}.noarch.rpm"
EPEL_KEY_URL = "https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-{major}"
EPEL_KEY_FINGERPRINTS = {
    "8": "94E279EB8D8F25B21810ADF121EA45AB2F86D6A1",
    "9": "FF8AD1344597106ECE813B918A3872BF3228467C",
}
BLACKLIST_FILE = "/etc/modprobe.d/blacklist-nouveau.conf"
BLACKLIST_CONTENT = "blacklist nouveau\noptions nouveau modeset=0\n"
PERSISTENCED_DROPIN = "/etc/systemd/system/nvidia-persistenced.service.d/torchfleet.conf"
DEBIAN_NONFREE_SOURCES = "/etc/apt/sources.list.d/torchfleet-nonfree.sources"

WINDOWS_INSTALLER_TEMPLATE = "{version}-data-center-tesla-desktop-win10-win11-64bit-dch-international.exe"
WINDOWS_INSTALLER_ARGS = ["-s", "-noreboot"]
WINDOWS_RETURN_CODES = [0, 3010]
WINDOWS_REBOOT_CODE = 3010

_FLAVORS = ("auto", "open", "proprietary")
_SOURCES = ("auto", "distro", "cuda")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class DriverPlanError(ValueError):
    """A request the role must refuse before any change; the message says what to change."""


# ---------------------------------------------------------------------------
# Small parsers


def parse_branch(branch: Any) -> Optional[int]:
    """'580', 580, 'R580', '580.95.05' -> 580; '' / None -> None (choose automatically)."""
    if branch is None or isinstance(branch, bool):
        return None
    text = str(branch).strip().upper().lstrip("R")
    if not text:
        return None
    match = re.match(r"^(\d{3})(?:\.\d+)*$", text)
    if not match:
        raise DriverPlanError(
            f"gpu_driver_branch {branch!r} is not a driver branch; give the three-digit series such as '580' "
            f"(known: {_branches_text()})"
        )
    return int(match.group(1))


def _branches_text(branches=KNOWN_BRANCHES) -> str:
    return ", ".join(str(b) for b in branches)


def parse_cc(text: Any) -> Optional[Tuple[int, int]]:
    """'8.0' -> (8, 0); None or junk -> None."""
    match = re.match(r"^\s*(\d+)\.(\d+)\s*$", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def branch_of(version: Any) -> Optional[int]:
    """'535.261.03-1', '3:580.95.05-1.el9', '580.88' -> branch number."""
    match = re.match(r"^(?:\d+:)?(\d+)\.", str(version or "").strip())
    return int(match.group(1)) if match else None


def in_container(facts: Dict[str, Any]) -> bool:
    return facts.get("virtualization_role") == "guest" and facts.get("virtualization_type") in CONTAINER_TYPES


def nvidia_devices(gpu: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [d for d in (gpu or {}).get("devices") or [] if d.get("vendor") == "nvidia"]


# ---------------------------------------------------------------------------
# GPU generation


def _id_set(text: str) -> frozenset:
    return frozenset(text.split())


_PCI_OPEN = _id_set(_nvidia_pci_ids.OPEN)
_PCI_PRE_TURING = _id_set(_nvidia_pci_ids.PRE_TURING)
_PCI_NEWER = _id_set(_nvidia_pci_ids.NEWER)
_PCI_LEGACY = {did: branch for branch, ids in _nvidia_pci_ids.LEGACY.items() for did in ids.split()}


def pci_generation(pci_id: Any) -> Tuple[str, str]:
    """('open' | 'newer' | 'pre-turing' | 'legacy' | 'unlisted', detail) for an NVIDIA PCI id ``10de:1b06``.

    From NVIDIA's own lists (see ``_nvidia_pci_ids``): ``open`` Turing or newer (the open modules drive it),
    ``newer`` one of those that driver 535's list does not know, ``pre-turing`` Maxwell, Pascal or Volta
    (proprietary modules only), ``legacy`` a GPU sent to a legacy branch (detail: that branch), ``unlisted``
    an id in neither list.
    """
    match = re.match(r"^\s*(?:0x)?10de:(?:0x)?([0-9a-fA-F]{4})\s*$", str(pci_id or ""))
    if not match:
        return "unlisted", ""
    did = match.group(1).lower()
    if did in _PCI_OPEN:
        return ("newer" if did in _PCI_NEWER else "open"), _nvidia_pci_ids.SOURCES["open"]
    if did in _PCI_PRE_TURING:
        return "pre-turing", _nvidia_pci_ids.SOURCES["proprietary"]
    if did in _PCI_LEGACY:
        return "legacy", _PCI_LEGACY[did]
    return "unlisted", ""


def gpu_generation(gpu: Dict[str, Any]) -> Dict[str, Any]:
    """What the host's NVIDIA GPUs need, from their compute capability or, without a driver, their PCI id.

    A host without a running driver has no nvidia-smi, so no compute capability; sysfs still shows each GPU's
    PCI device id, which NVIDIA's supported-GPU lists place (:func:`pci_generation`).  ``known`` is true when
    every GPU was placed by one or the other.
    """
    devices = nvidia_devices(gpu)
    ccs = [parse_cc(d.get("compute_capability")) for d in devices]
    known = [c for c in ccs if c is not None]
    pre_turing, legacy, unlisted, newer = [], [], [], []
    for dev, cc in zip(devices, ccs):
        label = dev.get("pci_id") or dev.get("name") or "an NVIDIA GPU"
        if cc is not None:
            if cc < OPEN_MIN_CC:
                pre_turing.append(label)
            continue
        kind, detail = pci_generation(dev.get("pci_id"))
        if kind == "pre-turing":
            pre_turing.append(label)
        elif kind == "legacy":
            legacy.append(f"{label} (legacy branch {detail})")
        elif kind == "newer":
            newer.append(label)
        elif kind == "unlisted":
            unlisted.append(label)
    return {
        "count": len(devices),
        "known": bool(devices) and not unlisted and not legacy,
        "min_cc": min(known) if known else None,
        "max_cc": max(known) if known else None,
        "pre_turing": pre_turing,
        "legacy": legacy,
        "unlisted": unlisted,
        "newer": newer,
    }


def _cc_text(cc: Tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


def branch_floor_for_cc(cc: Tuple[int, int]) -> Optional[Tuple[int, str, str]]:
    """(branch, min driver, CUDA) a GPU of compute capability ``cc`` needs; None when older GPUs need nothing."""
    floor = None
    for known_cc, cuda in CC_FIRST_CUDA:
        if cc >= known_cc:
            floor = cuda
    if floor is None:
        return None
    minimum = _torch_build.min_driver(floor, "Linux")
    return branch_of(minimum), minimum, floor


def check_branch_for_gpu(branch: int, generation: Dict[str, Any]) -> None:
    if generation["max_cc"] is not None:
        floor = branch_floor_for_cc(generation["max_cc"])
        if floor and branch < floor[0]:
            raise DriverPlanError(
                f"Driver branch {branch} is too old for a GPU of compute capability {_cc_text(generation['max_cc'])}, "
                f"which CUDA {floor[2]} introduced: it needs driver >= {floor[1]}. Set gpu_driver_branch to "
                f"{_first_known_at_least(floor[0])} or newer."
            )
    if generation.get("legacy"):
        raise DriverPlanError(
            f"{', '.join(generation['legacy'])}: NVIDIA moved this GPU to a legacy driver branch "
            f"({_nvidia_pci_ids.SOURCES['proprietary']}), which no branch this collection installs "
            f"({_branches_text()}) drives. Install that legacy driver by hand, or leave this host out of the play."
        )
    if generation.get("pre_turing") and branch > PRE_TURING_LAST_BRANCH:
        raise DriverPlanError(
            f"Driver branch {branch} no longer drives GPUs older than Turing ({', '.join(generation['pre_turing'])} "
            f"here: Maxwell, Pascal or Volta, by compute capability or by PCI id in NVIDIA's supported-GPU list); "
            f"the {PRE_TURING_LAST_BRANCH} branch is the last for them. Set gpu_driver_branch: "
            f"'{PRE_TURING_LAST_BRANCH}'."
        )
    if generation.get("newer") and branch <= 535:
        raise DriverPlanError(
            f"{', '.join(generation['newer'])} is not in the supported-GPU list of driver branch {branch} "
            f"({_nvidia_pci_ids.SOURCES['proprietary']}), only in that of a newer one "
            f"({_nvidia_pci_ids.SOURCES['open']}). Set a newer gpu_driver_branch, or leave it empty for the newest."
        )


def _first_known_at_least(branch: int) -> int:
    return next((b for b in KNOWN_BRANCHES if b >= branch), KNOWN_BRANCHES[-1])


def choose_flavor(wanted: str, branch: int, generation: Dict[str, Any], notes: List[str]) -> str:
    """open or proprietary kernel modules for this branch and these GPUs."""
    wanted = (wanted or "auto").strip().lower()
    if wanted not in _FLAVORS:
        raise DriverPlanError(f"gpu_driver_kernel_module {wanted!r} is not one of {', '.join(_FLAVORS)}")
    high = generation["max_cc"]
    if wanted == "open" and generation.get("pre_turing"):
        raise DriverPlanError(
            f"The open kernel modules drive Turing and newer GPUs only (compute capability >= 7.5); this host "
            f"has {', '.join(generation['pre_turing'])}, older than Turing. Set gpu_driver_kernel_module: proprietary."
        )
    if wanted == "proprietary" and high is not None and high >= OPEN_REQUIRED_CC:
        raise DriverPlanError(
            f"A GPU of compute capability {_cc_text(high)} (Blackwell or newer) works only with the open kernel "
            "modules. Set gpu_driver_kernel_module: open (or auto)."
        )
    if wanted != "auto":
        return wanted
    if high is not None and high >= OPEN_REQUIRED_CC:
        return "open"
    if branch < OPEN_DEFAULT_FROM:
        return "proprietary"
    if generation.get("pre_turing"):
        return "proprietary"
    if generation["known"]:
        return "open"
    if generation.get("unlisted"):
        raise DriverPlanError(
            f"GPU {', '.join(generation['unlisted'])} is in neither of NVIDIA's supported-GPU lists this collection "
            f"carries ({_nvidia_pci_ids.SOURCES['open']}; {_nvidia_pci_ids.SOURCES['proprietary']}) and no driver "
            "runs to tell its compute capability. Choose for it: gpu_driver_kernel_module: open for Turing or newer "
            "(proprietary for Maxwell, Pascal or Volta), and gpu_driver_branch (580 is the last for Maxwell, "
            "Pascal and Volta). Nothing was changed."
        )
    notes.append(
        f"no NVIDIA GPU seen (forced install): chose the open kernel modules, NVIDIA's default from "
        f"{OPEN_DEFAULT_FROM}; set gpu_driver_kernel_module: proprietary for Maxwell, Pascal or Volta GPUs."
    )
    return "open"


# ---------------------------------------------------------------------------
# Agreement with the PyTorch build


def pytorch_release(pytorch_version: Any, compute: Any, system: str, known: Any = None) -> Optional[Dict[str, Any]]:
    """``_torch_build.pytorch_release`` of the PyTorch the driver must run, or None when no check applies: no
    pytorch_version (it belongs to pytorch_env, whose defaults gpu_driver does not see), a system without CUDA
    builds (macOS), or a non-CUDA compute.  ``known`` (the torchfleet_pytorch_release fact) is reused when it was
    made from the same string, so the version is not resolved again."""
    if pytorch_version in (None, "") or system not in ("Linux", "Windows"):
        return None
    if isinstance(pytorch_version, (int, float)) and not isinstance(pytorch_version, bool):
        # YAML reads an unquoted 2.10 as the float 2.1, and str() would then pick torch 2.1.x: refuse the number
        # rather than guess which release was meant.
        raise DriverPlanError(
            f"pytorch_version {pytorch_version!r} arrived as a number, which loses trailing zeros (2.10 reads as "
            "2.1); quote it in YAML, e.g. pytorch_version: '2.10'."
        )
    compute = str(compute or "auto").strip().lower()
    if compute in ("cpu", "mps") or compute.startswith("rocm"):
        return None
    try:
        return _torch_build.pytorch_release(pytorch_version, known)
    except _torch_build.TorchBuildError as exc:
        raise DriverPlanError(f"pytorch_version: {exc}") from exc


# More than five arguments (ruff PLR0913): the PyTorch request, the host, and the release already resolved.
def pytorch_floor(  # noqa: PLR0913
    pytorch_version: Any,
    compute: Any,
    system: str,
    machine: str,
    gpu_compute_capabilities: Any = None,
    known: Any = None,
) -> Optional[Dict[str, Any]]:
    """The driver floors of the CUDA builds of that release (or of the asked cuXYZ build) on this platform.

    ``min_driver``/``build``: the lowest toolkit minimum (Table 3), full compatibility.  ``minor_driver``/
    ``minor_build``: the lowest driver that runs a build under minor-version compatibility (Table 2) with machine
    code for these GPUs, by the same rule as the torch_build resolver (None when no build qualifies).
    None when no check applies (see :func:`pytorch_release`, which ``known`` is passed to) or the release has no
    CUDA build here.
    """
    release = pytorch_release(pytorch_version, compute, system, known)
    if release is None:
        return None
    compute = str(compute or "auto").strip().lower()
    try:
        cpu = _torch_build.resolve(release["version"], system, machine, compute="cpu")
        gpus = _torch_build.parse_compute_capabilities(gpu_compute_capabilities)
    except _torch_build.TorchBuildError as exc:
        raise DriverPlanError(f"pytorch_version: {exc}") from exc
    torch = cpu["torch"]
    platform = f"{cpu['system'].lower()}-{cpu['machine']}"
    builds = RELEASES[torch]["cuda"].get(platform, ())
    if re.match(r"^cu\d{3}$", compute):
        if compute not in builds and compute not in RELEASES[torch].get("cuda_off_matrix", {}).get(platform, ()):
            return None  # pytorch_env refuses that itself, naming the builds that exist
        builds = (compute,)
    if not builds:
        return None

    def key(item):
        return tuple(int(p) for p in item[0].split("."))

    needs = [(_torch_build.min_driver(_torch_build.cuda_of(b), cpu["system"]), b) for b in builds]
    minimum, build = min(needs, key=key)
    minor = []
    for b in builds:
        floor, _why = _torch_build.minor_version_floor(torch, system, machine, b, gpu_compute_capabilities)
        if floor is not None:
            minor.append((floor, b))
    minor_driver, minor_build = min(minor, key=key) if minor else (None, None)
    return {
        "torch": torch,
        "min_driver": minimum,
        "build": build,
        "builds": ", ".join(builds),
        "minor_driver": minor_driver,
        "minor_build": minor_build,
        "gpus_known": bool(gpus) and all(cc is not None for cc in gpus),
    }


def check_branch_for_pytorch(
    branch: int, floor: Optional[Dict[str, Any]], system: str, notes: Optional[List[str]] = None
) -> None:
    """Refuse a branch that runs no CUDA build of the requested PyTorch, by the torch_build driver rule.

    A branch below every toolkit minimum (Table 3) passes when it runs a build under NVIDIA's minor-version
    compatibility (Table 2) and that build carries machine code for the GPUs; ``notes`` then says so.
    """
    if floor is None:
        return
    need = int(floor["min_driver"].split(".")[0])
    if branch >= need:
        return
    minor = floor.get("minor_driver")
    if minor and branch >= int(minor.split(".")[0]):
        if notes is not None:
            unchecked = (
                ""
                if floor.get("gpus_known")
                else " The GPUs' compute capabilities are not known yet, so its machine code for them was not checked."
            )
            notes.append(
                f"Driver branch {branch} runs PyTorch {floor['torch']}'s {floor['minor_build']} only under NVIDIA's "
                f"minor-version compatibility (driver >= {minor}, no PTX JIT); driver >= {floor['min_driver']} "
                f"({floor['build']}) gives full compatibility.{unchecked}"
            )
        return
    raise DriverPlanError(
        f"Driver branch {branch} cannot run any CUDA build of PyTorch {floor['torch']} ({floor['builds']}) "
        f"on {system}: the oldest, {floor['build']}, needs driver >= {floor['min_driver']}, and none runs on it under "
        f"minor-version compatibility with machine code for these GPUs. Set gpu_driver_branch "
        f"to {_first_known_at_least(need)} or newer, or choose an older pytorch_version, or pytorch_compute: cpu."
    )


# ---------------------------------------------------------------------------
# Per-distribution package plans


def _arch_dir(machine: str) -> str:
    return "sbsa" if machine in ("aarch64", "arm64") else "x86_64"


def _deb_arch(machine: str) -> str:
    return "arm64" if machine in ("aarch64", "arm64") else "amd64"


def _cuda_repo_dir(distribution: str, major: str, machine: str) -> str:
    if distribution == "Ubuntu":
        return f"ubuntu{major}04/{_arch_dir(machine)}"
    if distribution == "Debian":
        return f"debian{major}/{_arch_dir(machine)}"
    return f"rhel{major}/{_arch_dir(machine)}"


def debian_distro_packages(branch: int, flavor: str) -> List[str]:
    kernel = "nvidia-open-kernel-dkms" if flavor == "open" else "nvidia-kernel-dkms"
    # nvidia-driver only recommends libcuda1 and nvidia-persistenced: PyTorch needs the first, the role
    # configures the second, and recommends stay off (they pull nvidia-settings and a desktop).
    return ["nvidia-driver", kernel, "nvidia-smi", "libcuda1", "nvidia-persistenced", "firmware-misc-nonfree"]


def ubuntu_distro_packages(branch: int, flavor: str) -> List[str]:
    suffix = "-open" if flavor == "open" else ""
    return [f"nvidia-headless-{branch}-server{suffix}", f"nvidia-utils-{branch}-server"]


def cuda_apt_packages(branch: int, flavor: str) -> Tuple[List[str], List[str]]:
    """(first, then): the pinning (or open DKMS) package goes in before the driver metapackage."""
    if branch >= 580:
        return [f"nvidia-driver-pinning-{branch}"], ["nvidia-open" if flavor == "open" else "cuda-drivers"]
    if flavor == "open":
        return ["nvidia-kernel-open-dkms"], [f"cuda-drivers-{branch}"]
    return [], [f"cuda-drivers-{branch}"]


def rhel_packages(branch: int, flavor: str) -> List[str]:
    stream = f"{branch}-open" if flavor == "open" else f"{branch}-dkms"
    return [f"@nvidia-driver:{stream}"]


def headers_packages(family: str, distribution: str, kernel: str, machine: str) -> List[str]:
    if family == "Debian":
        # The metapackage keeps DKMS building for the kernels that come with later upgrades.
        meta = f"linux-headers-{_deb_arch(machine)}" if distribution == "Debian" else "linux-headers-generic"
        return [f"linux-headers-{kernel}", meta]
    return [f"kernel-devel-{kernel}", f"kernel-headers-{kernel}"]


def persistenced_user(distribution: str, source: str) -> str:
    if source == "distro" and distribution == "Debian":
        return "nvpd"
    if source == "distro" and distribution == "Ubuntu":
        return "nvidia-persistenced"
    # NVIDIA's own packages: run it as root, as NVIDIA's role does.
    return "root"


def choose_source(wanted: str, family: str, distribution: str, branch: Optional[int], floor_branch: int = 0) -> str:
    """distro or cuda.  auto: the distribution's archive when it has the branch (or, with no branch asked,
    one new enough for the requested PyTorch), else NVIDIA's CUDA repository."""
    wanted = (wanted or "auto").strip().lower()
    if wanted not in _SOURCES:
        raise DriverPlanError(f"gpu_driver_source {wanted!r} is not one of {', '.join(_SOURCES)}")
    offered = DISTRO_BRANCHES.get(distribution, ())
    if family == "RedHat":
        if wanted == "distro":
            raise DriverPlanError(
                f"{distribution} has no NVIDIA driver in its own repositories; set gpu_driver_source: cuda (or auto)."
            )
        return "cuda"
    if wanted == "distro":
        if branch is not None and branch not in offered:
            raise DriverPlanError(
                f"{distribution}'s own archive carries driver branch {_branches_text(offered)}, not {branch}. "
                f"Set gpu_driver_branch: '{offered[-1]}', or gpu_driver_source: cuda for NVIDIA's repository."
            )
        return "distro"
    if wanted == "cuda":
        return "cuda"
    if branch is None:
        return "distro" if offered and offered[-1] >= floor_branch else "cuda"
    return "distro" if branch in offered else "cuda"


def default_branch(source: str, distribution: str, generation: Dict[str, Any]) -> int:
    """Newest branch the source offers that the GPUs run; for pre-Turing GPUs the last that drives them."""
    candidates = list(DISTRO_BRANCHES[distribution]) if source == "distro" else list(KNOWN_BRANCHES)
    if generation.get("pre_turing"):
        candidates = [b for b in candidates if b <= PRE_TURING_LAST_BRANCH] or candidates
    return candidates[-1]


# ---------------------------------------------------------------------------
# The plan: its inputs, then one step per decision


@dataclass
class PlanInputs:
    """One host's facts and the role's variables, without their ``gpu_driver_`` prefix.

    ``mirror_url`` is ``torchfleet_mirror_url``; ``pytorch_version`` and ``pytorch_compute`` are the PyTorch
    build the driver must run, and ``pytorch_release`` the torchfleet_pytorch_release fact when the host has one
    (reused rather than resolving ``pytorch_version`` again).  The fields after ``facts`` are the options of the
    ``driver_plan`` filter.
    """

    facts: Dict[str, Any]
    branch: Any = None
    kernel_module: str = "auto"
    source: str = "auto"
    force: bool = False
    build_module: str = "auto"
    pytorch_version: Any = None
    pytorch_compute: Any = "auto"
    pytorch_release: Any = None
    cuda_keyring_sha256: str = ""
    debian_mirror: str = "http://deb.debian.org/debian"
    mok_key: str = ""
    mok_cert: str = ""
    windows_version: str = ""
    windows_installer_url: str = ""
    windows_installer_sha256: str = ""
    mirror_url: str = ""
    cache_dir: str = ""

    def __post_init__(self) -> None:
        self.facts = self.facts or {}


@dataclass
class _Host:
    """What the steps read from the facts and have checked so far; ``notes`` collects what the plan says."""

    inputs: PlanInputs
    system: str
    family: str
    gpu: Dict[str, Any]
    wanted_branch: Optional[int]
    machine: str = "x86_64"
    distribution: str = ""
    major: str = ""
    generation: Dict[str, Any] = field(default_factory=dict)
    # torchfleet_mirror_url split into its URL without credentials and those credentials.
    mirror: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    # The PyTorch release the driver was checked against, when a check applied (the torchfleet_pytorch_release fact).
    pytorch_release: Optional[Dict[str, Any]] = None

    def floor_for_pytorch(self, system: str, machine: str) -> Optional[Dict[str, Any]]:
        """:func:`pytorch_floor` for this host; the release is resolved (or the fact reused) once, and kept."""
        inputs = self.inputs
        self.pytorch_release = pytorch_release(
            inputs.pytorch_version, inputs.pytorch_compute, system, inputs.pytorch_release
        )
        return pytorch_floor(
            inputs.pytorch_version, inputs.pytorch_compute, system, machine, self.compute_capabilities(),
            known=self.pytorch_release,
        )  # fmt: skip

    @property
    def facts(self) -> Dict[str, Any]:
        return self.inputs.facts

    @property
    def mirror_url(self) -> str:
        return self.mirror.get("url", "")

    def compute_capabilities(self) -> List[Any]:
        return [d.get("compute_capability") for d in nvidia_devices(self.gpu)]


def _skip(reason: str, system: str, **extra) -> Dict[str, Any]:
    result = {"action": "skip", "reason": reason, "system": system, "notes": []}
    result.update(extra)
    return result


def plan(facts: Dict[str, Any], installed_version: Any = None, changed: bool = False, **options) -> Dict[str, Any]:
    """Everything the role does on one host, or a DriverPlanError naming what to change.

    ``options`` are the fields of :class:`PlanInputs` after ``facts``.

    Called again after the install with ``installed_version`` (and whether anything changed), the plan also
    says whether the host must reboot (``reboot``) and checks that the installed driver is of the branch.
    """
    result = _plan(PlanInputs(facts, **options))
    if installed_version is not None and result["action"] != "skip":
        installed_branch = branch_of(installed_version)
        if installed_version and installed_branch != result["branch"]:
            raise DriverPlanError(
                f"Driver {installed_version} is installed, not of branch {result['branch']}: the packages of that "
                "branch are transitional ones or were replaced. Choose another gpu_driver_branch or "
                "gpu_driver_source; the packages are held, so nothing moves until you do."
            )
        result["installed"] = str(installed_version) or None
        result["reboot"] = reboot_needed(
            result, bool(changed), (facts or {}).get("torchfleet_gpu") or {}, str(installed_version)
        )
    return result


def _plan(inputs: PlanInputs) -> Dict[str, Any]:
    """The steps in the order their checks must run: nothing after a refusal is looked at."""
    host = _host(inputs)
    skip = _skip_host(host)
    if skip is not None:
        return skip
    host.generation = gpu_generation(host.gpu)
    host.machine = host.facts.get("machine") or "x86_64"
    # Checked before anything else uses it; from here on only its form without credentials goes into URLs.
    host.mirror = split_repo_url("torchfleet_mirror_url", inputs.mirror_url) if inputs.mirror_url else {}
    if host.family == "Windows":
        return _windows_plan(host)
    _check_linux_supported(host)
    result = _linux_result(host, _choose_driver(host), _module_build(host))
    if host.family == "Debian":
        _apt_plan(host, result)
    else:
        _dnf_plan(host, result)
    _secure_boot(result, host.gpu, inputs.mok_key, inputs.mok_cert)
    return result


def _host(inputs: PlanInputs) -> _Host:
    facts = inputs.facts
    wanted_branch = parse_branch(inputs.branch)
    if wanted_branch is not None and wanted_branch not in KNOWN_BRANCHES:
        raise DriverPlanError(
            f"Driver branch {wanted_branch} is not one this collection knows; use one of {_branches_text()}."
        )
    return _Host(
        inputs=inputs,
        system=facts.get("system") or facts.get("os_family") or "",
        family=facts.get("os_family") or "",
        gpu=facts.get("torchfleet_gpu") or {},
        wanted_branch=wanted_branch,
    )


def _skip_host(host: _Host) -> Optional[Dict[str, Any]]:
    """The plan for a Mac or for a host without an NVIDIA GPU (unless forced); None for any other host."""
    if "Darwin" in (host.family, host.system):
        mps = host.gpu.get("mps_available")
        return _skip(
            "macOS needs no GPU driver: PyTorch uses Apple's Metal (MPS) backend, "
            + ("available on this Mac" if mps else "not available on this Mac (Apple silicon and macOS 12.3+ needed)"),
            "Darwin",
            mps_available=mps,
        )
    has_nvidia = bool(nvidia_devices(host.gpu)) or host.gpu.get("vendor") == "nvidia"
    if not has_nvidia and not host.inputs.force:
        vendor = host.gpu.get("vendor") or "unknown"
        return _skip(f"no NVIDIA GPU (vendor {vendor}); set gpu_driver_force: true to install anyway", host.system)
    return None


def _check_linux_supported(host: _Host) -> None:
    host.distribution = host.facts.get("distribution") or ""
    host.major = str(host.facts.get("distribution_major_version") or "")
    if host.family not in ("Debian", "RedHat") or host.major not in SUPPORTED.get(host.distribution, ()):
        supported = "; ".join(f"{d} {', '.join(v)}" for d, v in SUPPORTED.items())
        raise DriverPlanError(
            f"The gpu_driver role supports {supported}, Windows and macOS; this host runs {host.distribution} "
            f"{host.major}. Leave it out of the play or install the driver by hand."
        )


def _choose_driver(host: _Host) -> Dict[str, Any]:
    """Source, branch and kernel-module flavour, checked against the GPUs and the requested PyTorch."""
    inputs = host.inputs
    floor = host.floor_for_pytorch("Linux", host.machine)
    floor_branch = int(floor["min_driver"].split(".")[0]) if floor else 0
    if host.generation.get("newer"):
        floor_branch = max(floor_branch, 536)  # not in driver 535's supported-GPU list: a newer branch
    source = choose_source(inputs.source, host.family, host.distribution, host.wanted_branch, floor_branch)
    branch = host.wanted_branch
    if branch is None:
        branch = default_branch(source, host.distribution, host.generation)
        host.notes.append(f"gpu_driver_branch empty: chose {branch}, the newest {source} branch for these GPUs")
    check_branch_for_gpu(branch, host.generation)
    check_branch_for_pytorch(branch, floor, "Linux", host.notes)
    flavor = choose_flavor(inputs.kernel_module, branch, host.generation, host.notes)
    return {"source": source, "branch": branch, "flavor": flavor, "pytorch": floor}


def _module_build(host: _Host) -> Dict[str, bool]:
    """Whether DKMS builds the kernel module here: not in a container unless asked (``gpu_driver_build_module``)."""
    container = in_container(host.facts)
    wanted = (host.inputs.build_module or "auto").strip().lower()
    if wanted not in ("auto", "always", "never"):
        raise DriverPlanError(f"gpu_driver_build_module {wanted!r} is not one of auto, always, never")
    build = wanted == "always" or (wanted == "auto" and not container)
    if not build:
        why = "in a container, whose kernel is the host's" if container else "gpu_driver_build_module: never"
        host.notes.append(
            f"kernel module not built ({why}): no kernel headers installed, DKMS only registers the module source "
            "and nothing is loaded; the host that runs the kernel needs its own driver"
        )
    return {"container": container, "build_module": build}


def _linux_result(host: _Host, driver: Dict[str, Any], module: Dict[str, bool]) -> Dict[str, Any]:
    """What every Linux plan holds; the package manager's step fills in packages, repository and holds."""
    build = module["build_module"]
    kernel = host.facts.get("kernel") or ""
    return {
        "action": "install",
        "reason": "",
        "system": "Linux",
        "family": host.family,
        "distribution": host.distribution,
        "major": host.major,
        "source": driver["source"],
        "branch": driver["branch"],
        "flavor": driver["flavor"],
        "container": module["container"],
        "build_module": build,
        "headers": headers_packages(host.family, host.distribution, kernel, host.machine) if build else [],
        "pre_packages": [],
        "packages": [],
        "repo": {},
        "blacklist": {"path": BLACKLIST_FILE, "content": BLACKLIST_CONTENT},
        # Without a kernel of its own (container) there is no initramfs to rebuild.
        "initramfs": (["update-initramfs", "-u"] if host.family == "Debian" else ["dracut", "--force"])
        if build
        else [],
        "persistenced": {
            "dropin": PERSISTENCED_DROPIN,
            "user": persistenced_user(host.distribution, driver["source"]),
        },
        "pytorch": driver["pytorch"],
        "pytorch_release": host.pytorch_release,
        "notes": host.notes,
    }


def _apt_plan(host: _Host, result: Dict[str, Any]) -> None:
    """Debian and Ubuntu: the archive's packages or NVIDIA's CUDA repository, held with dpkg selections."""
    branch, flavor = result["branch"], result["flavor"]
    result["hold"] = {"mechanism": "dpkg_selections", "sources": [], "names": []}
    if result["source"] == "distro" and host.distribution == "Debian":
        result["packages"] = debian_distro_packages(branch, flavor)
        result["repo"] = _debian_components(host)
        result["hold"]["sources"] = ["nvidia-graphics-drivers"]
    elif result["source"] == "distro":
        result["packages"] = ubuntu_distro_packages(branch, flavor)
        result["hold"]["sources"] = [f"nvidia-graphics-drivers-{branch}-server"]
    else:
        result["pre_packages"], result["packages"] = cuda_apt_packages(branch, flavor)
        result["repo"] = _cuda_keyring(
            host.distribution, host.major, host.machine, host.inputs.cuda_keyring_sha256, host.mirror_url
        )
        result["repo"]["url_username"] = host.mirror.get("login", "")
        result["repo"]["url_password"] = host.mirror.get("password", "")
    result["hold"]["names"] = result["pre_packages"] + result["packages"]
    result["version_query"] = ["dpkg-query", "-W", "-f=${Version}", _version_package(result)]


def _debian_components(host: _Host) -> Dict[str, Any]:
    """The deb822 sources file that adds contrib, non-free and non-free-firmware from gpu_driver_debian_mirror."""
    codename = host.facts.get("distribution_release") or "bookworm"
    if not re.match(r"^[a-z]+$", codename):
        raise DriverPlanError(f"distribution_release {codename!r} is not a Debian codename.")
    mirror = split_repo_url("gpu_driver_debian_mirror", host.inputs.debian_mirror)
    if mirror["login"] and mirror["url"].startswith("http:"):
        host.notes.append("gpu_driver_debian_mirror sends its credentials over plain http: use https")
    return {
        "kind": "debian-components",
        "path": DEBIAN_NONFREE_SOURCES,
        "content": (
            f"Types: deb\nURIs: {mirror['url']}\nSuites: {codename} {codename}-updates\n"
            "Components: contrib non-free non-free-firmware\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        ),
        # Credentials go to a root-only file apt reads for that host and path (apt_auth.conf(5)).
        "auth": (
            {
                "path": DEBIAN_NONFREE_AUTH,
                "content": f"machine {mirror['machine']} login {mirror['login']} password {mirror['password']}\n",
            }
            if mirror["login"]
            else {}
        ),
    }


def _dnf_plan(host: _Host, result: Dict[str, Any]) -> None:
    """RHEL and its rebuilds: a module stream from NVIDIA's CUDA repository (with EPEL), held by versionlock."""
    branch, major = result["branch"], host.major
    result["packages"] = rhel_packages(branch, result["flavor"])
    repo_dir = _cuda_repo_dir(host.distribution, major, host.machine)
    mirror_url = host.mirror_url
    result["repo"] = {
        "kind": "dnf",
        "name": "cuda",
        "baseurl": f"{(mirror_url.rstrip('/') + '/nvidia/repos') if mirror_url else CUDA_REPO_BASE}/{repo_dir}/",
        "gpgkey": f"{CUDA_REPO_BASE}/{repo_dir}/{CUDA_REPO_GPGKEY}",
        # dnf reads username/password from the .repo file, which is then written 0600.
        "username": host.mirror.get("login", ""),
        "password": host.mirror.get("password", ""),
        "mode": "0600" if host.mirror.get("login") else "0644",
        "epel": EPEL_RELEASE_URL.format(major=major),
        "epel_file": EPEL_RELEASE_URL.format(major=major).rsplit("/", 1)[-1],
        "epel_key": EPEL_KEY_URL.format(major=major),
        "epel_fingerprint": EPEL_KEY_FINGERPRINTS[major],
        # EPEL builds on the repository RHEL calls CodeReady Linux Builder: ``powertools`` on EL8
        # rebuilds, ``crb`` on EL9 ones (docs.fedoraproject.org/en-US/epel/getting-started/,
        # wiki.rockylinux.org/rocky/repo/).  RHEL enables it through subscription-manager: left to the user.
        "builder_repo": ("powertools" if major == "8" else "crb")
        if host.distribution in ("Rocky", "AlmaLinux")
        else "",
    }
    result["pre_packages"] = ["dkms", "python3-dnf-plugin-versionlock"]
    # The module stream already confines updates to the branch; the lock also stops minor updates.
    result["hold"] = {"mechanism": "dnf_versionlock", "sources": [], "names": [f"*nvidia*{branch}*"]}
    result["version_query"] = ["rpm", "-q", "--qf", "%{VERSION}", "nvidia-driver"]


# Binary packages of a driver branch in NVIDIA's CUDA repository and in the distributions' archives: their names
# start so, and their version is the driver's (e.g. nvidia-driver-580 580.95.05-0ubuntu1, libnvidia-gl-580,
# nvidia-kernel-source-580-open, libcuda1 535.261.03-1, xserver-xorg-video-nvidia-580) (NVIDIA Driver
# Installation Guide, "Ubuntu"/"Debian": the driver packages and nvidia-driver-pinning-<branch>; packages.debian.org
# source nvidia-graphics-drivers).
_DRIVER_PACKAGE_RE = re.compile(
    r"^(?:nvidia-|libnvidia-|libcuda|libnvcuvid|libnvoptix|libxnvctrl|xserver-xorg-video-nvidia|cuda-drivers|"
    r"firmware-nvidia-|libegl-nvidia|libgl1-nvidia|libgles-nvidia|libglx-nvidia|libopengl-nvidia)"
)


# dpkg-query expands the escapes itself; this is the argument as the role passes it.  The fields (dpkg-query(1),
# --showformat, dpkg 1.16.2 and later; https://manpages.debian.org/bookworm/dpkg/dpkg-query.1.en.html):
# ``db:Status-Abbrev`` three characters (wanted, status, error flag) such as "ii " or "hi "; ``binary:Package`` the
# name, qualified by its architecture ("libcuda1:i386") where it would be ambiguous: a Multi-Arch: same package or
# one of a foreign architecture; ``source:Package`` the source package's name, without the version a Source field
# may carry; ``Version`` the binary's version.
HOLD_QUERY_FORMAT = r"${db:Status-Abbrev}\t${binary:Package}\t${source:Package}\t${Version}\n"


def _installed_packages(dpkg_lines: Any) -> List[Tuple[str, str, str, str]]:
    """(name as dpkg-query gave it, name without architecture, source, version) of each installed package.

    Installed: status ``ii`` or ``hi`` (whatever the error flag); dpkg cannot hold what is not there.
    """
    if isinstance(dpkg_lines, str):
        dpkg_lines = dpkg_lines.splitlines()
    installed = []
    for line in dpkg_lines or []:
        fields = line.split("\t")
        if len(fields) < 4 or fields[0].strip()[:2] not in ("ii", "hi"):
            continue
        qualified = fields[1].strip()
        installed.append((qualified, qualified.split(":")[0], fields[2].strip(), fields[3].strip()))
    return installed


def hold_selection(result: Dict[str, Any], dpkg_lines: Any, pending: bool = False) -> List[str]:
    """The installed packages to hold, from ``dpkg-query -W`` lines of status, package, source and version.

    The format is :data:`HOLD_QUERY_FORMAT` (tab-separated).

    Held: the packages the role installed, every installed package built from the driver's source package
    (``hold.sources``), and every installed NVIDIA driver package (name as above) whose version is of the
    branch, so that no library of the branch moves on alone (the CUDA repository builds them from several
    sources).  Each is named as dpkg-query named it: with two architectures of a library installed
    (``libcuda1:amd64`` and ``libcuda1:i386``) the bare name is one dpkg refuses ("ambiguous package name ...
    with more than one installed instance", dpkg lib/dpkg/pkg-spec.c), and each instance needs its hold.

    ``pending``: instead, the packages the role installs (``hold.names``) that are not installed yet, which
    check mode can only announce.
    """
    hold = result.get("hold") or {}
    names = list(hold.get("names") or [])
    sources = set(hold.get("sources") or [])
    branch = result.get("branch")
    installed = _installed_packages(dpkg_lines)
    if pending:
        present = {bare for _qualified, bare, _source, _version in installed}
        return [name for name in names if name not in present]
    chosen = set()
    for qualified, package, source, version in installed:
        if (
            package in names
            or (source and source in sources)
            or (_DRIVER_PACKAGE_RE.match(package) and branch is not None and branch_of(version) == branch)
        ):
            chosen.add(qualified)
    return sorted(chosen)


def _version_package(result: Dict[str, Any]) -> str:
    """The installed package whose version is the driver's."""
    if result["source"] == "distro":
        return "nvidia-driver" if result["distribution"] == "Debian" else f"nvidia-utils-{result['branch']}-server"
    return result["packages"][-1]


def _cuda_keyring(distribution: str, major: str, machine: str, sha256: str, mirror_url: str) -> Dict[str, Any]:
    repo_dir = _cuda_repo_dir(distribution, major, machine)
    known = CUDA_KEYRING_SHA256.get(repo_dir, "")
    sha = (sha256 or known).strip().lower()
    if not _SHA256_RE.match(sha):
        raise DriverPlanError(
            f"NVIDIA's CUDA repository is installed through {CUDA_KEYRING_FILE}, and nothing is installed unverified: "
            "set gpu_driver_cuda_keyring_sha256 to the SHA-256 of "
            f"{CUDA_REPO_BASE}/{repo_dir}/{CUDA_KEYRING_FILE} (sha256sum of a copy you checked), "
            "or use gpu_driver_source: distro."
        )
    base = (mirror_url.rstrip("/") + "/nvidia/repos") if mirror_url else CUDA_REPO_BASE
    return {
        "kind": "cuda-keyring",
        "url": f"{base}/{repo_dir}/{CUDA_KEYRING_FILE}",
        "file": CUDA_KEYRING_FILE,
        "checksum": f"sha256:{sha}",
        "list": f"/etc/apt/sources.list.d/cuda-{repo_dir.replace('/', '-')}.list",
    }


def _secure_boot(result: Dict[str, Any], gpu: Dict[str, Any], mok_key: str, mok_cert: str) -> None:
    """A DKMS-built module is unsigned unless a MOK signs it; Secure Boot would refuse to load it."""
    on = gpu.get("secure_boot") is True
    result["secure_boot"] = on
    result["mok"] = {}
    for variable, value in (("gpu_driver_mok_key", mok_key), ("gpu_driver_mok_cert", mok_cert)):
        if value:
            check_shell_safe_path(variable, value)
    if not on or not result["build_module"]:
        return
    if bool(mok_key) != bool(mok_cert):
        raise DriverPlanError("Set both gpu_driver_mok_key and gpu_driver_mok_cert (paths on the host), or neither.")
    if not mok_key:
        raise DriverPlanError(
            "Secure Boot is on and the NVIDIA module would be built by DKMS, unsigned: the kernel would refuse "
            "it ('Key was rejected by service'). Either set gpu_driver_mok_key and gpu_driver_mok_cert to a "
            "Machine Owner Key on the host (the role signs with it and queues its enrolment; someone at the "
            "console confirms it at the next boot), or turn Secure Boot off in the firmware. Nothing was changed."
        )
    # Written before the driver packages: their postinst builds the module through DKMS, which reads the
    # signing settings only then (dkms.in:900 prepare_signing) and never signs an already built module again.
    result["mok"] = {
        "key": mok_key,
        "cert": mok_cert,
        "dkms_conf": MOK_DKMS_CONF,
        "dkms_content": (
            "# Managed by torchfleet.lab.gpu_driver: DKMS signs the modules it builds with this Machine Owner Key.\n"
            f"mok_signing_key={mok_key}\nmok_certificate={mok_cert}\n"
        ),
        # Left by earlier versions of this role, which passed the password hash through a file.
        "stale_hash_file": MOK_OLD_HASH_FILE,
    }
    # mokutil queues the enrolment; Debian and RHEL ship it as a package of its own.
    if "mokutil" not in result["pre_packages"]:
        result["pre_packages"] = result["pre_packages"] + ["mokutil"]


# mokutil --test-key <cert>: one line on stdout naming the file, from print_skip_message / test_key
# (github.com/lcp/mokutil src/mokutil.c at 9ae73db: 820, 823, 826, 829, 832 and 1589; tag 0.6.0, Debian 12's
# version: 790-802 and 1538).  Up to 0.4.0 --test-key answers only "is not enrolled" or "is already enrolled",
# the latter also for a key in MokNew, db, PK or KEK (0.4.0 1971-1976); the same answers from --import start
# with "SKIP: " and spell "enrollement" (0.4.0 1175-1187).  The exit code means different things across
# versions (0.6.0: 0 for "not enrolled", 1 otherwise; 4d2b704: 1 for both; 9ae73db: 0 when enrolled), so only
# the text counts.  --test-key already looks in MokNew (is_valid_request, 0.4.0 1094-1098, HEAD 662), so no
# --list-new is needed; that one printed "MokNew is empty" when nothing was queued up to 0.4.0 (0.4.0 626).
_MOK_ANSWERS = (
    (re.compile(r" is already in the enrolle?ment request$"), "pending"),
    (re.compile(r" is already enrolled$"), "enrolled"),
    (re.compile(r" is already in (?:db|PK|KEK)$"), "firmware"),
    (re.compile(r" is blocked in (?:dbx|MokListX|MokListXRT)$"), "blocked"),
    (re.compile(r" is not enrolled$"), "absent"),
)


def mok_state(stdout: Any, stderr: Any = "", cert: str = "") -> Dict[str, Any]:
    """What ``mokutil --test-key`` said about the certificate, and whether the role must queue its enrolment.

    ``state``: ``absent`` (queue it), ``pending`` (queued by an earlier run: someone must confirm it at the
    console), ``enrolled`` (in MokList), ``firmware`` (already trusted through db/PK/KEK: mokutil refuses to
    import it).  A certificate in dbx or MokListX, an answer mokutil does not give, or an error, is refused.
    """
    lines = [line.strip() for line in str(stdout or "").splitlines() if line.strip()]
    for line in lines:
        text = line[len("SKIP: ") :] if line.startswith("SKIP: ") else line
        for pattern, state in _MOK_ANSWERS:
            if pattern.search(text):
                if state == "blocked":
                    raise DriverPlanError(
                        f"mokutil says {text!r}: the firmware or shim forbids this key, so a module signed with it "
                        "never loads. Create a new key pair for gpu_driver_mok_key and gpu_driver_mok_cert."
                    )
                return {"state": state, "import": state == "absent", "answer": text}
    said = " ".join(lines + [line.strip() for line in str(stderr or "").splitlines() if line.strip()])
    raise DriverPlanError(
        f"mokutil --test-key {cert} gave no answer the role knows: {said or '(nothing)'!r}. Check that the host "
        "boots through UEFI with shim (mokutil needs EFI variables) and that the certificate is a DER X.509 file."
    )


# dkms sources its framework config as shell and re-evaluates each value with ``eval echo`` (dkms.in:406-420):
# a path must be a plain absolute path, nothing the shell would expand, split or run.
_SHELL_SAFE_PATH_RE = re.compile(r"^/[A-Za-z0-9._+@%,/-]*[A-Za-z0-9._+@%,-]$")


def check_shell_safe_path(variable: str, value: Any) -> str:
    """Refuse a path that a shell would read as anything but itself (quotes, $, `, spaces, newlines ...)."""
    text = str(value)
    if not _SHELL_SAFE_PATH_RE.match(text) or "/../" in f"{text}/" or "//" in text:
        raise DriverPlanError(
            f"{variable} {text!r} must be an absolute path of letters, digits and . _ + @ % , - / only (no "
            "spaces, quotes, $, backticks, newlines, '..'): DKMS reads it from a shell file. Move the file to "
            "such a path. Nothing was changed."
        )
    return text


# ---------------------------------------------------------------------------
# URLs written into apt sources and dnf .repo files

# Characters that would change the meaning of an apt deb822 stanza, a .repo line or a shell word.
_URL_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f\"'`$\\;&|<>(){}\[\]*?!^#]")
_URL_RE = re.compile(r"^(https?)://(?:([^/@]*)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(/[^?]*)?$")


def redact_url(url: Any) -> str:
    """The URL as messages show it: the collection's one redaction (module_utils/_validate.py), the password,
    or a lone user name (often a token), replaced by ``***``."""
    return _validate.redact_url(str(url or ""))


def split_repo_url(variable: str, url: Any) -> Dict[str, str]:
    """Check a repository URL and split off its credentials.

    Returns ``url`` (without credentials: what goes into the 0644 sources file), ``machine`` (for apt's
    auth.conf ``machine`` line), ``login`` and ``password`` (empty when the URL has none).  Refuses control
    characters, whitespace (a newline would add a line such as ``Trusted: yes`` to a deb822 stanza), shell
    metacharacters, and anything but http(s).  Messages never show the password.
    """
    text = str(url or "")
    shown = redact_url(text)
    match = _URL_RE.match(text)
    if not match or _URL_FORBIDDEN_RE.search(text):
        raise DriverPlanError(
            f"{variable} {shown!r} is not a plain http(s) URL: it must have no spaces, newlines or other control "
            "characters, quotes, $, backticks or other shell metacharacters, query or fragment (it is written into "
            "apt and dnf repository files). Give the repository's URL, e.g. http://deb.debian.org/debian. "
            "Nothing was changed."
        )
    scheme, userinfo, host, port, path = match.groups()
    login, _sep, password = (userinfo or "").partition(":")
    if userinfo is not None and not (login and password):
        raise DriverPlanError(
            f"{variable} {shown!r} has an '@' without both a user and a password. Nothing was changed."
        )
    bare = f"{scheme}://{host}{port or ''}{(path or '').rstrip('/')}"
    return {
        "url": bare,
        # apt_auth.conf(5): a machine entry without a protocol matches https only.
        "machine": f"{scheme}://{host}{port or ''}{(path or '').rstrip('/')}",
        "login": login,
        "password": password,
    }


def _windows_plan(host: _Host) -> Dict[str, Any]:
    inputs = host.inputs
    version = _windows_version(inputs.windows_version, host.wanted_branch)
    branch = branch_of(version)
    check_branch_for_gpu(branch, host.generation)
    floor = host.floor_for_pytorch("Windows", "AMD64")
    check_branch_for_pytorch(branch, floor, "Windows", host.notes)
    installer = _windows_installer(host, version)
    installed = host.gpu.get("nvidia_driver")
    return {
        "action": "install" if installed != version else "none",
        "reason": f"driver {installed} already installed" if installed == version else "",
        "system": "Windows",
        "family": "Windows",
        "source": "installer",
        "branch": branch,
        "flavor": "windows",
        "version": version,
        "installed": installed,
        "installer": installer,
        "secure_boot": host.gpu.get("secure_boot") is True,
        "pytorch_release": host.pytorch_release,
        "notes": host.notes,
    }


def _windows_version(version: Any, wanted_branch: Optional[int]) -> str:
    """gpu_driver_windows_version, checked against its form, gpu_driver_branch and the known branches."""
    version = str(version or "").strip()
    if not re.match(r"^\d{3}\.\d{2}$", version):
        raise DriverPlanError(
            f"gpu_driver_windows_version {version!r} must be the Windows driver version to install, "
            "e.g. '580.88' (three digits, a dot, two digits)."
        )
    branch = branch_of(version)
    if wanted_branch is not None and wanted_branch != branch:
        raise DriverPlanError(
            f"gpu_driver_branch {wanted_branch} and gpu_driver_windows_version {version} disagree; "
            f"set gpu_driver_branch: '{branch}' or leave it empty on Windows hosts."
        )
    if branch not in KNOWN_BRANCHES:
        raise DriverPlanError(
            f"Driver branch {branch} (gpu_driver_windows_version {version}) is not one this collection knows; "
            f"use a version of one of {_branches_text()}."
        )
    return version


def _windows_installer(host: _Host, version: str) -> Dict[str, Any]:
    """Where the installer comes from (its URL, or the mirror's nvidia/ folder), its checksum and its exit codes."""
    inputs = host.inputs
    sha = str(inputs.windows_installer_sha256 or "").strip().lower()
    if not _SHA256_RE.match(sha):
        raise DriverPlanError(
            "gpu_driver_windows_installer_sha256 must be the SHA-256 (64 hex digits) of the driver installer; "
            "nothing is installed unverified."
        )
    filename = WINDOWS_INSTALLER_TEMPLATE.format(version=version)
    url = inputs.windows_installer_url
    if url:
        filename = url.rstrip("/").rsplit("/", 1)[-1] or filename
    elif host.mirror_url:
        url = f"{host.mirror_url.rstrip('/')}/nvidia/{filename}"
    else:
        raise DriverPlanError(
            "Set gpu_driver_windows_installer_url to the NVIDIA driver installer (or torchfleet_mirror_url to a "
            f"mirror that serves nvidia/{filename})."
        )
    cache = (inputs.cache_dir or _platform.default_dir("Windows", "system", "cache")).rstrip("\\/")
    from_mirror = not inputs.windows_installer_url
    return {
        "url": url,
        "file": filename,
        "path": f"{cache}\\{filename}",
        "checksum": sha,
        "arguments": list(WINDOWS_INSTALLER_ARGS),
        "return_codes": list(WINDOWS_RETURN_CODES),
        "reboot_code": WINDOWS_REBOOT_CODE,
        # Only the mirror's own credentials: a URL given for the installer carries none of them.
        "url_username": host.mirror.get("login", "") if from_mirror else "",
        "url_password": host.mirror.get("password", "") if from_mirror else "",
    }


def reboot_needed(plan_: Dict[str, Any], changed: bool, gpu: Dict[str, Any], installed_version: str) -> Dict[str, Any]:
    """Whether this host must reboot before the driver works, and why.

    A reboot is needed when the driver changed, when nouveau holds the GPU, or when the loaded module is not the
    installed one.  In a container nothing the role does is loaded by a reboot, so none is asked for.
    """
    if plan_.get("system") == "Windows":
        return {"required": bool(changed), "why": "the driver installer asked for it (exit code 3010)"}
    if not plan_.get("build_module", True):
        return {"required": False, "why": "no kernel module is built here"}
    gpu = gpu or {}
    loaded = gpu.get("nvidia_driver") if gpu.get("kernel_module_loaded") else None
    reasons = []
    if changed:
        reasons.append("driver packages or the nouveau blacklist changed")
    if gpu.get("nouveau_loaded"):
        reasons.append("nouveau is loaded")
    if installed_version and loaded and not str(installed_version).rsplit(":", maxsplit=1)[-1].startswith(str(loaded)):
        reasons.append(f"the loaded module is {loaded}, the installed driver {installed_version}")
    if installed_version and not loaded and not changed:
        reasons.append("the NVIDIA module is not loaded")
    return {"required": bool(reasons), "why": "; ".join(reasons)}
