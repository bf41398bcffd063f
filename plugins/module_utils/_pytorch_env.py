# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
r"""Where the pytorch_env role puts things on Linux, macOS and Windows, and which platform a host is.

Private to torchfleet.lab.  Standard library only.  The role's YAML carries these decisions out; every choice
that differs by OS is made here, so it is unit-tested for all three (tests/unit/plugins/module_utils).

Facts, as the setup modules report them:
- POSIX ``setup`` gives ``system`` (Linux, Darwin) and ``machine`` (x86_64, aarch64, arm64).
- ``ansible.windows.setup`` gives ``system`` = ``Win32NT`` (``[Environment]::OSVersion.Platform``), no
  ``machine`` at all, ``architecture2`` (x86_64, arm64) and ``user_dir`` = ``%USERPROFILE%``; ``os_family`` is
  ``Windows`` (ansible.windows plugins/modules/setup.ps1).

Layout decisions (defaults when the role variables leave them empty):

- uv environment: system scope /opt/torchfleet/envs/NAME (Windows: C:\ProgramData\torchfleet\envs\NAME);
  user scope ~/.local/share/torchfleet/envs/NAME (Windows: %USERPROFILE%\AppData\Local\torchfleet\envs\NAME).
- uv binary: /opt/torchfleet/bin or ~/.local/bin (Windows: C:\ProgramData\torchfleet\bin or
  %USERPROFILE%\.local\bin).
- download cache: /var/cache/torchfleet or ~/.cache/torchfleet (Windows: C:\ProgramData\torchfleet\cache or
  %USERPROFILE%\AppData\Local\torchfleet\cache).
- conda environment: CONDA_ROOT/envs/NAME, CONDA_ROOT taken from the conda executable's path
  (ROOT/bin/conda, ROOT\Scripts\conda.exe).
- interpreter: ENV/bin/python; on Windows conda puts ENV\python.exe, a venv ENV\Scripts\python.exe
  (shared/reference/conda.md 1.2 and section 5).

``~/.local/bin`` (``%USERPROFILE%\.local\bin``) is where uv's own installers put uv on every OS
(astral-sh/uv dist-workspace.toml ``install-path``); user data on Windows goes to the non-roaming
``AppData\Local`` of the profile, as ``%LOCALAPPDATA%`` names it by default.  C:\ProgramData is the Windows
machine-wide data directory (``%ProgramData%``), where the miniconda role also puts a system installation.

Scope: ``auto`` is ``user`` on macOS (Homebrew-style per-user installs, no root) and ``system`` on Linux and
Windows; with conda it follows the scope of the conda installation the miniconda role reported, so the
environment is owned like the conda it lives in.  ``become`` is never used on Windows: the connecting
account's rights apply there (WinRM/SSH sessions of an administrator), and sudo does not exist.
"""

from __future__ import annotations

import ntpath
import posixpath
import re

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer

SCOPES = ("auto", "system", "user")
MANAGERS = ("conda", "uv")
VERIFY_DEVICES = ("auto", "cpu", "cuda", "mps")
RECORD = "torchfleet-env.json"

_X86 = ("x86_64", "amd64", "x64", "x86-64")
_ARM = ("aarch64", "arm64", "aarch64_be", "armv8", "armv8l")

# uv release archives, named by Rust target triple.  Source: astral-sh/uv
# .github/workflows/build-release-binaries.yml: Linux and macOS get uv-<target>.tar.gz holding uv-<target>/uv
# and uvx; Windows gets uv-<target>.zip holding uv.exe, uvx.exe and uvw.exe at its top level (7z a of the bare
# files); beside each archive a <archive>.sha256 (`shasum -a 256` on Linux and macOS, `sha256sum` on Windows).
UV_TARGETS = {
    ("Linux", "x86_64"): "x86_64-unknown-linux-gnu",
    ("Linux", "aarch64"): "aarch64-unknown-linux-gnu",
    ("Darwin", "x86_64"): "x86_64-apple-darwin",
    ("Darwin", "arm64"): "aarch64-apple-darwin",
    ("Windows", "x86_64"): "x86_64-pc-windows-msvc",
    ("Windows", "arm64"): "aarch64-pc-windows-msvc",
}

_WINDOWS_SYSTEM_ROOT = "C:\\ProgramData\\torchfleet"
_POSIX_SYSTEM = {"envs": "/opt/torchfleet/envs", "bin": "/opt/torchfleet/bin", "cache": "/var/cache/torchfleet"}
_POSIX_USER = {"envs": ".local/share/torchfleet/envs", "bin": ".local/bin", "cache": ".cache/torchfleet"}
_WINDOWS_SYSTEM = {
    "envs": _WINDOWS_SYSTEM_ROOT + "\\envs",
    "bin": _WINDOWS_SYSTEM_ROOT + "\\bin",
    "cache": _WINDOWS_SYSTEM_ROOT + "\\cache",
}
_WINDOWS_USER = {
    "envs": "AppData\\Local\\torchfleet\\envs",
    "bin": ".local\\bin",
    "cache": "AppData\\Local\\torchfleet\\cache",
}


