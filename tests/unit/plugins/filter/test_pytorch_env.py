"""The pytorch_env_*, host_platform and sha256sum_digest filters wrap module_utils/_pytorch_env.py and turn its
errors into filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.filter import host_platform, pytorch_env, sha256sum_digest

FILTERS = {
    name: func
    for module in (host_platform, pytorch_env, sha256sum_digest)
    for name, func in module.FilterModule().filters().items()
}
WINDOWS_FACTS = {"system": "Win32NT", "os_family": "Windows", "architecture2": "x86_64", "user_dir": "C:\\Users\\lab"}


def test_platform_then_layout_as_the_role_chains_them():
    host = FILTERS["host_platform"](WINDOWS_FACTS)
    layout = FILTERS["pytorch_env_layout"](
        host, "pytorch_env", manager="uv", scope="auto", prefix="", conda="", conda_fact={},
        uv_version=0.5, uv_install_dir="", uv_base_url="http://mirror/uv", compute="cpu", verify_device="auto",
    )  # fmt: skip
    assert layout["python"] == "C:\\ProgramData\\torchfleet\\envs\\pytorch_env\\Scripts\\python.exe"
    assert layout["uv"]["url"] == "http://mirror/uv/0.5/uv-x86_64-pc-windows-msvc.zip"


def test_errors_become_filter_errors_with_the_same_message():
    with pytest.raises(AnsibleFilterError, match="Linux, macOS"):
        FILTERS["host_platform"]({"system": "SunOS"})
    host = FILTERS["host_platform"]({"system": "Linux", "machine": "x86_64", "user_dir": "/root"})
    with pytest.raises(AnsibleFilterError, match="pytorch_env_prefix 'envs' must be an absolute path"):
        FILTERS["pytorch_env_layout"](host, "e", manager="uv", prefix="envs", uv_version="0.13.9")
    with pytest.raises(AnsibleFilterError, match="no single SHA-256"):
        FILTERS["sha256sum_digest"]("nothing here", "uv.zip")


def test_sha256sum_digest():
    digest = "ab" * 32
    assert FILTERS["sha256sum_digest"](f"{digest} *uv.zip\n", "uv.zip") == digest


def test_uv_from_a_plain_http_mirror_without_a_pin_raises_an_ansible_warning(monkeypatch):
    # Issue 11, item 3: a real warning (Display.warning), not a debug line.
    seen = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *args, **kwargs: seen.append(msg))
    host = FILTERS["host_platform"]({"system": "Linux", "machine": "x86_64", "user_dir": "/home/ana"})
    options = {"manager": "uv", "uv_version": "0.13.9", "uv_base_url": "http://mirror.lab:8765/uv"}
    FILTERS["pytorch_env_layout"](host, "pytorch_env", **options)
    assert len(seen) == 1 and "pytorch_env_uv_sha256" in seen[0]
    seen.clear()
    FILTERS["pytorch_env_layout"](
        host, "pytorch_env", uv_sha256={"uv-x86_64-unknown-linux-gnu.tar.gz": "a" * 64}, **options
    )
    assert seen == []
