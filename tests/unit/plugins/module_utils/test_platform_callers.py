"""The roles' plans take OS, architecture, scope and directory rules from module_utils/_platform.py, and the two
bugs that fell out of putting the copies side by side stay fixed."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb

# --- bug: torch_build refused the system a Windows host reports ----------------------------------------------


def test_torch_build_takes_the_system_a_windows_host_reports():
    # ansible.windows.setup reports system Win32NT; the filter's documentation asks for ansible_facts['system'].
    result = tb.resolve("2.7", "Win32NT", "AMD64", compute="cpu")
    assert result["system"] == "Windows"
    assert result == tb.resolve("2.7", "Windows", "AMD64", compute="cpu")


# --- bug: 32-bit and big-endian Arm passed for 64-bit Arm ----------------------------------------------------


@pytest.mark.parametrize("machine", ["armv8l", "aarch64_be", "armv8"])
def test_torch_build_refuses_arm_that_cannot_run_aarch64_wheels(machine):
    with pytest.raises(tb.TorchBuildError, match=rf"machine '{machine}' is not supported"):
        tb.resolve("2.7", "Linux", machine, compute="cpu")
