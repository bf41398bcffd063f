# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a Miniconda or Miniforge installer lives, what it is called and how it is run.

Private to torchfleet.lab. Plain standard library so both the controller (filter plugin)
and managed hosts (modules) can import it; Python 3.8 syntax.

Sources:
- File names ``<name>-<version>-<OS>-<arch>.<ext>``: conda/constructor ``main.get_output_filename``.
- Miniconda downloads: https://repo.anaconda.com/miniconda/ (conda docs, install/index.rst).
- Miniforge downloads and ``.sha256`` sidecars: conda-forge/miniforge ``scripts/build.sh`` and the
  release workflow; unversioned ``releases/latest/download/Miniforge3-<OS>-<arch>.<ext>`` copies carry
  no sidecar.
- ``.sh`` options ``-b -p -u``: constructor ``header.sh``; ``.exe`` options ``/S /InstallationType
  /AddToPath /RegisterPython /D=`` (last, unquoted): constructor ``nsis/main.nsi.tmpl`` and the conda
  docs' Windows silent-install page.
- Windows prefix layout (``Uninstall-<NAME>.exe`` written last, ``/AddToPath`` ignored for AllUsers since
  Miniconda 4.12.0, CVE-2022-26526): constructor ``nsis/main.nsi.tmpl``.
- Anaconda's channel terms cover conda's ``default_channels``, which add ``pkgs/msys2`` on Windows:
  conda ``base/constants.py`` and anaconda/conda-anaconda-tos.
"""

import re

from ansible_collections.torchfleet.lab.plugins.module_utils import _mirror, _platform

DISTRIBUTIONS = ("miniconda", "miniforge")

UPSTREAM = {
    "miniconda": "https://repo.anaconda.com/miniconda",
    "miniforge": "https://github.com/conda-forge/miniforge/releases",
}

# SHA-256 of pinned installers (https://repo.anaconda.com/miniconda/ lists each one), each from the source named
# beside it.
KNOWN_SHA256 = {
    # repo.anaconda.com index page, as quoted by several independent install scripts
    "Miniconda3-py313_25.11.1-1-Linux-x86_64.sh": "e0b10e050e8928e2eb9aad2c522ee3b5d31d30048b8a9997663a8a460d538cef",
    "Miniconda3-py312_24.3.0-0-Linux-x86_64.sh": "96a44849ff17e960eeb8877ecd9055246381c4d4f2d031263b63fa7e2e930af1",
}

DEFAULT_VERSIONS = {"miniconda": "py313_25.11.1-1", "miniforge": "26.3.2-3"}

_VERSION_PATTERNS = {
    "miniconda": re.compile(r"^py3\d{1,2}_\d+\.\d+\.\d+-\d+$"),
    "miniforge": re.compile(r"^\d+\.\d+\.\d+-\d+$"),
}
_VERSION_EXAMPLES = {"miniconda": "py313_25.11.1-1", "miniforge": "26.3.2-3"}

# The installers' own name of each OS (constructor: MacOSX), by _platform's name of it.
_OS_NAMES = {"Linux": "Linux", "Darwin": "MacOSX", "Windows": "Windows"}
_SYSTEMS = {os_name: system for system, os_name in _OS_NAMES.items()}

# (OS, normalised machine) -> installer arch; anything else has no installer.
_ARCHES = {
    ("Linux", "x86_64"): "x86_64",
    ("Linux", "aarch64"): "aarch64",
    ("Linux", "ppc64le"): "ppc64le",
    ("MacOSX", "x86_64"): "x86_64",
    ("MacOSX", "arm64"): "arm64",
    ("Windows", "x86_64"): "x86_64",
}

# `miniconda_scope: auto` lands where _platform.resolve_scope says: macOS installs belong to the user
# (Homebrew-style, no root), Linux and Windows lab machines share one installation.
SCOPES = _platform.SCOPES

# The Windows installer's /InstallationType for each scope.
_INSTALL_TYPES = {"system": "AllUsers", "user": "JustMe"}

# The channels behind `defaults` whose terms must be accepted (conda's default_channels).
_TOS_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
_TOS_CHANNELS_WINDOWS = (*_TOS_CHANNELS, "https://repo.anaconda.com/pkgs/msys2")


class InstallerError(ValueError):
    """A request for an installer that does not exist; the message says what to change."""


def normalise_system(system):
    """``Linux``, ``Darwin`` or ``Windows`` for any spelling ``ansible_facts['system']`` has (Win32NT)."""
    name = _platform.system_name(system)
    if not name:
        raise InstallerError(
            f"Unknown operating system {system!r}: expected Linux, Darwin or Windows (ansible_facts['system'])."
        )
    return name


def normalise_os(system):
    """The installers' name of the OS: Linux, MacOSX or Windows."""
    return _OS_NAMES[normalise_system(system)]


