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

Layout decisions (defaults when the role variables leave them empty; names, scope, become and the directories
come from _platform, which every role shares):

- uv environment: system scope /opt/torchfleet/envs/NAME (Windows: C:\ProgramData\torchfleet\envs\NAME);
  user scope ~/.local/share/torchfleet/envs/NAME (Windows: %USERPROFILE%\AppData\Local\torchfleet\envs\NAME).
- uv binary: /opt/torchfleet/bin or ~/.local/bin (Windows: C:\ProgramData\torchfleet\bin or
  %USERPROFILE%\.local\bin).
- download cache: /var/cache/torchfleet or ~/.cache/torchfleet (Windows: C:\ProgramData\torchfleet\cache or
  %USERPROFILE%\AppData\Local\torchfleet\cache).
- conda environment: CONDA_ROOT/envs/NAME, CONDA_ROOT taken from the conda executable's path
  (ROOT/bin/conda, ROOT\Scripts\conda.exe).
- interpreter: ENV/bin/python; on Windows conda puts ENV\python.exe, a venv ENV\Scripts\python.exe
  (docs.conda.io, "Managing environments"; constructor/header.sh).

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

import hashlib
import json
import ntpath
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ansible_collections.torchfleet.lab.plugins.module_utils import _mirror, _platform

# _conda_installer and _torch_build (with its matrix) are imported by the one function each that needs them: the
# filters over this module run in a process of their own for every task, which compiles each import from source
# (plugin_utils/_filter_options.py, ModuleUtils).

SCOPES = _platform.SCOPES
MANAGERS = ("conda", "uv")
VERIFY_DEVICES = ("auto", "cpu", "cuda", "mps")
RECORD = "torchfleet-env.json"

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

# The directories the role uses at each scope (_platform.default_dir); ``python`` (uv's Python downloads) only at
# system scope, see _uv below.
_SCOPE_DIRS = {"system": ("envs", "bin", "cache", "python"), "user": ("envs", "bin", "cache")}


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
    system = _platform.facts_system(facts)
    if system is None:
        raw_system = str(facts.get("system") or "").strip()
        family = str(facts.get("os_family") or "").strip()
        raise LayoutError(
            "pytorch_env supports Linux, macOS (Darwin) and Windows hosts; this host reports system "
            f"{raw_system or 'nothing'!r} (os_family {family or 'nothing'!r}). Gather facts first, or leave the host "
            "out of the play."
        )
    machine = _platform.machine_name(system, _platform.facts_machine(facts))
    home = _platform.facts_home(facts, system)
    return {"system": system, "machine": machine, "home": home, "windows": system == "Windows"}


def resolve_scope(scope, system, manager="conda", conda_scope=None):
    """``system`` or ``user`` for a requested scope; ``auto`` is decided here (see the module docstring)."""
    resolved = _platform.resolve_scope(scope or "auto", system, conda_scope if manager == "conda" else None)
    if resolved is None and _platform.system_name(system):
        raise LayoutError(f"pytorch_env_scope {scope!r} is not one of {', '.join(SCOPES)}.")
    if resolved is None:
        raise LayoutError(f"pytorch_env_scope needs the host's system (Linux, Darwin or Windows), not {system!r}.")
    return resolved


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
    return _platform.env_python(prefix, system, manager)


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
    from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer  # noqa: PLC0415

    try:
        prefix = _conda_installer.default_prefix("miniconda", system, scope, home or "")
    except _conda_installer.InstallerError as exc:
        raise LayoutError(str(exc)) from exc
    return _conda_installer.executables(prefix, system)["conda"]


def _scope_dirs(system, scope, home):
    if scope == "system":
        return {what: _platform.default_dir(system, scope, what) for what in _SCOPE_DIRS[scope]}
    if not home:
        raise LayoutError(
            "pytorch_env_scope=user keeps uv, its cache and the environment in the connecting user's home "
            "directory (ansible_facts['user_dir']), which is not known; gather facts before the role."
        )
    paths = _paths(system)
    return {what: paths.join(home, _platform.default_dir(system, scope, what)) for what in _SCOPE_DIRS[scope]}


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
def _uv_sha256(sums, asset):
    """The pinned SHA-256 of this host's uv asset from pytorch_env_uv_sha256 (asset file name -> digest), or None."""
    if sums in (None, ""):
        return None
    if not isinstance(sums, dict):
        raise LayoutError(
            f"pytorch_env_uv_sha256 must be a mapping of uv release file name to SHA-256 (e.g. {asset}: <64 hex "
            f"digits>), not {type(sums).__name__}."
        )
    for name, digest in sums.items():
        if not isinstance(digest, str) or not re.match(r"^[0-9A-Fa-f]{64}$", digest.strip()):
            raise LayoutError(
                f"pytorch_env_uv_sha256[{name!r}] is not a SHA-256: give the 64 hexadecimal digits of the file's "
                "published .sha256 (https://github.com/astral-sh/uv/releases)."
            )
    digest = sums.get(asset)
    return digest.strip().lower() if digest else None


