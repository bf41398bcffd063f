"""gpu_driver's PyTorch floor check: the torch_build driver rule (issue 10 items 1 and 14).

The rule and its sources live in _torch_build / _torch_matrix (NVIDIA CUDA Toolkit Release Notes Tables 2 and 3,
the NVIDIA CUDA Compatibility guide, and PyTorch's TORCH_CUDA_ARCH_LIST per build); these tests pin that
gpu_driver applies the same rule to a driver branch.  GPU facts are written in the shape gpu_facts returns.
"""

from __future__ import annotations

import re

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils._driver import (
    DriverPlanError,
    check_branch_for_pytorch,
    plan,
    pytorch_floor,
)

RHEL9 = {
    "system": "Linux",
    "machine": "x86_64",
    "kernel": "5.14.0-427.13.1.el9_4.x86_64",
    "os_family": "RedHat",
    "distribution": "RedHat",
    "distribution_major_version": "9",
}


def facts(*ccs):
    devices = [{"vendor": "nvidia", "name": "GPU", "pci_id": "10de:20b2", "compute_capability": cc} for cc in ccs]
    return {**RHEL9, "torchfleet_gpu": {"vendor": "nvidia", "devices": devices, "secure_boot": False}}


# --- issue 10 item 1: a version that YAML read as a number is refused, never str()-ed -----------------------


@pytest.mark.parametrize("version", [2.1, 2.10, 2.0, 2])
def test_unquoted_version_is_refused_with_quote_it(version):
    with pytest.raises(DriverPlanError, match=re.escape("quote it in YAML, e.g. pytorch_version: '2.10'")):
        pytorch_floor(version, "auto", "Linux", "x86_64")


def test_unquoted_version_stops_the_plan():
    # Before: str(2.1) resolved torch 2.1.2 and its floor; the plan went ahead.
    with pytest.raises(DriverPlanError, match="arrived as a number"):
        plan(facts("8.0"), branch="535", pytorch_version=2.10)


def test_quoted_version_still_resolves():
    assert pytorch_floor("2.10", "auto", "Linux", "x86_64")["torch"] == "2.10.0"


# --- issue 10 item 14: minor-version compatibility with machine code for the GPUs ---------------------------


def test_r535_runs_2_8_under_minor_version_compat_and_says_so():
    result = plan(facts("8.0", "9.0"), branch="535", pytorch_version="2.8.0")
    assert result["branch"] == 535
    note = next(n for n in result["notes"] if "minor-version compatibility" in n)
    assert "Driver branch 535 runs PyTorch 2.8.0's" in note
    assert "driver >= 560.28.03 (cu126) gives full compatibility" in note
    assert "not known yet" not in note


def test_r535_without_gpu_capabilities_is_allowed_with_a_note():
    result = plan(facts(None), branch="535", pytorch_version="2.8.0")
    assert any("compute capabilities are not known yet" in n for n in result["notes"])


def test_asked_build_without_sass_for_the_gpu_is_refused():
    # 2.8.0's cu128 carries SASS from 7.0 up (.ci/manywheel/build_cuda.sh); a Pascal GPU (6.1) would need PTX JIT.
    with pytest.raises(DriverPlanError, match=re.escape("cannot run any CUDA build of PyTorch 2.8.0 (cu128)")):
        plan(facts("6.1"), branch="535", pytorch_version="2.8.0", pytorch_compute="cu128")


def test_pascal_on_r535_gets_the_build_that_carries_its_sass():
    result = plan(facts("6.1"), branch="535", pytorch_version="2.8.0")
    assert any("2.8.0's cu126 only under NVIDIA's minor-version compatibility" in n for n in result["notes"])


def test_branch_below_the_family_floor_is_refused():
    floor = pytorch_floor("2.8.0", "auto", "Linux", "x86_64", ["8.0"])
    assert (floor["min_driver"], floor["minor_driver"]) == ("560.28.03", "525.60.13")
    with pytest.raises(DriverPlanError, match="and none runs on it under minor-version compatibility"):
        check_branch_for_pytorch(470, floor, "Linux", [])


def test_470_runs_cu118_of_2_0_1_under_11x_minor_compat():
    notes = []
    floor = pytorch_floor("2.0.1", "auto", "Linux", "x86_64", ["8.6"])
    assert (floor["minor_driver"], floor["minor_build"]) == ("450.80.02", "cu117")
    check_branch_for_pytorch(470, floor, "Linux", notes)
    assert notes and "driver >= 515.43.04 (cu117) gives full compatibility" in notes[0]


def test_full_compatibility_adds_no_note():
    notes = []
    check_branch_for_pytorch(580, pytorch_floor("2.8.0", "auto", "Linux", "x86_64", ["8.0"]), "Linux", notes)
    assert notes == []


def test_windows_uses_the_windows_minor_floor():
    floor = pytorch_floor("2.12.0", "auto", "Windows", "AMD64", ["7.5"])
    assert (floor["min_driver"], floor["minor_driver"]) == ("560.76", "528.33")


def test_release_without_an_arch_list_is_refused_for_known_gpus():
    # 2.15.0 has one CUDA build (cu132) and no recorded TORCH_CUDA_ARCH_LIST: minor compat cannot be shown.
    floor = pytorch_floor("2.15.0", "auto", "Linux", "x86_64", ["9.0"])
    assert floor["minor_driver"] is None
    with pytest.raises(DriverPlanError, match="cannot run any CUDA build"):
        check_branch_for_pytorch(580, floor, "Linux", [])


def test_off_matrix_build_asked_by_name_has_its_own_floor():
    floor = pytorch_floor("2.10.0", "cu129", "Linux", "x86_64")
    assert (floor["build"], floor["min_driver"]) == ("cu129", "575.51.03")
