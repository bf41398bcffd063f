"""macOS rules of the resolver, over every release in the data.

- Intel Macs: PyTorch's last macOS x86_64 wheels are 2.2.x (pytorch/pytorch#114602, the deprecation RFC named in
  the 2.2.0 release notes; #127870 and #131766 show pip on an Intel Mac offering nothing newer than 2.2.2).
- macOS wheels come from PyPI itself (index_url null); Apple silicon's default build is mps.
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_matrix as tm

RELEASES = sorted(tm.RELEASES, key=tb._vkey)
INTEL_MAC = [v for v in RELEASES if tb._vkey(v) <= (2, 2, 2)]


def test_last_intel_mac_release_is_2_2_2():
    assert tm.LAST_MACOS_X86_64 == "2.2.2"
    assert INTEL_MAC[-1] == "2.2.2" and RELEASES.index("2.2.2") < len(RELEASES) - 1


@pytest.mark.parametrize("version", RELEASES)
def test_intel_mac_gets_releases_up_to_2_2_only(version):
    if version in INTEL_MAC:
        build = tb.resolve(version, "Darwin", "x86_64")
        assert build["compute"] == "cpu" and build["index_url"] is None
        assert build["requirements"][0] == f"torch=={version}"
    else:
        with pytest.raises(tb.TorchBuildError, match=r"no macOS Intel \(x86_64\) build.*2\.2\.2.*pytorch_version 2\.2"):
            tb.resolve(version, "Darwin", "x86_64")


@pytest.mark.parametrize("version", ["latest", "2.3", "2.15"])
def test_intel_mac_refuses_newer_requests(version):
    with pytest.raises(tb.TorchBuildError, match=r"Intel Mac wheels end with 2\.2\.2"):
        tb.resolve(version, "Darwin", "x86_64")


def test_intel_mac_minor_request_takes_2_2_2():
    assert tb.resolve("2.2", "Darwin", "x86_64")["torch"] == "2.2.2"


@pytest.mark.parametrize("version", RELEASES)
def test_apple_silicon_is_mps_from_pypi(version):
    build = tb.resolve(version, "Darwin", "arm64")
    assert build["compute"] == "mps"
    assert build["index_url"] is None
    assert tb._vkey(build["macos_min"]) >= tb._vkey(tm.MPS_MACOS_MIN)