def _uv(request, scope_dirs):
    """Where uv comes from and goes for a layout() request with ``pytorch_env_manager: uv``."""
    host, install_dir, base_url, sha256 = request.host, request.uv_install_dir, request.uv_base_url, request.uv_sha256
    system, machine = host["system"], host["machine"]
    version = str(request.uv_version or "")  # YAML may give 0.13 as a number, or null
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
    # A pinned sum checks the file against its publisher; the .sha256 beside it only against the server that
    # serves both (GitHub upstream, or the mirror).
    pinned = _uv_sha256(sha256, asset)
    checksum_url = url + ".sha256"
    info = {
        "version": version,
        "target": target,
        "asset": asset,
        "url": url,
        "sha256": pinned,
        "checksum_url": checksum_url,
        "checksum": "sha256:" + (pinned or checksum_url),
        "warnings": [
            w for w in [_mirror.sidecar_warning("uv", url, pinned, checksum_url, "pytorch_env_uv_sha256")] if w
        ],
        "dir": directory,
        "exe": paths.join(directory, exe),
        "cache": cache,
        # Linux and macOS keep the archive at the top of the cache (get_url replaces it when the checksum of a
        # new version differs); on Windows it sits in the versioned directory beside its checksum file.
        "archive": paths.join(unpack_dir if windows else cache, asset),
        "unpack_dir": unpack_dir,
        "unpacked": paths.join(unpack_dir, exe),
        "uv_cache": paths.join(cache, "uv-cache"),
        # Where uv puts a Python it downloads (UV_PYTHON_INSTALL_DIR).  uv's default is the running user's data
        # directory, ~/.local/share/uv/python or %APPDATA%\uv\data\python
        # (https://docs.astral.sh/uv/reference/environment/#uv_python_install_dir,
        # https://docs.astral.sh/uv/concepts/python-versions/#managed-python-installations): for a system-scope
        # environment that is root's (or the become user's) home, which the environment's other users cannot
        # read, so it goes beside the environments instead.  A user-scope environment keeps uv's default.
        "python_install_dir": scope_dirs.get("python") or "",
    }
    return info


@dataclass
class LayoutRequest:
    """What layout() is asked: ``host`` is host_platform's result, ``name`` the environment's name, the rest the
    role's ``pytorch_env_*`` variables without their prefix (``conda_fact``: torchfleet_conda; ``verify``:
    pytorch_env_verify_device)."""

    host: Any
    name: Any
    manager: Any = "conda"
    scope: Any = "auto"
    prefix: Any = ""
    conda: Any = ""
    conda_fact: Any = None
    uv_version: Any = ""
    uv_install_dir: Any = ""
    uv_base_url: Any = ""
    uv_sha256: Any = None
    compute: Any = None
    verify: Any = "auto"


def layout(host, name, **options):
    """Everything the role needs to know about paths and privileges on this host, as one dict (``options``: the
    fields of :class:`LayoutRequest` after ``name``)."""
    return _layout(LayoutRequest(host, name, **options))


def _layout(request):
    host, name, manager, prefix = request.host, request.name, request.manager, request.prefix
    if not isinstance(host, dict) or host.get("system") not in ("Linux", "Darwin", "Windows"):
        raise LayoutError("layout needs the result of host_platform (system Linux, Darwin or Windows)")
    if manager not in MANAGERS:
        raise LayoutError(f"pytorch_env_manager {manager!r} is not one of {', '.join(MANAGERS)}.")
    system = host["system"]
    windows = system == "Windows"
    paths = _paths(system)
    conda_fact = request.conda_fact if isinstance(request.conda_fact, dict) else {}
    resolved_scope = resolve_scope(request.scope, system, manager, conda_fact.get("scope"))
    home = host.get("home") or ""

    conda_exe = ""
    if manager == "conda":
        conda_exe = str(request.conda or conda_fact.get("conda") or default_conda(system, resolved_scope, home))
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
        "become": _platform.needs_become(resolved_scope, system),
        "manager": manager,
        "prefix": env_prefix,
        "prefix_parent": paths.dirname(env_prefix),
        "python": env_python(env_prefix, system, manager),
        "pyvenv_cfg": paths.join(env_prefix, "pyvenv.cfg"),
        "record": paths.join(env_prefix, RECORD),
        "home": home,
        "conda": conda_exe,
        "uv": _uv(request, scope_dirs) if manager == "uv" else None,
        "verify_device": verify_device(request.verify, request.compute),
    }
    return result


# --------------------------------------------------------------------------------------------------- inputs
# Kept small and self-contained so that a shared validation layer can take them over later.
_NUMBER_TYPES = (int, float)
_PEP508_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_URL_SCHEMES = ("http", "https", "file")


