# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
r"""The operating systems and architectures this collection runs on, and what it decides per OS.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax: modules that run on managed hosts import
it (through _conda and _conda_installer), and AnsiballZ ships it with them.  Every role's plan takes OS and
architecture names, scope, privilege escalation, default directories and the environment's interpreter from here;
adding an OS means adding it to ``SYSTEMS`` (and to ``_DEFAULT_DIRS`` if it is of a new family) and to
tests/unit/plugins/module_utils/test_platform.py.  What a role ships for an OS stays with that role's data (the
wheels in _torch_matrix, the installers' names in _conda_installer, the trainers' scripts in _trainers).  The
callers keep their own messages: the helpers return None where a caller must refuse, so each refusal names that
caller's variable.

Names, as the setup modules report them:
- POSIX ``setup`` gives ``system`` = ``platform.system()`` (Linux, Darwin) and ``machine`` =
  ``platform.machine()`` (x86_64, aarch64, arm64).
- ``ansible.windows.setup`` gives ``system`` = ``Win32NT`` (``[Environment]::OSVersion.Platform``), no
  ``machine``, ``architecture2`` (x86_64, arm64) and ``os_family`` ``Windows`` (ansible.windows
  plugins/modules/setup.ps1).  ``platform.system()`` in a Python on Windows says ``Windows``.

Architectures: PyTorch, uv and the conda installers publish 64-bit builds for x86_64 and 64-bit little-endian Arm
only.  ``amd64``/``x64``/``x86-64`` are other spellings of x86_64 (Windows' PROCESSOR_ARCHITECTURE says AMD64);
``arm64`` is what macOS and Windows call AArch64, ``aarch64`` what Linux calls it, and the wheel platform tags
follow the OS (manylinux_*_aarch64, macosx_*_arm64, win_arm64).  A Linux kernel answers ``armv8l`` (``armv8b``)
to a 32-bit process on a 64-bit Arm CPU (arch/arm64/include/asm/compat.h, ``COMPAT_UTS_MACHINE``) and
``aarch64_be`` on a big-endian kernel: neither can run those 64-bit little-endian builds, so they are no aliases.

Scope: ``auto`` is ``user`` on macOS (a Mac belongs to its login; Homebrew-style per-user installs, no root) and
``system`` on Linux and Windows (lab machines share one copy), unless the caller inherits a scope (the conda
installation an environment lives in, the environment the trainers run).  ``become`` only for system scope on
Linux and macOS: Windows has no sudo, the connecting account's rights apply there (an administrator's WinRM or
SSH session).

Default directories (when the role variables leave them empty), the ones Windows and the XDG base directory
specification name for each purpose:
- system scope: ``/opt/torchfleet/<what>`` for programs and data, ``/var/cache/torchfleet`` for downloads;
  Windows ``C:\ProgramData\torchfleet\<what>`` (``%ProgramData%``, the all-users application data folder).
- user scope, under the connecting user's home: ``~/.local/share/torchfleet/<what>`` (XDG's data home) and
  ``~/.cache/torchfleet`` (XDG's cache home); Windows ``%USERPROFILE%\AppData\Local\torchfleet\...`` (the
  per-user, non-roaming folder ``%LOCALAPPDATA%`` names by default, so tens of MB do not travel with a roaming
  profile).
- ``bin`` (where uv goes) at user scope is ``~/.local/bin`` (``%USERPROFILE%\.local\bin``), where uv's own
  installers put it on every OS (astral-sh/uv dist-workspace.toml ``install-path``).
- a conda installation: ``/opt/<name>`` or ``C:\ProgramData\<name>`` (system), ``~/<name>`` (user), as the
  Miniconda and Miniforge installers propose.

The environment's interpreter: ENV/bin/python; on Windows conda puts ENV\python.exe and a venv
ENV\Scripts\python.exe (docs.conda.io, "Managing environments"; constructor/header.sh; Python's venv docs,
"How venvs work").
"""

import ntpath
import posixpath

# The OSes this collection runs on, by the name ansible_facts['system'] gives on POSIX hosts.  ``reported``: every
# spelling of ansible_facts['system'] (lower-cased) that means it; ``family``: ``posix`` (Python modules, sudo) or
# ``windows`` (PowerShell modules, no sudo); ``auto_scope``: what ``scope: auto`` means there; ``arm64``: its name
# for 64-bit Arm; ``display``: the name messages use.
SYSTEMS = {
    "Linux": {"reported": ("linux",), "family": "posix", "auto_scope": "system", "arm64": "aarch64",
              "display": "Linux"},
    "Darwin": {"reported": ("darwin",), "family": "posix", "auto_scope": "user", "arm64": "arm64",
               "display": "macOS"},
    "Windows": {"reported": ("windows", "win32nt"), "family": "windows", "auto_scope": "system", "arm64": "arm64",
                "display": "Windows"},
}  # fmt: skip

X86_64 = ("x86_64", "amd64", "x64", "x86-64")
ARM64 = ("aarch64", "arm64")

SCOPES = ("auto", "system", "user")

