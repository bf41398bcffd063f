"""The pytorch_env layout decisions for Linux, macOS and Windows (module_utils/_pytorch_env.py).

The Linux expectations are the paths the role used before the decisions moved to Python; the molecule
`default` scenario checks the same ones on real containers.
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

# Facts as the setup modules report them (only the keys the layout reads).  Windows: ansible.windows setup.ps1
# sets system from [Environment]::OSVersion.Platform (Win32NT) and has architecture2 instead of machine.
LINUX_FACTS = {"system": "Linux", "os_family": "Debian", "machine": "x86_64", "user_dir": "/home/student"}
LINUX_ARM_FACTS = {"system": "Linux", "os_family": "RedHat", "machine": "aarch64", "user_dir": "/home/lab"}
MAC_FACTS = {"system": "Darwin", "os_family": "Darwin", "machine": "arm64", "user_dir": "/Users/ana"}
MAC_INTEL_FACTS = {"system": "Darwin", "os_family": "Darwin", "machine": "x86_64", "user_dir": "/Users/ana"}
WINDOWS_FACTS = {
    "system": "Win32NT",
    "os_family": "Windows",
    "architecture": "64-bit",
    "architecture2": "x86_64",
    "user_dir": "C:\\Users\\lab",
}
UV_BASE = "https://github.com/astral-sh/uv/releases/download"

LINUX = pe.host_platform(LINUX_FACTS)
MAC = pe.host_platform(MAC_FACTS)
WINDOWS = pe.host_platform(WINDOWS_FACTS)


# ------------------------------------------------------------------------------------------------ platform
@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (LINUX_FACTS, {"system": "Linux", "machine": "x86_64", "home": "/home/student", "windows": False}),
        (LINUX_ARM_FACTS, {"system": "Linux", "machine": "aarch64", "home": "/home/lab", "windows": False}),
        (MAC_FACTS, {"system": "Darwin", "machine": "arm64", "home": "/Users/ana", "windows": False}),
        (MAC_INTEL_FACTS, {"system": "Darwin", "machine": "x86_64", "home": "/Users/ana", "windows": False}),
        (WINDOWS_FACTS, {"system": "Windows", "machine": "x86_64", "home": "C:\\Users\\lab", "windows": True}),
        (dict(WINDOWS_FACTS, architecture2="arm64"), {"system": "Windows", "machine": "arm64",
                                                      "home": "C:\\Users\\lab", "windows": True}),
        # Without user_dir (gather_subset trimmed) the home comes from the environment.
        ({"system": "Linux", "machine": "AMD64", "env": {"HOME": "/root"}},
         {"system": "Linux", "machine": "x86_64", "home": "/root", "windows": False}),
        ({"system": "Win32NT", "architecture2": "x86_64", "env": {"USERPROFILE": "C:\\Users\\x"}},
         {"system": "Windows", "machine": "x86_64", "home": "C:\\Users\\x", "windows": True}),
        # An unknown architecture passes through for torch_build to refuse by name.
        ({"system": "Linux", "machine": "ppc64le", "user_dir": "/root"},
         {"system": "Linux", "machine": "ppc64le", "home": "/root", "windows": False}),
    ],
)  # fmt: skip
def test_host_platform(facts, expected):
    assert pe.host_platform(facts) == expected


@pytest.mark.parametrize("facts", [{}, {"system": "FreeBSD", "os_family": "FreeBSD"}, None])
def test_host_platform_refuses_other_systems(facts):
    with pytest.raises(pe.LayoutError, match="Linux, macOS \\(Darwin\\) and Windows"):
        pe.host_platform(facts)


# ------------------------------------------------------------------------------------------------ scope
@pytest.mark.parametrize(
    ("scope", "system", "manager", "conda_scope", "expected"),
    [
        ("auto", "Linux", "uv", None, "system"),
        ("auto", "Windows", "uv", None, "system"),
        ("auto", "Darwin", "uv", None, "user"),
        ("auto", "Darwin", "conda", None, "user"),
        # With conda, the environment is owned like the installation it lives in.
        ("auto", "Darwin", "conda", "system", "system"),
        ("auto", "Linux", "conda", "user", "user"),
        ("auto", "Linux", "uv", "user", "system"),
        ("system", "Darwin", "uv", None, "system"),
        ("user", "Linux", "conda", "system", "user"),
        ("USER", "Windows", "uv", None, "user"),
        ("", "Darwin", "uv", None, "user"),
    ],
)
def test_resolve_scope(scope, system, manager, conda_scope, expected):
    assert pe.resolve_scope(scope, system, manager, conda_scope) == expected


def test_resolve_scope_refuses_unknown():
    with pytest.raises(pe.LayoutError, match="auto, system, user"):
        pe.resolve_scope("global", "Linux")


@pytest.mark.parametrize(
    ("requested", "compute", "expected"),
    [("auto", "mps", "mps"), ("auto", "cpu", "auto"), ("auto", "cu126", "auto"), ("cpu", "mps", "cpu"),
     ("cuda", "cu128", "cuda"), ("mps", "mps", "mps")],
)  # fmt: skip
def test_verify_device(requested, compute, expected):
    assert pe.verify_device(requested, compute) == expected


def test_verify_device_refuses_unknown():
    with pytest.raises(pe.LayoutError, match="pytorch_env_verify_device"):
        pe.verify_device("tpu", "cpu")


# ------------------------------------------------------------------------------------------------ layout
def uv_layout(host, **kwargs):
    kwargs.setdefault("uv_version", "0.13.9")
    kwargs.setdefault("uv_base_url", UV_BASE)
    return pe.layout(host, "pytorch_env", manager="uv", **kwargs)


def test_linux_uv_system_matches_the_former_role_paths():
    layout = uv_layout(LINUX, scope="auto", compute="cpu")
    assert layout["scope"] == "system" and layout["become"] is True and layout["windows"] is False
    assert layout["prefix"] == "/opt/torchfleet/envs/pytorch_env"
    assert layout["prefix_parent"] == "/opt/torchfleet/envs"
    assert layout["python"] == "/opt/torchfleet/envs/pytorch_env/bin/python"
    assert layout["pyvenv_cfg"] == "/opt/torchfleet/envs/pytorch_env/pyvenv.cfg"
    assert layout["record"] == "/opt/torchfleet/envs/pytorch_env/torchfleet-env.json"
    uv = layout["uv"]
    assert uv["asset"] == "uv-x86_64-unknown-linux-gnu.tar.gz"
    assert uv["url"] == UV_BASE + "/0.13.9/uv-x86_64-unknown-linux-gnu.tar.gz"
    assert uv["checksum"] == "sha256:" + uv["url"] + ".sha256"
    assert uv["exe"] == "/opt/torchfleet/bin/uv"
    assert uv["archive"] == "/var/cache/torchfleet/uv-x86_64-unknown-linux-gnu.tar.gz"
    assert uv["unpack_dir"] == "/var/cache/torchfleet/uv-0.13.9"
    assert uv["unpacked"] == "/var/cache/torchfleet/uv-0.13.9/uv"
    assert uv["uv_cache"] == "/var/cache/torchfleet/uv-cache"
    assert layout["verify_device"] == "auto"


# Issue 11, item 3: uv's own .sha256 comes from the server it checks, so a sum can be pinned per release file.
LINUX_UV_ASSET = "uv-x86_64-unknown-linux-gnu.tar.gz"


def test_pinned_uv_sum_checks_the_download_on_linux_and_windows():
    sums = {LINUX_UV_ASSET: "AB" * 32, "uv-x86_64-pc-windows-msvc.zip": "cd" * 32}
    linux = uv_layout(LINUX, uv_base_url="http://mirror.lab:8765/uv", uv_sha256=sums)["uv"]
    assert linux["sha256"] == "ab" * 32
    assert linux["checksum"] == "sha256:" + "ab" * 32
    assert linux["warnings"] == []
    assert uv_layout(WINDOWS, uv_sha256=sums)["uv"]["sha256"] == "cd" * 32


def test_uv_from_a_plain_http_mirror_without_a_pin_warns():
    uv = uv_layout(LINUX, uv_base_url="http://mirror.lab:8765/uv", uv_sha256={"uv-other.zip": "ab" * 32})["uv"]
    assert uv["sha256"] is None
    assert uv["checksum"] == "sha256:" + uv["url"] + ".sha256"
    (warning,) = uv["warnings"]
    assert "plain http" in warning and "pytorch_env_uv_sha256" in warning


def test_uv_over_https_without_a_pin_does_not_warn():
    assert uv_layout(LINUX)["uv"]["warnings"] == []


@pytest.mark.parametrize(
    ("sums", "message"),
    [
        ("ab" * 32, "must be a mapping of uv release file name"),
        ({LINUX_UV_ASSET: "not-a-digest"}, r"pytorch_env_uv_sha256\['uv-x86_64-unknown-linux-gnu.tar.gz'\]"),
    ],
)
def test_malformed_uv_sums_are_refused(sums, message):
    with pytest.raises(pe.LayoutError, match=message):
        uv_layout(LINUX, uv_sha256=sums)


def test_linux_uv_user_matches_the_former_role_paths():
    layout = uv_layout(LINUX, scope="user")
    assert layout["become"] is False
    assert layout["prefix"] == "/home/student/.local/share/torchfleet/envs/pytorch_env"
    assert layout["uv"]["exe"] == "/home/student/.local/bin/uv"
    assert layout["uv"]["cache"] == "/home/student/.cache/torchfleet"


def test_linux_aarch64_uv_asset():
    assert uv_layout(pe.host_platform(LINUX_ARM_FACTS))["uv"]["asset"] == "uv-aarch64-unknown-linux-gnu.tar.gz"


def test_macos_defaults_to_user_scope_and_mps_verification():
    layout = uv_layout(MAC, compute="mps")
    assert layout["scope"] == "user" and layout["become"] is False
    assert layout["prefix"] == "/Users/ana/.local/share/torchfleet/envs/pytorch_env"
    assert layout["python"] == "/Users/ana/.local/share/torchfleet/envs/pytorch_env/bin/python"
    assert layout["uv"]["asset"] == "uv-aarch64-apple-darwin.tar.gz"
    assert layout["uv"]["exe"] == "/Users/ana/.local/bin/uv"
    assert layout["verify_device"] == "mps"


def test_intel_mac_uv_asset():
    assert uv_layout(pe.host_platform(MAC_INTEL_FACTS))["uv"]["asset"] == "uv-x86_64-apple-darwin.tar.gz"


def test_windows_uv_system():
    layout = uv_layout(WINDOWS, scope="auto", uv_base_url="http://mirror.lab:8765/uv/")
    assert layout["scope"] == "system"
    assert layout["become"] is False
    assert layout["prefix"] == "C:\\ProgramData\\torchfleet\\envs\\pytorch_env"
    assert layout["prefix_parent"] == "C:\\ProgramData\\torchfleet\\envs"
    assert layout["python"] == "C:\\ProgramData\\torchfleet\\envs\\pytorch_env\\Scripts\\python.exe"
    assert layout["pyvenv_cfg"] == "C:\\ProgramData\\torchfleet\\envs\\pytorch_env\\pyvenv.cfg"
    assert layout["record"] == "C:\\ProgramData\\torchfleet\\envs\\pytorch_env\\torchfleet-env.json"
    uv = layout["uv"]
    assert uv["asset"] == "uv-x86_64-pc-windows-msvc.zip"
    assert uv["url"] == "http://mirror.lab:8765/uv/0.13.9/uv-x86_64-pc-windows-msvc.zip"
    assert uv["checksum_url"] == uv["url"] + ".sha256"
    assert uv["dir"] == "C:\\ProgramData\\torchfleet\\bin"
    assert uv["exe"] == "C:\\ProgramData\\torchfleet\\bin\\uv.exe"
    assert uv["cache"] == "C:\\ProgramData\\torchfleet\\cache"
    assert uv["unpack_dir"] == "C:\\ProgramData\\torchfleet\\cache\\uv-0.13.9"
    assert uv["archive"] == "C:\\ProgramData\\torchfleet\\cache\\uv-0.13.9\\uv-x86_64-pc-windows-msvc.zip"
    assert uv["unpacked"] == "C:\\ProgramData\\torchfleet\\cache\\uv-0.13.9\\uv.exe"
    assert uv["uv_cache"] == "C:\\ProgramData\\torchfleet\\cache\\uv-cache"


def test_windows_uv_user():
    layout = uv_layout(WINDOWS, scope="user")
    assert layout["prefix"] == "C:\\Users\\lab\\AppData\\Local\\torchfleet\\envs\\pytorch_env"
    assert layout["python"] == "C:\\Users\\lab\\AppData\\Local\\torchfleet\\envs\\pytorch_env\\Scripts\\python.exe"
    assert layout["uv"]["exe"] == "C:\\Users\\lab\\.local\\bin\\uv.exe"
    assert layout["uv"]["cache"] == "C:\\Users\\lab\\AppData\\Local\\torchfleet\\cache"


def test_windows_arm64_uv_asset():
    host = pe.host_platform(dict(WINDOWS_FACTS, architecture2="arm64"))
    assert uv_layout(host)["uv"]["asset"] == "uv-aarch64-pc-windows-msvc.zip"


def test_explicit_prefix_and_uv_dir():
    layout = uv_layout(WINDOWS, prefix="D:/envs/torch", uv_install_dir="D:\\tools")
    assert layout["prefix"] == "D:\\envs\\torch"
    assert layout["python"] == "D:\\envs\\torch\\Scripts\\python.exe"
    assert layout["uv"]["exe"] == "D:\\tools\\uv.exe"
    # POSIX prefixes are taken as written.
    assert uv_layout(LINUX, prefix="/srv/envs/torch")["python"] == "/srv/envs/torch/bin/python"


@pytest.mark.parametrize(
    ("host", "prefix", "match"),
    [
        (LINUX, "envs/torch", "absolute path such as /opt"),
        (MAC, "~/envs", "absolute path"),
        (WINDOWS, "/opt/envs/torch", "absolute Windows path"),
        (WINDOWS, "envs\\torch", "absolute Windows path"),
    ],
)
def test_relative_prefix_is_refused(host, prefix, match):
    with pytest.raises(pe.LayoutError, match=match):
        uv_layout(host, prefix=prefix)


def test_uv_platform_without_binary_is_refused_only_for_uv():
    host = pe.host_platform({"system": "Linux", "machine": "ppc64le", "user_dir": "/root"})
    with pytest.raises(
        pe.LayoutError, match="uv publishes no binary for Linux ppc64le; use pytorch_env_manager: conda"
    ):
        uv_layout(host)
    assert pe.layout(host, "e", manager="conda", conda="/opt/mf/bin/conda")["uv"] is None


def test_user_scope_needs_a_home():
    host = dict(LINUX, home="")
    with pytest.raises(pe.LayoutError, match="user_dir"):
        uv_layout(host, scope="user")
    with pytest.raises(pe.LayoutError, match="pytorch_env_conda_executable"):
        pe.layout(host, "e", manager="conda", scope="user")


# ------------------------------------------------------------------------------------------------ conda
@pytest.mark.parametrize(
    ("host", "scope", "conda", "conda_fact", "prefix", "python", "become"),
    [
        # The former role rule: <dirname(dirname(conda))>/envs/<name>, fallback /opt/miniconda3/bin/conda.
        (LINUX, "auto", "", {}, "/opt/miniconda3/envs/pytorch_env", "/opt/miniconda3/envs/pytorch_env/bin/python",
         True),
        (LINUX, "auto", "", {"conda": "/opt/miniforge3/bin/conda", "scope": "system"},
         "/opt/miniforge3/envs/pytorch_env", "/opt/miniforge3/envs/pytorch_env/bin/python", True),
        (LINUX, "auto", "/srv/conda/condabin/conda", {"conda": "/opt/miniforge3/bin/conda"},
         "/srv/conda/envs/pytorch_env", "/srv/conda/envs/pytorch_env/bin/python", True),
        (LINUX, "user", "", {}, "/home/student/miniconda3/envs/pytorch_env",
         "/home/student/miniconda3/envs/pytorch_env/bin/python", False),
        # macOS: user scope unless the installation the miniconda role made is a system one.
        (MAC, "auto", "", {}, "/Users/ana/miniconda3/envs/pytorch_env",
         "/Users/ana/miniconda3/envs/pytorch_env/bin/python", False),
        (MAC, "auto", "", {"conda": "/opt/miniforge3/bin/conda", "scope": "system"},
         "/opt/miniforge3/envs/pytorch_env", "/opt/miniforge3/envs/pytorch_env/bin/python", True),
        # Windows: conda.exe in Scripts, the environment's python.exe in its root; no become.
        (WINDOWS, "auto", "", {}, "C:\\ProgramData\\miniconda3\\envs\\pytorch_env",
         "C:\\ProgramData\\miniconda3\\envs\\pytorch_env\\python.exe", False),
        (WINDOWS, "auto", "", {"conda": "C:\\Users\\lab\\miniforge3\\Scripts\\conda.exe", "scope": "user"},
         "C:\\Users\\lab\\miniforge3\\envs\\pytorch_env", "C:\\Users\\lab\\miniforge3\\envs\\pytorch_env\\python.exe",
         False),
        (WINDOWS, "user", "", {}, "C:\\Users\\lab\\miniconda3\\envs\\pytorch_env",
         "C:\\Users\\lab\\miniconda3\\envs\\pytorch_env\\python.exe", False),
    ],
)  # fmt: skip
def test_conda_layout(host, scope, conda, conda_fact, prefix, python, become):
    layout = pe.layout(host, "pytorch_env", manager="conda", scope=scope, conda=conda, conda_fact=conda_fact)
    assert layout["prefix"] == prefix
    assert layout["python"] == python
    assert layout["become"] is become
    assert layout["conda"].endswith(("conda", "conda.exe"))
    assert layout["uv"] is None


def test_windows_default_conda_is_scripts_conda_exe():
    layout = pe.layout(WINDOWS, "pytorch_env", manager="conda")
    assert layout["conda"] == "C:\\ProgramData\\miniconda3\\Scripts\\conda.exe"


@pytest.mark.parametrize(
    ("conda", "root"),
    [("/opt/miniconda3/bin/conda", "/opt/miniconda3"), ("C:\\ProgramData\\miniconda3\\Scripts\\conda.exe",
     "C:\\ProgramData\\miniconda3"), ("D:/conda/Scripts/conda.exe", "D:/conda"), ("/opt/mf/condabin/conda", "/opt/mf")],
)  # fmt: skip
def test_conda_root(conda, root):
    assert pe.conda_root(conda) == root


def test_layout_needs_a_host_platform():
    with pytest.raises(pe.LayoutError, match="host_platform"):
        pe.layout({"system": "Win32NT"}, "e")
    with pytest.raises(pe.LayoutError, match="pytorch_env_manager"):
        pe.layout(LINUX, "e", manager="pixi")


# ------------------------------------------------------------------------------------------------ checksums
DIGEST = "3f2b" * 16


@pytest.mark.parametrize(
    "text",
    [
        # sha256sum on Windows (uv's Windows assets): binary-mode marker before the name.
        f"{DIGEST} *uv-x86_64-pc-windows-msvc.zip\n",
        # shasum -a 256 (uv's Linux and macOS assets): two spaces.
        f"{DIGEST}  uv-x86_64-pc-windows-msvc.zip\n",
        f"{DIGEST.upper()}  ./dist/uv-x86_64-pc-windows-msvc.zip\r\n",
        f"{DIGEST}\n",
        f"{'0' * 64}  other.zip\n{DIGEST} *uv-x86_64-pc-windows-msvc.zip\n",
    ],
)
def test_sha256_from_record(text):
    assert pe.sha256_from_record(text, "uv-x86_64-pc-windows-msvc.zip") == DIGEST


@pytest.mark.parametrize("text", ["", "not found\n", f"{DIGEST}  other.zip\n", f"{DIGEST}\n{'0' * 64}\n"])
def test_sha256_from_record_refuses(text):
    with pytest.raises(pe.LayoutError, match="no single SHA-256"):
        pe.sha256_from_record(text, "uv-x86_64-pc-windows-msvc.zip")


def test_index_url_messages_hide_a_token_given_as_the_user_name():
    # Issue 11, item 8: pip takes https://<token>@host/simple; the former redaction hid only user:password.
    with pytest.raises(pe.LayoutError) as caught:
        pe.check_index_url("pytorch_env_index_url", "ftp://t0ken-secret@pypi.lab/simple")
    assert "t0ken-secret" not in str(caught.value) and "ftp://***@pypi.lab/simple" in str(caught.value)