def check_version_text(variable, value, example):
    """Refuse a version that YAML (or an INI inventory) turned into a number; never convert it.

    YAML reads ``2.10`` as the float 2.1.  Ansible's INI inventory runs every host-line value and every
    ``[group:vars]`` value through ``ast.literal_eval`` after shell-style unquoting (ansible-core
    lib/ansible/plugins/inventory/ini.py, ``_parse_value``), so ``key=2.10`` and even ``key="2.10"`` arrive as
    2.1; only ``key="'2.10'"`` stays a string (checked with ansible-core 2.19).  The trailing zero is gone before
    any filter sees the value, so it can only be refused.
    """
    if isinstance(value, (bool, *_NUMBER_TYPES)):
        raise LayoutError(
            f"{variable} arrived as the number {value!r}, which loses trailing zeros (unquoted, {example} reads as "
            f"{float(example)}); quote it: {variable}: '{example}' in YAML, or {variable}=\"'{example}'\" in an INI "
            "inventory (INI values are read as Python literals, so one pair of quotes is not enough)."
        )
    if value is not None and not isinstance(value, str):
        raise LayoutError(f"{variable} must be a string such as '{example}', not {type(value).__name__} {value!r}.")
    return value


def check_requirements(variable, value):
    """Each entry must be a PEP 508 requirement (a name first), never a pip/uv option or a path.

    Both pip and uv read any argument that starts with ``-`` as an option (``--index-url=...`` would replace the
    index the role chose), so options are refused rather than passed through.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise LayoutError(
            f"{variable} must be a list of requirements, e.g. {variable}: ['numpy<3'], not "
            f"{type(value).__name__} {value!r}."
        )
    for entry in value:
        text = entry if isinstance(entry, str) else None
        if text is None or not text.strip():
            raise LayoutError(f"{variable} entry {entry!r} is not a requirement string such as 'numpy<3'.")
        stripped = text.strip()
        if stripped.startswith("-"):
            raise LayoutError(
                f"{variable} entry {text!r} is an option, not a requirement; only PEP 508 requirements such as "
                "'numpy<3' are accepted. Choose the index with pytorch_env_index_url or torchfleet_mirror_url."
            )
        if not _PEP508_NAME.match(stripped) or any(ord(ch) < 32 for ch in text):
            raise LayoutError(
                f"{variable} entry {text!r} is not a PEP 508 requirement (it must start with a project name, "
                "e.g. 'numpy<3' or 'pkg[extra]>=1')."
            )
    return list(value)


def check_index_url(variable, value):
    """An index URL: empty, or a parsed http, https or file URL with a host (file: a path), no whitespace."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise LayoutError(f"{variable} must be a URL string, not {type(value).__name__} {value!r}.")
    bad = any(ch.isspace() or ord(ch) < 32 for ch in value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        parts = None
    if bad or parts is None or parts.scheme.lower() not in _URL_SCHEMES:
        raise LayoutError(
            f"{variable} {redact_url(value)!r} is not an http, https or file URL; give the PEP 503 index, e.g. "
            "https://download.pytorch.org/whl/cu128."
        )
    if parts.scheme.lower() == "file" and not parts.path:
        raise LayoutError(f"{variable} {redact_url(value)!r} names no directory; give file:///path/to/simple.")
    if parts.scheme.lower() != "file" and not parts.hostname:
        raise LayoutError(f"{variable} {redact_url(value)!r} names no host; give e.g. https://host/simple.")
    return value


def redact_url(url):
    """The URL with any password, or a lone user name (often a token), replaced, for messages."""
    return _mirror.redact_url(url)


def check_inputs(version=None, python="", extra_packages=(), index_url="", jupyter=None):
    """Refuse what the role must never act on, before anything changes; each rule raises its own message.

    ``jupyter``: the Jupyter variables as a dict (kernel, lab, kernel_name, display_name), checked by
    :func:`check_jupyter` (defined with the Jupyter section below)."""
    if jupyter is not None:
        jupyter = jupyter if isinstance(jupyter, dict) else {}
        check_jupyter(
            jupyter.get("kernel", False), jupyter.get("lab", False),
            jupyter.get("kernel_name", ""), jupyter.get("display_name", ""),
        )  # fmt: skip
    check_version_text("pytorch_version", version, "2.10")
    check_version_text("pytorch_python_version", python, "3.10")
    check_requirements("pytorch_env_extra_packages", extra_packages)
    check_index_url("pytorch_env_index_url", index_url)
    return True


# --------------------------------------------------------------------------------------------------- installing
# Local version labels of PyTorch's wheel indexes (download.pytorch.org/whl/<build>, and the mirror laid out the
# same way).  Only the conventions that are certain are pinned:
# - Linux and Windows x86_64 wheels carry the build as label: torch-2.13.0+cpu, +cu128, +rocm6.4 (the lab's
#   own wheel, /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl, and the listings quoted in
#   astral-sh/uv#1497);
# - macOS wheels carry none ("MacOS wheels don't have +cpu suffix in them", pytorch/test-infra#7700);
# - PyPI never carries one: local versions "MUST NOT be used when publishing upstream projects to a public
#   index server" (PEP 440, Local version identifiers), so a build PyPI serves is the bare version.
# Linux aarch64 changed over time (2.1's CPU wheels had no label, pytorch/pytorch#110791 "ARM binaries do not
# have +cpu suffix"), so there the version is pinned without a label and verify.yml checks the build torch
# reports instead (build_mismatch below).
#
# Why a pin and not only a version: PEP 440 ignores the local label of the installed version when the specifier
# has none ("if the specified version identifier is a public version identifier (no local version label), then
# the local version label of any candidate versions MUST be ignored"), so pip and uv keep 2.13.0+cpu for
# ==2.13.0.  ==2.13.0+cu128 does not match 2.13.0+cpu, and the arbitrary equality ===2.13.0 (exact string) does
# not match 2.13.0+cpu either, so both tools replace a wheel of another build.  A labelled pin also closes the
# dependency-confusion hole for these names: no public index may serve 2.13.0+cu128.
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")


def expected_label(compute, system, machine, from_general_index=False, user_index=False):
    """The local label the resolved build's wheels carry: ``"cu128"``, ``""`` (none), or None (not known)."""
    if from_general_index:
        return ""
    if user_index:
        return None
    if system == "Darwin":
        return ""
    if machine != "x86_64" or system not in ("Linux", "Windows"):
        return None
    build = "cpu" if compute == "mps" else str(compute or "")
    return build or None


def pinned_requirements(build, packages, label):
    """``name==X+label`` (label known), ``name===X`` (known to carry none) or ``name==X`` (not known)."""
    pins = []
    for name in TORCH_FAMILY:
        version = build.get(name)
        if name not in packages or not version:
            continue
        if label:
            pins.append(f"{name}=={version}+{label}")
        elif label == "":
            pins.append(f"{name}==={version}")
        else:
            pins.append(f"{name}=={version}")
    return pins


def build_mismatch(compute, installed_version, installed_cuda, installed_hip=None):
    """Why the installed torch is another build than the resolved one ('' when it is the same build).

    Reads what torch reports (torch.__version__, torch.version.cuda, torch.version.hip), so it also holds where
    the index's labels are not known.
    """
    compute = "cpu" if compute == "mps" else str(compute or "")
    version = str(installed_version or "")
    label = version.split("+", 1)[1] if "+" in version else ""
    if label and label != compute:
        return f"torch {version} is the {label} build, not {compute}"
    cuda = str(installed_cuda or "")
    if compute.startswith("cu"):
        from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build  # noqa: PLC0415

        wanted = _torch_build.cuda_of(compute)
        if cuda != wanted:
            return f"torch {version} is built for CUDA {cuda or 'none'}, not {wanted} ({compute})"
    elif cuda:
        return f"torch {version} is a CUDA {cuda} build, not {compute}"
    if compute.startswith("rocm") and not installed_hip:
        return f"torch {version} has no ROCm (HIP) support, but {compute} was asked"
    if not compute.startswith("rocm") and installed_hip:
        return f"torch {version} is a ROCm (HIP {installed_hip}) build, not {compute}"
    return ""


# UV_* variables that change where uv looks for packages or what it resolves (astral-sh/uv
# crates/uv-static/src/env_vars.rs, published as https://docs.astral.sh/uv/reference/environment/).  A command
# line option beats its variable, but UV_INDEX_URL, UV_EXTRA_INDEX_URL and UV_FIND_LINKS would add sources to
# the ones the role gives, and UV_TORCH_BACKEND would pick a PyTorch index by itself, so they are all removed.
UV_HOST_VARIABLES = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_TORCH_BACKEND",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "UV_BUILD_CONSTRAINT",
    "UV_EXCLUDE_NEWER",
    "UV_PRERELEASE",
    "UV_RESOLUTION",
    "UV_CONFIG_FILE",
    "UV_KEYRING_PROVIDER",
    "UV_INSECURE_HOST",
    "UV_NO_BINARY",
    "UV_NO_BUILD",
    "UV_OFFLINE",
    "UV_PYTHON",
    "UV_SYSTEM_PYTHON",
    "UV_NO_CONFIG",
)