def family(system):
    """``windows`` (PowerShell modules, .exe installer) or ``posix`` (Python modules, .sh installer)."""
    return _platform.family(normalise_system(system))


def resolve_scope(scope, system):
    """Turn ``miniconda_scope`` into ``system`` or ``user``; ``auto`` depends on the OS only, never on facts
    beyond ``ansible_facts['system']``."""
    if str(scope or "").strip().lower() not in SCOPES:
        raise InstallerError(f"Unknown scope {scope!r}: set miniconda_scope to auto, system or user.")
    resolved = _platform.resolve_scope(scope, system)
    if resolved is None:  # auto, on an OS without an installer: refuse it by name
        normalise_system(system)
    return resolved


def install_type(scope, system="Windows"):
    """The Windows installer's /InstallationType for a scope (system: AllUsers, user: JustMe)."""
    return _INSTALL_TYPES[resolve_scope(scope, system)]


def needs_become(scope, system):
    """Whether the work runs with privilege escalation: system scope on Linux and macOS (sudo to root).
    Windows has no sudo; a system-scope install there needs an administrator connection instead."""
    return _platform.needs_become(resolve_scope(scope, system), normalise_system(system))


def tos_channels(system):
    """The channels whose Anaconda terms `defaults` brings in on this OS."""
    return list(_TOS_CHANNELS_WINDOWS if normalise_os(system) == "Windows" else _TOS_CHANNELS)


def normalise_arch(os_name, machine):
    arch = _platform.machine_name(_SYSTEMS[os_name], machine)
    if (os_name, arch) not in _ARCHES:
        supported = ", ".join(sorted("{}/{}".format(*pair) for pair in _ARCHES))
        raise InstallerError(
            f"No conda installer is published for {os_name} on {machine!r}; supported platforms: {supported}."
        )
    return _ARCHES[(os_name, arch)]


def check_version(distribution, version):
    if distribution not in DISTRIBUTIONS:
        raise InstallerError(
            "Unknown distribution {!r}: set miniconda_distribution to one of {}.".format(
                distribution, ", ".join(DISTRIBUTIONS)
            )
        )
    if version == "latest" or _VERSION_PATTERNS[distribution].match(version or ""):
        return version
    raise InstallerError(
        f"Malformed {distribution} version {version!r}: use 'latest' or a release name such as "
        f"{_VERSION_EXAMPLES[distribution]} (as in the installer's file name)."
    )


# More than five arguments (ruff PLR0913): the conda_installer filter's options, passed through.
def installer(distribution, version, system, machine, base_url=None, sha256=None):  # noqa: PLR0913
    """Describe the installer for one host.

    ``base_url`` is ``torchfleet_mirror_url`` when set: the mirror holds ``miniconda/<file>`` and
    ``miniforge/<tag>/<file>`` like the upstream trees. Returns a dict with ``filename``, ``url``,
    ``sha256`` (explicit, else known, else None), ``checksum_url`` (a sidecar in ``sha256sum`` format
    where one is published, else None), ``kind`` (``sh`` or ``exe``), ``os`` and ``arch``.
    """
    version = check_version(distribution, version)
    os_name = normalise_os(system)
    arch = normalise_arch(os_name, machine)
    kind = "exe" if os_name == "Windows" else "sh"
    if distribution == "miniconda":
        filename = f"Miniconda3-{version}-{os_name}-{arch}.{kind}"
        root = base_url.rstrip("/") + "/miniconda" if base_url else UPSTREAM["miniconda"]
        url = f"{root}/{filename}"
        # Anaconda publishes sums on its index page only; a mirror publishes sidecars.
        checksum_url = url + ".sha256" if base_url else None
    elif version == "latest":
        filename = f"Miniforge3-{os_name}-{arch}.{kind}"
        if base_url:
            url = "{}/miniforge/latest/{}".format(base_url.rstrip("/"), filename)
            checksum_url = url + ".sha256"
        else:
            url = "{}/latest/download/{}".format(UPSTREAM["miniforge"], filename)
            checksum_url = None
    else:
        filename = f"Miniforge3-{version}-{os_name}-{arch}.{kind}"
        if base_url:
            url = "{}/miniforge/{}/{}".format(base_url.rstrip("/"), version, filename)
        else:
            url = "{}/download/{}/{}".format(UPSTREAM["miniforge"], version, filename)
        checksum_url = url + ".sha256"
    explicit = (sha256 or "").strip().lower()
    if explicit and not re.match(r"^[0-9a-f]{64}$", explicit):
        raise InstallerError(
            f"miniconda_installer_sha256 {sha256!r} is not a SHA-256: give the 64 hexadecimal digits that "
            f"sha256sum prints for {filename}."
        )
    # A mirror serves byte-identical copies, so a known sum still holds there; only the sum checks the copy
    # against its publisher (the mirror's own .sha256 comes from the server it checks).
    known = KNOWN_SHA256.get(filename)
    sha = explicit or known
    return {
        "distribution": distribution,
        "version": version,
        "filename": filename,
        "url": url,
        "sha256": sha,
        "checksum_url": checksum_url,
        "kind": kind,
        "os": os_name,
        "arch": arch,
        "warnings": [
            w
            for w in [_mirror.sidecar_warning("The installer", url, sha, checksum_url, "miniconda_installer_sha256")]
            if w
        ],
    }


