"""The conda_installer filter wraps module_utils and turns its errors into filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.conda_installer import FilterModule

conda_installer = FilterModule().filters()["conda_installer"]


def test_default_prefix_and_download_path_for_a_user_install():
    info = conda_installer(
        "miniforge", "26.3.2-3", "Linux", "x86_64", "", "/home/ana/.cache/torchfleet", scope="user", home="/home/ana"
    )
    assert info["prefix"] == "/home/ana/miniforge3"
    assert info["path"] == "/home/ana/.cache/torchfleet/Miniforge3-26.3.2-3-Linux-x86_64.sh"
    assert info["argv"] == ["bash", info["path"], "-b", "-p", "/home/ana/miniforge3"]
    assert info["checksum"] == "sha256:" + info["url"] + ".sha256"
    assert info["conda"] == "/home/ana/miniforge3/bin/conda"


def test_errors_become_filter_errors_with_the_same_message():
    with pytest.raises(AnsibleFilterError, match="miniconda_installer_sha256"):
        conda_installer("miniconda", "latest", "Linux", "x86_64", "/opt/miniconda3", "/var/cache/torchfleet")
    with pytest.raises(AnsibleFilterError, match="absolute"):
        conda_installer("miniforge", "26.3.2-3", "Linux", "x86_64", "relative/dir", "/var/cache/torchfleet")