def uv_command(uv_exe, args, system):
    """uv with the host's configuration shut out: ``--no-config`` skips uv.toml, pyproject.toml's [tool.uv] and
    UV_CONFIG_FILE (https://docs.astral.sh/uv/reference/cli/#uv-pip-install--no-config), and on Linux and macOS
    ``env -u`` drops the UV_* variables above (env(1) -u, in GNU coreutils and BSD env alike).  On Windows,
    win_command cannot unset a variable; only --no-config applies there.
    """
    sub = list(args[:2]) if args[:1] == ["pip"] else list(args[:1])
    rest = list(args[len(sub) :])
    argv = [uv_exe, *sub, "--no-config", *rest]
    if system == "Windows":
        return argv
    unset = []
    for name in UV_HOST_VARIABLES:
        unset += ["-u", name]
    return ["env", *unset, *argv]


# --------------------------------------------------------------------------------------------------- credentials
# A command line is readable by every local user (ps, /proc/<pid>/cmdline, proc(5)); a process's environment
# only by its owner and root (/proc/<pid>/environ).  So no URL on an argv built here carries a user or a
# password: the credentials go into a netrc file in a directory only the running user can read, and the
# command gets NETRC=<that file> in its environment.  Both tools read it there:
# - pip: MultiDomainBasicAuth._get_new_credentials asks requests' get_netrc_auth for a URL without credentials
#   (pypa/pip src/pip/_internal/network/auth.py); get_netrc_auth reads the file NETRC names, else ~/.netrc
#   (psf/requests src/requests/utils.py get_netrc_auth), whatever --isolated, PIP_CONFIG_FILE or trust_env say;
#   the machine is matched by host name alone, without the port (urlparse(url).hostname).
# - uv: "Reading credentials from .netrc files is always enabled. The target file path will be loaded from the
#   NETRC environment variable if defined" (https://docs.astral.sh/uv/concepts/authentication/http/#netrc-files);
#   --no-config and the UV_* variables the role removes do not touch it.
# Both decode the userinfo of a URL (pip: urllib.parse.unquote in src/pip/_internal/utils/misc.py
# split_auth_from_netloc), so user:p%40ss is the password p@ss, and that decoded value is what goes into netrc.
#
# Token quoting: Python's netrc module from 3.10 on and uv's parser (astral-sh/uv crates/uv-netrc/src/netrc.rs,
# "a translation of the official Python netrc library") read "quoted tokens" with backslash escapes and entries
# without a password; before 3.10 Python split tokens on white space only, kept quotes and backslashes as they
# are, and refused an entry without a password (https://docs.python.org/3/library/netrc.html, "Changed in
# version 3.10").  A plain token (no white space, no backslash, no leading quote) reads the same everywhere.
_PLAIN_NETRC_TOKEN = re.compile(r'^[^\s"\\][^\s\\]*$')


