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


def test_known_sum_still_checks_a_mirror_copy():
    # The mirror's .sha256 comes from the server it checks; the known sum is the publisher's (issue 11, item 3).
    info = ci.installer("miniconda", "py313_25.11.1-1", "Linux", "x86_64", base_url=MIRROR)
    assert info["url"].startswith(MIRROR + "/")
    assert info["sha256"] == "e0b10e050e8928e2eb9aad2c522ee3b5d31d30048b8a9997663a8a460d538cef"
    assert ci.checksum(info) == "sha256:" + info["sha256"]
    assert info["warnings"] == []


def test_plain_http_mirror_without_a_pinned_sum_warns():
    info = ci.installer("miniconda", "py311_25.11.1-1", "Linux", "x86_64", base_url="http://bob:s3cret@mirror.lab")
    assert ci.checksum(info) == "sha256:" + info["url"] + ".sha256"
    (warning,) = info["warnings"]
    assert "plain http" in warning and "miniconda_installer_sha256" in warning
    assert "s3cret" not in warning and "bob:***@mirror.lab" in warning


@pytest.mark.parametrize(
    ("base_url", "sha256"),
    [("https://mirror.lab", None), (MIRROR, "a" * 64), (None, None)],
    ids=["https-mirror", "pinned", "upstream"],
)
def test_no_warning_with_https_or_a_pin(base_url, sha256):
    info = ci.installer("miniforge", "26.3.2-3", "Linux", "x86_64", base_url=base_url, sha256=sha256)
    assert info["warnings"] == []


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


# --- Windows and macOS decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "system", "machine", "filename"),
    [
        ("miniforge", "Darwin", "arm64", "Miniforge3-26.3.2-3-MacOSX-arm64.sh"),
        ("miniforge", "Darwin", "x86_64", "Miniforge3-26.3.2-3-MacOSX-x86_64.sh"),
        # Some tools report Apple silicon as aarch64; the installer is still the arm64 one.
        ("miniforge", "Darwin", "aarch64", "Miniforge3-26.3.2-3-MacOSX-arm64.sh"),
        # ansible.windows.setup reports system Win32NT and architecture2 x86_64 (no machine fact).
        ("miniforge", "Win32NT", "x86_64", "Miniforge3-26.3.2-3-Windows-x86_64.exe"),
        ("miniforge", "Windows", "AMD64", "Miniforge3-26.3.2-3-Windows-x86_64.exe"),
    ],
)
def test_installer_file_per_os_and_arch(distribution, system, machine, filename):
    info = ci.installer(distribution, "26.3.2-3", system, machine)
    assert info["filename"] == filename
    assert info["kind"] == ("exe" if filename.endswith(".exe") else "sh")


@pytest.mark.parametrize(
    ("system", "machine"),
    [
        ("Win32NT", "arm64"),  # no win-arm64 Miniconda or Miniforge installer is published
        ("Win32NT", "i386"),
        ("Windows", "unknown"),
        ("Darwin", "i386"),
        ("Linux", "armv7l"),
    ],
)
def test_platforms_without_an_installer_are_refused_by_name(system, machine):
    with pytest.raises(ci.InstallerError, match=rf"No conda installer is published for \w+ on '{machine}'"):
        ci.installer("miniforge", "26.3.2-3", system, machine)


@pytest.mark.parametrize(
    ("system", "name", "family"),
    [("Linux", "Linux", "posix"), ("Darwin", "Darwin", "posix"), ("Win32NT", "Windows", "windows")],
)
def test_system_names_and_families(system, name, family):
    assert ci.normalise_system(system) == name
    assert ci.family(system) == family


@pytest.mark.parametrize(
    ("scope", "system", "resolved"),
    [
        ("auto", "Linux", "system"),
        ("auto", "Darwin", "user"),
        ("auto", "Win32NT", "system"),
        ("system", "Darwin", "system"),
        ("user", "Linux", "user"),
        ("User", "Windows", "user"),
    ],
)
def test_scope_auto_depends_on_the_os_only(scope, system, resolved):
    assert ci.resolve_scope(scope, system) == resolved