def checksum(info):
    """The value for get_url's ``checksum``, or raise when nothing can verify the download."""
    if info["sha256"]:
        return "sha256:" + info["sha256"]
    if info["checksum_url"]:
        return "sha256:" + info["checksum_url"]
    raise InstallerError(
        "No SHA-256 is known for {} and none is published beside it: set miniconda_installer_sha256 "
        "(the sum on https://repo.anaconda.com/miniconda/ for that file), pin a version this collection "
        "knows ({}), or use miniconda_distribution=miniforge, whose releases publish .sha256 files.".format(
            info["filename"], ", ".join(sorted(KNOWN_SHA256))
        )
    )


def default_prefix(distribution, system, scope, home):
    """Where a scope's installation goes when miniconda_prefix is empty."""
    dirname = {"miniconda": "miniconda3", "miniforge": "miniforge3"}[distribution]
    return _default_path(system, resolve_scope(scope, system), home, "conda", dirname)


def _default_path(system, scope, home, what, leaf=None):
    """_platform's default directory ``what``, under ``home`` at user scope, with ``leaf`` appended."""
    name = normalise_system(system)
    sep = _platform.separator(name)
    base = _platform.default_dir(name, scope, what)
    if scope == "user":
        home = home.rstrip("\\/" if sep == "\\" else "/")
        base = home + sep + base if base else home
    return base + sep + leaf if leaf else base


def default_cache_dir(system, scope, home):
    """Where the installer is downloaded to when miniconda_cache_dir is empty."""
    return _default_path(system, resolve_scope(scope, system), home, "cache")


# Directories no installation or download may take over: the OS's own trees, mount points and shared temporary
# directories (world-writable, so a download there could be swapped before root runs it). Home directories are
# refused too (``/home/<name>``, ``/Users/<name>``, ``C:\Users\<name>`` and the connecting user's home).
# plugins/module_utils/_validate.py (a general path layer) was not there when this was written; this is the
# miniconda role's own small check.
_POSIX_SYSTEM_DIRS = frozenset(
    (
        "/", "/bin", "/boot", "/dev", "/dev/shm", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
        "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin",
        "/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/local/bin",
        "/usr/local/lib", "/usr/local/share", "/usr/sbin", "/usr/share", "/usr/src", "/var", "/var/cache",
        "/var/lib", "/var/log", "/var/opt", "/var/root", "/var/tmp", "/Applications", "/Library", "/System",
        "/Users", "/Volumes", "/private", "/private/tmp", "/private/var", "/opt/homebrew",
    )
)  # fmt: skip
_WINDOWS_SYSTEM_DIRS = frozenset(
    (
        "", "\\windows", "\\programdata", "\\users", "\\users\\public", "\\users\\default",
        "\\program files", "\\program files (x86)",
    )
)  # fmt: skip
_POSIX_HOME = re.compile(r"^/(home|Users)/[^/]+$")
_WINDOWS_HOME = re.compile(r"^\\users\\[^\\]+$")


