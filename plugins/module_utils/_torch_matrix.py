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

# Table 2 (minor-version compatibility; looser than Table 3, reported for information only).
CUDA_MINOR_COMPAT_DRIVER = {"11": "450.80.02", "12": "525", "13": "580"}

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
# CUDA and ROCm builds per release: pytorch.org "Previous PyTorch Versions"
# (https://pytorch.org/get-started/previous-versions/; pytorch/pytorch.github.io
# _get_started/previous-versions.md for 2.0.0..2.3.1, a verbatim copy of the rendered page for 2.4.0..2.8.0),
# the RELEASE.md matrix ("Stable CUDA", "Experimental CUDA", "Stable ROCm") for 2.9 and later, and the
# wheel-index listing recorded by replicate/cog pkg/config/torch_compatibility.json (commits faa27ae3,
# 1f1c0559, c0dea56f) for index-only builds (cu129 of 2.10.0 and 2.11.0; 2.12.1).
# Windows x86_64 has the same CUDA builds as Linux x86_64 on those pages ("Linux and Windows"), except the
# index-only cu129 builds, which were seen for Linux only.
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
        "cuda": _cuda(("cu126", "cu128", "cu129", "cu130"), ("cu128",), _CU_29),
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
        "cuda": _cuda(("cu126", "cu128", "cu129", "cu130"), ("cu130",), _CU_29),
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
        "cuda": _cuda(("cu126", "cu129", "cu130", "cu132"), _CU_212, _CU_212),
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