def split_credentials(url):
    """``(url without user and password, (host, login, password) or None)``; ``password`` is None for a URL that
    names only a user (a token, as pip allows).  User and password are percent-decoded."""
    text = str(url or "")
    try:
        parts = urlsplit(text)
    except ValueError:
        return text, None
    if "@" not in parts.netloc:
        return text, None
    hostport = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    login = unquote(parts.username or "")
    password = None if parts.password is None else unquote(parts.password)
    return clean, ((parts.hostname or "").lower(), login, password)


def _netrc_token(value):
    if _PLAIN_NETRC_TOKEN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def index_credentials(urls, python=None):
    """The netrc text for the credentials in ``urls`` ('' when none holds any); raises LayoutError when two URLs
    give one host different credentials (netrc keys on the host alone), or when ``python`` (the interpreter
    that runs pip) is older than 3.10 and a credential needs the quoted form or has no password."""
    found = {}
    for url in urls:
        _clean, cred = split_credentials(url)
        if cred is None:
            continue
        host, login, password = cred
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in login + (password or "")):
            raise LayoutError(f"the credentials in {redact_url(url)} hold a control character; netrc cannot carry it.")
        if found.setdefault(host, cred) != cred:
            raise LayoutError(
                f"{redact_url(url)} gives the host {host} other credentials than another index URL of this run; "
                "pip and uv look credentials up by host name alone (netrc), so give every index on that host the "
                "same user and password (pytorch_env_index_url, torchfleet_mirror_url)."
            )
    lines = []
    for host, login, password in found.values():
        line = f"machine {host} login {_netrc_token(login)}"
        if password is not None:
            line += f" password {_netrc_token(password)}"
        if (
            python
            and _python_older(python, (3, 10))
            and (password is None or line != f"machine {host} login {login} password {password}")
        ):
            raise LayoutError(
                f"the credentials in {redact_url(url_for_host(urls, host))} need a netrc entry that Python "
                f"{python}'s netrc module (used by pip in the environment) reads differently from Python 3.10 "
                "and uv: a user without a password, white space, a backslash or a leading double quote. Use a "
                "user and password without them, Python 3.10 or newer (pytorch_python_version), or "
                "pytorch_env_manager: uv."
            )
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def url_for_host(urls, host):
    for url in urls:
        cred = split_credentials(url)[1]
        if cred and cred[0] == host:
            return url
    return ""


def _python_older(python, floor):
    match = re.match(r"^(\d+)\.(\d+)", str(python or ""))
    return bool(match) and (int(match.group(1)), int(match.group(2))) < floor


