"""The roles' plans take OS, architecture, scope and directory rules from module_utils/_platform.py, and the two
bugs that fell out of putting the copies side by side stay fixed."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda, _conda_installer, _driver, _platform
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb
from ansible_collections.torchfleet.lab.plugins.module_utils import _trainers as tr

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


@pytest.mark.parametrize("machine", ["armv8l", "aarch64_be"])
def test_host_platform_passes_other_arm_through_for_the_resolver_to_refuse(machine):
    host = pe.host_platform({"system": "Linux", "machine": machine, "user_dir": "/root"})
    assert host["machine"] == machine
    with pytest.raises(pe.LayoutError, match=f"uv publishes no binary for Linux {machine}"):
        pe.layout(host, "lab", manager="uv", uv_version="0.9.0", uv_base_url="https://example.org/uv")


# --- the callers agree with _platform ------------------------------------------------------------------------

REPORTED = ["Linux", "linux", "Darwin", "Windows", "Win32NT", " win32nt "]


@pytest.mark.parametrize("reported", REPORTED)
def test_every_plan_names_a_system_alike(reported):
    name = _platform.system_name(reported)
    assert tr.normalise_system(reported) == name
    assert _conda_installer.normalise_system(reported) == name
    assert tb._norm_system(reported) == name
    assert pe.host_platform({"system": reported, "machine": "x86_64"})["system"] == name


@pytest.mark.parametrize("reported", REPORTED)
@pytest.mark.parametrize("scope", ["auto", "system", "user"])
def test_every_plan_resolves_scope_and_become_alike(reported, scope):
    name = _platform.system_name(reported)
    resolved = _platform.resolve_scope(scope, reported)
    become = _platform.needs_become(resolved, reported)
    assert tr.resolve_scope(scope, reported) == resolved
    assert tr.needs_become(scope, reported) is become
    assert _conda_installer.resolve_scope(scope, reported) == resolved
    assert _conda_installer.needs_become(scope, reported) is become
    assert pe.resolve_scope(scope, name, "uv") == resolved
    host = {"system": name, "machine": "x86_64", "home": "C:\\Users\\a" if name == "Windows" else "/home/a"}
    env = pe.layout(host, "lab", manager="uv", scope=scope, uv_version="0.9.0", uv_base_url="https://example.org")
    assert (env["scope"], env["become"]) == (resolved, become)


@pytest.mark.parametrize(
    ("system", "home"), [("Linux", "/home/a"), ("Darwin", "/Users/a"), ("Windows", "C:\\Users\\a")]
)
@pytest.mark.parametrize("scope", ["system", "user"])
def test_default_directories_come_from_one_table(system, home, scope):
    sep = _platform.separator(system)

    def where(what):
        path = _platform.default_dir(system, scope, what)
        return path if scope == "system" else home + sep + path

    assert _conda_installer.default_cache_dir(system, scope, home) == where("cache")
    assert tr.default_dir(system, scope, home) == where("trainers")
    host = {"system": system, "machine": "x86_64", "home": home}
    env = pe.layout(host, "lab", manager="uv", scope=scope, uv_version="0.9.0", uv_base_url="https://example.org")
    assert env["prefix"] == where("envs") + sep + "lab"
    assert env["uv"]["cache"] == where("cache")
    assert env["uv"]["dir"] == where("bin")


@pytest.mark.parametrize("system", ["Linux", "Darwin", "Windows"])
def test_the_conda_interpreter_is_named_once(system):
    prefix = "C:\\m\\envs\\lab" if system == "Windows" else "/m/envs/lab"
    assert _conda.env_python_path(prefix, system) == _platform.env_python(prefix, system, "conda")
    assert pe.env_python(prefix, system, "conda") == _platform.env_python(prefix, system, "conda")
    assert pe.env_python(prefix, system, "uv") == _platform.env_python(prefix, system, "uv")


def test_build_mismatch_reads_cuda_through_torch_builds_function(monkeypatch):
    seen = []

    def spy(build):
        seen.append(build)
        return "11.8"

    monkeypatch.setattr(tb, "cuda_of", spy)
    assert pe.build_mismatch("cu118", "2.7.1+cu118", "11.8") == ""
    assert seen == ["cu118"]


@pytest.mark.parametrize("machine", sorted(_platform.X86_64))
def test_the_conda_installer_takes_every_x86_64_spelling_the_other_roles_take(machine):
    # It lacked x86-64, which torch_build and pytorch_env took.
    assert _conda_installer.installer("miniforge", "26.3.2-3", "Linux", machine)["arch"] == "x86_64"
    assert tb.resolve("2.7", "Linux", machine, compute="cpu")["machine"] == "x86_64"


@pytest.mark.parametrize(("system", "machine"), [("Linux", "armv8l"), ("Linux", "aarch64_be"), ("Win32NT", "arm64")])
def test_the_conda_installer_still_refuses_what_it_refused(system, machine):
    with pytest.raises(_conda_installer.InstallerError, match="No conda installer is published"):
        _conda_installer.installer("miniforge", "26.3.2-3", system, machine)


def test_the_windows_driver_installer_is_cached_in_the_shared_default(monkeypatch):
    dirs = dict(_platform._DEFAULT_DIRS)
    dirs[("windows", "system")] = dict(dirs[("windows", "system")], cache="D:\\cache")
    monkeypatch.setattr(_platform, "_DEFAULT_DIRS", dirs)
    facts = {"os_family": "Windows", "system": "Win32NT", "torchfleet_gpu": {"vendor": "nvidia", "devices": []}}
    plan = _driver.plan(
        facts,
        force=True,
        windows_version="580.88",
        windows_installer_sha256="a" * 64,
        windows_installer_url="https://dl.example/drivers/580.88-win.exe",
    )
    assert plan["installer"]["path"] == "D:\\cache\\580.88-win.exe"
