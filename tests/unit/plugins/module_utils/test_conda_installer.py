"""Installer names, URLs, checksums and command lines for every OS the roles support."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci

MIRROR = "http://mirror.lab:8765"


@pytest.mark.parametrize(
    ("distribution", "version", "system", "machine", "filename", "url", "checksum_url"),
    [
        (
            "miniconda",
            "py313_25.11.1-1",
            "Linux",
            "x86_64",
            "Miniconda3-py313_25.11.1-1-Linux-x86_64.sh",
            "https://repo.anaconda.com/miniconda/Miniconda3-py313_25.11.1-1-Linux-x86_64.sh",
            None,
        ),
        (
            "miniconda",
            "py313_25.11.1-1",
            "Linux",
            "arm64",
            "Miniconda3-py313_25.11.1-1-Linux-aarch64.sh",
            "https://repo.anaconda.com/miniconda/Miniconda3-py313_25.11.1-1-Linux-aarch64.sh",
            None,
        ),
        (
            "miniconda",
            "latest",
            "Darwin",
            "arm64",
            "Miniconda3-latest-MacOSX-arm64.sh",
            "https://repo.anaconda.com/miniconda/Miniconda3-latest-MacOSX-arm64.sh",
            None,
        ),
        (
            "miniconda",
            "py312_24.3.0-0",
            "Darwin",
            "x86_64",
            "Miniconda3-py312_24.3.0-0-MacOSX-x86_64.sh",
            "https://repo.anaconda.com/miniconda/Miniconda3-py312_24.3.0-0-MacOSX-x86_64.sh",
            None,
        ),
        (
            "miniconda",
            "py313_25.5.1-1",
            "Windows",
            "AMD64",
            "Miniconda3-py313_25.5.1-1-Windows-x86_64.exe",
            "https://repo.anaconda.com/miniconda/Miniconda3-py313_25.5.1-1-Windows-x86_64.exe",
            None,
        ),
        (
            "miniforge",
            "26.3.2-3",
            "Linux",
            "x86_64",
            "Miniforge3-26.3.2-3-Linux-x86_64.sh",
            "https://github.com/conda-forge/miniforge/releases/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh",
            "https://github.com/conda-forge/miniforge/releases/download/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh.sha256",
        ),
        (
            "miniforge",
            "latest",
            "Linux",
            "aarch64",
            "Miniforge3-Linux-aarch64.sh",
            "https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-aarch64.sh",
            None,
        ),
        (
            "miniforge",
            "25.3.0-3",
            "Windows",
            "AMD64",
            "Miniforge3-25.3.0-3-Windows-x86_64.exe",
            "https://github.com/conda-forge/miniforge/releases/download/25.3.0-3/Miniforge3-25.3.0-3-Windows-x86_64.exe",
            "https://github.com/conda-forge/miniforge/releases/download/25.3.0-3/Miniforge3-25.3.0-3-Windows-x86_64.exe.sha256",
        ),
    ],
)
def test_upstream_names_and_urls(distribution, version, system, machine, filename, url, checksum_url):
    info = ci.installer(distribution, version, system, machine)
    assert info["filename"] == filename
    assert info["url"] == url
    assert info["checksum_url"] == checksum_url


def test_mirror_replaces_every_upstream_and_publishes_sidecars():
    conda = ci.installer("miniconda", "py311_25.11.1-1", "Linux", "x86_64", base_url=MIRROR + "/")
    assert conda["url"] == MIRROR + "/miniconda/Miniconda3-py311_25.11.1-1-Linux-x86_64.sh"
    assert conda["checksum_url"] == conda["url"] + ".sha256"
    forge = ci.installer("miniforge", "26.3.2-3", "Darwin", "arm64", base_url=MIRROR)
    assert forge["url"] == MIRROR + "/miniforge/26.3.2-3/Miniforge3-26.3.2-3-MacOSX-arm64.sh"


def test_known_sum_is_used_for_the_pinned_default():
    info = ci.installer("miniconda", "py313_25.11.1-1", "Linux", "x86_64")
    assert info["sha256"] == "e0b10e050e8928e2eb9aad2c522ee3b5d31d30048b8a9997663a8a460d538cef"
    assert ci.checksum(info) == "sha256:" + info["sha256"]


def test_known_sum_is_not_trusted_for_a_mirror_copy():
    info = ci.installer("miniconda", "py313_25.11.1-1", "Linux", "x86_64", base_url=MIRROR)
    assert info["sha256"] is None
    assert ci.checksum(info) == "sha256:" + info["url"] + ".sha256"


def test_explicit_sum_wins_and_is_normalised():
    info = ci.installer("miniforge", "26.3.2-3", "Linux", "x86_64", sha256="A" * 64)
    assert ci.checksum(info) == "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"distribution": "anaconda", "version": "latest", "system": "Linux", "machine": "x86_64"},
            "miniconda, miniforge",
        ),
        (
            {"distribution": "miniconda", "version": "25.11.1", "system": "Linux", "machine": "x86_64"},
            "py313_25.11.1-1",
        ),
        (
            {"distribution": "miniforge", "version": "py313_25.11.1-1", "system": "Linux", "machine": "x86_64"},
            "26.3.2-3",
        ),
        (
            {"distribution": "miniconda", "version": "latest", "system": "FreeBSD", "machine": "amd64"},
            "Linux, Darwin or Windows",
        ),
        (
            {"distribution": "miniconda", "version": "latest", "system": "Windows", "machine": "ARM64"},
            "supported platforms",
        ),
        (
            {"distribution": "miniconda", "version": "latest", "system": "Linux", "machine": "x86_64", "sha256": "abc"},
            "64 hexadecimal",
        ),
    ],
)
def test_bad_requests_say_what_to_change(kwargs, message):
    with pytest.raises(ci.InstallerError, match=message):
        ci.installer(**kwargs)


def test_unverifiable_download_is_refused_with_the_ways_out():
    info = ci.installer("miniconda", "latest", "Linux", "x86_64")
    with pytest.raises(ci.InstallerError) as err:
        ci.checksum(info)
    text = str(err.value)
    assert "miniconda_installer_sha256" in text and "miniforge" in text


@pytest.mark.parametrize(
    ("distribution", "system", "scope", "home", "expected"),
    [
        ("miniconda", "Linux", "system", "/root", "/opt/miniconda3"),
        ("miniforge", "Linux", "user", "/home/ana/", "/home/ana/miniforge3"),
        ("miniconda", "Darwin", "user", "/Users/ana", "/Users/ana/miniconda3"),
        ("miniconda", "Windows", "system", "C:\\Users\\ana", "C:\\ProgramData\\miniconda3"),
        ("miniforge", "Windows", "user", "C:\\Users\\ana", "C:\\Users\\ana\\miniforge3"),
    ],
)
def test_default_prefix(distribution, system, scope, home, expected):
    assert ci.default_prefix(distribution, system, scope, home) == expected


@pytest.mark.parametrize(
    ("prefix", "system", "message"),
    [
        ("opt/miniconda3", "Linux", "absolute"),
        ("/opt/my conda", "Linux", "space"),
        ("/usr", "Linux", "system directory"),
        ("D:miniconda", "Windows", "absolute"),
        ("C:\\Program Files\\conda", "Windows", "refuses"),
        ("C:\\conda(1)", "Windows", "refuses"),
    ],
)
def test_prefixes_the_installers_refuse(prefix, system, message):
    with pytest.raises(ci.InstallerError, match=message):
        ci.check_prefix(prefix, system)


def test_sh_command_is_batch_with_prefix_and_optional_update():
    info = ci.installer("miniforge", "26.3.2-3", "Linux", "x86_64")
    assert ci.install_command(info, "/c/x.sh", "/opt/miniforge3") == ["bash", "/c/x.sh", "-b", "-p", "/opt/miniforge3"]
    assert ci.install_command(info, "/c/x.sh", "/opt/miniforge3", upgrade=True)[-1] == "-u"


def test_exe_command_is_silent_with_target_last_and_unquoted():
    info = ci.installer("miniconda", "py313_25.5.1-1", "Windows", "AMD64")
    argv = ci.install_command(
        info, "C:\\cache\\m.exe", "C:\\ProgramData\\miniconda3", install_type="AllUsers", add_to_path=True
    )
    assert argv[0] == "C:\\cache\\m.exe" and argv[1] == "/S"
    assert "/InstallationType=AllUsers" in argv
    # The installer ignores /AddToPath for all-users installs; the role never asks for it there.
    assert "/AddToPath=0" in argv
    assert "/RegisterPython=0" in argv and "/NoRegistry=1" in argv
    assert argv[-1] == "/D=C:\\ProgramData\\miniconda3"


def test_exe_command_just_me_with_path():
    info = ci.installer("miniforge", "26.3.2-3", "Windows", "AMD64")
    argv = ci.install_command(info, "m.exe", "C:\\Users\\ana\\miniforge3", add_to_path=True, register_python=True)
    assert "/AddToPath=1" in argv and "/RegisterPython=1" in argv and "/NoRegistry=0" in argv


@pytest.mark.parametrize(
    ("prefix", "system", "conda", "python"),
    [
        ("/opt/miniconda3/", "Linux", "/opt/miniconda3/bin/conda", "/opt/miniconda3/bin/python"),
        ("/Users/a/miniforge3", "Darwin", "/Users/a/miniforge3/bin/conda", "/Users/a/miniforge3/bin/python"),
        (
            "C:\\ProgramData\\miniconda3",
            "Windows",
            "C:\\ProgramData\\miniconda3\\Scripts\\conda.exe",
            "C:\\ProgramData\\miniconda3\\python.exe",
        ),
    ],
)
def test_executables(prefix, system, conda, python):
    assert ci.executables(prefix, system) == {"conda": conda, "python": python}