# More than five arguments (ruff PLR0913): the parts of one uv command line.
def uv_install_argv(uv_exe, python, requirements, build_index, general_index, system, dry_run=False):  # noqa: PLR0913
    """``uv pip install`` taking the build's packages from the build index and the rest from the general one.

    uv's own PyTorch guide (https://docs.astral.sh/uv/guides/integration/pytorch/) puts the PyTorch index before
    PyPI; with the first-index strategy, uv's default, uv will "only use results from the first index that
    returns a match for a given package name" (https://docs.astral.sh/uv/reference/settings/#index-strategy,
    https://docs.astral.sh/uv/concepts/indexes/#searching-across-multiple-indexes), so a higher torch on the
    general index is never considered, and a dependency missing from the build index (cuda-bindings,
    pytorch/pytorch#172926) comes from the general one.  The default index is always the lowest priority
    (https://docs.astral.sh/uv/concepts/indexes/#defining-an-index).
    """
    args = ["pip", "install", "--python", python, "--index-strategy", "first-index"]
    if dry_run:
        args.append("--dry-run")
    if build_index and build_index != general_index:
        args += ["--index", build_index]
    args += ["--default-index", general_index]
    return uv_command(uv_exe, args + list(requirements), system)


# More than five arguments (ruff PLR0913): the install_plan filter's options, passed through.
def install_plan(  # noqa: PLR0913
    env, build, packages, index, general_index, extra_packages=(), user_index=False, dry_run=False, jupyter_packages=()
):
    """The requirements and uv command lines of one run (``env`` is layout()'s result, ``build`` torch_build's).

    ``index`` is where the build's packages come from, ``general_index`` PyPI or the mirror's copy of it; when they
    are the same, the build is one PyPI serves itself.

    Every URL in the plan is stripped of its user and password (see the credentials section above): ``index`` and
    ``general_index`` are those URLs for conda_env, and ``credentials`` says whether the role must hand the tools
    a netrc (:func:`index_credentials`, which also refuses here, before anything changes, what netrc cannot
    carry).  The plan holds no secret, so showing it (``-v``) shows none.

    ``jupyter_packages`` (ipykernel, jupyterlab) come from the general index like the extra packages, after them,
    in the same step (``extra``).
    """
    urls = [index, general_index]
    index_credentials(urls, build.get("python") if env.get("manager") == "conda" else None)
    credentials = any(split_credentials(url)[1] for url in urls)
    index, general_index = split_credentials(index)[0], split_credentials(general_index)[0]
    label = expected_label(build.get("compute"), env["system"], env.get("machine"), index == general_index, user_index)
    wanted = [name for name in TORCH_FAMILY if name in (packages or ())]
    requirements = pinned_requirements(build, wanted, label)
    plan = {"label": label, "requirements": requirements, "uv_venv": None, "uv_torch": None, "uv_extra": None,
            "read_build": READ_BUILD_SCRIPT, "uv_reinstall": uv_reinstall_args(wanted),
            "index": index, "general_index": general_index, "credentials": credentials,
            "extra": list(extra_packages or ()) + list(jupyter_packages or ())}  # fmt: skip
    uv = env.get("uv")
    if uv:
        plan["uv_venv"] = uv_command(
            uv["exe"],
            # --seed installs pip from the general index (the mirror's copy of PyPI on a lab host).
            ["venv", "--python", str(build.get("python")), "--seed", "--default-index", general_index, env["prefix"]],
            env["system"],
        )
        plan["uv_torch"] = uv_install_argv(
            uv["exe"], env["python"], requirements, index, general_index, env["system"], dry_run
        )
        if plan["extra"]:
            plan["uv_extra"] = uv_install_argv(
                uv["exe"], env["python"], plan["extra"], None, general_index, env["system"], dry_run
            )
    return plan


# Where the label is not known, the build of an installed torch is read from its torch/version.py without
# importing torch (find_spec does not run the package); the assignments there are literals, some annotated
# (cuda: Optional[str] = '12.8'), as setup.py / tools/generate_torch_version.py of pytorch/pytorch write them.
READ_BUILD_SCRIPT = """\
import ast, importlib.util, json, os
spec = importlib.util.find_spec('torch')
found = {}
if spec is not None and spec.submodule_search_locations:
    path = os.path.join(list(spec.submodule_search_locations)[0], 'version.py')
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, 'target', None)]
        target = targets[0] if len(targets) == 1 else None
        if isinstance(target, ast.Name) and getattr(node, 'value', None) is not None:
            try:
                found[target.id] = ast.literal_eval(node.value)
            except ValueError:
                pass
print(json.dumps({'version': found.get('__version__'), 'cuda': found.get('cuda'), 'hip': found.get('hip')}))
"""