def test_unknown_scope_names_the_choices():
    with pytest.raises(ci.InstallerError, match="auto, system or user"):
        ci.resolve_scope("global", "Linux")


@pytest.mark.parametrize(
    ("scope", "system", "install_type", "become"),
    [
        ("system", "Win32NT", "AllUsers", False),
        ("user", "Win32NT", "JustMe", False),
        ("auto", "Win32NT", "AllUsers", False),
        ("system", "Linux", "AllUsers", True),
        ("auto", "Linux", "AllUsers", True),
        ("auto", "Darwin", "JustMe", False),
        ("system", "Darwin", "AllUsers", True),
        ("user", "Linux", "JustMe", False),
    ],
)
def test_install_type_and_privilege_escalation(scope, system, install_type, become):
    assert ci.install_type(scope, system) == install_type
    assert ci.needs_become(scope, system) is become


@pytest.mark.parametrize(
    ("distribution", "system", "scope", "home", "expected"),
    [
        ("miniconda", "Linux", "auto", "/root", "/opt/miniconda3"),
        ("miniforge", "Darwin", "auto", "/Users/ana", "/Users/ana/miniforge3"),
        ("miniconda", "Win32NT", "auto", "C:\\Users\\ana", "C:\\ProgramData\\miniconda3"),
        ("miniconda", "Win32NT", "user", "C:\\Users\\ana\\", "C:\\Users\\ana\\miniconda3"),
    ],
)
def test_default_prefix_with_auto_scope(distribution, system, scope, home, expected):
    assert ci.default_prefix(distribution, system, scope, home) == expected


@pytest.mark.parametrize(
    ("system", "scope", "home", "expected"),
    [
        ("Linux", "system", "/root", "/var/cache/torchfleet"),
        ("Linux", "user", "/home/ana/", "/home/ana/.cache/torchfleet"),
        ("Darwin", "auto", "/Users/ana", "/Users/ana/.cache/torchfleet"),
        ("Darwin", "system", "/Users/ana", "/var/cache/torchfleet"),
        ("Win32NT", "auto", "C:\\Users\\ana", "C:\\ProgramData\\torchfleet\\cache"),
        ("Win32NT", "user", "C:\\Users\\ana", "C:\\Users\\ana\\AppData\\Local\\torchfleet\\cache"),
    ],
)
def test_default_cache_dir(system, scope, home, expected):
    assert ci.default_cache_dir(system, scope, home) == expected


@pytest.mark.parametrize(
    ("prefix", "system", "condarc", "marker"),
    [
        ("/opt/miniconda3/", "Linux", "/opt/miniconda3/.condarc", "/opt/miniconda3/conda-meta/m.json"),
        ("/Users/a/miniforge3", "Darwin", "/Users/a/miniforge3/.condarc", "/Users/a/miniforge3/conda-meta/m.json"),
        (
            "C:\\ProgramData\\miniconda3\\",
            "Win32NT",
            "C:\\ProgramData\\miniconda3\\.condarc",
            "C:\\ProgramData\\miniconda3\\conda-meta\\m.json",
        ),
    ],
)
def test_condarc_and_marker_paths(prefix, system, condarc, marker):
    assert ci.condarc_path(prefix, system) == condarc
    assert ci.marker_path(prefix, system, "m.json") == marker


def test_uninstaller_names():
    assert ci.uninstaller_name("miniconda") == "Uninstall-Miniconda3.exe"
    assert ci.uninstaller_name("miniforge") == "Uninstall-Miniforge3.exe"