def _normalised(path, windows):
    if windows:
        text = str(path or "").replace("/", "\\")
        return text[:2].lower() + re.sub(r"\\+", lambda _m: "\\", text[2:]).rstrip("\\").lower()
    return re.sub(r"/+", "/", str(path or "")).rstrip("/") or "/"


def system_dir_problem(path, system, home=None):
    """Why ``path`` is a directory the role must not install into, download into or change; ``""`` if none.

    Refused: ``.``/``..`` components, the OS's own directories, shared temporary directories, home directories
    and the connecting user's home itself.
    """
    windows = normalise_os(system) == "Windows"
    sep = "\\" if windows else "/"
    parts = str(path or "").replace("/", sep).split(sep)
    if any(part in (".", "..") for part in parts):
        return "has a '.' or '..' component; give the directory's plain absolute path"
    norm = _normalised(path, windows)
    if home and norm == _normalised(home, windows):
        return "is the connecting user's home directory"
    if windows:
        rest = norm[2:]
        if rest in _WINDOWS_SYSTEM_DIRS:
            return "is a system directory"
        if _WINDOWS_HOME.match(rest):
            return "is a home directory"
        return ""
    if norm in _POSIX_SYSTEM_DIRS:
        return "is a system directory"
    if _POSIX_HOME.match(norm):
        return "is a home directory"
    return ""


def check_prefix(prefix, system, home=None):
    """Reject prefixes the installers refuse, or that name a directory the role must not install into,
    before anything is downloaded."""
    os_name = normalise_os(system)
    if os_name == "Windows":
        if not re.match(r"^[A-Za-z]:\\", prefix or ""):
            raise InstallerError(
                f"miniconda_prefix {prefix!r} must be an absolute path such as C:\\ProgramData\\miniconda3."
            )
        bad = sorted({ch for ch in prefix if ch in "^%!=,()" or ord(ch) > 127})
        if bad or " " in prefix:
            raise InstallerError(
                "miniconda_prefix {!r} contains characters the Windows installer refuses ({}); choose a path "
                "of plain ASCII letters, digits, '_', '-', '.' and backslashes.".format(prefix, "".join(bad) or "space")
            )
        example = "C:\\ProgramData\\miniconda3"
    else:
        if not (prefix or "").startswith("/"):
            raise InstallerError(f"miniconda_prefix {prefix!r} must be an absolute path such as /opt/miniconda3.")
        if " " in prefix:
            raise InstallerError(f"miniconda_prefix {prefix!r} contains a space, which the installer refuses.")
        example = "/opt/miniconda3"
    problem = system_dir_problem(prefix, system, home)
    if problem:
        raise InstallerError(
            f"miniconda_prefix {prefix!r} {problem}; the role installs only into a dedicated directory of its own. "
            f"Choose one such as {example}. Nothing was changed."
        )
    return prefix


# conda reads ssl_verify (alias verify_ssl) as a bool or a string, and turns the strings of
# conda/auxlib/type_coercion.py BOOLISH_FALSE ('false', 'off', 'n', 'no', 'non', 'none', '') and any number
# 0 into False, which turns certificate checks off for every channel (conda/base/context.py, ``ssl_verify``
# and ``ssl_verify_validation``: a string must otherwise be 'truststore' or an existing path).
_SSL_VERIFY_KEYS = ("ssl_verify", "verify_ssl")
_FALSE_WORDS = ("false", "off", "n", "no", "non", "none", "", "0", "null", "~")


def check_condarc_extra(extra):
    """Refuse miniconda_condarc_extra settings that turn TLS verification off; return the mapping."""
    if not isinstance(extra, dict):
        return extra  # the mapping rule of torchfleet.lab.validate_inputs names that mistake
    for key in _SSL_VERIFY_KEYS:
        if key not in extra:
            continue
        value = extra[key]
        off = (
            value is None
            or value is False
            or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
            or (isinstance(value, str) and value.strip().lower() in _FALSE_WORDS)
        )
        if off:
            raise InstallerError(
                f"miniconda_condarc_extra.{key} is {value!r}, which turns off conda's certificate checks for "
                "every channel, so anyone on the network path could serve packages that run as this "
                "installation's owner. Remove it; for an intercepting proxy set miniconda_ssl_ca_bundle to its "
                "CA bundle (or give ssl_verify: truststore to use the operating system's certificate store)."
            )
    return extra


