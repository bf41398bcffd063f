# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helpers shared by the conda modules: conda JSON parsing, error messages, requirement checks.

Standard library only; runs on the managed host's Python (3.8+).  The JSON rules follow conda's behaviour as
seen in conda's source (github.com/conda/conda): old conda (< 23.9) writes NUL-separated progress records before
the result, and some versions print two documents; errors are ``CondaError.dump_map()`` objects.
"""

from __future__ import annotations

import json
import re

from ansible_collections.torchfleet.lab.plugins.module_utils import _platform

TOS_ERROR = "CondaToSNonInteractiveError"


# --------------------------------------------------------------------------------------------------- conda JSON
def parse_conda_json(text):
    """Return the result document of a ``conda ... --json`` run.

    Splits on NUL (progress records of conda < 23.9), takes the last non-empty chunk, and when that chunk holds
    several concatenated JSON documents returns the last one.  Raises ValueError when nothing parses.
    """
    if text is None:
        raise ValueError("no output")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    chunks = [c.strip() for c in text.split("\0") if c.strip()]
    if not chunks:
        raise ValueError("empty output")
    chunk = chunks[-1]
    try:
        return json.loads(chunk)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    docs = []
    index = 0
    while index < len(chunk):
        start = min((i for i in (chunk.find("{", index), chunk.find("[", index)) if i >= 0), default=-1)
        if start < 0:
            break
        try:
            doc, end = decoder.raw_decode(chunk, start)
        except ValueError:
            index = start + 1
            continue
        docs.append(doc)
        index = end
    if not docs:
        raise ValueError("no JSON document in conda output")
    return docs[-1]


def conda_error(stdout, stderr=""):
    """Return (message, exception_name) from conda's error JSON, falling back to the raw text."""
    try:
        doc = parse_conda_json(stdout)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        if isinstance(doc.get("errors"), list) and doc["errors"]:
            parts = [conda_error(json.dumps(e))[0] for e in doc["errors"] if isinstance(e, dict)]
            names = [e.get("exception_name") for e in doc["errors"] if isinstance(e, dict)]
            return "; ".join(parts) or doc.get("error", ""), (names[0] if names else "CondaMultiError")
        message = doc.get("message") or doc.get("error")
        if message:
            return str(message).strip(), doc.get("exception_name")
    text = (stderr or "").strip() or (stdout or "").strip()
    return text or "conda failed without output", None


def tos_hint():
    return (
        "Anaconda's channel terms are not accepted for the defaults channels (repo.anaconda.com). Set the "
        "torchfleet.lab.miniconda role variable miniconda_accept_anaconda_tos=true to accept them explicitly, "
        "or install Miniforge (conda-forge channel, no terms to accept) instead."
    )


def env_prefixes(doc):
    """Environment prefixes from ``conda env list --json`` (both the <= 25.9 and the >= 25.11 shape)."""
    if isinstance(doc, dict) and isinstance(doc.get("envs"), list):
        return [str(e) for e in doc["envs"]]
    return []


def packages_from_list(records):
    """Map normalised name -> version from ``conda list --json``; conda records win over pypi duplicates."""
    out = {}
    for rec in records or []:
        if not isinstance(rec, dict) or "name" not in rec or "version" not in rec:
            continue
        name = normalize_name(rec["name"])
        if name in out and rec.get("channel") in ("pypi", "<develop>"):
            continue
        out[name] = str(rec["version"])
    return out


def pypi_packages_from_list(records):
    out = {}
    for rec in records or []:
        if isinstance(rec, dict) and rec.get("channel") in ("pypi", "<develop>"):
            out[normalize_name(rec["name"])] = str(rec["version"])
    return out


def installed_from_transaction(doc):
    """``name-version`` strings of the LINK actions of a create/install result."""
    actions = doc.get("actions") if isinstance(doc, dict) else None
    if not isinstance(actions, dict):
        return []
    return ["{}-{}".format(r.get("name"), r.get("version")) for r in actions.get("LINK") or [] if isinstance(r, dict)]