@pytest.mark.parametrize(
    ("system", "channels"),
    [
        ("Linux", ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]),
        ("Darwin", ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]),
        (
            "Win32NT",
            [
                "https://repo.anaconda.com/pkgs/main",
                "https://repo.anaconda.com/pkgs/r",
                "https://repo.anaconda.com/pkgs/msys2",
            ],
        ),
    ],
)
def test_channels_whose_terms_apply(system, channels):
    assert ci.tos_channels(system) == channels


@pytest.mark.parametrize(
    ("install_type", "add_to_path", "register_python", "expected"),
    [
        pytest.param(
            "AllUsers",
            False,
            False,
            ["/InstallationType=AllUsers", "/AddToPath=0", "/RegisterPython=0", "/NoRegistry=1"],
            id="all-users-quiet",
        ),
        pytest.param(
            "AllUsers",
            True,
            False,
            ["/InstallationType=AllUsers", "/AddToPath=0", "/RegisterPython=0", "/NoRegistry=1"],
            id="all-users-ignores-path",
        ),
        pytest.param(
            "JustMe",
            True,
            False,
            ["/InstallationType=JustMe", "/AddToPath=1", "/RegisterPython=0", "/NoRegistry=1"],
            id="just-me-path",
        ),
        pytest.param(
            "JustMe",
            False,
            True,
            ["/InstallationType=JustMe", "/AddToPath=0", "/RegisterPython=1", "/NoRegistry=0"],
            id="just-me-register",
        ),
    ],
)
def test_exe_argv_in_full(install_type, add_to_path, register_python, expected):
    info = ci.installer("miniforge", "26.3.2-3", "Win32NT", "x86_64")
    argv = ci.install_command(
        info,
        "C:\\ProgramData\\torchfleet\\cache\\Miniforge3-26.3.2-3-Windows-x86_64.exe",
        "C:\\ProgramData\\miniforge3",
        install_type=install_type,
        add_to_path=add_to_path,
        register_python=register_python,
    )
    # The installer first, /S, the options, then /D= last and unquoted (NSIS reads it from the end).
    assert argv == [
        "C:\\ProgramData\\torchfleet\\cache\\Miniforge3-26.3.2-3-Windows-x86_64.exe",
        "/S",
        *expected,
        "/D=C:\\ProgramData\\miniforge3",
    ]
    assert not any('"' in arg for arg in argv)


def test_exe_argv_ignores_upgrade_and_refuses_unknown_install_types():
    info = ci.installer("miniforge", "26.3.2-3", "Win32NT", "x86_64")
    assert "-u" not in ci.install_command(info, "m.exe", "C:\\m", upgrade=True)
    with pytest.raises(ci.InstallerError, match="JustMe or AllUsers"):
        ci.install_command(info, "m.exe", "C:\\m", install_type="Everyone")


def test_path_request_ignored_for_all_users_is_reported():
    exe = ci.installer("miniforge", "26.3.2-3", "Win32NT", "x86_64")
    sh = ci.installer("miniforge", "26.3.2-3", "Linux", "x86_64")
    assert "CVE-2022-26526" in ci.install_notes(exe, "AllUsers", add_to_path=True)[0]
    assert ci.install_notes(exe, "JustMe", add_to_path=True) == []
    assert ci.install_notes(exe, "AllUsers", add_to_path=False) == []
    assert ci.install_notes(sh, "AllUsers", add_to_path=True) == []


@pytest.mark.parametrize("prefix", ["C:\\", "C:\\Windows", "c:\\programdata\\", "C:\\Users"])
def test_windows_system_directories_are_refused(prefix):
    with pytest.raises(ci.InstallerError, match="system directory"):
        ci.check_prefix(prefix, "Win32NT")


