"""The PyTorch build resolver: driver floors, Python edges, platforms, indexes, conda and every refusal."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_matrix as tm
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_build import TorchBuildError, resolve

PT = "https://download.pytorch.org/whl"

# --- the five cases the lead reports: full dicts -----------------------------------------------------------


def test_2_0_1_linux_x86_64_driver_535_picks_cu118_from_its_index_and_conda():
    assert resolve("2.0.1", "Linux", "x86_64", nvidia_driver="535.104.05") == {
        "torch": "2.0.1",
        "torchvision": "0.15.2",
        "torchaudio": "2.0.2",
        "compute": "cu118",
        "cuda": "11.8",
        "rocm": None,
        "min_driver": "520.61.05",
        "full_driver": "520.61.05",
        "driver_rule": "toolkit",
        "index_url": PT + "/cu118",
        "build_index_url": PT + "/cu118",
        "python": "3.11",
        "python_experimental": False,
        "conda_channel": True,
        "conda_packages": ["pytorch==2.0.1", "torchvision==0.15.2", "torchaudio==2.0.2", "pytorch-cuda=11.8"],
        "conda_channels": ["pytorch", "nvidia"],
        "glibc_min": "2.17",
        "macos_min": None,
        "system": "Linux",
        "machine": "x86_64",
        "notes": [],
        "requirements": ["torch==2.0.1", "torchvision==0.15.2", "torchaudio==2.0.2"],
    }


def test_2_7_1_linux_x86_64_driver_560_picks_cu126_which_pypi_serves():
    assert resolve("2.7.1", "Linux", "x86_64", nvidia_driver="560.35.03") == {
        "torch": "2.7.1",
        "torchvision": "0.22.1",
        "torchaudio": "2.7.1",
        "compute": "cu126",
        "cuda": "12.6",
        "rocm": None,
        "min_driver": "560.28.03",
        "full_driver": "560.28.03",
        "driver_rule": "toolkit",
        "index_url": None,
        "build_index_url": PT + "/cu126",
        "python": "3.13",
        "python_experimental": False,
        "conda_channel": False,
        "conda_packages": [],
        "conda_channels": [],
        "glibc_min": "2.28",
        "macos_min": None,
        "system": "Linux",
        "machine": "x86_64",
        "notes": [],
        "requirements": ["torch==2.7.1", "torchvision==0.22.1", "torchaudio==2.7.1"],
    }


def test_2_4_1_apple_silicon_is_mps_from_pypi_and_conda():
    assert resolve("2.4.1", "Darwin", "arm64") == {
        "torch": "2.4.1",
        "torchvision": "0.19.1",
        "torchaudio": "2.4.1",
        "compute": "mps",
        "cuda": None,
        "rocm": None,
        "min_driver": None,
        "full_driver": None,
        "driver_rule": None,
        "index_url": None,
        "build_index_url": PT + "/cpu",
        "python": "3.12",
        "python_experimental": False,
        "conda_channel": True,
        "conda_packages": ["pytorch==2.4.1", "torchvision==0.19.1", "torchaudio==2.4.1"],
        "conda_channels": ["pytorch"],
        "glibc_min": None,
        "macos_min": "12.3",
        "system": "Darwin",
        "machine": "arm64",
        "notes": [],
        "requirements": ["torch==2.4.1", "torchvision==0.19.1", "torchaudio==2.4.1"],
    }


def test_2_0_1_windows_amd64_driver_531_uses_the_windows_floor():
    assert resolve("2.0.1", "Windows", "AMD64", nvidia_driver="531.14") == {
        "torch": "2.0.1",
        "torchvision": "0.15.2",
        "torchaudio": "2.0.2",
        "compute": "cu118",
        "cuda": "11.8",
        "rocm": None,
        "min_driver": "520.06",
        "full_driver": "520.06",
        "driver_rule": "toolkit",
        "index_url": PT + "/cu118",
        "build_index_url": PT + "/cu118",
        "python": "3.11",
        "python_experimental": False,
        "conda_channel": True,
        "conda_packages": ["pytorch==2.0.1", "torchvision==0.15.2", "torchaudio==2.0.2", "pytorch-cuda=11.8"],
        "conda_channels": ["pytorch", "nvidia"],
        "glibc_min": None,
        "macos_min": None,
        "system": "Windows",
        "machine": "x86_64",
        "notes": [],
        "requirements": ["torch==2.0.1", "torchvision==0.15.2", "torchaudio==2.0.2"],
    }


def test_2_0_1_with_python_3_12_is_refused_with_range_and_way_out():
    with pytest.raises(TorchBuildError) as err:
        resolve("2.0.1", "Linux", "x86_64", python="3.12")
    msg = str(err.value)
    assert "supports Python 3.8 .. 3.11, not 3.12" in msg
    assert "PyTorch 2.4.0 .. " in msg and "experimental from 2.2.0" in msg
    assert "use python 3.11 with PyTorch 2.0.1" in msg


# --- parametrised resolutions --------------------------------------------------------------------------------

L, D, W = "Linux", "Darwin", "Windows"

CASES = [
    # id, args, kwargs, expected subset
    # Linux x86_64 driver floors: exactly at and just below each floor
    ("cu118-at-floor", ("2.0.1", L, "x86_64"), {"nvidia_driver": "520.61.05"}, {"compute": "cu118"}),
    ("cu118-below", ("2.0.1", L, "x86_64"), {"nvidia_driver": "520.61.04"}, {"compute": "cu117", "index_url": None}),
    ("cu117-at-floor", ("2.0.1", L, "x86_64"), {"nvidia_driver": "515.43.04"}, {"compute": "cu117"}),
    ("cu121-at-floor", ("2.1.2", L, "x86_64"), {"nvidia_driver": "530.30.02"}, {"compute": "cu121", "index_url": None}),
    ("cu121-below", ("2.1.2", L, "x86_64"), {"nvidia_driver": "530.30.01"}, {"compute": "cu118"}),
    ("cu124-at-floor", ("2.4.1", L, "x86_64"), {"nvidia_driver": "550.54.14"}, {"compute": "cu124"}),
    ("cu124-below", ("2.4.1", L, "x86_64"), {"nvidia_driver": "550.54.13"}, {"compute": "cu121", "index_url": None}),
    ("cu126-at-floor", ("2.7.1", L, "x86_64"), {"nvidia_driver": "560.28.03"}, {"compute": "cu126"}),
    (
        "cu126-below",
        ("2.7.1", L, "x86_64"),
        {"nvidia_driver": "560.28.02"},
        {"compute": "cu118", "index_url": PT + "/cu118"},
    ),
    (
        "cu128-at-floor",
        ("2.7.1", L, "x86_64"),
        {"nvidia_driver": "570.26"},
        {"compute": "cu128", "index_url": PT + "/cu128"},
    ),
    ("cu128-trailing-zero", ("2.7.1", L, "x86_64"), {"nvidia_driver": "570.26.0"}, {"compute": "cu128"}),
    ("cu128-below", ("2.7.1", L, "x86_64"), {"nvidia_driver": "570.25.99"}, {"compute": "cu126"}),
    (
        "cu129-at-floor",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "575.51.03"},
        {"compute": "cu129", "min_driver": "575.51.03"},
    ),
    ("cu129-below", ("2.8.0", L, "x86_64"), {"nvidia_driver": "575.51.02"}, {"compute": "cu128", "index_url": None}),
    ("cu130-at-floor", ("2.9.1", L, "x86_64"), {"nvidia_driver": "580.65.06"}, {"compute": "cu130"}),
    ("cu130-below", ("2.9.1", L, "x86_64"), {"nvidia_driver": "580.65.05"}, {"compute": "cu128"}),
    (
        "cu132-at-floor",
        ("2.13.0", L, "x86_64"),
        {"nvidia_driver": "595.45.04"},
        {"compute": "cu132", "index_url": PT + "/cu132"},
    ),
    ("cu132-below", ("2.13.0", L, "x86_64"), {"nvidia_driver": "595.45.03"}, {"compute": "cu130", "index_url": None}),
    ("numeric-not-lexical", ("2.7.1", L, "x86_64"), {"nvidia_driver": "1000.1"}, {"compute": "cu128"}),
    # Windows column of Table 3
    (
        "win-cu128-at-floor",
        ("2.7.1", W, "AMD64"),
        {"nvidia_driver": "570.65"},
        {"compute": "cu128", "min_driver": "570.65"},
    ),
    (
        "win-cu128-below",
        ("2.7.1", W, "AMD64"),
        {"nvidia_driver": "570.64"},
        {"compute": "cu126", "index_url": PT + "/cu126"},
    ),
    ("win-cu130-branch", ("2.9.0", W, "AMD64"), {"nvidia_driver": "580.88"}, {"compute": "cu130", "min_driver": "580"}),
    ("win-cu130-below", ("2.9.0", W, "AMD64"), {"nvidia_driver": "579.99"}, {"compute": "cu128"}),
    ("win-cu132-branch", ("2.14.1", W, "amd64"), {"nvidia_driver": "595.02"}, {"compute": "cu132"}),
    ("win-no-driver", ("2.4.1", "windows", "AMD64"), {}, {"compute": "cpu", "index_url": None, "system": "Windows"}),
    # Linux aarch64
    ("arm-cpu-pypi", ("2.5.1", L, "aarch64"), {}, {"compute": "cpu", "index_url": None, "glibc_min": "2.17"}),
    ("arm-machine-arm64", ("2.6.0", "linux", "arm64"), {}, {"machine": "aarch64", "glibc_min": "2.28"}),
    (
        "arm-cu128",
        ("2.7.1", L, "aarch64"),
        {"nvidia_driver": "570.26"},
        {"compute": "cu128", "index_url": PT + "/cu128"},
    ),
    ("arm-cpu-index-from-2.11", ("2.11.0", L, "aarch64"), {"compute": "cpu"}, {"index_url": PT + "/cpu"}),
    (
        "arm-cu130-pypi",
        ("2.11.0", L, "aarch64"),
        {"nvidia_driver": "580.65.06"},
        {"compute": "cu130", "index_url": None},
    ),
    (
        "arm-cu126-2.13",
        ("2.13.0", L, "aarch64"),
        {"nvidia_driver": "570.26"},
        {"compute": "cu126", "index_url": PT + "/cu126"},
    ),
    # Linux x86_64 CPU needs the cpu index (PyPI's wheel is a CUDA build)
    ("linux-cpu-index", ("2.7.1", L, "x86_64"), {}, {"compute": "cpu", "index_url": PT + "/cpu"}),
    (
        "mirror-base",
        ("2.0.1", L, "x86_64"),
        {"compute": "cu118", "index_base": "http://mirror.lab/whl/"},
        {"index_url": "http://mirror.lab/whl/cu118", "build_index_url": "http://mirror.lab/whl/cu118"},
    ),
    # macOS
    (
        "intel-mac-2.2",
        ("2.2", D, "x86_64"),
        {},
        {"torch": "2.2.2", "compute": "cpu", "index_url": None, "conda_channel": True, "macos_min": None},
    ),
    (
        "mac-latest",
        ("latest", D, "arm64"),
        {},
        {"torch": "2.15.0", "compute": "mps", "python": "3.14", "macos_min": "14.0", "torchvision": "0.29.2"},
    ),
    ("mac-2.10-py314-floor", ("2.10.0", D, "arm64"), {"python": "3.14"}, {"macos_min": "14.0"}),
    ("mac-2.10-py313-mps", ("2.10.0", D, "arm64"), {"python": "3.13"}, {"macos_min": "12.3"}),
    ("mac-cpu-explicit", ("2.7.1", D, "arm64"), {"compute": "cpu"}, {"compute": "cpu", "macos_min": "11.0"}),
    # version forms
    ("minor-picks-newest-patch", ("2.14", L, "x86_64"), {}, {"torch": "2.14.1", "torchvision": "0.29.1"}),
    ("minor-2.0", ("2.0", L, "x86_64"), {}, {"torch": "2.0.1"}),
    ("v-prefix", ("v2.7.1", L, "x86_64"), {}, {"torch": "2.7.1"}),
    (
        "latest-linux",
        ("latest", L, "x86_64"),
        {"nvidia_driver": "595.45.04"},
        {"torch": "2.15.0", "compute": "cu132", "index_url": None},
    ),
    (
        "2.0.0-companions",
        ("2.0.0", L, "x86_64"),
        {},
        {
            "torchvision": "0.15.1",
            "torchaudio": "2.0.1",
            "conda_packages": ["pytorch==2.0.0", "torchvision==0.15.0", "torchaudio==2.0.0", "cpuonly"],
        },
    ),
    (
        "torchaudio-after-2.11",
        ("2.12.1", L, "x86_64"),
        {},
        {"torchaudio": "2.11.1", "requirements": ["torch==2.12.1", "torchvision==0.27.1", "torchaudio==2.11.1"]},
    ),
    # Python edges
    ("py-lowest", ("2.0.1", L, "x86_64"), {"python": "3.8"}, {"python": "3.8", "conda_channel": True}),
    ("py-highest", ("2.0.1", L, "x86_64"), {"python": "3.11.9"}, {"python": "3.11"}),
    ("py-default-skips-experimental", ("2.2.2", L, "x86_64"), {}, {"python": "3.11"}),
    (
        "py-experimental-on-request",
        ("2.2.2", L, "x86_64"),
        {"python": "3.12"},
        {"python_experimental": True, "conda_channel": False},
    ),
    ("py-2.5-313-linux", ("2.5.1", L, "x86_64"), {"python": "3.13"}, {"python_experimental": True}),
    ("py-2.15-315", ("2.15.0", L, "x86_64"), {"python": "3.15"}, {"python_experimental": True}),
    ("py-2.9-314", ("2.9.0", L, "x86_64"), {"python": "3.14"}, {"python": "3.14", "python_experimental": False}),
    # ROCm
    (
        "rocm-newest",
        ("2.5.1", L, "x86_64"),
        {"compute": "rocm"},
        {"compute": "rocm6.2", "rocm": "6.2", "index_url": PT + "/rocm6.2", "conda_channel": False},
    ),
    ("rocm-exact", ("2.5.1", L, "x86_64"), {"compute": "ROCm6.1"}, {"compute": "rocm6.1"}),
    ("rocm-2.6-glibc", ("2.6.0", L, "x86_64"), {"compute": "rocm6.2.4"}, {"glibc_min": "2.28"}),
    ("2.6-cu124-glibc", ("2.6.0", L, "x86_64"), {"compute": "cu124"}, {"glibc_min": "2.17", "index_url": None}),
    ("2.6-cu126-glibc", ("2.6.0", L, "x86_64"), {"compute": "cu126"}, {"glibc_min": "2.28"}),
    # explicit CUDA build
    (
        "cu-explicit-no-driver",
        ("2.7.1", L, "x86_64"),
        {"compute": "cu118"},
        {"compute": "cu118", "notes": ["no NVIDIA driver given: cu118 was not checked against a driver"]},
    ),
    ("cuda-keyword", ("2.4.1", L, "x86_64"), {"compute": "cuda", "nvidia_driver": "535.104.05"}, {"compute": "cu121"}),
    # conda
    (
        "conda-cpu-2.5",
        ("2.5.1", L, "x86_64"),
        {"compute": "cpu"},
        {
            "conda_channel": True,
            "conda_channels": ["pytorch"],
            "conda_packages": ["pytorch==2.5.1", "torchvision==0.20.1", "torchaudio==2.5.1", "cpuonly"],
        },
    ),
    ("conda-ends-2.5", ("2.6.0", L, "x86_64"), {"compute": "cpu"}, {"conda_channel": False, "conda_packages": []}),
    ("conda-not-aarch64", ("2.4.1", L, "aarch64"), {}, {"conda_channel": False}),
    # issue 10 item 4: release builds only (pytorch/pytorch RELEASE.md matrix has no CUDA 12.9 for 2.10..2.12)
    (
        "2.10-never-picks-off-matrix-cu129",
        ("2.10.0", L, "x86_64"),
        {"nvidia_driver": "575.51.03"},
        {"compute": "cu128"},
    ),
    (
        "2.11-never-picks-off-matrix-cu129",
        ("2.11.0", L, "x86_64"),
        {"nvidia_driver": "580.65.05"},
        {"compute": "cu128"},
    ),
    ("2.12.1-never-picks-off-matrix-cu129", ("2.12.1", L, "x86_64"), {"nvidia_driver": "578.1"}, {"compute": "cu126"}),
    (
        "off-matrix-by-name-warns",
        ("2.10.0", L, "x86_64"),
        {"compute": "cu129", "nvidia_driver": "575.51.03"},
        {
            "compute": "cu129",
            "driver_rule": "toolkit",
            "index_url": PT + "/cu129",
            "notes": [
                "warning: cu129 is not a release build of PyTorch 2.10.0: PyTorch's release matrix lists cu126, "
                "cu128, cu130 for Linux x86_64, and cu129 was seen only in an older wheel-index listing; it is used "
                "because it was asked for by name, and the index may not carry it"
            ],
        },
    ),
    # torchaudio is missing from the cu132 index (pytorch/pytorch#193651); PyPI's 2.11.1 is a CUDA 13 build
    (
        "cu132-index-has-no-torchaudio",
        ("2.13.0", L, "x86_64"),
        {"compute": "cu132", "nvidia_driver": "595.45.04"},
        {
            "torchaudio": None,
            "requirements": ["torch==2.13.0", "torchvision==0.28.0"],
            "notes": [
                "torchaudio: none, the cu132 index carries no torchaudio 2.11.1 (nor any current torchaudio); "
                "install it from another build, or leave torchaudio out"
            ],
        },
    ),
    (
        "cu132-from-pypi-keeps-torchaudio",
        ("2.15.0", L, "aarch64"),
        {"nvidia_driver": "595.45.04"},
        {"compute": "cu132", "index_url": None, "torchaudio": "2.11.1", "notes": []},
    ),
    ("cu130-index-keeps-torchaudio", ("2.13.0", W, "AMD64"), {"compute": "cu130"}, {"torchaudio": "2.11.1"}),
    # issue 10 item 14: minor-version compatibility (Table 2) when no build qualifies fully (Table 3)
    (
        "r535-2.8-minor-version-with-sass",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "535.104.05", "gpu_compute_capabilities": ["8.0", "9.0"]},
        {
            "compute": "cu129",
            "driver_rule": "minor_version",
            "min_driver": "525.60.13",
            "full_driver": "575.51.03",
            "notes": [
                "driver 535.104.05 is older than 575.51.03, the toolkit minimum of cu129 (CUDA 12.9) on Linux: cu129 "
                "runs under NVIDIA's minor-version compatibility (limited feature set: no PTX JIT); driver >= "
                "575.51.03 gives full compatibility"
            ],
        },
    ),
    (
        "r535-2.8-pascal-gets-the-build-with-its-sass",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "535.104.05", "gpu_compute_capabilities": ["6.1"]},
        {"compute": "cu126", "driver_rule": "minor_version", "full_driver": "560.28.03"},
    ),
    (
        "r535-2.13-cu126-sass-from-release-md",
        ("2.13.0", L, "x86_64"),
        {"nvidia_driver": "535.104.05", "gpu_compute_capabilities": ["8.9"]},
        {"compute": "cu126", "driver_rule": "minor_version", "index_url": PT + "/cu126"},
    ),
    (
        "r535-2.10-without-gpus-allowed-with-note",
        ("2.10.0", L, "x86_64"),
        {"nvidia_driver": "535.104.05"},
        {
            "compute": "cu128",
            "driver_rule": "minor_version",
            "notes": [
                "driver 535.104.05 is older than 570.26, the toolkit minimum of cu128 (CUDA 12.8) on Linux: cu128 "
                "runs under NVIDIA's minor-version compatibility (limited feature set: no PTX JIT); driver >= 570.26 "
                "gives full compatibility",
                "no GPU compute capabilities given: not checked that cu128 carries machine code for this host's "
                "GPUs, which minor-version compatibility needs (PTX cannot be JIT-compiled on an older driver)",
            ],
        },
    ),
    (
        "470-runs-cu118-under-11x",
        ("2.0.1", L, "x86_64"),
        {"nvidia_driver": "470.82.01", "gpu_compute_capabilities": ["8.6", "7.0"]},
        {"compute": "cu118", "driver_rule": "minor_version", "min_driver": "450.80.02", "full_driver": "520.61.05"},
    ),
    ("11x-floor-exact", ("2.0.1", L, "x86_64"), {"nvidia_driver": "450.80.02"}, {"compute": "cu118"}),
    (
        "unknown-cc-device-noted",
        ("2.0.1", L, "x86_64"),
        {"nvidia_driver": "470.82.01", "gpu_compute_capabilities": ["8.0", None]},
        {"compute": "cu118", "driver_rule": "minor_version"},
    ),
    (
        "full-beats-newer-minor",
        ("2.13.0", L, "x86_64"),
        {"nvidia_driver": "580.10", "gpu_compute_capabilities": ["9.0"]},
        {"compute": "cu126", "driver_rule": "toolkit", "min_driver": "560.28.03"},
    ),
    (
        "13x-minor-version",
        ("2.14.1", L, "x86_64"),
        {"nvidia_driver": "580.10", "compute": "cu130", "gpu_compute_capabilities": ["10.0"]},
        {"compute": "cu130", "driver_rule": "minor_version", "min_driver": "580", "full_driver": "580.65.06"},
    ),
    (
        "windows-12x-minor-version",
        ("2.12.0", W, "AMD64"),
        {"nvidia_driver": "537.13", "gpu_compute_capabilities": ["7.5"]},
        {"compute": "cu126", "driver_rule": "minor_version", "min_driver": "528.33", "full_driver": "560.76"},
    ),
    ("no-driver-no-rule", ("2.8.0", L, "x86_64"), {}, {"compute": "cpu", "driver_rule": None, "full_driver": None}),
    (
        "cc-as-numbers",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "535.1", "gpu_compute_capabilities": [8.6, 9]},
        {"compute": "cu129"},
    ),
    (
        "driver-but-no-arm-cuda",
        ("2.4.1", L, "aarch64"),
        {"nvidia_driver": "550.54.14"},
        {
            "compute": "cpu",
            "notes": ["an NVIDIA driver was given, but PyTorch 2.4.1 has no CUDA build for Linux aarch64: chose cpu"],
        },
    ),
]


@pytest.mark.parametrize(("args", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_resolve(args, kwargs, expected):
    result = resolve(*args, **kwargs)
    assert {key: result[key] for key in expected} == expected


# --- refusals: each names the constraint and the way out ----------------------------------------------------

ERRORS = [
    ("pre-2.0", ("1.13.1", L, "x86_64"), {}, ["older than 2.0.0", "2.0.0 .. 2.15.0", "2.0 or newer"]),
    ("unknown-version", ("2.99.0", L, "x86_64"), {}, ["not in the compatibility data", "2.0.0 .. 2.15.0"]),
    ("unknown-patch", ("2.6.1", L, "x86_64"), {}, ["2.6.1 is not in the compatibility data"]),
    ("malformed-version", ("banana", L, "x86_64"), {}, ["not X.Y.Z, X.Y or 'latest'", "2.0.0 .. 2.15.0"]),
    ("float-version", (2.1, L, "x86_64"), {}, ["loses trailing zeros", "'2.10'"]),
    ("unknown-system", ("2.7.1", "Plan9", "x86_64"), {}, ["'Plan9' is not supported", "Linux, Darwin or Windows"]),
    ("unknown-machine", ("2.7.1", L, "i686"), {}, ["'i686' is not supported", "x86_64 (AMD64) or aarch64"]),
    ("python-below", ("2.0.1", L, "x86_64"), {"python": "3.7"}, ["3.8 .. 3.11, not 3.7", "use python 3.11"]),
    (
        "python-above-newest",
        ("2.9.0", L, "x86_64"),
        {"python": "3.15"},
        ["3.10 .. 3.14, not 3.15", "available, as experimental, from PyTorch 2.15.0", "use python 3.14"],
    ),
    (
        "python-dropped",
        ("2.15.0", L, "x86_64"),
        {"python": "3.10"},
        ["3.11 .. 3.14, not 3.10", "Python 3.10 is supported by PyTorch 2.0.0 .. 2.14.1"],
    ),
    ("python-2.5-313-windows", ("2.5.1", W, "AMD64"), {"python": "3.13"}, ["exist only for linux-x86_64"]),
    ("python-malformed", ("2.7.1", L, "x86_64"), {"python": "three"}, ["not a version like '3.11'"]),
    ("python-float", ("2.9.0", L, "x86_64"), {"python": 3.1}, ["quote it", "'3.10'"]),
    ("intel-mac-after-2.2", ("2.3.0", D, "x86_64"), {}, ["no macOS Intel (x86_64) build", "2.2.2", "Apple silicon"]),
    ("mps-on-linux", ("2.7.1", L, "x86_64"), {"compute": "mps"}, ["needs Apple silicon", "compute=cpu"]),
    ("mps-on-intel-mac", ("2.2.2", D, "x86_64"), {"compute": "mps"}, ["needs Apple silicon", "compute=cpu"]),
    (
        "cuda-without-driver",
        ("2.7.1", L, "x86_64"),
        {"compute": "cuda"},
        ["needs an NVIDIA driver", "install one", "compute=cpu"],
    ),
    ("cuda-empty-driver", ("2.7.1", W, "AMD64"), {"compute": "cuda", "nvidia_driver": ""}, ["needs an NVIDIA driver"]),
    (
        "driver-below-12x-minor-floor",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "470.82.01"},
        [
            "470.82.01 is older than every CUDA build of PyTorch 2.8.0",
            "needs driver >= 560.28.03",
            "CUDA 12.x needs driver >= 525.60.13 even under minor-version compatibility",
            "upgrade the driver to >= 560.28.03 or use compute=cpu",
        ],
    ),
    (
        "driver-below-11x-minor-floor",
        ("2.0.1", L, "x86_64"),
        {"nvidia_driver": "450.80.01"},
        ["needs driver >= 515.43.04", "CUDA 11.x needs driver >= 450.80.02"],
    ),
    (
        "driver-below-11x-minor-floor-windows",
        ("2.7.1", W, "AMD64"),
        {"nvidia_driver": "452.38"},
        ["cu118 (CUDA 11.8), needs driver >= 520.06 on Windows", "CUDA 11.x needs driver >= 452.39"],
    ),
    (
        "minor-version-needs-an-arch-list-when-gpus-are-known",
        ("2.7.1", L, "aarch64"),
        {"nvidia_driver": "560.35.03", "gpu_compute_capabilities": ["9.0"]},
        ["needs driver >= 570.26", "no architecture list for cu128 of PyTorch 2.7.1 on Linux aarch64"],
    ),
    (
        "minor-version-needs-sass-for-every-gpu",
        ("2.8.0", L, "x86_64"),
        {"nvidia_driver": "535.104.05", "gpu_compute_capabilities": ["8.0", "3.5"]},
        ["cu126 carries no machine code for compute capability 3.5", "cu129 carries no machine code"],
    ),
    (
        "minor-version-kepler-on-cu118",
        ("2.0.1", L, "x86_64"),
        {"nvidia_driver": "470.82.01", "gpu_compute_capabilities": ["3.5"]},
        ["cu118 carries no machine code for compute capability 3.5", "upgrade the driver to >= 515.43.04"],
    ),
    (
        "driver-malformed",
        ("2.7.1", L, "x86_64"),
        {"nvidia_driver": "535.abc"},
        ["not a driver version", "'535.104.05'"],
    ),
    ("driver-float", ("2.7.1", L, "x86_64"), {"nvidia_driver": 570.1}, ["quote it", "'570.10'"]),
    ("compute-unknown", ("2.7.1", L, "x86_64"), {"compute": "tpu"}, ["'tpu' is not one of", "auto, cpu, cuda, cuXYZ"]),
    (
        "compute-cu-missing",
        ("2.7.1", L, "x86_64"),
        {"compute": "cu121"},
        ["no cu121 build", "cu118, cu126, cu128", "compute=cuda"],
    ),
    (
        "compute-cu-driver-low",
        ("2.7.1", L, "x86_64"),
        {"compute": "cu128", "nvidia_driver": "560.35.03", "gpu_compute_capabilities": ["8.6"]},
        [
            "needs NVIDIA driver >= 570.26 on Linux, found 560.35.03",
            "no architecture list for cu128",
            "compute=cu126",
        ],
    ),
    (
        "compute-cu-below-family-floor",
        ("2.8.0", L, "x86_64"),
        {"compute": "cu126", "nvidia_driver": "520.61.05"},
        ["needs NVIDIA driver >= 560.28.03", "CUDA 12.x needs driver >= 525.60.13", "compute=cpu"],
    ),
    (
        "off-matrix-only-where-seen",
        ("2.10.0", W, "AMD64"),
        {"compute": "cu129", "nvidia_driver": "580.88"},
        ["no cu129 build for Windows x86_64", "cu126, cu128, cu130"],
    ),
    ("gpu-cc-malformed", ("2.8.0", L, "x86_64"), {"gpu_compute_capabilities": ["sm_80"]}, ["'sm_80'", "'8.6'"]),
    ("gpu-cc-boolean", ("2.8.0", L, "x86_64"), {"gpu_compute_capabilities": True}, ["not a boolean"]),
    ("rocm-on-windows", ("2.7.1", W, "AMD64"), {"compute": "rocm"}, ["Linux x86_64 only", "compute=cpu"]),
    ("rocm-on-mac", ("2.7.1", D, "arm64"), {"compute": "rocm"}, ["no CUDA or ROCm builds for macOS", "mps"]),
    ("rocm-on-arm-linux", ("2.7.1", L, "aarch64"), {"compute": "rocm6.3"}, ["Linux x86_64 only"]),
    ("rocm-missing-build", ("2.7.1", L, "x86_64"), {"compute": "rocm6.1"}, ["no rocm6.1 build", "rocm6.3"]),
    ("rocm-none-recorded", ("2.14.1", L, "x86_64"), {"compute": "rocm"}, ["no ROCm build", "e.g. 2.13.0"]),
    ("cuda-on-mac", ("2.4.1", D, "arm64"), {"compute": "cu121"}, ["no CUDA or ROCm builds for macOS", "compute=mps"]),
    ("cuda-on-intel-mac", ("2.2.2", D, "x86_64"), {"compute": "cuda"}, ["macOS", "compute=cpu"]),
    ("windows-arm64", ("2.7.1", W, "ARM64"), {}, ["Windows arm64", "x86_64 Windows host"]),
    (
        "no-cuda-build-2.15-windows",
        ("2.15.0", W, "AMD64"),
        {"compute": "cuda", "nvidia_driver": "595.10"},
        ["has no CUDA build for Windows x86_64", "compute=cpu"],
    ),
    (
        "no-cuda-build-old-arm",
        ("2.5.1", L, "aarch64"),
        {"compute": "cuda", "nvidia_driver": "570.26"},
        ["no CUDA build for Linux aarch64", "2.7.0 .. 2.15.0"],
    ),
]


@pytest.mark.parametrize(("args", "kwargs", "fragments"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_refusals_name_the_constraint_and_the_way_out(args, kwargs, fragments):
    with pytest.raises(TorchBuildError) as err:
        resolve(*args, **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_torch_build_error_is_a_value_error():
    assert issubclass(TorchBuildError, ValueError)


# --- helpers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "minimum", "ok"),
    [
        ("570.26", "570.26.0", True),
        ("570.26.0", "570.26", True),
        ("535.104.05", "535.104.5", True),
        ("570.9", "570.26", False),
        ("999.9", "1000.1", False),
        ("580", "580", True),
        ("579.99.99", "580", False),
    ],
)
def test_driver_comparison_is_numeric_per_component(driver, minimum, ok):
    assert tb.driver_at_least(driver, minimum) is ok


def test_requirements_omit_missing_companions(monkeypatch):
    monkeypatch.setitem(tm.RELEASES["2.14.1"], "torchaudio", None)
    result = resolve("2.14.1", "Linux", "x86_64")
    assert result["torchaudio"] is None
    assert result["requirements"] == ["torch==2.14.1", "torchvision==0.29.1"]


# --- the data itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(tm.RELEASES))
def test_release_rows_are_consistent(version):
    rel = tm.RELEASES[version]
    low, high = rel["python"]
    assert tb._vkey(low) <= tb._vkey(high)
    for platform, builds in rel["cuda"].items():
        assert platform in ("linux-x86_64", "linux-aarch64", "windows-x86_64")
        assert list(builds) == sorted(builds, key=lambda b: tb._vkey(tb._cuda_of(b)))
        for build in builds:
            assert tb._cuda_of(build) in tm.CUDA_MIN_DRIVER
    for platform, key in (("linux-x86_64", "pypi_linux_x86_64"), ("linux-aarch64", "pypi_linux_aarch64")):
        assert rel[key] == "cpu" or rel[key] in rel["cuda"][platform]
    assert rel["macos_x86_64"] is (tb._vkey(version) <= tb._vkey(tm.LAST_MACOS_X86_64))
    assert (rel["conda"] is not None) is (tb._vkey(version) <= (2, 5, 1))


def test_every_patch_release_from_2_0_0_is_listed():
    assert sorted(tm.RELEASES, key=tb._vkey) == [
        "2.0.0", "2.0.1", "2.1.0", "2.1.1", "2.1.2", "2.2.0", "2.2.1", "2.2.2", "2.3.0", "2.3.1", "2.4.0", "2.4.1",
        "2.5.0", "2.5.1", "2.6.0", "2.7.0", "2.7.1", "2.8.0", "2.9.0", "2.9.1", "2.10.0", "2.11.0", "2.12.0",
        "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0",
    ]  # fmt: skip
