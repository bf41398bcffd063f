# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PyTorch compatibility data: plain Python data, no logic, no imports.

The decision logic lives in ``_torch_build.py``; ``tools/gen_compatibility_doc.py`` renders this data as
``docs/compatibility.md``.  Each block cites where its facts come from.  Where no public source could be
checked, the data leaves the fact out (an empty tuple or ``None``) rather than guessing, so the resolver
refuses instead of pointing at a wheel that may not exist.

Platform keys: ``linux-x86_64``, ``linux-aarch64``, ``windows-x86_64``, ``darwin-x86_64``, ``darwin-arm64``.
Build names are the per-build index names on download.pytorch.org (``cpu``, ``cu118``, ``rocm6.2``).
"""

DEFAULT_INDEX_BASE = "https://download.pytorch.org/whl"

OLDEST_SUPPORTED = "2.0.0"

# --- NVIDIA driver floors -------------------------------------------------------------------------------
# Minimum driver per CUDA toolkit ("GA" rows of Table 3, "CUDA Toolkit and Corresponding Driver Versions").
# Source: NVIDIA CUDA Toolkit Release Notes, CUDA 13.2 Update 2 edition,
#   https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html#id6 (Table 3).
# Table 3 lists "N/A" for Windows from CUDA 13.0 on (the Windows installer stopped bundling a display driver
# with 13.1).  For those rows the Windows value is the driver branch of the Linux row (R580, R595); that
# branch rule is ours and is flagged in WINDOWS_DRIVER_FROM_BRANCH.  Table 2 of the same notes states the
# same floor for minor-version compatibility of 13.x (>= 580).
CUDA_MIN_DRIVER = {
    # cuda: (linux_x86_64_and_aarch64, windows_x86_64)
    "11.7": ("515.43.04", "516.01"),
    "11.8": ("520.61.05", "520.06"),
    "12.1": ("530.30.02", "531.14"),
    "12.4": ("550.54.14", "551.61"),
    "12.6": ("560.28.03", "560.76"),
    "12.8": ("570.26", "570.65"),
    "12.9": ("575.51.03", "576.02"),
    "13.0": ("580.65.06", "580"),
    "13.2": ("595.45.04", "595"),
}

WINDOWS_DRIVER_FROM_BRANCH = ("13.0", "13.2")

# Minor-version compatibility: the lowest driver of a CUDA major release family that runs any toolkit of that
# family (CUDA Toolkit Release Notes, Table 2 "CUDA Toolkit and Minimum Required Driver Version for CUDA Minor
# Version Compatibility"; NVIDIA CUDA Compatibility guide, "Minor Version Compatibility",
# https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html: 13.x >= 580, 12.x >= 525,
# 11.x >= 450, with 450.80.02 (Linux) / 452.39 (Windows) named for 11.x).  12.x: 525.60.13 on Linux is the
# Table 2 row; its Windows value was 527.41 in the CUDA 12.0 notes and 528.33 in later editions, and the later,
# higher one is kept.  13.x: the guide gives one floor, 580, for both systems.
# It holds only while nothing has to be JIT-compiled from PTX ("limited feature-set"; the guide's "Application
# Considerations for Minor Version Compatibility"), so the resolver uses it only for a build that carries machine
# code (SASS) for every GPU of the host (CUDA_ARCHS below), and says so in its result.
CUDA_MINOR_COMPAT_DRIVER = {
    # CUDA major: (linux_x86_64_and_aarch64, windows_x86_64)
    "11": ("450.80.02", "452.39"),
    "12": ("525.60.13", "528.33"),
    "13": ("580", "580"),
}

# --- Machine code per build (TORCH_CUDA_ARCH_LIST) ----------------------------------------------------------
# The compute capabilities each CUDA wheel carries SASS for, as the build scripts set TORCH_CUDA_ARCH_LIST
# (a trailing "+PTX" adds PTX for the last one; PTX is left out here because minor-version compatibility cannot
# JIT it).  A cubin for X.y runs on devices of compute capability X.z with z >= y (CUDA C++ Programming Guide,
# "Binary Compatibility", https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#binary-compatibility).
# Only lists read at a source are recorded; a build without one is None, and the minor-version rule then refuses
# it when the host's GPUs are known (it cannot show the machine code is there).
# - 2.0.x cu117/cu118: pytorch/builder manywheel/build_cuda.sh at 2432b6c57f614aff3c3ba2154ce09ee57c1ba354
#   (TORCH_CUDA_ARCH_LIST="3.7;5.0;6.0;7.0", then 11.[67] adds "7.5;8.0;8.6" and 11.8 adds "7.5;8.0;8.6;9.0";
#   those are the only CUDA versions that script builds, the 2.0 pair).  Linux wheels only: Windows wheels are
#   built by other scripts, not read here.
# - 2.8.0 cu126/cu128/cu129: pytorch/pytorch .ci/manywheel/build_cuda.sh at
#   00c7a380b8369d08e02dd400aa76dc6c0738b589, whose case covers exactly 2.8's set (12.6: "5.0;6.0;7.0;7.5;8.0;
#   8.6;9.0", 12.8: "7.0;7.5;8.0;8.6;9.0;10.0;12.0", 12.9: the same with "12.0+PTX").  Linux x86_64 only.
# - 2.12.x, 2.13.0, 2.14.x: pytorch/pytorch RELEASE.md "PyTorch CUDA Support Matrix" ("For Release 2.12, 2.13
#   and 2.14"): Linux x86_64 and Windows 12.6.3: 5.0, 6.0, 7.0, 7.5, 8.0, 8.6, 9.0; 13.0.2 and 13.2.1: 7.5, 8.0,
#   8.6, 9.0, 10.0, 12.0(+PTX); Linux aarch64 12.6.3: 8.0, 9.0; 13.0.2 and 13.2.1: 8.0, 9.0, 10.0, 11.0, 12.0.
CUDA_ARCHS_BUILDER_20 = {
    "cu117": ("3.7", "5.0", "6.0", "7.0", "7.5", "8.0", "8.6"),
    "cu118": ("3.7", "5.0", "6.0", "7.0", "7.5", "8.0", "8.6", "9.0"),
}
_ARCHS_28 = {
    "cu126": ("5.0", "6.0", "7.0", "7.5", "8.0", "8.6", "9.0"),
    "cu128": ("7.0", "7.5", "8.0", "8.6", "9.0", "10.0", "12.0"),
    "cu129": ("7.0", "7.5", "8.0", "8.6", "9.0", "10.0", "12.0"),
}
_ARCHS_212_X86 = {
    "cu126": ("5.0", "6.0", "7.0", "7.5", "8.0", "8.6", "9.0"),
    "cu130": ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"),
    "cu132": ("7.5", "8.0", "8.6", "9.0", "10.0", "12.0"),
}
_ARCHS_212_ARM = {
    "cu126": ("8.0", "9.0"),
    "cu130": ("8.0", "9.0", "10.0", "11.0", "12.0"),
    "cu132": ("8.0", "9.0", "10.0", "11.0", "12.0"),
}
# release -> platform -> build -> compute capabilities with SASS
CUDA_ARCHS = {
    "2.0.0": {"linux-x86_64": CUDA_ARCHS_BUILDER_20},
    "2.0.1": {"linux-x86_64": CUDA_ARCHS_BUILDER_20},
    "2.8.0": {"linux-x86_64": _ARCHS_28},
    "2.12.0": {"linux-x86_64": _ARCHS_212_X86, "windows-x86_64": _ARCHS_212_X86, "linux-aarch64": _ARCHS_212_ARM},
    "2.12.1": {"linux-x86_64": _ARCHS_212_X86, "windows-x86_64": _ARCHS_212_X86, "linux-aarch64": _ARCHS_212_ARM},
    "2.13.0": {"linux-x86_64": _ARCHS_212_X86, "windows-x86_64": _ARCHS_212_X86, "linux-aarch64": _ARCHS_212_ARM},
    "2.14.0": {"linux-x86_64": _ARCHS_212_X86, "windows-x86_64": _ARCHS_212_X86, "linux-aarch64": _ARCHS_212_ARM},
    "2.14.1": {"linux-x86_64": _ARCHS_212_X86, "windows-x86_64": _ARCHS_212_X86, "linux-aarch64": _ARCHS_212_ARM},
}

# --- Python -----------------------------------------------------------------------------------------------
# Python ranges are read from the cpXY wheel tags each release has on PyPI
# (https://pypi.org/simple/torch/, PEP 691 JSON) and cross-checked with the "Release Compatibility Matrix"
# of pytorch/pytorch RELEASE.md (rows up to 2.3 at pytorch/pytorch@aa6104e2 RELEASE.md; later rows from a
# verbatim copy of the table).  "experimental" is the matrix's word; where wheels exist for a Python the
# matrix calls experimental, the resolver accepts it on request but never picks it by default.
# - 2.2 and 2.3: cp312 wheels exist, the matrix says "(3.12 experimental)".
# - 2.5: the matrix says "(3.13 experimental)"; PyPI has cp313 only for Linux x86_64 (PYTHON_ONLY_ON).
# - 2.13 and 2.14: the matrix says "<=(3.15, 3.15t experimental)", but PyPI has no cp315 wheels: PyPI wins.
# - 2.15.0: PyPI has cp311..cp315 (Requires-Python >=3.11); no matrix row is published for 2.15, and 2.15.0 is
#   the first release with cp315 wheels, so 3.15 is treated as experimental (our choice, documented).
# Free-threaded builds (3.13t, 3.14t) are out of scope.

# --- Linux glibc floor ------------------------------------------------------------------------------------
# manylinux2014 (glibc 2.17) through 2.5; PyTorch 2.6 moved only its CUDA 12.6, ROCm 6.2.4 and all aarch64
# wheels to manylinux_2_28 (glibc 2.28), everything else stayed manylinux2014; from 2.7 all Linux wheels are
# manylinux_2_28.  Sources: PyPI wheel tags (2.6.0 x86_64 wheel tagged manylinux1, aarch64 manylinux_2_28);
# pytorch/pytorch PR #141565 "Use cuda 12.6 wheels with Manylinux 2.28. Use Manylinux2014 for CPU, CUDA11.8,
# CUDA12.4"; 2.6.0 release notes (quoted in NevermindNilas/Nelux issue #25); pytorch/pytorch RELEASE.md
# "Wheels are manylinux2014 compatible ... glibc-2.17 or above".

# --- Builds -----------------------------------------------------------------------------------------------
# CUDA and ROCm builds per release ("cuda"): release builds only, checked against the "Release Compatibility
# Matrix" of pytorch/pytorch RELEASE.md ("Stable CUDA", "Experimental CUDA", "Stable ROCm"; rows 2.0..2.14) and
# pytorch.org "Previous PyTorch Versions" (https://pytorch.org/get-started/previous-versions/;
# pytorch/pytorch.github.io _get_started/previous-versions.md for 2.0.0..2.3.1, a verbatim copy of the rendered
# page for 2.4.0..2.8.0), which also lists the extra ROCm builds (rocm6.1 of 2.5 and 2.6, rocm5.6 of 2.2.0).
# RELEASE.md 2.10 row: CUDA 12.6, 12.8 stable, 13.0 experimental; 2.11: 12.6, 12.8, 13.0; 2.12: 12.6, 13.0
# stable, 13.2 experimental.  None has CUDA 12.9.  (The matrix rows 2.4..2.14 and the "PyTorch CUDA Support
# Matrix" were read from a verbatim copy of that RELEASE.md section; the stored pytorch/pytorch RELEASE.md,
# at aa6104e2, predates those rows.)
# Off-matrix builds ("cuda_off_matrix"): cu129 of 2.10.0, 2.11.0 and 2.12.1 was seen only in one older listing
# of replicate/cog pkg/config/torch_compatibility.json (commits faa27ae3, 1f1c0559, c0dea56f); its later
# listings and RELEASE.md have none.  The resolver never picks one; it uses one only when asked for by name
# (compute=cu129), with a warning in its notes, because the wheel may not be on the index at all.
# Windows x86_64 has the same CUDA builds as Linux x86_64 on those pages ("Linux and Windows").
# Linux aarch64 CUDA builds: cu128 from 2.7 (pytorch/pytorch PR #146378; issues #160162 and #168065: "the
# cu128 index contains the aarch64 wheels" for 2.8 and 2.9); 2.12..2.14 from RELEASE.md "CUDA architectures
# supported for Linux aarch64 builds" (12.6, 13.0, 13.2); 2.11 and 2.15 only the CUDA build PyPI itself ships.
#
# PyPI default build (what plain `pip install torch==X` gets), read from each wheel's METADATA on PyPI:
# Linux x86_64 pulls nvidia-cuda-runtime-cu11==11.7 (2.0), -cu12==12.1 (2.1-2.4), 12.4 (2.5-2.6), 12.6 (2.7),
# 12.8 (2.8-2.10), cuda-toolkit 13.0 (2.11-2.14), 13.2 (2.15).  The aarch64 wheel's nvidia requirements are
# limited to platform_machine == "x86_64" through 2.10 (a CPU build, ~100 MB); from 2.11 they apply to all
# Linux (a CUDA build, ~420 MB).  Windows and macOS wheels on PyPI are CPU (MPS) builds.
#
# Companion versions: Requires-Dist of each torchvision/torchaudio wheel on PyPI (torchvision X pins
# torch==Y up to 0.29.0; 0.29.1 and 0.29.2 require torch>=2.14.0; torchaudio pins torch==Y up to 2.10.0,
# 2.11.0 has no torch requirement, 2.11.1 requires torch>=2.11 and its README says it works with torch 2.11
# and every later release).  2.0.0 pairs with torchvision 0.15.1 and torchaudio 2.0.1 (they pin
# torch==2.0.0; previous-versions page).
#
# Companions missing from a build's index ("index_lacks"): the cu132 index has no torchaudio newer than 2.2.0
# (pytorch/pytorch#193651, 2026-08-15: "every one of them is a legacy wheel (<= 2.2.0)", while torch 2.13.0+cu132
# and torchvision 0.28.0+cu132 are there; pytorch/audio#4194 asks for a cu132 build).  PyPI's own torchaudio
# 2.11.1 Linux wheels are CUDA 13 builds (version.py '2.11.1+cu132', libtorchaudio.so NEEDED libcudart.so.13;
# both manylinux_2_28 x86_64 and aarch64 wheels downloaded from PyPI and read on 2026-12-01), and torchaudio
# 2.11.1 refuses only a different CUDA *major* version than torch's (torchaudio/_extension/utils.py
# _check_cuda_version; pytorch/audio#4226), so where PyPI serves the cu13x build itself, PyPI's torchaudio fits.
#
# Conda: the `pytorch` channel carries 2.0.0..2.5.1 (pytorch/pytorch issue #138506: "2.5 will be the last
# release of PyTorch that will be published to the pytorch channel"); builds as listed on the previous-versions
# page ("pytorch-cuda=X.Y -c pytorch -c nvidia", "cpuonly", macOS "-c pytorch").  Conda Pythons: 3.8-3.11
# through 2.3 (conda 3.12 packages for 2.2/2.3 could not be verified, so they are left out), 3.8-3.12 for 2.4,
# 3.9-3.12 for 2.5.  Platforms: linux-64 and win-64 (CPU and CUDA), osx-arm64, osx-64 through 2.2.
# Packages where the conda versions differ from the wheel companions (2.0.0) carry conda_torchvision /
# conda_torchaudio.

CONDA_PLATFORMS = ("linux-x86_64", "windows-x86_64", "darwin-arm64", "darwin-x86_64")

_PY38_311 = ("3.8", "3.11")
_PY38_312 = ("3.8", "3.12")
_PY39_312 = ("3.9", "3.12")
_PY39_313 = ("3.9", "3.13")
_PY310_314 = ("3.10", "3.14")

_CONDA_20 = {"builds": ("cpu", "cu117", "cu118"), "python": _PY38_311, "macos_x86_64": True}
_CONDA_21 = {"builds": ("cpu", "cu118", "cu121"), "python": _PY38_311, "macos_x86_64": True}
_CONDA_23 = {"builds": ("cpu", "cu118", "cu121"), "python": _PY38_311, "macos_x86_64": False}
_CONDA_24 = {"builds": ("cpu", "cu118", "cu121", "cu124"), "python": _PY38_312, "macos_x86_64": False}
_CONDA_25 = {"builds": ("cpu", "cu118", "cu121", "cu124"), "python": _PY39_312, "macos_x86_64": False}

_GLIBC_2014 = {"linux-x86_64": "2.17", "linux-aarch64": "2.17"}
_GLIBC_26 = {"linux-x86_64": "2.17", "linux-aarch64": "2.28"}
_GLIBC_228 = {"linux-x86_64": "2.28", "linux-aarch64": "2.28"}


def _cuda(x86, aarch64, windows):
    # Kept as a tiny constructor so every release row reads the same way; returns plain data.
    return {"linux-x86_64": x86, "linux-aarch64": aarch64, "windows-x86_64": windows}


_CU_20 = ("cu117", "cu118")
_CU_21 = ("cu118", "cu121")
_CU_24 = ("cu118", "cu121", "cu124")
_CU_26 = ("cu118", "cu124", "cu126")
_CU_27 = ("cu118", "cu126", "cu128")
_CU_28 = ("cu126", "cu128", "cu129")
_CU_29 = ("cu126", "cu128", "cu130")
_CU_212 = ("cu126", "cu130", "cu132")

_NO_TORCHAUDIO_ON_CU132 = {"cu132": ("torchaudio",)}

RELEASES = {
    "2.0.0": {
        "python": _PY38_311,
        "python_experimental": (),
        "torchvision": "0.15.1",
        "torchaudio": "2.0.1",
        "cuda": _cuda(_CU_20, (), _CU_20),
        "rocm": ("rocm5.4.2",),
        "pypi_linux_x86_64": "cu117",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": dict(_CONDA_20, conda_torchvision="0.15.0", conda_torchaudio="2.0.0"),
    },
    "2.0.1": {
        "python": _PY38_311,
        "python_experimental": (),
        "torchvision": "0.15.2",
        "torchaudio": "2.0.2",
        "cuda": _cuda(_CU_20, (), _CU_20),
        "rocm": ("rocm5.4.2",),
        "pypi_linux_x86_64": "cu117",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_20,
    },
    "2.1.0": {
        "python": _PY38_311,
        "python_experimental": (),
        "torchvision": "0.16.0",
        "torchaudio": "2.1.0",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.6",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    "2.1.1": {
        "python": _PY38_311,
        "python_experimental": (),
        "torchvision": "0.16.1",
        "torchaudio": "2.1.1",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.6",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    "2.1.2": {
        "python": _PY38_311,
        "python_experimental": (),
        "torchvision": "0.16.2",
        "torchaudio": "2.1.2",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.6",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    # 2.2.0 shipped ROCm 5.6; 2.2.1 and 2.2.2 ROCm 5.7 (previous-versions page).
    "2.2.0": {
        "python": _PY38_311,
        "python_experimental": ("3.12",),
        "torchvision": "0.17.0",
        "torchaudio": "2.2.0",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.6",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    "2.2.1": {
        "python": _PY38_311,
        "python_experimental": ("3.12",),
        "torchvision": "0.17.1",
        "torchaudio": "2.2.1",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.7",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    "2.2.2": {
        "python": _PY38_311,
        "python_experimental": ("3.12",),
        "torchvision": "0.17.2",
        "torchaudio": "2.2.2",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm5.7",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": True,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_21,
    },
    # 2.3.0 has no macosx x86_64 wheels on PyPI: Intel Macs end with 2.2.2.
    "2.3.0": {
        "python": _PY38_311,
        "python_experimental": ("3.12",),
        "torchvision": "0.18.0",
        "torchaudio": "2.3.0",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm6.0",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_23,
    },
    "2.3.1": {
        "python": _PY38_311,
        "python_experimental": ("3.12",),
        "torchvision": "0.18.1",
        "torchaudio": "2.3.1",
        "cuda": _cuda(_CU_21, (), _CU_21),
        "rocm": ("rocm6.0",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_23,
    },
    "2.4.0": {
        "python": _PY38_312,
        "python_experimental": (),
        "torchvision": "0.19.0",
        "torchaudio": "2.4.0",
        "cuda": _cuda(_CU_24, (), _CU_24),
        "rocm": ("rocm6.1",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_24,
    },
    "2.4.1": {
        "python": _PY38_312,
        "python_experimental": (),
        "torchvision": "0.19.1",
        "torchaudio": "2.4.1",
        "cuda": _cuda(_CU_24, (), _CU_24),
        "rocm": ("rocm6.1",),
        "pypi_linux_x86_64": "cu121",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_24,
    },
    # 2.5: no cp38 wheels on PyPI (Requires-Python still says >=3.8); cp313 only for Linux x86_64.
    "2.5.0": {
        "python": _PY39_312,
        "python_experimental": ("3.13",),
        "python_only_on": {"3.13": ("linux-x86_64",)},
        "torchvision": "0.20.0",
        "torchaudio": "2.5.0",
        "cuda": _cuda(_CU_24, (), _CU_24),
        "rocm": ("rocm6.1", "rocm6.2"),
        "pypi_linux_x86_64": "cu124",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_25,
    },
    "2.5.1": {
        "python": _PY39_312,
        "python_experimental": ("3.13",),
        "python_only_on": {"3.13": ("linux-x86_64",)},
        "torchvision": "0.20.1",
        "torchaudio": "2.5.1",
        "cuda": _cuda(_CU_24, (), _CU_24),
        "rocm": ("rocm6.1", "rocm6.2"),
        "pypi_linux_x86_64": "cu124",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_2014,
        "conda": _CONDA_25,
    },
    "2.6.0": {
        "python": _PY39_313,
        "python_experimental": (),
        "torchvision": "0.21.0",
        "torchaudio": "2.6.0",
        "cuda": _cuda(_CU_26, (), _CU_26),
        "rocm": ("rocm6.1", "rocm6.2.4"),
        "pypi_linux_x86_64": "cu124",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_26,
        "glibc_by_build": {"cu126": "2.28", "rocm6.2.4": "2.28"},
        "conda": None,
    },
    "2.7.0": {
        "python": _PY39_313,
        "python_experimental": (),
        "torchvision": "0.22.0",
        "torchaudio": "2.7.0",
        "cuda": _cuda(_CU_27, ("cu128",), _CU_27),
        "rocm": ("rocm6.3",),
        "pypi_linux_x86_64": "cu126",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.7.1": {
        "python": _PY39_313,
        "python_experimental": (),
        "torchvision": "0.22.1",
        "torchaudio": "2.7.1",
        "cuda": _cuda(_CU_27, ("cu128",), _CU_27),
        "rocm": ("rocm6.3",),
        "pypi_linux_x86_64": "cu126",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.8.0": {
        "python": _PY39_313,
        "python_experimental": (),
        "torchvision": "0.23.0",
        "torchaudio": "2.8.0",
        "cuda": _cuda(_CU_28, ("cu128",), _CU_28),
        "rocm": ("rocm6.4",),
        "pypi_linux_x86_64": "cu128",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.9.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.24.0",
        "torchaudio": "2.9.0",
        "cuda": _cuda(_CU_29, ("cu128",), _CU_29),
        "rocm": ("rocm6.4",),
        "pypi_linux_x86_64": "cu128",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.9.1": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.24.1",
        "torchaudio": "2.9.1",
        "cuda": _cuda(_CU_29, ("cu128",), _CU_29),
        "rocm": ("rocm6.4",),
        "pypi_linux_x86_64": "cu128",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    # 2.10.0: the cp314 macOS wheel is tagged macosx_14_0 (the others macosx_11_0).
    "2.10.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.25.0",
        "torchaudio": "2.10.0",
        "cuda": _cuda(_CU_29, ("cu128",), _CU_29),
        "cuda_off_matrix": {"linux-x86_64": ("cu129",)},
        "rocm": ("rocm7.1",),
        "pypi_linux_x86_64": "cu128",
        "pypi_linux_aarch64": "cpu",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "macos_arm64_min_by_python": {"3.14": "14.0"},
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.11.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.26.0",
        "torchaudio": "2.11.0",
        "cuda": _cuda(_CU_29, ("cu130",), _CU_29),
        "cuda_off_matrix": {"linux-x86_64": ("cu129",)},
        "rocm": ("rocm7.2",),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "11.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    # From 2.12 torchaudio has no release of its own: 2.11.1 (torch>=2.11) is the one to use.
    "2.12.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.27.0",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(_CU_212, _CU_212, _CU_212),
        "rocm": ("rocm7.2",),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.12.1": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.27.1",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(_CU_212, _CU_212, _CU_212),
        "cuda_off_matrix": {"linux-x86_64": ("cu129",)},
        "rocm": ("rocm7.2",),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.13.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.28.0",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(_CU_212, _CU_212, _CU_212),
        "rocm": ("rocm7.2",),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    # 2.14: the matrix names "ROCm 7.14", whose wheels are published by AMD (repo.amd.com), not on the
    # download.pytorch.org index this resolver points at, so no ROCm build is recorded.
    "2.14.0": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.29.0",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(_CU_212, _CU_212, _CU_212),
        "rocm": (),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    "2.14.1": {
        "python": _PY310_314,
        "python_experimental": (),
        "torchvision": "0.29.1",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(_CU_212, _CU_212, _CU_212),
        "rocm": (),
        "pypi_linux_x86_64": "cu130",
        "pypi_linux_aarch64": "cu130",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
    # 2.15.0 (2026-10-28): no matrix row and no previous-versions entry could be read.  Only what PyPI shows
    # is recorded: CUDA 13.2 wheels for Linux (both arches), CPU wheels for Windows, torchvision 0.29.2
    # (torch>=2.14.0, uploaded the same day).  Drops Python 3.10.
    "2.15.0": {
        "python": ("3.11", "3.14"),
        "python_experimental": ("3.15",),
        "torchvision": "0.29.2",
        "torchaudio": "2.11.1",
        "index_lacks": _NO_TORCHAUDIO_ON_CU132,
        "cuda": _cuda(("cu132",), ("cu132",), ()),
        "rocm": (),
        "pypi_linux_x86_64": "cu132",
        "pypi_linux_aarch64": "cu132",
        "macos_x86_64": False,
        "macos_arm64_min": "14.0",
        "glibc": _GLIBC_228,
        "conda": None,
    },
}

# Last release with macOS Intel wheels (PyPI: macosx_10_9_x86_64 tags stop after 2.2.2).  PyTorch announced it in
# the 2.2.0 release notes ("PyTorch 2.2.x will be the last version that supports macOS x64"; RFC
# pytorch/pytorch#114602); pytorch/pytorch#127870 and #131766 show pip on an Intel Mac offering nothing after 2.2.2.
LAST_MACOS_X86_64 = "2.2.2"

# MPS needs macOS 12.3 or newer (PyTorch "MPS backend" notes, https://pytorch.org/docs/stable/notes/mps.html).
MPS_MACOS_MIN = "12.3"