class LayoutError(ValueError):
    """A request the role cannot carry out; the message says what to change."""


# --------------------------------------------------------------------------------------------------- platform
def host_platform(facts):
    """Return ``{"system", "machine", "home", "windows"}`` from a host's ``ansible_facts``.

    ``system`` is Linux, Darwin or Windows (the names ``torch_build`` takes); ``machine`` is x86_64, or aarch64
    (Linux) / arm64 (macOS, Windows) for 64-bit Arm, and any other value lowercased so that the resolver can
    name it in its refusal.
    """
    facts = facts if isinstance(facts, dict) else {}
    raw_system = str(facts.get("system") or "").strip()
    family = str(facts.get("os_family") or "").strip()
    if family == "Windows" or raw_system.lower() in ("win32nt", "windows"):
        system = "Windows"
    elif raw_system.lower() == "linux":
        system = "Linux"
    elif raw_system.lower() == "darwin":
        system = "Darwin"
    else:
        raise LayoutError(
            "pytorch_env supports Linux, macOS (Darwin) and Windows hosts; this host reports system "
            f"{raw_system or 'nothing'!r} (os_family {family or 'nothing'!r}). Gather facts first, or leave the host "
            "out of the play."
        )
    raw_machine = facts.get("machine") or facts.get("architecture2") or ""
    machine = str(raw_machine).strip().lower()
    if machine in _X86:
        machine = "x86_64"
    elif machine in _ARM:
        machine = "aarch64" if system == "Linux" else "arm64"
    env = facts.get("env") if isinstance(facts.get("env"), dict) else {}
    home = facts.get("user_dir") or env.get("USERPROFILE" if system == "Windows" else "HOME") or ""
    return {"system": system, "machine": machine, "home": str(home), "windows": system == "Windows"}


def resolve_scope(scope, system, manager="conda", conda_scope=None):
    """``system`` or ``user`` for a requested scope; ``auto`` is decided here (see the module docstring)."""
    text = str(scope or "auto").strip().lower()
    if text not in SCOPES:
        raise LayoutError(f"pytorch_env_scope {scope!r} is not one of {', '.join(SCOPES)}.")
    if text != "auto":
        return text
    if manager == "conda" and conda_scope in ("system", "user"):
        return conda_scope
    return "user" if system == "Darwin" else "system"


def verify_device(requested, compute):
    """Device for the verification product: an MPS build is verified on MPS, never silently on the CPU."""
    text = str(requested or "auto").strip().lower()
    if text not in VERIFY_DEVICES:
        raise LayoutError(f"pytorch_env_verify_device {requested!r} is not one of {', '.join(VERIFY_DEVICES)}.")
    if text == "auto" and compute == "mps":
        return "mps"
    return text


# --------------------------------------------------------------------------------------------------- paths
def _paths(system):
    return ntpath if system == "Windows" else posixpath


def _absolute(path, system, what):
    text = str(path or "").strip()
    if system == "Windows":
        if not re.match(r"^(?:[A-Za-z]:[\\/]|\\\\[^\\]+\\[^\\]+)", text):
            raise LayoutError(f"{what} {path!r} must be an absolute Windows path such as C:\\torchfleet\\envs\\lab.")
        return text.replace("/", "\\")
    if not text.startswith("/"):
        raise LayoutError(f"{what} {path!r} must be an absolute path such as /opt/torchfleet/envs/lab.")
    return text


def env_python(prefix, system, manager):
    """The environment's interpreter: conda puts python.exe in the prefix on Windows, a venv in Scripts."""
    if system == "Windows":
        return ntpath.join(prefix, "python.exe" if manager == "conda" else "Scripts\\python.exe")
    return posixpath.join(prefix, "bin", "python")


def conda_root(conda):
    """The installation a conda executable belongs to: ROOT/bin/conda, ROOT\\Scripts\\conda.exe, ROOT/condabin/."""
    paths = ntpath if re.match(r"^[A-Za-z]:[\\/]|^\\\\", conda or "") else posixpath
    return paths.dirname(paths.dirname(conda))


def default_conda(system, scope, home):
    """Where the miniconda role installs conda by default (the same rule, from _conda_installer)."""
    if scope == "user" and not home:
        raise LayoutError(
            "a user-scope conda lives in the connecting user's home (ansible_facts['user_dir']), which is not "
            "known; gather facts before the role, or set pytorch_env_conda_executable."
        )
    try:
        prefix = _conda_installer.default_prefix("miniconda", system, scope, home or "")
    except _conda_installer.InstallerError as exc:
        raise LayoutError(str(exc)) from exc
    return _conda_installer.executables(prefix, system)["conda"]


def _scope_dirs(system, scope, home):
    if scope == "system":
        return dict(_WINDOWS_SYSTEM if system == "Windows" else _POSIX_SYSTEM)
    if not home:
        raise LayoutError(
            "pytorch_env_scope=user keeps uv, its cache and the environment in the connecting user's home "
            "directory (ansible_facts['user_dir']), which is not known; gather facts before the role."
        )
    paths = _paths(system)
    rel = _WINDOWS_USER if system == "Windows" else _POSIX_USER
    return {key: paths.join(home, value) for key, value in rel.items()}


