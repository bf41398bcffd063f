"""OS and architecture names, scope, become, default directories and the environment's interpreter
(module_utils/_platform.py), for every spelling the roles' old copies of these rules took."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _platform as pf

# --- OS names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("Linux", "Linux"),
        ("linux", "Linux"),
        (" linux ", "Linux"),
        ("LINUX", "Linux"),
        ("Darwin", "Darwin"),
        ("darwin", "Darwin"),
        ("Windows", "Windows"),
        ("windows", "Windows"),
        # ansible.windows.setup: [Environment]::OSVersion.Platform
        ("Win32NT", "Windows"),
        ("win32nt", "Windows"),
    ],
)
def test_every_spelling_of_a_supported_system(reported, expected):
    assert pf.system_name(reported) == expected


@pytest.mark.parametrize("reported", ["FreeBSD", "SunOS", "Plan9", "", None, "  ", "MacOSX", "Win32"])
def test_other_systems_have_no_name(reported):
    assert pf.system_name(reported) is None
    assert pf.family(reported) is None


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"system": "Linux", "os_family": "Debian"}, "Linux"),
        ({"system": "Darwin", "os_family": "Darwin"}, "Darwin"),
        ({"system": "Win32NT", "os_family": "Windows"}, "Windows"),
        # os_family alone says Windows (a trimmed gather_subset), and wins over an odd system.
        ({"os_family": "Windows"}, "Windows"),
        ({"system": "", "os_family": "Windows"}, "Windows"),
        ({"system": "windows"}, "Windows"),
        ({"system": "FreeBSD", "os_family": "FreeBSD"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_system_from_facts(facts, expected):
    assert pf.facts_system(facts) == expected


@pytest.mark.parametrize(
    ("system", "family", "windows", "display", "sep"),
    [
        ("Linux", "posix", False, "Linux", "/"),
        ("Darwin", "posix", False, "macOS", "/"),
        ("Win32NT", "windows", True, "Windows", "\\"),
        ("Windows", "windows", True, "Windows", "\\"),
    ],
)
def test_family_display_name_and_separator(system, family, windows, display, sep):
    assert pf.family(system) == family
    assert pf.is_windows(system) is windows
    assert pf.display_name(system) == display
    assert pf.separator(system) == sep


def test_an_unknown_system_is_displayed_as_reported():
    assert pf.display_name("FreeBSD") == "FreeBSD"


# --- architectures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", "x86_64"),
        ("Linux", "AMD64", "x86_64"),
        ("Windows", "amd64", "x86_64"),
        ("Windows", "x64", "x86_64"),
        ("Linux", "x86-64", "x86_64"),
        ("Darwin", " X86_64 ", "x86_64"),
        # 64-bit Arm follows the OS's own name (and the wheel tags): aarch64 on Linux, arm64 elsewhere.
        ("Linux", "aarch64", "aarch64"),
        ("Linux", "arm64", "aarch64"),
        ("Darwin", "arm64", "arm64"),
        ("Darwin", "aarch64", "arm64"),
        ("Windows", "ARM64", "arm64"),
        ("Win32NT", "arm64", "arm64"),
        # Anything else comes back as written, lower-cased, for the caller to refuse by name.
        ("Linux", "ppc64le", "ppc64le"),
        ("Linux", "armv7l", "armv7l"),
        ("Darwin", "i386", "i386"),
        ("Linux", "", ""),
        ("Linux", None, ""),
    ],
)
def test_machine_names(system, machine, expected):
    assert pf.machine_name(system, machine) == expected


@pytest.mark.parametrize("machine", ["armv8l", "armv8b", "aarch64_be", "armv8", "armv7l"])
def test_no_32_bit_or_big_endian_arm_passes_for_64_bit_arm(machine):
    # A 32-bit process on a 64-bit Arm kernel reads armv8l; aarch64_be is a big-endian kernel.  Neither runs the
    # 64-bit little-endian builds PyTorch, uv and the conda installers publish.
    assert pf.machine_name("Linux", machine) == machine


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"machine": "x86_64", "architecture2": "arm64"}, "x86_64"),
        ({"architecture2": "arm64"}, "arm64"),
        ({}, ""),
        (None, ""),
    ],
)
def test_machine_from_facts(facts, expected):
    assert pf.facts_machine(facts) == expected


@pytest.mark.parametrize(
    ("facts", "system", "expected"),
    [
        ({"user_dir": "/home/ana", "env": {"HOME": "/root"}}, "Linux", "/home/ana"),
        ({"env": {"HOME": "/root"}}, "Linux", "/root"),
        ({"env": {"USERPROFILE": "C:\\Users\\x", "HOME": "/c/Users/x"}}, "Windows", "C:\\Users\\x"),
        ({"env": "not a mapping"}, "Linux", ""),
        ({}, "Darwin", ""),
    ],
)
def test_home_from_facts(facts, system, expected):
    assert pf.facts_home(facts, system) == expected


# --- scope and become ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "system", "inherited", "expected"),
    [
        ("auto", "Linux", None, "system"),
        ("auto", "Darwin", None, "user"),
        ("auto", "Windows", None, "system"),
        ("auto", "Win32NT", None, "system"),
        ("AUTO", " linux ", None, "system"),
        ("system", "Darwin", None, "system"),
        ("user", "Linux", None, "user"),
        (" User ", "Windows", None, "user"),
        # auto inherits a scope given exactly; anything else falls back to the OS's own.
        ("auto", "Darwin", "system", "system"),
        ("auto", "Linux", "user", "user"),
        ("auto", "Linux", "", "system"),
        ("auto", "Linux", "User", "system"),
        ("auto", "Darwin", "global", "user"),
        # an explicit scope beats the inherited one
        ("user", "Linux", "system", "user"),
    ],
)
def test_resolve_scope(scope, system, inherited, expected):
    assert pf.resolve_scope(scope, system, inherited) == expected


@pytest.mark.parametrize(("scope", "system"), [("global", "Linux"), ("", "Linux"), (None, "Darwin"), ("auto", "SunOS")])
def test_resolve_scope_gives_none_for_the_caller_to_refuse(scope, system):
    assert pf.resolve_scope(scope, system) is None


@pytest.mark.parametrize(
    ("scope", "system", "become"),
    [
        ("system", "Linux", True),
        ("system", "Darwin", True),
        ("user", "Linux", False),
        ("user", "Darwin", False),
        # Windows has no sudo: system scope needs an administrator connection instead.
        ("system", "Windows", False),
        ("system", "Win32NT", False),
        ("user", "Windows", False),
        ("system", "FreeBSD", False),
    ],
)
def test_needs_become(scope, system, become):
    assert pf.needs_become(scope, system) is become


# --- default directories -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "scope", "what", "expected"),
    [
        ("Linux", "system", "envs", "/opt/torchfleet/envs"),
        ("Linux", "system", "bin", "/opt/torchfleet/bin"),
        ("Linux", "system", "python", "/opt/torchfleet/python"),
        ("Linux", "system", "trainers", "/opt/torchfleet/trainers"),
        ("Linux", "system", "cache", "/var/cache/torchfleet"),
        ("Linux", "system", "conda", "/opt"),
        ("Darwin", "system", "trainers", "/opt/torchfleet/trainers"),
        ("Darwin", "system", "cache", "/var/cache/torchfleet"),
        ("Linux", "user", "envs", ".local/share/torchfleet/envs"),
        ("Darwin", "user", "trainers", ".local/share/torchfleet/trainers"),
        ("Linux", "user", "bin", ".local/bin"),
        ("Darwin", "user", "cache", ".cache/torchfleet"),
        ("Linux", "user", "conda", ""),
        ("Windows", "system", "envs", "C:\\ProgramData\\torchfleet\\envs"),
        ("Win32NT", "system", "bin", "C:\\ProgramData\\torchfleet\\bin"),
        ("Windows", "system", "python", "C:\\ProgramData\\torchfleet\\python"),
        ("Windows", "system", "trainers", "C:\\ProgramData\\torchfleet\\trainers"),
        ("Windows", "system", "cache", "C:\\ProgramData\\torchfleet\\cache"),
        ("Windows", "system", "conda", "C:\\ProgramData"),
        ("Windows", "user", "envs", "AppData\\Local\\torchfleet\\envs"),
        ("Win32NT", "user", "trainers", "AppData\\Local\\torchfleet\\trainers"),
        ("Windows", "user", "bin", ".local\\bin"),
        ("Windows", "user", "cache", "AppData\\Local\\torchfleet\\cache"),
        ("Windows", "user", "conda", ""),
    ],
)
def test_default_directories(system, scope, what, expected):
    assert pf.default_dir(system, scope, what) == expected


# --- the environment's interpreter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "system", "manager", "expected"),
    [
        ("/opt/miniconda3/envs/lab", "Linux", "conda", "/opt/miniconda3/envs/lab/bin/python"),
        ("/opt/torchfleet/envs/lab", "Linux", "uv", "/opt/torchfleet/envs/lab/bin/python"),
        ("/Users/ana/miniforge3/envs/lab/", "Darwin", "conda", "/Users/ana/miniforge3/envs/lab/bin/python"),
        ("C:\\miniconda3\\envs\\lab", "Windows", "conda", "C:\\miniconda3\\envs\\lab\\python.exe"),
        ("C:\\torchfleet\\envs\\lab", "Windows", "uv", "C:\\torchfleet\\envs\\lab\\Scripts\\python.exe"),
        ("C:\\envs\\lab", "Win32NT", "conda", "C:\\envs\\lab\\python.exe"),
    ],
)  # fmt: skip
def test_env_python(prefix, system, manager, expected):
    assert pf.env_python(prefix, system, manager) == expected


def test_env_python_is_a_conda_environment_unless_told():
    assert pf.env_python("C:\\e", "Windows") == "C:\\e\\python.exe"