# Issue 11 item 1: system and home directories are never a prefix; item 2: nor a download directory whose
# mode the role would change (miniconda_cache_dir: /tmp lost /tmp's sticky bit).
@pytest.mark.parametrize(
    ("path", "system", "home", "problem"),
    [
        ("/usr/local", "Linux", "/root", "is a system directory"),
        ("/srv/", "Linux", "/root", "is a system directory"),
        ("//tmp", "Linux", "/root", "is a system directory"),
        ("/home/alice", "Linux", "/root", "is a home directory"),
        ("/Users/alice", "Darwin", "/Users/bob", "is a home directory"),
        ("/srv/lab", "Linux", "/srv/lab/", "is the connecting user's home directory"),
        ("/opt/miniconda3/../../etc", "Linux", "/root", "'..' component"),
        ("C:\\", "Win32NT", "C:\\Users\\ana", "is a system directory"),
        ("C:\\Users\\ana", "Win32NT", "C:\\Users\\bob", "is a home directory"),
        ("c:/users/ana/", "Win32NT", "C:\\Users\\ana", "is the connecting user's home directory"),
    ],
)
def test_system_and_home_directories_are_named(path, system, home, problem):
    assert problem in ci.system_dir_problem(path, system, home)


@pytest.mark.parametrize(
    ("path", "system"),
    [
        ("/opt/miniconda3", "Linux"),
        ("/home/alice/miniforge3", "Linux"),
        ("/srv/lab/conda", "Linux"),
        ("/Users/alice/miniforge3", "Darwin"),
        ("C:\\ProgramData\\miniconda3", "Win32NT"),
        ("C:\\Users\\ana\\miniforge3", "Win32NT"),
    ],
)
def test_dedicated_directories_pass(path, system):
    assert ci.system_dir_problem(path, system, "/home/alice" if system != "Win32NT" else "C:\\Users\\ana") == ""


@pytest.mark.parametrize("prefix", ["/usr/local", "/srv", "/home/alice", "/opt/../usr"])
def test_system_and_home_prefixes_are_refused(prefix):
    with pytest.raises(ci.InstallerError, match=r"miniconda_prefix .* Nothing was changed"):
        ci.check_prefix(prefix, "Linux", home="/home/ana")


@pytest.mark.parametrize("cache_dir", ["/tmp", "/var/tmp/", "/dev/shm", "/", "/home/ana", "/usr/local"])
def test_shared_and_system_cache_directories_are_refused(cache_dir):
    with pytest.raises(ci.InstallerError, match=r"miniconda_cache_dir .* leaves the modes of existing directories"):
        ci.check_cache_dir(cache_dir, "Linux", home="/home/ana")


def test_dedicated_cache_directories_pass_and_must_be_absolute():
    assert ci.check_cache_dir("/var/cache/torchfleet", "Linux", home="/root") == "/var/cache/torchfleet"
    assert ci.check_cache_dir("C:\\ProgramData\\torchfleet\\cache", "Win32NT") == "C:\\ProgramData\\torchfleet\\cache"
    with pytest.raises(ci.InstallerError, match="must be an absolute path"):
        ci.check_cache_dir("cache", "Linux")


# Issue 11, item 5: the values conda reads as False for ssl_verify (conda/auxlib/type_coercion.py BOOLISH_FALSE,
# and numbers through bool()), under the key and its alias verify_ssl (conda/base/context.py).
@pytest.mark.parametrize("key", ["ssl_verify", "verify_ssl"])
@pytest.mark.parametrize("value", [False, "false", "False", "no", " off ", "n", "none", "", 0, "0", 0.0, None])
def test_condarc_extra_that_turns_tls_checks_off_is_refused(key, value):
    with pytest.raises(ci.InstallerError, match=rf"miniconda_condarc_extra\.{key} is .*miniconda_ssl_ca_bundle"):
        ci.check_condarc_extra({"changeps1": False, key: value})


@pytest.mark.parametrize(
    "extra",
    [{}, {"ssl_verify": True}, {"ssl_verify": "truststore"}, {"ssl_verify": "/etc/ssl/certs/lab-ca.pem"},
     {"changeps1": False, "always_yes": "no"}],
)  # fmt: skip
def test_condarc_extra_that_keeps_tls_checks_passes(extra):
    assert ci.check_condarc_extra(extra) == extra