def env_python_path(prefix, system):
    """Interpreter of a conda environment: PREFIX/bin/python, or PREFIX\\python.exe on Windows."""
    return _platform.env_python(prefix, system, "conda")


# --------------------------------------------------------------------------------------------------- pip output
def parse_pip_installed(stdout):
    """Distributions from pip's ``Successfully installed a-1.0 b-2.0`` line (empty list when none)."""
    for raw in (stdout or "").splitlines():
        line = raw.strip()
        if line.startswith("Successfully installed "):
            return line[len("Successfully installed ") :].split()
    return []


def parse_pip_would_install(stdout):
    """Distributions from ``pip install --dry-run``'s ``Would install a-1.0`` line."""
    for raw in (stdout or "").splitlines():
        line = raw.strip()
        if line.startswith("Would install "):
            return line[len("Would install ") :].split()
    return []


# --------------------------------------------------------------------------------------------------- versions
def normalize_name(name):
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


_VERSION_RE = re.compile(
    r"^v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d+)?)?"
    r"(?:(?:-(?P<post_n1>\d+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?))?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$",
    re.IGNORECASE,
)


class Version:
    """The part of PEP 440 the modules need: epoch, release, pre/post/dev and local labels, ordered."""

    def __init__(self, text):
        match = _VERSION_RE.match(str(text).strip())
        if not match:
            raise ValueError(f"not a PEP 440 version: {text!r}")
        self.text = str(text).strip()
        self.epoch = int(match.group("epoch") or 0)
        release = [int(p) for p in match.group("release").split(".")]
        self.release = tuple(release)
        pre_l = (match.group("pre_l") or "").lower()
        pre_l = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}.get(pre_l, pre_l)
        self.pre = (pre_l, int(match.group("pre_n") or 0)) if pre_l else None
        post = match.group("post_n1") or match.group("post_n2")
        self.post = int(post or 0) if (match.group("post_l") or match.group("post_n1")) else None
        self.dev = int(match.group("dev_n") or 0) if match.group("dev_l") else None
        self.local = match.group("local")

    def _trimmed(self):
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return tuple(release)

    def key(self, with_local=True):
        # Ordering of packaging.version: dev releases before pre-releases before the release before post.
        if self.pre is None and self.post is None and self.dev is not None:
            pre = (-2, "", 0)
        elif self.pre is None:
            pre = (1, "", 0)
        else:
            pre = (0, self.pre[0], self.pre[1])
        post = (-1,) if self.post is None else (0, self.post)
        dev = (1, 0) if self.dev is None else (0, self.dev)
        local = ()
        if with_local and self.local:
            local = tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in re.split(r"[-_.]", self.local))
        return (self.epoch, self._trimmed(), pre, post, dev, local)

    @property
    def public(self):
        return self.text.split("+", 1)[0]


def _padded(release, length):
    return tuple(release) + (0,) * (length - len(release))


def _prefix_match(installed, spec):
    """``==X.Y.*`` semantics: the installed release starts with X.Y (pre/post/dev/local ignored)."""
    wanted = Version(spec)
    have = Version(installed)
    if have.epoch != wanted.epoch:
        return False
    return _padded(have.release, len(wanted.release))[: len(wanted.release)] == wanted.release


def compare(installed, op, spec):
    """Does version ``installed`` satisfy ``op spec``?  Raises ValueError for what this subset cannot judge."""
    if op == "===":
        return installed.strip() == spec.strip()
    if spec.endswith(".*"):
        if op not in ("==", "!="):
            raise ValueError("wildcard only allowed with == and !=")
        result = _prefix_match(installed, spec[:-2])
        return result if op == "==" else not result
    have = Version(installed)
    want = Version(spec)
    if op in ("==", "!="):
        # A spec without a local label matches any local label (2.13.0+cpu satisfies ==2.13.0).
        equal = have.key(with_local=bool(want.local)) == want.key()
        return equal if op == "==" else not equal
    if op == "~=":
        if len(want.release) < 2:
            raise ValueError("~= needs at least two release components")
        prefix = ".".join(str(p) for p in want.release[:-1])
        return have.key(False) >= want.key() and _prefix_match(installed, prefix)
    ordering = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    if op not in ordering:
        raise ValueError(f"unknown operator {op!r}")
    return ordering[op](have.key(False), want.key(False))


