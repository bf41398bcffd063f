"""The conda_installer filter wraps module_utils and turns its errors into filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.filter.conda import FilterModule

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


def test_windows_system_install_is_all_users_without_become():
    # This collection knows no sum for a Windows Miniconda installer: the user gives it.
    info = conda_installer(
        "miniconda", "py313_25.5.1-1", "Win32NT", "x86_64", "", "", scope="auto", home="C:\\Users\\ana", sha256="A" * 64
    )
    assert info["system"] == "Windows" and info["family"] == "windows"
    assert (info["scope"], info["install_type"], info["become"]) == ("system", "AllUsers", False)
    assert info["prefix"] == "C:\\ProgramData\\miniconda3"
    assert info["cache_dir"] == "C:\\ProgramData\\torchfleet\\cache"
    assert info["path"] == "C:\\ProgramData\\torchfleet\\cache\\Miniconda3-py313_25.5.1-1-Windows-x86_64.exe"
    assert info["argv"] == [
        info["path"],
        "/S",
        "/InstallationType=AllUsers",
        "/AddToPath=0",
        "/RegisterPython=0",
        "/NoRegistry=1",
        "/D=C:\\ProgramData\\miniconda3",
    ]
    assert info["conda"] == "C:\\ProgramData\\miniconda3\\Scripts\\conda.exe"
    assert info["python"] == "C:\\ProgramData\\miniconda3\\python.exe"
    assert info["condarc"] == "C:\\ProgramData\\miniconda3\\.condarc"
    assert info["marker"] == "C:\\ProgramData\\miniconda3\\conda-meta\\torchfleet-install.json"
    assert info["uninstaller"] == "C:\\ProgramData\\miniconda3\\Uninstall-Miniconda3.exe"
    assert info["tos_channels"][-1] == "https://repo.anaconda.com/pkgs/msys2"
    assert info["notes"] == []
    assert (info["sha256"], info["checksum"]) == ("a" * 64, "sha256:" + "a" * 64)


def test_windows_miniconda_without_a_sum_is_refused_before_anything_runs():
    with pytest.raises(AnsibleFilterError, match="miniconda_installer_sha256"):
        conda_installer("miniconda", "py313_25.11.1-1", "Win32NT", "x86_64", "", "", scope="auto", home="C:\\Users\\a")


def test_windows_user_install_is_just_me_and_may_add_to_path():
    info = conda_installer(
        "miniforge", "26.3.2-3", "Win32NT", "x86_64", "", "", scope="user", home="C:\\Users\\ana", add_to_path=True
    )
    assert info["prefix"] == "C:\\Users\\ana\\miniforge3"
    assert info["cache_dir"] == "C:\\Users\\ana\\AppData\\Local\\torchfleet\\cache"
    assert "/InstallationType=JustMe" in info["argv"] and "/AddToPath=1" in info["argv"]
    assert info["argv"][-1] == "/D=C:\\Users\\ana\\miniforge3"
    assert info["checksum"] == "sha256:" + info["url"] + ".sha256"


def test_windows_all_users_path_request_comes_back_as_a_note():
    info = conda_installer("miniforge", "26.3.2-3", "Win32NT", "x86_64", "", "", scope="system", add_to_path=True)
    assert "/AddToPath=0" in info["argv"]
    assert len(info["notes"]) == 1 and "miniconda_windows_add_to_path" in info["notes"][0]


def test_macos_auto_scope_installs_for_the_user_without_root():
    info = conda_installer("miniforge", "26.3.2-3", "Darwin", "arm64", "", "", scope="auto", home="/Users/ana")
    assert (info["scope"], info["become"], info["system"]) == ("user", False, "Darwin")
    assert info["prefix"] == "/Users/ana/miniforge3"
    assert info["filename"] == "Miniforge3-26.3.2-3-MacOSX-arm64.sh"
    assert info["argv"] == [
        "bash",
        "/Users/ana/.cache/torchfleet/" + info["filename"],
        "-b",
        "-p",
        "/Users/ana/miniforge3",
    ]
    assert info["uninstaller"] is None


def test_linux_auto_scope_is_the_system_install_it_always_was():
    auto = conda_installer("miniforge", "26.3.2-3", "Linux", "x86_64", "", "", scope="auto", home="/root")
    system = conda_installer("miniforge", "26.3.2-3", "Linux", "x86_64", "", "/var/cache/torchfleet", scope="system")
    assert auto == system
    assert (auto["prefix"], auto["become"], auto["condarc"]) == ("/opt/miniforge3", True, "/opt/miniforge3/.condarc")


def test_windows_prefix_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match="refuses"):
        conda_installer("miniforge", "26.3.2-3", "Win32NT", "x86_64", "C:\\Program Files\\conda", "")
    with pytest.raises(AnsibleFilterError, match="supported platforms"):
        conda_installer("miniforge", "26.3.2-3", "Win32NT", "arm64", "", "")


conda_prefix_plan = FilterModule().filters()["conda_prefix_plan"]


def test_prefix_plan_reads_the_registered_module_result():
    state = {"state": "interrupted", "problems": ["tmp is left over from an unfinished install"], "marker": None}
    assert conda_prefix_plan(state, "miniforge", "26.3.2-3", "Linux", "/opt/miniforge3")["action"] == "repair"
    windows = conda_prefix_plan(state, "miniforge", "26.3.2-3", "Win32NT", "C:\\ProgramData\\miniforge3")
    assert "tmp is left over" in windows["refusal"]
    # miniconda_upgrade may arrive as a string from -e.
    complete = {"state": "complete", "problems": [], "marker": {"distribution": "miniforge", "version": "25.3.0-3"}}
    assert conda_prefix_plan(complete, "miniforge", "26.3.2-3", "Linux", "/opt/m", upgrade="false")["refusal"]
    assert (
        conda_prefix_plan(complete, "miniforge", "26.3.2-3", "Linux", "/opt/m", upgrade="true")["action"] == "upgrade"
    )


def test_prefix_plan_wants_the_module_result():
    with pytest.raises(AnsibleFilterError, match="conda_prefix_info"):
        conda_prefix_plan("complete", "miniforge", "26.3.2-3", "Linux", "/opt/m")


def test_a_shared_temporary_cache_directory_is_refused_before_anything_runs():
    # miniconda_cache_dir: /tmp used to get mode 0755 from the role, losing /tmp's sticky bit (issue 11 item 2).
    with pytest.raises(AnsibleFilterError, match="miniconda_cache_dir '/tmp' is a system directory"):
        conda_installer("miniforge", "26.3.2-3", "Linux", "x86_64", "/opt/miniforge3", "/tmp")


def test_the_user_home_is_refused_as_a_prefix():
    with pytest.raises(AnsibleFilterError, match="is the connecting user's home directory"):
        conda_installer("miniforge", "26.3.2-3", "Linux", "x86_64", "/srv/ana", "", scope="user", home="/srv/ana")


def test_prefix_plan_passes_the_installer_update_option_for_an_empty_directory():
    plan = FilterModule().filters()["conda_prefix_plan"](
        {"state": "empty", "problems": [], "marker": None}, "miniforge", "26.3.2-3", "Linux", "/opt/miniforge3"
    )
    assert (plan["action"], plan["update"]) == ("install", True)


def test_a_plain_http_mirror_without_a_pin_raises_an_ansible_warning(monkeypatch):
    # Issue 11, item 3: a real warning (Display.warning, listed with the play's warnings), not a debug line.
    seen = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *args, **kwargs: seen.append(msg))
    conda_installer(
        "miniforge", "26.3.2-3", "Linux", "x86_64", "/opt/miniforge3", "/var/cache/torchfleet",
        base_url="http://mirror.lab:8765",
    )  # fmt: skip
    assert len(seen) == 1 and "miniconda_installer_sha256" in seen[0]
    seen.clear()
    conda_installer(
        "miniforge", "26.3.2-3", "Linux", "x86_64", "/opt/miniforge3", "/var/cache/torchfleet",
        base_url="http://mirror.lab:8765", sha256="a" * 64,
    )  # fmt: skip
    assert seen == []


def test_ssl_verify_off_in_condarc_extra_stops_the_role_before_any_change():
    with pytest.raises(AnsibleFilterError, match=r"miniconda_condarc_extra\.ssl_verify is 'no'"):
        conda_installer(
            "miniforge", "26.3.2-3", "Linux", "x86_64", "/opt/miniforge3", "/var/cache/torchfleet",
            condarc_extra={"ssl_verify": "no"},
        )  # fmt: skip
