# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules every input of the collection's roles must pass before anything on a host changes.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, like the other module_utils, so
filters and modules may import it too.  The ``torchfleet.lab.validate_inputs`` action runs
:func:`validate_role` as the first task of each role's ``tasks/preflight.yml`` with the variables as the
play holds them (before Ansible's role argument validation converts anything: it validates a converted copy
and never writes it back, ansible-core 2.19 ``plugins/action/validate_argument_spec.py`` lines 78-92, while
``module_utils/common/validation.py`` ``check_type_str`` turns a float 2.1 into the string '2.1').

Stable functions (other code may call them); each ``check_*`` returns a list of one-line messages, empty
when the value passes, and every message names the variable, shows the value (credentials redacted,
control characters escaped, long values cut) and says what to do:

- :func:`check_path` absolute, normalised paths of a length the OS accepts; never ``/``, a system
  directory or a home root (``kind="dir"``).
- :func:`check_url` parsed http/https (file where allowed) URLs without whitespace or control characters.
- :func:`check_version` strings (a YAML number is refused with the advice to quote it), bounded length.
- :func:`check_requirements` PEP 508 requirement strings, never options.
- :func:`check_list` a list (never a string split into characters) whose items pass a rule.
- :func:`check_int` / :func:`check_port` whole numbers in range; bools are not numbers.
- :func:`check_text`, :func:`check_sha256`, :func:`check_host`, :func:`check_mapping`.
- :func:`redact_url`, :func:`redact_text` and :func:`show` for anything that displays a value.
- :func:`unknown_variables` the collection-prefixed names nobody reads, with the closest known name.
- :func:`validate_role` the per-role rule table :data:`ROLE_RULES`.
"""

import difflib
import ipaddress
import ntpath
import posixpath
import re

# redact_url and redact_text live in _mirror, which the filters on URLs import without this module's rules
# (plugin_utils/_filter_options.py, ModuleUtils).
from ansible_collections.torchfleet.lab.plugins.module_utils._mirror import redact_text, redact_url

try:  # Python 3
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

PREFIXES = ("pytorch_", "miniconda_", "gpu_driver_", "trainers_", "torchfleet_")

# Names users set or roles read that no argument spec lists: facts and results the roles publish, and the
# switches of this layer and the playbooks.  The action plugin adds every argument spec option and every
# defaults/vars/set_fact/register name it finds in the roles.
EXTRA_KNOWN_NAMES = (
    "torchfleet_strict_vars",  # this layer: unknown prefixed variables are errors, not warnings
    "torchfleet_progress",  # long steps print progress lines (the torchfleet.lab.progress action)
    "torchfleet_hosts",  # playbooks/*.yml: which hosts a playbook runs on
    "torchfleet_serial",  # site.yml, train.yml: the batches of a rolling run (play keyword serial)
    "torchfleet_max_fail_percentage",  # site.yml, train.yml: the play keyword max_fail_percentage
    "torchfleet_gpu",  # the gpu_facts module's fact
    "torchfleet_torch",  # the pytorch_env role's fact
    "torchfleet_conda",  # the miniconda role's fact
    "torchfleet_gpu_driver",  # the gpu_driver role's fact
    "torchfleet_pytorch_release",  # the release pytorch_version names (gpu_driver or pytorch_env sets it)
    "torchfleet_expect_mps",  # the macos molecule scenario's verify (docs/windows-macos.md)
    "torchfleet_verify_report",  # playbooks/verify.yml: where the table goes
    "torchfleet_verify_hosts",  # playbooks/verify.yml: the hosts the verification targeted
    "torchfleet_verify_failure",  # playbooks/verify.yml: why a host's verification failed
    "torchfleet_audit_fields",  # playbooks/audit.yml: which groups of fields to audit
    "torchfleet_audit_report_dir",  # playbooks/audit.yml: where audit-report.md and .json go
    "torchfleet_audit",  # playbooks/audit.yml: a host's compared fields
    "torchfleet_audit_failure",  # playbooks/audit.yml: why a host's audit could not finish
    "torchfleet_audit_hosts",  # playbooks/audit.yml: the hosts the audit targeted
    # playbooks/health.yml: the checked inputs, the hosts of the play, each host's result, why a burn-in failed,
    # the all-reduce's result and the hosts it blames, and the flagged hosts with their reasons
    "torchfleet_health_inputs",
    "torchfleet_health_hosts",
    "torchfleet_health_result",
    "torchfleet_health_failure",
    "torchfleet_health_allreduce",
    "torchfleet_health_allreduce_culprits",
    "torchfleet_health_flagged",
    "torchfleet_health_reasons",
)

# Linux: include/uapi/linux/limits.h "#define NAME_MAX 255 /* # chars in a file name */" and
# "#define PATH_MAX 4096 /* # chars in a path name including nul */" (bytes; so 4095 usable).
POSIX_PATH_MAX = 4095
POSIX_NAME_MAX = 255
# Windows: MAX_PATH is 260 including the terminating NUL, so 259 characters for a path such as
# "D:\some 256-character path string<NUL>"
# (https://learn.microsoft.com/en-us/windows/win32/fileio/maximum-file-path-limitation).  The limit is lifted
# only for applications that opt in, and installers (NSIS) and cmd.exe do not, so paths given to the roles
# keep to it even where LongPathsEnabled is set.
WINDOWS_PATH_MAX = 259
# https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file: reserved characters and device names,
# and "Do not end a file or directory name with a space or a period".
_WINDOWS_RESERVED_CHARS = '<>:"|?*'
_WINDOWS_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)

# Directories that hold the OS or everyone's files: a role never installs into, creates modes on, or
# fills one of these itself (a prefix under them, /usr/local/miniconda3, is fine).  Compared case-folded
# (macOS's default APFS volume is case-insensitive: /users/alice is /Users/alice).
POSIX_SYSTEM_DIRS = frozenset(
    [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
        "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
        "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/local",
        "/usr/local/bin", "/usr/local/etc", "/usr/local/include", "/usr/local/lib", "/usr/local/sbin",
        "/usr/local/share", "/usr/local/src", "/usr/sbin", "/usr/share", "/usr/src",
        "/var/cache", "/var/lib", "/var/local", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool",
        "/var/tmp",
        # macOS
        "/applications", "/library", "/system", "/users", "/volumes", "/private", "/private/etc",
        "/private/tmp", "/private/var", "/opt/homebrew",
    ]
)  # fmt: skip
# Pseudo file systems: nothing under them is a place for files.
POSIX_NEVER_UNDER = ("/proc", "/sys", "/dev")
# Homes: /home/<user>, /Users/<user> itself (a prefix inside one, /home/alice/miniforge3, is fine).
POSIX_HOME_ROOTS = ("/home", "/users")
WINDOWS_SYSTEM_DIRS = frozenset(
    [
        "windows", "windows\\system32", "windows\\syswow64", "windows\\temp", "program files",
        "program files (x86)", "programdata", "users", "users\\public", "users\\default", "perflogs",
        "recovery", "system volume information", "$recycle.bin",
    ]
)  # fmt: skip
WINDOWS_PROFILE_DIRS = ("", "appdata", "appdata\\local", "appdata\\roaming", "appdata\\locallow", "desktop",
                        "documents", "downloads")  # fmt: skip

# RFC 3986 section 2: the characters a URI may hold (unreserved, reserved, and % for escapes); anything
# else (space, " < > \ ^ ` { | }) must be percent-encoded.
_URL_CHARS_RE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
# Values that end up in files other programs parse or source as shell (apt sources, dkms's framework.conf):
# no shell syntax at all; a password with such characters is written percent-encoded.
_SHELL_UNSAFE = "$`'();&!*\\\"<>|{}"
URL_MAX = 2048  # our bound, not a standard's: longer is a mistake or an attack in every use here
TEXT_MAX = 1024
VERSION_MAX = 64
INT_MAX = 2**31 - 1  # what C ints, sleep() and socket timeouts on every platform take
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")

SHOW_MAX = 80


def _is_str(value):
    return isinstance(value, str)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def show(value, secret=False, limit=SHOW_MAX):
    """The value as a message shows it: quoted, credentials redacted, control characters escaped, cut."""
    if secret:
        return "'***'" if value not in (None, "") else "''"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        text = repr(value)
        if len(text) > limit:
            return text[:limit] + f"... (a {len(text)}-digit number)"
        return text
    if _is_str(value):
        text = redact_text(value)
        escaped = repr(text)[1:-1] if _CONTROL_RE.search(text) else text.replace("'", "\\'")
        if len(escaped) > limit:
            return f"'{escaped[:limit]}...' ({len(value)} characters)"
        return f"'{escaped}'"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(item, limit=limit) for item in value[:5])
        return "[{}{}]".format(inner, ", ..." if len(value) > 5 else "")
    if isinstance(value, dict):
        return "{{{}}}".format(
            ", ".join(f"{show(k, limit=limit)}: {show(v, limit=limit)}" for k, v in list(value.items())[:5])
        )
    return f"a {type(value).__name__}"


def _msg(name, value, problem, advice, secret=False):
    return f"{name}={show(value, secret=secret)} {problem}; {advice}."


def _type_problem(name, value, wanted, secret=False):
    """A message for a value of the wrong type, or None when ``value`` is a string."""
    if value is None:
        return _msg(name, value, "is null (a key with nothing after it)", "give a value or remove the line")
    if _is_str(value):
        return None
    if _is_number(value) and wanted == "version":
        return _msg(
            name,
            value,
            "is a number, not a string (YAML reads an unquoted 2.10 as the number 2.1)",
            f'quote it: {name}: "..."',
        )
    return _msg(name, value, f"is a {_kind(value)}, not a string", f"give a {wanted}", secret=secret)


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if _is_str(value):
        return "string"
    return type(value).__name__


def _control(name, value, secret=False):
    if _CONTROL_RE.search(value):
        return _msg(name, value, "contains a control character (newline, tab, NUL...)", "remove it", secret)
    return None


# More than five arguments (ruff PLR0913): a check's options come from the rule tables as keywords.
def check_text(name, value, pattern=None, hint="", optional=True, secret=False, max_length=TEXT_MAX, **_ctx):  # noqa: PLR0913
    """A string without control characters, at most ``max_length`` long, matching ``pattern`` when given."""
    problem = _type_problem(name, value, "string", secret)
    if problem:
        return [problem]
    if value == "":
        return [] if optional else [_msg(name, value, "is empty", hint or "give a value", secret)]
    if len(value) > max_length:
        return [_msg(name, value, f"is {len(value)} characters long", f"keep it under {max_length}", secret)]
    problem = _control(name, value, secret)
    if problem:
        return [problem]
    if pattern is not None and not re.match(pattern, value):
        return [_msg(name, value, "is not valid", hint or "see the role's README", secret)]
    return []


def check_sha256(name, value, optional=True, **_ctx):
    """Empty (when optional) or 64 hexadecimal digits, as sha256sum prints them."""
    return check_text(
        name, value, pattern=SHA256_RE.pattern, optional=optional,
        hint="give the 64 hexadecimal digits sha256sum prints, or leave it empty",
    )  # fmt: skip


# More than five arguments (ruff PLR0913): a check's options come from the rule tables as keywords.
def check_version(name, value, pattern=None, hint="", allow_int=False, optional=True, **_ctx):  # noqa: PLR0913
    """A version string; a number is refused with the advice to quote it (never converted: 2.10 read as 2.1
    by YAML is already wrong), and the length is bounded before anything parses it."""
    if allow_int and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6:
        value = str(value)
    problem = _type_problem(name, value, "version")
    if problem:
        return [problem]
    if value == "":
        return [] if optional else [_msg(name, value, "is empty", hint or "give a version")]
    if len(value) > VERSION_MAX:
        return [_msg(name, value, f"is {len(value)} characters long", f"a version has at most {VERSION_MAX}")]
    problem = _control(name, value)
    if problem:
        return [problem]
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", value) or ".." in value:
        return [_msg(name, value, "is not a version", hint or "give a release number such as 1.2.3")]
    if pattern is not None and not re.match(pattern, value):
        return [_msg(name, value, "is not a version this role knows", hint or "see the role's README")]
    return []


def check_int(name, value, minimum=None, maximum=INT_MAX, hint="", **_ctx):
    """A whole number (or a string of at most 10 digits, as ``-e name=5`` gives) in [minimum, maximum]."""
    shown_range = "{} to {}".format("any" if minimum is None else minimum, maximum)
    if isinstance(value, bool) or value is None:
        return [_msg(name, value, "is not a number", f"give a whole number from {shown_range}")]
    if _is_str(value):
        if not re.match(r"^\s*-?[0-9]{1,10}\s*$", value):
            return [_msg(name, value, "is not a whole number", f"give a whole number from {shown_range}")]
        value_int = int(value)
    elif isinstance(value, float):
        return [_msg(name, value, "is not a whole number", f"give a whole number from {shown_range}")]
    elif isinstance(value, int):
        value_int = value
    else:
        return [_msg(name, value, f"is a {_kind(value)}, not a number", "give a whole number")]
    if (minimum is not None and value_int < minimum) or value_int > maximum:
        return [_msg(name, value, "is out of range", hint or f"give a whole number from {shown_range}")]
    return []


def check_port(name, value, **_ctx):
    """A TCP port, 1 to 65535."""
    return check_int(name, value, minimum=1, maximum=65535, hint="give a TCP port from 1 to 65535")


def check_host(name, value, optional=True, **_ctx):
    """An IPv4 or IPv6 address or a DNS name (RFC 1123 labels): nothing a shell or URL would interpret."""
    hint = "give a host name or an IP address"
    problems = check_text(name, value, optional=optional, max_length=253, hint=hint)
    if problems or value == "":
        return problems
    # A colon makes an IPv6 address or nothing (10.0.0.1:29400 is an address with a port, which goes in a
    # variable of its own); four dotted numbers make an IPv4 address or nothing (999.0.0.1 would otherwise
    # pass as a name of numeric labels, which resolvers read as an address).
    if ":" in value or re.match(r"^[0-9]+(\.[0-9]+){3}$", value):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return [_msg(name, value, "is not an IP address or a host name",
                         "give the address alone (a port goes in a variable of its own)")]  # fmt: skip
        return []
    label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    if not re.match(rf"^{label}(\.{label})*\.?$", value):
        return [_msg(name, value, "is not a host name or address", hint)]
    return []


def check_url(name, value, schemes=("http", "https"), optional=True, strict=False, **_ctx):
    """A URL: parsed, a scheme of ``schemes``, a host (``file:`` needs none), no whitespace, control or
    characters RFC 3986 does not allow; ``strict`` for URLs written into files other programs parse (apt
    sources, shell-sourced configuration) also refuses shell syntax.  Credentials are allowed and shown
    redacted."""
    what = " or ".join(schemes)
    problem = _type_problem(name, value, "URL")
    if problem:
        return [problem]
    if value == "":
        return [] if optional else [_msg(name, value, "is empty", f"give a {what} URL")]
    if len(value) > URL_MAX:
        return [_msg(name, value, f"is {len(value)} characters long", f"a URL here has at most {URL_MAX}")]
    if _CONTROL_RE.search(value) or re.search(r"\s", value):
        return [_msg(name, value, "contains whitespace or a control character", "remove it or percent-encode it")]
    if not _URL_CHARS_RE.match(value):
        bad = sorted({c for c in value if not _URL_CHARS_RE.match(c)})
        return [_msg(name, value, "contains {}, which a URL cannot hold".format(" ".join(bad)), "percent-encode it")]
    if strict:
        bad = sorted({c for c in value if c in _SHELL_UNSAFE})
        if bad:
            return [
                _msg(name, value, "contains {}, which the files it is written to would interpret".format(" ".join(bad)),
                     "percent-encode those characters (%24 for $)")
            ]  # fmt: skip
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return [_msg(name, value, f"cannot be parsed as a URL ({exc})", f"give a {what} URL")]
    if parts.scheme.lower() not in schemes:
        return [_msg(name, value, f"is not a {what} URL", "give a URL such as https://host/path")]
    if parts.scheme.lower() != "file" and not parts.hostname:
        return [_msg(name, value, "has no host", "give a URL such as https://host/path")]
    if port is not None and port == 0:
        return [_msg(name, value, "has port 0", "give a port from 1 to 65535 or none")]
    return []


# More than five arguments (ruff PLR0913): a check's options come from the rule tables as keywords.
def check_path(name, value, windows=False, kind="dir", optional=True, shell_safe=False, **_ctx):  # noqa: PLR0913
    """A path on the host: absolute (``X:\\...`` or ``\\\\server\\share\\...`` on Windows), normalised (no
    ``.``, ``..``, repeated or trailing separators), no control characters, a length the OS accepts;
    ``kind="dir"`` (a directory the role creates or fills) also refuses ``/``, system directories, anything
    under /proc, /sys or /dev, and home roots (``/home/alice``, ``C:\\Users\\alice``) themselves;
    ``kind="file"`` is a file the role only reads or runs; ``kind="controller"`` is a directory on the
    controller (POSIX), where a relative path is fine.  ``shell_safe`` for a path written into a file that
    is sourced as shell (dkms's framework.conf): letters, digits and ``/ . _ + -`` only."""
    problem = _type_problem(name, value, "path")
    if problem:
        return [problem]
    if value == "":
        return [] if optional else [_msg(name, value, "is empty", "give a full path")]
    if len(value) > 4096:
        return [_msg(name, value, f"is {len(value)} characters long", "give a path the OS accepts")]
    problem = _control(name, value)
    if problem:
        return [problem]
    if shell_safe and not re.match(r"^[A-Za-z0-9/._+-]+$", value):
        return [_msg(name, value, "contains characters a shell would interpret", "use letters, digits and / . _ + -")]
    if windows and kind != "controller":
        return _check_windows_path(name, value, kind)
    return _check_posix_path(name, value, kind)


def _check_posix_path(name, value, kind):
    if value.startswith("~"):
        return [_msg(name, value, "starts with ~, which is not expanded here", "give the full path (/home/USER/...)")]
    if not value.startswith("/") and kind != "controller":
        return [_msg(name, value, "is relative", "it must be an absolute path, starting with /")]
    normal = posixpath.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if normal != value:
        return [
            _msg(name, value, f"is not a normalised path (it resolves to {show(normal)})",
                 "write it without '.', '..', '//' or a trailing '/'")
        ]  # fmt: skip
    encoded = value.encode("utf-8", "surrogateescape")
    if len(encoded) > POSIX_PATH_MAX:
        return [_msg(name, value, f"is {len(encoded)} bytes long", f"paths are at most {POSIX_PATH_MAX} bytes")]
    for part in value.split("/"):
        if len(part.encode("utf-8", "surrogateescape")) > POSIX_NAME_MAX:
            return [_msg(name, value, f"has a name over {POSIX_NAME_MAX} bytes", "shorten it")]
    if kind != "dir":
        return []
    folded = value.casefold()
    if folded in POSIX_SYSTEM_DIRS:
        return [
            _msg(name, value, "is a system directory", "give a directory of its own inside it, e.g. %s/torchfleet"
                 % ("/opt" if value == "/" else value))
        ]  # fmt: skip
    for top in POSIX_NEVER_UNDER:
        if folded.startswith(top + "/"):
            return [_msg(name, value, f"is inside {top}, a kernel file system", "give a directory on disk")]
    parent = posixpath.dirname(folded)
    if parent in POSIX_HOME_ROOTS:
        return [_msg(name, value, "is a home directory itself", f"give a directory inside it, e.g. {value}/torchfleet")]
    return []


def _check_windows_path(name, value, kind):
    normal_input = value.replace("/", "\\")
    match = re.match(r"^(?:[A-Za-z]:\\|\\\\[^\\?.]+\\[^\\]+)", normal_input)
    if not match:
        return [_msg(name, value, "is not a full Windows path", "give one with a drive letter, e.g. D:\\torchfleet")]
    normal = ntpath.normpath(normal_input)
    if normal != normal_input:
        return [
            _msg(name, value, f"is not a normalised path (it resolves to {show(normal)})",
                 "write it without '.', '..', repeated or trailing '\\'")
        ]  # fmt: skip
    if len(value) > WINDOWS_PATH_MAX:
        return [_msg(name, value, f"is {len(value)} characters long", f"keep it to {WINDOWS_PATH_MAX} (MAX_PATH)")]
    _drive, rest = ntpath.splitdrive(normal)
    parts = [p for p in rest.split("\\") if p]
    for part in parts:
        if any(c in _WINDOWS_RESERVED_CHARS for c in part) or part.endswith((" ", ".")):
            return [_msg(name, value, f"has a name Windows does not allow ({show(part)})",
                         'leave out < > : " | ? * and a trailing space or dot')]  # fmt: skip
        if part.split(".")[0].upper() in _WINDOWS_RESERVED_NAMES:
            return [_msg(name, value, f"uses the reserved device name {part}", "choose another name")]
    if kind != "dir":
        return []
    rest_folded = "\\".join(parts).casefold()
    if rest_folded == "" or rest_folded in WINDOWS_SYSTEM_DIRS:
        return [
            _msg(name, value, "is a system directory", "give a directory of its own, e.g. %s\\torchfleet"
                 % ("C:\\ProgramData" if rest_folded == "" else value.rstrip("\\")))
        ]  # fmt: skip
    if len(parts) >= 2 and parts[0].casefold() == "users" and "\\".join(parts[2:]).casefold() in WINDOWS_PROFILE_DIRS:
        return [_msg(name, value, "is a user profile folder itself", "give a directory inside it")]
    return []


def check_list(name, value, item=None, optional=True, **ctx):
    """A list (a string is refused, never split into characters) whose items each pass ``item``."""
    if value is None or _is_str(value) or isinstance(value, dict) or not isinstance(value, (list, tuple)):
        return [
            _msg(name, value, "is a %s, not a list" % ("string" if _is_str(value) else _kind(value)),
                 "write it as a YAML list: {}: [{}]".format(name, show(value) if _is_str(value) else "..."))
        ]  # fmt: skip
    if not value and not optional:
        return [_msg(name, value, "is empty", "give at least one item")]
    problems = []
    for index, entry in enumerate(value):
        if item is not None:
            problems.extend(item(f"{name}[{index}]", entry, **ctx))
    return problems


def check_mapping(name, value, item=None, **ctx):
    """A mapping (``key: value`` lines), never a string, whose values each pass ``item``."""
    if not isinstance(value, dict):
        return [_msg(name, value, f"is a {_kind(value)}, not a mapping" if value is not None else "is null",
                     "write it as YAML key: value lines")]  # fmt: skip
    problems = []
    for key, entry in value.items():
        if not _is_str(key) or _CONTROL_RE.search(key):
            problems.append(_msg(name, key, "has a key that is not a plain string", "quote the key"))
        elif item is not None:
            problems.extend(item(f"{name}.{key}", entry, **ctx))
    return problems


# PEP 508 (https://peps.python.org/pep-0508/#grammar): name, optional [extras], then a version specifier
# list (optionally in parentheses) or "@ URL", then an optional "; marker".  The marker is checked for
# characters only: its grammar is pip's to parse, and it cannot turn the entry into an option.
_PEP508_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PEP508_EXTRAS = rf"(?:\s*\[\s*(?:{_PEP508_NAME}(?:\s*,\s*{_PEP508_NAME})*)?\s*\])?"
_PEP508_VERSION_ONE = r"(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9_.*+!-]+"
_PEP508_VERSIONS = rf"{_PEP508_VERSION_ONE}(?:\s*,\s*{_PEP508_VERSION_ONE})*"
_PEP508_RE = re.compile(
    rf"^(?P<name>{_PEP508_NAME}){_PEP508_EXTRAS}\s*"
    rf"(?:(?P<spec>\(\s*{_PEP508_VERSIONS}\s*\)|{_PEP508_VERSIONS})|@\s*(?P<url>\S+)\s*(?=;|$))?"
    r"\s*(?:;(?P<marker>[^;]*))?$"
)
_MARKER_RE = re.compile(r"^[A-Za-z0-9_.\s'\"()<>=!~,*+-]*$")


def check_requirement(name, value, **_ctx):
    """One PEP 508 requirement (``numpy``, ``numpy>=2,<3``, ``pkg[extra]``, ``pkg @ https://...``), never an
    option (``--index-url=...``) or a path."""
    problems = check_text(name, value, optional=False, hint="give a requirement such as numpy>=2")
    if problems:
        return problems
    if value.lstrip().startswith("-"):
        return [
            _msg(name, value, "is an option, not a package",
                 "list package requirements only (set indexes with the role's URL variables)")
        ]  # fmt: skip
    match = _PEP508_RE.match(value.strip())
    if not match or (match.group("marker") is not None and not _MARKER_RE.match(match.group("marker"))):
        return [_msg(name, value, "is not a PEP 508 requirement", "write it as name, name==1.2 or name @ https://...")]
    if match.group("url"):
        return check_url(name, match.group("url"), schemes=("http", "https", "file"), optional=False)
    return []


def check_requirements(name, value, **ctx):
    """A list of PEP 508 requirements."""
    return check_list(name, value, item=check_requirement, **ctx)


def check_channel(name, value, **_ctx):
    """A conda channel: a name (``conda-forge``, ``pkgs/main``) or an http(s)/file URL."""
    problems = check_text(name, value, optional=False, hint="give a channel name or URL")
    if problems:
        return problems
    if "://" in value:
        return check_url(name, value, schemes=("http", "https", "file"), optional=False)
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$", value):
        return [_msg(name, value, "is not a channel name or URL", "give a name such as conda-forge or a URL")]
    return []


def check_bool(name, value, **_ctx):
    """A YAML boolean (true/false; Ansible's yes/no/on/off/1/0 strings as ``-e`` gives them)."""
    if isinstance(value, bool):
        return []
    if _is_str(value) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"):
        return []
    if isinstance(value, int) and value in (0, 1):
        return []
    return [_msg(name, value, "is not a boolean", "give true or false")]


def _rule(func, **fixed):
    def run(name, value, windows=False):
        return func(name, value, windows=windows, **fixed)

    run.__doc__ = func.__doc__
    return run


def _dirs(func, **fixed):
    return _rule(check_list, item=lambda n, v, **ctx: func(n, v, **dict(ctx, **fixed)))


def check_url_plain(name, value, **ctx):
    """A URL (:func:`check_url`) without ``user:password@``: the mirror role hands it to pip on the controller's
    command line, which every local user can read (proc(5), /proc/PID/cmdline); pip reads a ``~/.netrc``
    instead (docs/pytorch-indexes.md)."""
    problems = check_url(name, value, **ctx)
    if not problems and redact_url(value) != value:
        problems = [
            _msg(name, value, "holds credentials", "remove them from the URL and put them in the controller's ~/.netrc "
                 "(machine HOST login USER password PASSWORD), which pip reads", secret=True)
        ]  # fmt: skip
    return problems


# A path inside the mirror (whl/cpu/torch-...whl, miniconda/<file>): relative, no '.' or '..' parts.
_MIRROR_PATH_RE = r"^(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*$"


def check_mirror_files(name, value, **ctx):
    """``mirror_local_files``: mirror paths (relative, letters, digits and ``. _ + -``) to controller files."""
    del ctx  # controller paths: POSIX whatever the mirror host runs
    problems = check_mapping(name, value, item=lambda n, v, **c: check_path(n, v, kind="file", optional=False))
    for key in value if isinstance(value, dict) else {}:
        if _is_str(key) and not re.match(_MIRROR_PATH_RE, key):
            advice = "give it as the mirror lays it out, e.g. whl/cpu/<wheel file> or mnist/<file>"
            problems.append(_msg(f"{name} key", key, "is not a path inside the mirror", advice))
    return problems


_BOOL = _rule(check_bool)
_MIRROR = _rule(check_url, strict=True)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# Which rule each variable gets, per role.  A variable the play does not define is not checked (the role
# default applies, and it is checked when it is in the play's variables, as role defaults are).
ROLE_RULES = {
    "miniconda": {
        "miniconda_distribution": _rule(
            check_text, pattern=r"^(miniconda|miniforge)$", hint="give miniconda or miniforge"
        ),
        # The release's form per distribution is checked by the conda_installer filter ("Malformed ... version").
        "miniconda_version": _rule(check_version),
        "miniconda_scope": _rule(check_text, pattern=r"^(auto|system|user)$", hint="give auto, system or user"),
        "miniconda_prefix": _rule(check_path),
        "miniconda_installer_sha256": _rule(check_sha256),
        "miniconda_cache_dir": _rule(check_path),
        "miniconda_download_timeout": _rule(check_int, minimum=1),
        "miniconda_download_retries": _rule(check_int, minimum=1, maximum=100),
        "miniconda_download_delay": _rule(check_int, minimum=0, maximum=3600),
        "miniconda_min_free_mb": _rule(check_int, minimum=0, maximum=1048576),
        "miniconda_upgrade": _BOOL,
        "miniconda_windows_add_to_path": _BOOL,
        "miniconda_windows_register_python": _BOOL,
        "miniconda_windows_long_paths": _BOOL,
        "miniconda_accept_anaconda_tos": _BOOL,
        "miniconda_channels": _rule(check_list, item=check_channel),
        "miniconda_channel_priority": _rule(
            check_text, pattern=r"^(strict|flexible|disabled)$", hint="give strict, flexible or disabled"
        ),
        "miniconda_proxy_servers": _rule(check_mapping, item=lambda n, v, **c: check_url(n, v, optional=False)),
        "miniconda_ssl_ca_bundle": _rule(check_path, kind="file"),
        "miniconda_pkgs_dirs": _dirs(check_path, optional=False),
        "miniconda_condarc_extra": _rule(check_mapping),
    },
    "pytorch_env": {
        "pytorch_version": _rule(
            check_version, pattern=r"^(latest|v?\d+\.\d+(\.\d+)?)$", hint="give latest, X.Y or X.Y.Z, quoted"
        ),
        "pytorch_python_version": _rule(check_version, pattern=r"^3\.\d{1,2}$", hint='give 3.N, quoted: "3.12"'),
        "pytorch_compute": _rule(
            check_text,
            pattern=r"^(auto|cpu|cuda|cu\d{3}|rocm|rocm\d+\.\d+(\.\d+)?|mps)$",
            hint="give auto, cpu, cuda, cuXYZ, rocm, rocmX.Y or mps",
        ),
        "pytorch_env_manager": _rule(check_text, pattern=r"^(conda|uv)$", hint="give conda or uv"),
        "pytorch_env_name": _rule(
            check_text,
            pattern=_NAME,
            hint="give 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        ),
        "pytorch_env_prefix": _rule(check_path),
        "pytorch_env_scope": _rule(check_text, pattern=r"^(auto|system|user)$", hint="give auto, system or user"),
        "pytorch_env_packages": _rule(
            check_list,
            optional=False,
            item=lambda n, v, **c: check_text(
                n,
                v,
                pattern=r"^(torch|torchvision|torchaudio)$",
                hint="give torch, torchvision or torchaudio (others go in pytorch_env_extra_packages)",
            ),
        ),
        "pytorch_env_extra_packages": _rule(check_requirements),
        "pytorch_env_source": _rule(check_text, pattern=r"^(pip|conda)$", hint="give pip or conda"),
        "pytorch_env_index_url": _rule(check_url, schemes=("http", "https", "file")),
        "pytorch_env_conda_executable": _rule(check_path, kind="file"),
        "pytorch_env_uv_version": _rule(
            check_version, pattern=r"^\d+\.\d+\.\d+$", hint="give a uv release such as 0.13.9, quoted"
        ),
        "pytorch_env_uv_install_dir": _rule(check_path),
        "pytorch_env_uv_sha256": _rule(check_mapping, item=lambda n, v, **c: check_sha256(n, v, optional=False)),
        "pytorch_env_uv_python_downloads": _rule(
            check_text, pattern=r"^(automatic|manual|never)$", hint="give automatic, manual or never"
        ),
        "pytorch_env_verify": _BOOL,
        "pytorch_env_jupyter_kernel": _BOOL,
        "pytorch_env_jupyterlab": _BOOL,
        # jupyter_client's kernel name rule, lower case (module_utils/_pytorch_env.py JUPYTER_KERNEL_NAME).
        "pytorch_env_jupyter_kernel_name": _rule(
            check_text,
            pattern=r"^[a-z0-9._-]{1,64}$",
            hint="give 1-64 lower-case letters, digits, '.', '_' or '-' (Jupyter's kernel names), or leave it empty",
        ),
        "pytorch_env_jupyter_display_name": _rule(check_text, max_length=128),
        "pytorch_env_verify_device": _rule(
            check_text, pattern=r"^(auto|cpu|cuda|mps)$", hint="give auto, cpu, cuda or mps"
        ),
    },
    "gpu_driver": {
        "gpu_driver_force": _BOOL,
        "gpu_driver_branch": _rule(
            check_version, allow_int=True, pattern=r"^\d{3}(\.\d+)*$", hint="give a three-digit branch such as 580"
        ),
        "gpu_driver_kernel_module": _rule(
            check_text, pattern=r"^(auto|open|proprietary)$", hint="give auto, open or proprietary"
        ),
        "gpu_driver_source": _rule(check_text, pattern=r"^(auto|distro|cuda)$", hint="give auto, distro or cuda"),
        "gpu_driver_build_module": _rule(
            check_text, pattern=r"^(auto|always|never)$", hint="give auto, always or never"
        ),
        "gpu_driver_reboot": _BOOL,
        "gpu_driver_reboot_timeout": _rule(check_int, minimum=1),
        "gpu_driver_hold": _BOOL,
        "gpu_driver_persistence_mode": _BOOL,
        "gpu_driver_debian_mirror": _MIRROR,
        "gpu_driver_cuda_keyring_sha256": _rule(check_sha256),
        "gpu_driver_mok_key": _rule(check_path, kind="file", shell_safe=True),
        "gpu_driver_mok_cert": _rule(check_path, kind="file", shell_safe=True),
        "gpu_driver_mok_password": _rule(check_text, secret=True, max_length=256),
        "gpu_driver_windows_version": _rule(
            check_version, pattern=r"^\d{3}\.\d{2}$", hint='give a version such as "580.88", quoted'
        ),
        "gpu_driver_windows_installer_url": _rule(check_url),
        "gpu_driver_windows_installer_sha256": _rule(check_sha256),
        "gpu_driver_windows_cache_dir": _rule(check_path),
        "gpu_driver_download_retries": _rule(check_int, minimum=1, maximum=100),
        "gpu_driver_download_delay": _rule(check_int, minimum=0, maximum=3600),
        # pytorch_env's, read by the driver plan to check the branch against the CUDA builds.
        "pytorch_version": _rule(
            check_version, pattern=r"^(latest|v?\d+\.\d+(\.\d+)?)$", hint="give latest, X.Y or X.Y.Z, quoted"
        ),
    },
    "trainers": {
        "trainers_dir": _rule(check_path),
        "trainers_scope": _rule(check_text, pattern=r"^(auto|system|user)$", hint="give auto, system or user"),
        # useradd(8) CAVEATS: a lower case letter or _, then lower case letters, digits, _ or -; at most 32.
        "trainers_user": _rule(
            check_text, pattern=r"^[a-z_][a-z0-9_-]{0,31}$", optional=False, hint="give an account name (useradd(8))"
        ),
        "trainers_user_create": _BOOL,
        "trainers_python": _rule(check_path, kind="file"),
        "trainers_run": _rule(
            check_list,
            item=lambda n, v, **c: check_text(
                n,
                v,
                pattern=r"^(linear_regression|mnist_cnn)$",
                optional=False,
                hint="give linear_regression or mnist_cnn",
            ),
        ),
        "trainers_epochs": _rule(check_int, minimum=1, maximum=10000),
        "trainers_limit": _rule(check_int, minimum=0),
        "trainers_device": _rule(
            check_text, pattern=r"^(auto|cpu|mps|cuda(:\d{1,3})?)$", hint="give auto, cpu, cuda, cuda:N or mps"
        ),
        "trainers_seed": _rule(check_int, minimum=0),
        "trainers_data_url": _rule(check_url, schemes=("http", "https", "file")),
        "trainers_data_sha256": _rule(check_mapping, item=lambda n, v, **c: check_sha256(n, v, optional=False)),
        "trainers_data_dir": _rule(check_path),
        "trainers_data_download": _BOOL,
        "trainers_force": _BOOL,
        "trainers_distributed": _BOOL,
        "trainers_group": _rule(
            check_text, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$", hint="give an inventory group name"
        ),
        "trainers_master_addr": _rule(check_host),
        # Linux net/core/dev.c dev_valid_name(): under IFNAMSIZ (16) bytes, no '/', ':' or whitespace, not . or ..
        "trainers_master_interface": _rule(
            check_text, pattern=r"^(?!\.\.?$)[A-Za-z0-9_.@-]{1,15}$", hint="give a network interface name such as eth0"
        ),
        "trainers_master_port": _rule(check_port),
        "trainers_nproc_per_node": _rule(check_int, minimum=1, maximum=1024),
        "trainers_timeout": _rule(check_int, minimum=1),
        "trainers_report": _BOOL,
        "trainers_report_dir": _rule(check_path, kind="controller"),
    },
}


def _posix(func, **fixed):
    """A rule for a path on the mirror host or the controller, POSIX whatever ``windows`` says."""

    def run(name, value, windows=False):
        del windows
        return func(name, value, **fixed)

    run.__doc__ = func.__doc__
    return run


ROLE_RULES["mirror"] = {
    "mirror_fleet_hosts": _rule(
        check_list, item=lambda n, v, **c: check_text(n, v, pattern=r"^[^\s,]+$", hint="give an inventory name")
    ),
    "mirror_root": _posix(check_path, optional=False, shell_safe=True),
    "mirror_keep_releases": _rule(check_int, minimum=0, maximum=100),
    "mirror_port": _rule(check_port),
    "mirror_serve": _BOOL,
    "mirror_cache_dir": _posix(check_path, kind="controller"),
    "mirror_local_files": _rule(check_mirror_files),
    "mirror_check_local_sums": _BOOL,
    "mirror_mnist": _BOOL,
    "mirror_nvidia": _BOOL,
    "mirror_pypi_requirements": _rule(check_requirements),
    "mirror_torch_index_url": _rule(check_url_plain, optional=False),
    "mirror_pypi_url": _rule(check_url_plain, optional=False),
    "mirror_pip_python": _posix(check_path, kind="file"),
    "mirror_download_timeout": _rule(check_int, minimum=1),
    "mirror_download_retries": _rule(check_int, minimum=1, maximum=100),
}
COMMON_RULES = {
    "torchfleet_mirror_url": _MIRROR,
    "torchfleet_strict_vars": _BOOL,
    "torchfleet_progress": _BOOL,
}


def role_rules(role):
    """The rule table of ``role`` (its own variables and the collection-wide ones)."""
    if role not in ROLE_RULES:
        raise ValueError("unknown role {!r}; known: {}".format(role, ", ".join(sorted(ROLE_RULES))))
    rules = dict(COMMON_RULES)
    rules.update(ROLE_RULES[role])
    return rules


def validate_role(role, values, windows=False):
    """Every message for the variables of ``role`` defined in ``values``, in the order of the rule table."""
    problems = []
    for name, rule in role_rules(role).items():
        if name in values:
            problems.extend(rule(name, values[name], windows=windows))
    return problems


def unknown_variables(names, known, prefixes=PREFIXES):
    """``[(name, closest known name or None)]`` for each name with one of ``prefixes`` that is not known."""
    known = sorted(set(known))
    result = []
    for name in sorted(set(names)):
        if not _is_str(name) or not name.startswith(tuple(prefixes)) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        result.append((name, close[0] if close else None))
    return result


def unknown_variable_message(name, suggestion):
    """One line for an unknown variable."""
    if suggestion:
        return f"{name} is not a variable of torchfleet.lab and is ignored: did you mean {suggestion}?"
    return f"{name} is not a variable of torchfleet.lab and is ignored; check its spelling in the roles' README"