def installed_build(stdout):
    """The JSON READ_BUILD_SCRIPT printed, or None when there is no torch (or no answer)."""
    try:
        found = json.loads(str(stdout or "").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return found if isinstance(found, dict) and found.get("version") else None


def reinstall_needed(compute, stdout):
    """Whether the torch in the environment is another build than ``compute`` ('' when not, else the reason)."""
    found = installed_build(stdout)
    if not found:
        return ""
    return build_mismatch(compute, found.get("version"), found.get("cuda"), found.get("hip"))


def uv_reinstall_args(packages):
    """uv's way to replace installed packages that already satisfy their requirement."""
    args = []
    for name in TORCH_FAMILY:
        if name in (packages or ()):
            args += ["--reinstall-package", name]
    return args


PYPI_SIMPLE = "https://pypi.org/simple"


def choose_index(build, index_url="", mirror=""):
    """The index torch comes from (``torch``) and the one for every other package (``general``).

    ``build`` is the torch_build result; ``index_url`` is pytorch_env_index_url ('' when not set); ``mirror`` is
    torchfleet_mirror_url ('' when not set). The user's index wins. Otherwise a mirror serves each build from its
    own index under ``<mirror>/whl`` (``build_index_url``), while upstream ``index_url`` is empty where PyPI itself
    serves the build (_torch_build.py, ``_index_urls``). What is left comes from the general index: PyPI's simple
    API (PEP 503, https://pypi.org/simple), or the mirror's copy of it under ``<mirror>/pypi/simple``.
    """
    general = f"{mirror}/pypi/simple" if mirror else PYPI_SIMPLE
    build = build or {}
    served = build.get("build_index_url") if mirror else build.get("index_url")
    return {"torch": index_url or served or general, "general": general}


def index_warnings(indexes):
    """Warnings (strings) for the package indexes of ``choose_index`` that are served over plain http.

    A PEP 503 index gives each file's sum in the same page that links it (``#sha256=``), so sums from a plain-http
    index prove nothing against someone on the network path, who can replace a wheel and its sum together. The
    installer, uv and the MNIST files have pins for that case (``_mirror.sidecar_warning``); packages have none.
    """
    plain = [url for url in dict.fromkeys((indexes or {}).values()) if _mirror.plain_http(url)]
    if not plain:
        return []
    return [
        f"torch and the other packages come from {', '.join(_mirror.redact_url(url) for url in plain)} over plain "
        "http, whose index lists each file's sum itself: anyone on the network path can replace a package together "
        "with its sum. Serve torchfleet_mirror_url (or pytorch_env_index_url) over https."
    ]


# --------------------------------------------------------------------------------------------------- Jupyter
# A kernel spec is a directory KERNELS/<name>/ holding kernel.json; Jupyter finds it by searching its data path
# (jupyter_core 5.9.1 jupyter_core/paths.py):
# - per user, jupyter_data_dir() (lines 164-194): ~/.local/share/jupyter on Linux ($XDG_DATA_HOME/jupyter when that
#   is set), ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows (%USERPROFILE%\AppData\Roaming by default);
# - system-wide, SYSTEM_JUPYTER_PATH (lines 213-241): /usr/local/share/jupyter (then /usr/share/jupyter) on Linux
#   and macOS; on Windows %PROGRAMDATA%\jupyter, read only when JUPYTER_USE_PROGRAMDATA is set (jupyter_core 5.x
#   no longer trusts it by default), otherwise the prefix of the Python that runs Jupyter.
# JUPYTER_DATA_DIR, JUPYTER_PATH and JUPYTER_PLATFORM_DIRS move these; the role writes to the defaults.
JUPYTER_DIRS = {
    ("posix", "system"): "/usr/local/share/jupyter/kernels",
    ("Windows", "system"): "C:\\ProgramData\\jupyter\\kernels",
    ("Linux", "user"): ".local/share/jupyter/kernels",
    ("Darwin", "user"): "Library/Jupyter/kernels",
    ("Windows", "user"): "AppData\\Roaming\\jupyter\\kernels",
}
# jupyter_client 8.10.0 jupyter_client/kernelspec.py line 72: _kernel_name_pat = ^[a-z0-9._\-]+$ (IGNORECASE);
# install_kernel_spec lowercases the name before it checks it (line 384) and find_kernel_specs reports names
# lowercased (line 104), so an upper-case name would be listed under another name than the one given: refused.
JUPYTER_KERNEL_NAME = re.compile(r"^[a-z0-9._-]{1,64}$")
# The key in kernel.json's free-form ``metadata`` that marks a kernel spec this role wrote, and for which
# environment: the role replaces only a kernel.json that carries it for the same environment.
JUPYTER_MARKER = "torchfleet.lab"


def check_jupyter(kernel, lab, kernel_name, display_name):
    """Refuse Jupyter settings the role cannot act on, naming the variable to change."""
    for variable, value in (("pytorch_env_jupyter_kernel", kernel), ("pytorch_env_jupyterlab", lab)):
        if not isinstance(value, bool):
            raise LayoutError(f"{variable} must be true or false, not {type(value).__name__} {value!r}.")
    if not isinstance(kernel_name, str) or (kernel_name and not JUPYTER_KERNEL_NAME.match(kernel_name)):
        raise LayoutError(
            f"pytorch_env_jupyter_kernel_name {kernel_name!r} is not a Jupyter kernel name: give 1-64 lower-case "
            "letters, digits, '.', '_' or '-' (jupyter_client lowercases kernel names), or leave it empty for the "
            "environment's name."
        )
    if not isinstance(display_name, str) or any(ord(ch) < 32 or ord(ch) == 127 for ch in display_name):
        raise LayoutError(
            f"pytorch_env_jupyter_display_name {display_name!r} must be one line of text such as "
            "'PyTorch 2.13 (CUDA)', or empty for 'PyTorch <version> (<build>)'."
        )
    if len(display_name) > 128:
        raise LayoutError(
            f"pytorch_env_jupyter_display_name is {len(display_name)} characters long; keep it under 128."
        )
    return True


def jupyter_kernels_dir(system, scope, home):
    """The kernels directory Jupyter searches for ``scope`` (``system`` or ``user``) on ``system``."""
    windows = system == "Windows"
    if scope == "system":
        return JUPYTER_DIRS[("Windows" if windows else "posix", "system")]
    if not home:
        raise LayoutError(
            "user scope needs the connecting user's home directory to register the Jupyter kernel; "
            "gather facts (user_dir) or use pytorch_env_scope: system."
        )
    return _paths(system).join(home, *re.split(r"[\\/]", JUPYTER_DIRS[(system, "user")]))


def jupyter_kernel_spec(python, display_name, prefix):
    """kernel.json as ``python -m ipykernel install`` writes it (ipykernel 7.4.0 ipykernel/kernelspec.py lines
    31-71: argv ``[python, -m, ipykernel_launcher, -f, {connection_file}]``, display_name, language, metadata),
    with the environment's interpreter, and the role's marker in metadata."""
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True, JUPYTER_MARKER: {"env": prefix}},
    }