# Default directories per family and scope: absolute at system scope, relative to the home directory at user scope.
# ``root`` holds the collection's own trees (``<root><sep><what>``), ``cache`` its downloads, ``bin`` (user scope
# only; at system scope it is ``<root><sep>bin``) the tools it installs, ``conda`` the parent of a conda
# installation ("" at user scope: the home directory itself).
_DEFAULT_DIRS = {
    ("posix", "system"): {"root": "/opt/torchfleet", "cache": "/var/cache/torchfleet", "conda": "/opt"},
    ("posix", "user"): {"root": ".local/share/torchfleet", "cache": ".cache/torchfleet", "bin": ".local/bin",
                        "conda": ""},
    ("windows", "system"): {"root": "C:\\ProgramData\\torchfleet", "cache": "C:\\ProgramData\\torchfleet\\cache",
                            "conda": "C:\\ProgramData"},
    ("windows", "user"): {"root": "AppData\\Local\\torchfleet", "cache": "AppData\\Local\\torchfleet\\cache",
                          "bin": ".local\\bin", "conda": ""},
}  # fmt: skip


def system_name(reported):
    """``Linux``, ``Darwin`` or ``Windows`` for any spelling of ``ansible_facts['system']`` (any case, Win32NT);
    None for an OS this collection does not run on."""
    key = str(reported or "").strip().lower()
    for name, traits in SYSTEMS.items():
        if key in traits["reported"]:
            return name
    return None


def facts_system(facts):
    """The system of a host from its ``ansible_facts``: ``os_family`` Windows counts even when ``system`` is
    missing (a trimmed gather_subset); None for another OS."""
    facts = facts if isinstance(facts, dict) else {}
    if str(facts.get("os_family") or "").strip() == "Windows":
        return "Windows"
    return system_name(facts.get("system"))


def is_windows(system):
    return system_name(system) == "Windows"


def family(system):
    """``windows`` or ``posix`` for a known system, else None."""
    name = system_name(system)
    return SYSTEMS[name]["family"] if name else None


def display_name(system):
    """The name messages give an OS (macOS for Darwin); the text itself for an unknown one."""
    name = system_name(system)
    return SYSTEMS[name]["display"] if name else str(system)


def machine_name(system, machine):
    """``x86_64``, or ``aarch64`` (Linux) / ``arm64`` (macOS, Windows) for 64-bit Arm; any other text comes back
    stripped and lower-cased ("" for none), for the caller to refuse by name."""
    key = str(machine or "").strip().lower()
    if key in X86_64:
        return "x86_64"
    if key in ARM64:
        name = system_name(system)
        return SYSTEMS[name]["arm64"] if name else key
    return key


def facts_machine(facts):
    """The architecture a host's facts report: ``machine`` (POSIX), else ``architecture2`` (Windows)."""
    facts = facts if isinstance(facts, dict) else {}
    return facts.get("machine") or facts.get("architecture2") or ""


def facts_home(facts, system):
    """The connecting user's home: ``user_dir``, else HOME (USERPROFILE on Windows) from the facts' env; ""."""
    facts = facts if isinstance(facts, dict) else {}
    env = facts.get("env") if isinstance(facts.get("env"), dict) else {}
    return str(facts.get("user_dir") or env.get("USERPROFILE" if is_windows(system) else "HOME") or "")


def resolve_scope(scope, system, inherited=None):
    """``system`` or ``user`` for a requested scope (any case, surrounding blanks ignored); None when ``scope`` is
    not one of SCOPES or ``system`` is no known OS.  ``auto`` is ``inherited`` when that is exactly ``system`` or
    ``user``, else the OS's own (see the module docstring)."""
    text = str(scope or "").strip().lower()
    if text not in SCOPES:
        return None
    if text != "auto":
        return text
    if inherited in ("system", "user"):
        return inherited
    name = system_name(system)
    return SYSTEMS[name]["auto_scope"] if name else None


def needs_become(scope, system):
    """Whether work at this (resolved) scope escalates: system scope on a POSIX host (sudo to root) only."""
    return scope == "system" and family(system) == "posix"


def separator(system):
    return "\\" if is_windows(system) else "/"


def default_dir(system, scope, what):
    """The default directory ``what`` at a (resolved) scope: ``cache``, ``conda`` (the parent of a conda
    installation), ``bin``, or any other name as a directory of the collection's root (envs, python, trainers).
    Absolute at system scope; relative to the home directory at user scope."""
    dirs = _DEFAULT_DIRS[(family(system), scope)]
    if what in dirs:
        return dirs[what]
    return dirs["root"] + separator(system) + what


def env_python(prefix, system, manager="conda"):
    """The interpreter of an environment: PREFIX/bin/python; on Windows PREFIX\\python.exe (conda) or
    PREFIX\\Scripts\\python.exe (a venv, as uv makes it)."""
    if is_windows(system):
        return ntpath.join(prefix, "python.exe" if manager == "conda" else "Scripts\\python.exe")
    return posixpath.join(prefix, "bin", "python")