def sha256_from_record(text, filename=None):
    """The hex digest in a ``.sha256`` file as ``sha256sum``/``shasum`` write it (``HEX  name`` or ``HEX *name``).

    With ``filename``, the line that names that file (any directory part ignored); a file holding one bare digest
    is accepted too.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    wanted = ntpath.basename(posixpath.basename(filename)) if filename else None
    digests = []
    for raw in (text or "").splitlines():
        match = re.match(r"^\s*([0-9a-fA-F]{64})(?:\s+\*?(.*?))?\s*$", raw)
        if not match:
            continue
        digest, name = match.group(1).lower(), (match.group(2) or "").strip()
        name = ntpath.basename(posixpath.basename(name)) if name else ""
        if wanted is None or name in ("", wanted):
            digests.append(digest)
    if len(set(digests)) != 1:
        raise LayoutError(
            "no single SHA-256 for {} in the checksum file ({} found); check the URL or the mirror's copy.".format(
                wanted or "the download", len(set(digests))
            )
        )
    return digests[0]


# --------------------------------------------------------------------------------------------------- layout
def _uv(host, scope_dirs, version, install_dir, base_url):
    system, machine = host["system"], host["machine"]
    version = str(version or "")  # YAML may give 0.13 as a number, or null
    target = UV_TARGETS.get((system, machine))
    if target is None:
        raise LayoutError(f"uv publishes no binary for {system} {machine or 'unknown'}; use pytorch_env_manager: conda")
    paths = _paths(system)
    windows = system == "Windows"
    asset = "uv-{}.{}".format(target, "zip" if windows else "tar.gz")
    url = "{}/{}/{}".format(str(base_url or "").rstrip("/"), version, asset)
    directory = _absolute(install_dir, system, "pytorch_env_uv_install_dir") if install_dir else scope_dirs["bin"]
    cache = scope_dirs["cache"]
    unpack_dir = paths.join(cache, f"uv-{version}")
    exe = "uv.exe" if windows else "uv"
    info = {
        "version": version,
        "target": target,
        "asset": asset,
        "url": url,
        "checksum_url": url + ".sha256",
        "checksum": "sha256:" + url + ".sha256",
        "dir": directory,
        "exe": paths.join(directory, exe),
        "cache": cache,
        # Linux and macOS keep the archive at the top of the cache (get_url replaces it when the checksum of a
        # new version differs); on Windows it sits in the versioned directory beside its checksum file.
        "archive": paths.join(unpack_dir if windows else cache, asset),
        "unpack_dir": unpack_dir,
        "unpacked": paths.join(unpack_dir, exe),
        "uv_cache": paths.join(cache, "uv-cache"),
    }
    # ansible.builtin.unarchive needs GNU tar, which macOS does not have; both GNU tar and bsdtar take this.
    info["unpack_argv"] = (
        None if windows else ["tar", "-xzf", info["archive"], "-C", unpack_dir, "--strip-components=1"]
    )
    return info


def layout(
    host,
    name,
    manager="conda",
    scope="auto",
    prefix="",
    conda="",
    conda_fact=None,
    uv_version="",
    uv_install_dir="",
    uv_base_url="",
    compute=None,
    verify="auto",
):
    """Everything the role needs to know about paths and privileges on this host, as one dict."""
    if not isinstance(host, dict) or host.get("system") not in ("Linux", "Darwin", "Windows"):
        raise LayoutError("layout needs the result of host_platform (system Linux, Darwin or Windows)")
    if manager not in MANAGERS:
        raise LayoutError(f"pytorch_env_manager {manager!r} is not one of {', '.join(MANAGERS)}.")
    system = host["system"]
    windows = system == "Windows"
    paths = _paths(system)
    conda_fact = conda_fact if isinstance(conda_fact, dict) else {}
    resolved_scope = resolve_scope(scope, system, manager, conda_fact.get("scope"))
    home = host.get("home") or ""

    conda_exe = ""
    if manager == "conda":
        conda_exe = str(conda or conda_fact.get("conda") or default_conda(system, resolved_scope, home))
    scope_dirs = _scope_dirs(system, resolved_scope, home) if manager == "uv" else {}

    if prefix:
        env_prefix = _absolute(prefix, system, "pytorch_env_prefix")
    elif manager == "conda":
        env_prefix = paths.join(conda_root(conda_exe), "envs", name)
    else:
        env_prefix = paths.join(scope_dirs["envs"], name)

    result = {
        "system": system,
        "machine": host.get("machine"),
        "windows": windows,
        "scope": resolved_scope,
        "become": resolved_scope == "system" and not windows,
        "manager": manager,
        "prefix": env_prefix,
        "prefix_parent": paths.dirname(env_prefix),
        "python": env_python(env_prefix, system, manager),
        "pyvenv_cfg": paths.join(env_prefix, "pyvenv.cfg"),
        "record": paths.join(env_prefix, RECORD),
        "conda": conda_exe,
        "uv": _uv(host, scope_dirs, uv_version, uv_install_dir, uv_base_url) if manager == "uv" else None,
        "verify_device": verify_device(verify, compute),
    }
    return result