def jupyter(env, name, kernel=False, lab=False, kernel_name="", display_name="", torch="", compute=""):  # noqa: PLR0913
    """Where the kernel spec goes and what it holds (``env``: layout()'s result), and what to install: None when
    neither a kernel nor JupyterLab is asked."""
    check_jupyter(kernel, lab, kernel_name, display_name)
    if not (kernel or lab):
        return None
    packages = (["ipykernel"] if kernel else []) + (["jupyterlab"] if lab else [])
    if not kernel:
        return {"kernel": False, "packages": packages}
    kernel_name = kernel_name or str(name).lower()
    display_name = display_name or f"PyTorch {torch} ({compute})"
    paths = _paths(env["system"])
    kernels_dir = jupyter_kernels_dir(env["system"], env["scope"], env.get("home") or "")
    spec = jupyter_kernel_spec(env["python"], display_name, env["prefix"])
    directory = paths.join(kernels_dir, kernel_name)
    content = json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return {
        "kernel": True,
        "packages": packages,
        "name": kernel_name,
        "display_name": display_name,
        "kernels_dir": kernels_dir,
        "dir": directory,
        "file": paths.join(directory, "kernel.json"),
        "spec": spec,
        "content": content,
        # What ansible.builtin.stat reports as checksum (SHA-1 of the file): a kernel.json that has it is this one.
        "sha1": hashlib.sha1(content.encode("utf-8")).hexdigest(),
    }


def jupyter_kernel_owner(kernel_info, found, content=""):
    """'' when the role may write the kernel spec, else the message that refuses it.

    ``found``: whether the kernel's directory exists; ``content``: its kernel.json ('' when there is none).  The
    role writes only where nothing is, or over a kernel.json carrying its marker for the same environment.
    """
    if not found:
        return ""
    where = kernel_info["dir"]
    try:
        existing = json.loads(content) if content else None
    except ValueError:
        existing = None
    marker = (existing.get("metadata") or {}).get(JUPYTER_MARKER) if isinstance(existing, dict) else None
    if not isinstance(marker, dict):
        return (
            f"{where} exists and was not written by torchfleet.lab (its kernel.json has no "
            f"metadata.{JUPYTER_MARKER}); the role leaves it alone. Choose another pytorch_env_jupyter_kernel_name, "
            "or remove that kernel yourself (jupyter kernelspec remove NAME)."
        )
    prefix = kernel_info["spec"]["metadata"][JUPYTER_MARKER]["env"]
    if marker.get("env") != prefix:
        return (
            f"{where} is the kernel of another environment ({marker.get('env')}), not of {prefix}; give this "
            "environment another pytorch_env_jupyter_kernel_name."
        )
    return ""