def check_cache_dir(cache_dir, system, home=None):
    """Reject a download directory the role must not write into or change the mode of."""
    windows = normalise_os(system) == "Windows"
    absolute = re.match(r"^[A-Za-z]:\\", cache_dir or "") if windows else (cache_dir or "").startswith("/")
    example = _platform.default_dir(system, "system", "cache")
    if not absolute:
        raise InstallerError(f"miniconda_cache_dir {cache_dir!r} must be an absolute path such as {example}.")
    problem = system_dir_problem(cache_dir, system, home)
    if problem:
        raise InstallerError(
            f"miniconda_cache_dir {cache_dir!r} {problem}. The installer is downloaded there and then run, so "
            "the directory must be one only its owner can write to, and the role leaves the modes of existing "
            f"directories alone. Choose a dedicated directory such as {example} (or leave it empty). "
            "Nothing was changed."
        )
    return cache_dir


# More than five arguments (ruff PLR0913): one per installer option; all but three have defaults.
def install_command(  # noqa: PLR0913
    info, installer_path, prefix, upgrade=False, install_type="JustMe", add_to_path=False, register_python=False
):
    """The argument vector that runs the installer silently."""
    if info["kind"] == "sh":
        # The installer refuses to run unless invoked by a shell with its own .sh name.
        argv = ["bash", installer_path, "-b", "-p", prefix]
        if upgrade:
            argv.append("-u")
        return argv
    if install_type not in ("JustMe", "AllUsers"):
        raise InstallerError(f"Unknown install type {install_type!r}: use JustMe or AllUsers.")
    argv = [
        installer_path,
        "/S",
        f"/InstallationType={install_type}",
        "/AddToPath={}".format(1 if add_to_path and install_type == "JustMe" else 0),
        f"/RegisterPython={1 if register_python else 0}",
        f"/NoRegistry={0 if register_python else 1}",
    ]
    # /D= must come last and unquoted, even with spaces (NSIS rule).
    argv.append(f"/D={prefix}")
    return argv


def install_notes(info, install_type, add_to_path=False):
    """What the installer will not do as asked, said before it runs."""
    notes = []
    if info["kind"] == "exe" and add_to_path and install_type == "AllUsers":
        notes.append(
            "miniconda_windows_add_to_path is ignored for an all-users install (miniconda_scope: system): the "
            "installer refuses /AddToPath=1 there since Miniconda 4.12.0 (CVE-2022-26526). Call conda by its full "
            "path (torchfleet_conda.conda) or install with miniconda_scope: user."
        )
    return notes


def uninstaller_name(distribution):
    """The uninstaller the Windows installer writes last into the prefix (``Uninstall-<NAME>.exe``)."""
    if distribution not in DISTRIBUTIONS:
        raise InstallerError(f"Unknown distribution {distribution!r}.")
    return "Uninstall-{}.exe".format({"miniconda": "Miniconda3", "miniforge": "Miniforge3"}[distribution])


def prefix_path(prefix, system, *parts):
    """A path inside the prefix with the host's separator."""
    sep = "\\" if normalise_os(system) == "Windows" else "/"
    return sep.join([prefix.rstrip("\\/"), *parts])


def condarc_path(prefix, system):
    """The installation's own .condarc (conda's sys_rc_path, ``<root>/.condarc``)."""
    return prefix_path(prefix, system, ".condarc")


def marker_path(prefix, system, marker):
    """Where the role records what it installed (``conda-meta/<marker>``)."""
    return prefix_path(prefix, system, "conda-meta", marker)


def executables(prefix, system):
    """Paths of conda and python inside an installation or environment prefix."""
    if normalise_os(system) == "Windows":
        root = prefix.rstrip("\\")
        return {"conda": root + "\\Scripts\\conda.exe", "python": root + "\\python.exe"}
    root = prefix.rstrip("/")
    return {"conda": root + "/bin/conda", "python": root + "/bin/python"}


# Free space. The conda documentation gives "For Miniconda or Miniforge: 400 MB disk space" (system requirements,
# https://docs.conda.io/projects/conda/en/stable/user-guide/install/index.html; conda/conda
# docs/source/user-guide/install/index.rst line 49 at commit 0f64223), and the .sh
# installer itself refuses when the prefix's filesystem has less than the installation's size plus a 50 MB buffer
# free (conda/constructor constructor/header.sh at commit f57a3e7, lines 436-450: `df -Pk "$PREFIX"`, "Not enough
# free disk space. Only %s MB are available, but %s MB are required (leaving a 50 MB buffer)"). The role checks
# before anything changes, with the documented size plus that buffer; miniconda_min_free_mb lowers or raises it.
# MB here is what df -Pk / 1024 (and the installer) calls MB: 1024 * 1024 bytes.
MIN_FREE_MB = 450
_MB = 1024 * 1024


