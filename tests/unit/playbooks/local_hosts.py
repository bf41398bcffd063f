"""What the playbook tests share: a uv-style environment on the controller whose torch is the dev venv's, and the
inventory variables that point pytorch_env at such environments over the local connection."""

from __future__ import annotations

import sys
import sysconfig
import venv
from pathlib import Path


def torch_env(path: Path, with_torch: bool = True) -> Path:
    """A venv at ``path``; with torch, the dev venv's, through a .pth file rather than a second install of it."""
    venv.EnvBuilder(with_pip=False).create(path)
    if with_torch:
        site = path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        (site / "dev-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return path


def local_uv_vars(torch_version: str) -> dict:
    """Inventory variables for hosts that are the controller itself, with a uv environment at user scope."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "pytorch_version": torch_version.split("+", maxsplit=1)[0],
        "pytorch_python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "pytorch_env_manager": "uv",
        "pytorch_env_scope": "user",
        "pytorch_env_packages": ["torch"],
    }