_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_CLAUSE = re.compile(r"^\s*(===|==|!=|~=|>=|<=|>|<)\s*([^\s,;]+)\s*$")


def parse_requirement(text):
    """Parse a PEP 508 requirement into (normalised name, [(op, version), ...]).

    Returns None for what this subset does not understand (URLs, ``name @ url``, markers, options, paths); the
    caller then treats the requirement as not satisfied and lets pip decide.
    """
    if not isinstance(text, str) or not text.strip() or text.strip().startswith("-"):
        return None
    if ";" in text or "@" in text or "://" in text or "/" in text or "\\" in text:
        return None
    match = _REQ_NAME.match(text)
    if not match:
        return None
    name, _extras, rest = match.groups()
    rest = rest.strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    clauses = []
    if rest:
        for part in rest.split(","):
            clause = _CLAUSE.match(part)
            if not clause:
                return None
            clauses.append((clause.group(1), clause.group(2)))
    return normalize_name(name), clauses


def requirement_satisfied(text, installed):
    """True when requirement ``text`` is met by ``installed`` (normalised name -> version); False when unsure."""
    parsed = parse_requirement(text)
    if parsed is None:
        return False
    name, clauses = parsed
    version = installed.get(name)
    if version is None:
        return False
    try:
        return all(compare(version, op, spec) for op, spec in clauses)
    except ValueError:
        return False


_CONDA_SPEC = re.compile(r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


def parse_conda_spec(text):
    """Parse a conda match spec subset into (name, [(op, version), ...]); None when not understood.

    ``name``, ``name=1.2`` (= 1.2.*), ``name==1.2``, ``name 1.2.*``, ``name>=1.2,<2``, ``channel::name``.
    Build strings (``name=1.2=h123_0``), ``|`` alternatives and bracket syntax are not understood.
    """
    if not isinstance(text, str):
        return None
    match = _CONDA_SPEC.match(text.strip())
    if not match:
        return None
    name = match.group("name").lower()
    rest = match.group("rest").strip()
    if not rest:
        return name, []
    if "|" in rest or "[" in rest or " " in rest.strip():
        return None
    clauses = [_spec_clause(raw.strip()) for raw in rest.split(",")]
    if None in clauses:
        return None
    return name, clauses


def _spec_clause(part):
    """One comma-separated clause of a conda match spec as (op, version); None when not understood."""
    if part.startswith("==") or part.startswith(("!=", ">=", "<=", "~=")):
        op, version = part[:2], part[2:]
    elif part.startswith((">", "<")):
        op, version = part[0], part[1:]
    elif part.startswith("="):
        op, version = "==", part[1:]
        if "=" in version:
            return None  # build string
        if not version.endswith("*"):
            version += ".*"
    else:
        op, version = "==", part
    version = version.strip()
    if not version or "=" in version:
        return None
    if version.endswith("*") and not version.endswith(".*"):
        version = version[:-1].rstrip(".") + ".*"
    return op, version


def conda_spec_satisfied(text, installed):
    parsed = parse_conda_spec(text)
    if parsed is None:
        return False
    name, clauses = parsed
    version = installed.get(normalize_name(name))
    if version is None:
        return False
    try:
        return all(compare(version, op, spec) for op, spec in clauses)
    except ValueError:
        return False


def python_matches(installed, wanted):
    """Does the environment's python ``installed`` (3.11.7) match the requested ``wanted`` (3.11 or 3.11.7)?"""
    if not installed or not wanted:
        return False
    wanted = str(wanted).strip().rstrip("*").rstrip(".")
    return installed == wanted or installed.startswith(wanted + ".")