def _mb(num_bytes):
    return int(num_bytes) // _MB


def _mb_up(num_bytes):
    return -(-int(num_bytes) // _MB)


# More than five arguments (ruff PLR0913): the two filesystems' facts and the sizes the message names.
def free_space_refusal(  # noqa: PLR0913
    prefix, prefix_fs, cache_dir, cache_fs, min_free_mb, installer_bytes=0, filename="the installer"
):
    """Why the install cannot start for lack of space, or ``""``.

    ``prefix_fs`` and ``cache_fs`` describe the filesystems that will hold the prefix and the download:
    ``{"path": <nearest existing directory, the one measured>, "device": <st_dev>, "free_bytes": <f_bavail *
    f_frsize, the space an unprivileged writer may use>}``. ``installer_bytes`` is the size of the installer still to be
    downloaded into ``cache_dir`` (0 when it is already there or its size is unknown). When both live on one
    filesystem, it must hold both. Every message names the space needed and the space free, and says what to do.
    """
    min_free_mb = int(min_free_mb)
    if min_free_mb < 0:
        raise InstallerError(f"miniconda_min_free_mb {min_free_mb!r} must be 0 or more (MB).")
    installer_mb = _mb_up(installer_bytes or 0)
    same = prefix_fs.get("device") is not None and prefix_fs.get("device") == cache_fs.get("device")
    problems = []
    need = min_free_mb + (installer_mb if same else 0)
    free = _mb(prefix_fs.get("free_bytes") or 0)
    if free < need:
        also = (
            f" plus {installer_mb} MB for {filename} downloaded to miniconda_cache_dir {cache_dir} on the same "
            "filesystem"
            if same and installer_mb
            else ""
        )
        why = (
            ": the 400 MB the conda documentation gives for Miniconda and the 50 MB the installer keeps free"
            if min_free_mb == MIN_FREE_MB
            else ""
        )
        problems.append(
            f"miniconda_prefix {prefix}: its filesystem ({prefix_fs.get('path')}) has {free} MB free; Miniconda needs "
            f"at least {need} MB there (miniconda_min_free_mb={min_free_mb}{why}{also})."
        )
    if not same and installer_mb:
        cache_free = _mb(cache_fs.get("free_bytes") or 0)
        if cache_free < installer_mb:
            problems.append(
                f"miniconda_cache_dir {cache_dir}: its filesystem ({cache_fs.get('path')}) has {cache_free} MB free; "
                f"{filename} needs {installer_mb} MB there."
            )
    if not problems:
        return ""
    return " ".join(problems) + (
        " Free some space, choose a miniconda_prefix (or miniconda_cache_dir) on a larger filesystem, or lower "
        "miniconda_min_free_mb if you know this installation needs less. Nothing was changed."
    )


# What the .sh installer prints when the space runs out: its own check (constructor header.sh f57a3e7 lines
# 438-450) or a write that failed with ENOSPC (strerror "No space left on device", errno.h / glibc).
_NO_SPACE = re.compile(r"Not enough free disk space|No space left on device|Disk quota exceeded", re.IGNORECASE)


# More than five arguments (ruff PLR0913): the installer's result and what the message names.
def install_failure(rc, stdout, stderr, prefix, min_free_mb, filename="the installer"):  # noqa: PLR0913
    """The message for an installer that exited non-zero: for lack of space it names the space needed."""
    text = "\n".join(x for x in (stdout or "", stderr or "") if x).strip()
    tail = " ".join(text.splitlines()[-6:])[-1200:]
    if _NO_SPACE.search(text):
        return (
            f"{filename} ran out of space in miniconda_prefix {prefix} (rc={rc}): Miniconda needs at least "
            f"{int(min_free_mb)} MB free there (miniconda_min_free_mb), and the installer itself keeps 50 MB "
            f"free beyond the installation's size. The installer said: {tail} Free some space or choose a "
            "miniconda_prefix on a larger filesystem, then run the role again: it finishes the half-made prefix "
            "with -u and removes nothing."
        )
    return (
        f"{filename} failed in miniconda_prefix {prefix} (rc={rc}): {tail} Run the role again once the cause is "
        "fixed: it finishes a half-made prefix with -u and removes nothing."
    )
