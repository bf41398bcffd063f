#!/usr/bin/env python
# TEST DOUBLE -- NOT CONDA.  torchfleet.lab conda stand-in CLI.
#
# The test lab cannot download Miniconda, so the stand-in installer lays this file down as PREFIX/bin/conda and
# PREFIX/condabin/conda.  It speaks the small part of conda's command line and JSON output that the collection's
# roles and modules use, backed by plain Python virtual environments (``python3.N -m venv``).  It installs no
# conda packages: only ``python`` and ``pip`` specs can be satisfied, everything else fails the way an offline
# lab would (PackagesNotFoundError).
#
# Implemented (see tests/harness/conda_standin/README.md for the list of shapes):
#   --version; info --json [--base|--envs]; env list --json; list --json -p|-n; create/install --json -y;
#   remove --all --json -y / env remove; run -p|-n CMD...; config --show-sources --json; tos accept|view|reject.
# Follows shared/reference/conda.md: 1.2 (prefix layout, conda-meta/history marks an environment),
# 3 (Anaconda channel terms: CondaToSNonInteractiveError text of conda-anaconda-tos >= 0.2.2, record layout),
# 4.0-4.5 and 4.7 (JSON rules and shapes, error dump_map, exit codes), 4.9 (errors), 5 (conda run, -n
# resolution), 6 (.condarc search path and merge rules).  Not implemented: `#!final`, solver, package cache,
# revisions, MultiChannel other than `defaults`.
#
# Standard library only (PyYAML is used for .condarc when importable, else a small YAML subset parser).

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
STANDIN_BUILD = "standin_0"
DEFAULT_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
TOS_CHANNELS = (
    "https://repo.anaconda.com/pkgs/main",
    "https://repo.anaconda.com/pkgs/r",
    "https://repo.anaconda.com/pkgs/msys2",
)
# The terms version the stand-in pretends repo.anaconda.com serves (conda-anaconda-tos RemoteToSMetadata).
TOS_VERSION = "2025-05-12T00:00:00Z"
TOS_TEXT = "TEST DOUBLE: stand-in text for the Anaconda Terms of Service."
TOS_SUPPORT = "anaconda.com/legal"
CI_BOOLEAN_VARS = (
    "APPVEYOR", "BITRISE_IO", "BUDDY", "BUILDKITE", "CI", "CIRCLECI", "CIRRUS_CI", "CONCOURSE_CI", "DRONE",
    "GITHUB_ACTIONS", "GITLAB_CI", "SAIL_CI", "SEMAPHORE", "TF_BUILD", "TRAVIS", "WERCKER", "WOODPECKER_CI",
)  # fmt: skip
CI_PRESENCE_VARS = ("BAMBOO_BUILDKEY", "CODEBUILD_BUILD_ID", "HEROKU_TEST_RUN_ID", "JENKINS_URL", "TEAMCITY_VERSION")


# --------------------------------------------------------------------------------------------------- errors
class CondaError(Exception):
    module = "conda.exceptions"
    rc = 1

    def __init__(self, message, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    @property
    def name(self):
        return getattr(self, "exception_name", type(self).__name__)

    def dump_map(self):
        doc = dict(self.extra)
        doc.update(
            caused_by="None",
            error=f"{self.name}: {self.message}",
            exception_name=self.name,
            exception_type=f"<class '{self.module}.{self.name}'>",
            message=self.message,
        )
        return doc


def _error(name, message, module="conda.exceptions", rc=1, **extra):
    exc = CondaError(message, **extra)
    exc.exception_name = name
    exc.module = module
    exc.rc = rc
    return exc


def env_not_found(prefix):
    return _error("EnvironmentLocationNotFound", f"Not a conda environment: {prefix}", location=prefix)


def not_an_env(prefix):
    return _error(
        "DirectoryNotACondaEnvironmentError",
        "The target directory exists, but it is not a conda environment.\n"
        "Use 'conda create' to convert the directory to a conda environment.\n"
        f"  target directory: {prefix}\n",
        target_directory=prefix,
    )


def packages_not_found(specs, channel_urls, name="PackagesNotFoundError"):
    packages_formatted = "\n".join(f"  - {s}" for s in specs)
    channels_formatted = "\n".join(f"  - {c}" for c in channel_urls)
    message = (
        f"The following packages are not available from current channels:\n\n{packages_formatted}\n\n"
        f"Current channels:\n\n{channels_formatted}\n\n"
        "To search for alternate channels that may provide the conda package you're\n"
        "looking for, navigate to\n\n    https://anaconda.org\n\nand use the search bar at the top of the page.\n"
    )
    return _error(
        name,
        message,
        packages=list(specs),
        channel_urls=list(channel_urls),
        packages_formatted=packages_formatted,
        channels_formatted=channels_formatted,
    )


def tos_error(channels):
    commands = [f"conda tos accept --override-channels --channel {c}" for c in channels]
    message = (
        "Terms of Service have not been accepted for the following channels. "
        "Please accept or remove them before proceeding:\n"
        + "\n".join(f"    - {c}" for c in channels)
        + "\n\nTo accept these channels' Terms of Service, run the following commands:\n"
        + "\n".join(f"    {c}" for c in commands)
        + "\n\nFor information on safely removing channels from your conda configuration,\n"
        "please see the official documentation:\n\n"
        "    https://www.anaconda.com/docs/tools/working-with-conda/channels"
    )
    return _error("CondaToSNonInteractiveError", message, module="conda_anaconda_tos.exceptions")


# --------------------------------------------------------------------------------------------------- basics
def installer_info():
    try:
        with open(os.path.join(ROOT, ".installer.info")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"name": "Miniconda3", "version": "py311_25.11.1-1", "platform": subdir(), "type": "sh"}


def flavor():
    return "miniforge" if installer_info().get("name", "").lower().startswith("miniforge") else "miniconda"


def conda_version():
    version = installer_info().get("version", "25.11.1-1")
    version = re.sub(r"^py\d+_", "", version)
    return version.rsplit("-", 1)[0]


def version_tuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def subdir():
    system = platform.system()
    machine = platform.machine().lower()
    if system == "Darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    if system == "Windows":
        return "win-64"
    return {"x86_64": "linux-64", "amd64": "linux-64"}.get(machine, "linux-" + machine)


def home():
    return os.path.expanduser("~")


def is_env(prefix):
    return os.path.isfile(os.path.join(prefix, "conda-meta", "history"))


def env_python(prefix):
    return os.path.join(prefix, "python.exe") if os.name == "nt" else os.path.join(prefix, "bin", "python")


def dumps(doc, sort=None):
    if sort is None:
        sort = version_tuple(conda_version()) < (25, 7)
    return json.dumps(doc, indent=2, sort_keys=sort)


def emit(args, doc, text=None):
    if getattr(args, "json", False):
        print(dumps(doc))
    elif text is not None:
        print(text)


# --------------------------------------------------------------------------------------------------- condarc
def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", ""):
        return None
    if re.match(r"^-?\d+$", text):
        return int(text)
    return text


def _strip_comment(line):
    return re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""


def parse_yaml_subset(text):
    """Enough YAML for a .condarc: top-level keys with scalars, flow lists, block lists, one level of maps."""
    root = {}
    current_key = None
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            key, _sep, value = body.partition(":")
            key = key.strip()
            value = value.strip()
            current_key = key
            if value.startswith("["):
                root[key] = [_scalar(v) for v in value.strip("[]").split(",") if v.strip()]
            elif value.startswith("{"):
                root[key] = {}
                for item in value.strip("{}").split(","):
                    if ":" in item:
                        k, _sep, v = item.partition(":")
                        root[key][k.strip()] = _scalar(v)
            elif value:
                root[key] = _scalar(value)
            else:
                root[key] = None
        elif current_key is not None:
            if body.startswith("- "):
                if not isinstance(root.get(current_key), list):
                    root[current_key] = []
                root[current_key].append(_scalar(body[2:]))
            elif ":" in body:
                if not isinstance(root.get(current_key), dict):
                    root[current_key] = {}
                k, _sep, v = body.partition(":")
                root[current_key][k.strip()] = _scalar(v)
    return root


def load_yaml(path):
    with open(path) as handle:
        text = handle.read()
    try:
        import yaml  # noqa: PLC0415

        doc = yaml.safe_load(text)
    except ImportError:
        doc = parse_yaml_subset(text)
    return doc if isinstance(doc, dict) else {}


def _rc_candidates(base):
    yield os.path.join(base, ".condarc")
    yield os.path.join(base, "condarc")
    d = os.path.join(base, "condarc.d")
    if os.path.isdir(d):
        for name in sorted(os.listdir(d)):
            if name.endswith((".yml", ".yaml")):
                yield os.path.join(d, name)


def condarc_files():
    """Existing config files, lowest precedence first (reference section 6)."""
    paths = []
    paths.extend(_rc_candidates("/etc/conda"))
    paths.extend(_rc_candidates("/var/lib/conda"))
    paths.extend(_rc_candidates(ROOT))
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        paths.extend(_rc_candidates(os.path.join(xdg, "conda")))
    paths.extend(_rc_candidates(os.path.join(home(), ".config", "conda")))
    paths.extend(_rc_candidates(os.path.join(home(), ".conda")))
    paths.append(os.path.join(home(), ".condarc"))
    if os.environ.get("CONDA_PREFIX"):
        paths.extend(_rc_candidates(os.environ["CONDA_PREFIX"]))
    if os.environ.get("CONDARC"):
        paths.append(os.environ["CONDARC"])
    seen = []
    for path in paths:
        if os.path.isfile(path) and path not in seen:
            seen.append(path)
    return seen


ENV_KEYS = ("channels", "default_channels", "channel_alias", "envs_dirs", "pkgs_dirs", "always_yes",
            "auto_activate", "auto_activate_base", "channel_priority")  # fmt: skip


def env_config():
    out = {}
    for key in ENV_KEYS:
        value = os.environ.get("CONDA_" + key.upper())
        if value is not None:
            out[key] = [v for v in value.split(",") if v] if key.endswith(("channels", "_dirs")) else _scalar(value)
    if os.environ.get("CONDA_PLUGINS_AUTO_ACCEPT_TOS") is not None:
        out["plugins"] = {"auto_accept_tos": _scalar(os.environ["CONDA_PLUGINS_AUTO_ACCEPT_TOS"])}
    return out


def config():
    """Merged configuration: lists merged (higher precedence first, deduplicated), maps merged, scalars replaced."""
    sources = [load_yaml(p) for p in condarc_files()] + [env_config()]
    merged = {}
    for source in sources:  # lowest precedence first
        for key, value in source.items():
            if isinstance(value, list):
                old = merged.get(key) or []
                merged[key] = list(value) + [v for v in old if v not in value]
            elif isinstance(value, dict):
                new = dict(merged.get(key) or {})
                new.update(value)
                merged[key] = new
            else:
                merged[key] = value
    return merged


# --------------------------------------------------------------------------------------------------- channels
def channel_urls(name, cfg):
    """Expand one channel name or URL to base URLs."""
    alias = str(cfg.get("channel_alias") or "https://conda.anaconda.org").rstrip("/")
    if name == "defaults":
        return [str(c).rstrip("/") for c in (cfg.get("default_channels") or DEFAULT_CHANNELS)]
    if re.match(r"^[a-z][a-z0-9+.-]*://", name):
        return [name.rstrip("/")]
    custom = cfg.get("custom_channels") or {}
    if name in custom:
        return ["{}/{}".format(str(custom[name]).rstrip("/"), name)]
    if name.startswith("pkgs/"):
        return ["https://repo.anaconda.com/" + name]
    return [f"{alias}/{name}"]


def channel_name(url):
    for base in ("https://conda.anaconda.org/", "https://repo.anaconda.com/"):
        if url.startswith(base):
            return url[len(base) :]
    return url


def effective_channels(args, cfg):
    cli = list(getattr(args, "channel", None) or [])
    names = cli if getattr(args, "override_channels", False) else cli + list(cfg.get("channels") or [])
    if not names:
        names = ["defaults"]
    urls = []
    for name in names:
        for url in channel_urls(str(name), cfg):
            if url not in urls:
                urls.append(url)
    return urls


def _boolish(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def ci_detected():
    for var in CI_BOOLEAN_VARS:
        value = os.environ.get(var)
        if value and not _boolish(value):
            return False
    return any(_boolish(os.environ.get(v, "")) for v in CI_BOOLEAN_VARS) or any(
        os.environ.get(v) for v in CI_PRESENCE_VARS
    )


def tos_hash(url):
    # conda-anaconda-tos path.hash_channel: sha256(channel_location + channel_name)
    rest = url.split("://", 1)[-1]
    location, _sep, name = rest.partition("/")
    return hashlib.sha256((location + name).encode("utf-8")).hexdigest()


def tos_roots():
    """Search path of conda-anaconda-tos (highest priority first)."""
    roots = ["/etc/conda/tos", "/var/lib/conda/tos", os.path.join(ROOT, "conda-meta", "tos")]
    if os.environ.get("XDG_CONFIG_HOME"):
        roots.append(os.path.join(os.environ["XDG_CONFIG_HOME"], "conda", "tos"))
    roots += [os.path.join(home(), ".config", "conda", "tos"), os.path.join(home(), ".conda", "tos")]
    if os.environ.get("CONDA_PREFIX"):
        roots.append(os.path.join(os.environ["CONDA_PREFIX"], "conda-meta", "tos"))
    if os.environ.get("CONDATOS"):
        roots.append(os.environ["CONDATOS"])
    return roots


def tos_record(url):
    """Newest local record for a channel, or None."""
    found = []
    for root in tos_roots():
        directory = os.path.join(root, tos_hash(url))
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path) as handle:
                    doc = json.load(handle)
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and "tos_accepted" in doc:
                found.append((str(doc.get("version", "")), path, doc))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    return found[-1]


def write_tos_record(root, url, accepted):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {
        "version": TOS_VERSION,
        "text": TOS_TEXT,
        "support": TOS_SUPPORT,
        "base_url": url,
        "tos_accepted": accepted,
        "acceptance_timestamp": now,
    }
    stamp = datetime.datetime(2025, 5, 12, tzinfo=datetime.timezone.utc).timestamp()
    directory = os.path.join(root, tos_hash(url))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{stamp}.json"), "w") as handle:
        json.dump(doc, handle)
    return doc


def check_tos(args, cfg):
    """Pre-command check of conda-anaconda-tos, simulated for the Miniconda flavour only."""
    if flavor() != "miniconda":
        return
    pending = [u for u in effective_channels(args, cfg) if u in TOS_CHANNELS]
    if not pending:
        return
    plugins = cfg.get("plugins") or {}
    auto = _boolish(plugins.get("auto_accept_tos", False)) if isinstance(plugins, dict) else False
    missing = []
    for url in pending:
        record = tos_record(url)
        if record is not None:
            if record[2].get("tos_accepted"):
                continue
            raise _error(
                "CondaToSRejectedError",
                "Terms of Service has been rejected for the following channels. "
                f"Please remove or accept them before proceeding:\n    - {url}",
                module="conda_anaconda_tos.exceptions",
            )
        missing.append(url)
    if not missing:
        return
    if auto or ci_detected():
        for url in missing:
            write_tos_record(os.path.join(home(), ".conda", "tos"), url, True)
        return
    raise tos_error(missing)


# --------------------------------------------------------------------------------------------------- envs
def envs_dirs(cfg):
    configured = [os.path.expanduser(os.path.expandvars(str(d))) for d in (cfg.get("envs_dirs") or [])]
    defaults = [os.path.join(ROOT, "envs"), os.path.join(home(), ".conda", "envs")]
    if not os.access(ROOT, os.W_OK):
        defaults.reverse()
    out = []
    for d in configured + defaults:
        if d not in out:
            out.append(d)
    return out


def pkgs_dirs(cfg):
    configured = [os.path.expanduser(str(d)) for d in (cfg.get("pkgs_dirs") or [])]
    return configured or [os.path.join(ROOT, "pkgs"), os.path.join(home(), ".conda", "pkgs")]


def environments_txt():
    return os.path.join(home(), ".conda", "environments.txt")


def registered_envs():
    try:
        with open(environments_txt()) as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def register_env(prefix, add=True):
    entries = [e for e in registered_envs() if e != prefix]
    if add:
        entries.append(prefix)
    path = environments_txt()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("".join(e + "\n" for e in entries))
    except OSError:
        pass


def list_envs(cfg):
    found = {ROOT}
    for prefix in registered_envs():
        if is_env(prefix):
            found.add(prefix)
    for d in envs_dirs(cfg):
        if os.path.isdir(d):
            for name in os.listdir(d):
                path = os.path.join(d, name)
                if is_env(path):
                    found.add(path)
    return sorted(found)


def resolve_prefix(args, cfg, for_create=False):
    if getattr(args, "prefix", None):
        return os.path.abspath(os.path.expanduser(args.prefix))
    name = getattr(args, "name", None)
    if not name:
        active = os.environ.get("CONDA_PREFIX")
        if active and not for_create:
            return active
        raise _error("ArgumentError", "one of the arguments -n/--name -p/--prefix is required", rc=2)
    if name in ("base", "root"):
        return ROOT
    dirs = envs_dirs(cfg)
    for d in dirs:
        if os.path.isdir(os.path.join(d, name)):
            return os.path.join(d, name)
    for d in dirs:
        probe = d
        while not os.path.exists(probe):
            probe = os.path.dirname(probe)
        if os.access(probe, os.W_OK):
            return os.path.join(d, name)
    return os.path.join(dirs[0], name)


def env_name(prefix, cfg):
    if prefix == ROOT:
        return "base"
    if os.path.dirname(prefix) in envs_dirs(cfg):
        return os.path.basename(prefix)
    return ""


# --------------------------------------------------------------------------------------------------- records
def site_packages(prefix):
    if os.name == "nt":
        return [os.path.join(prefix, "Lib", "site-packages")]
    lib = os.path.join(prefix, "lib")
    if not os.path.isdir(lib):
        return []
    return [
        os.path.join(lib, n, "site-packages")
        for n in sorted(os.listdir(lib))
        if n.startswith("python") and os.path.isdir(os.path.join(lib, n, "site-packages"))
    ]


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def read_dist_info(path):
    name = version = None
    try:
        with open(os.path.join(path, "METADATA"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                if line.startswith("Name:") and name is None:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("Version:") and version is None:
                    version = line.split(":", 1)[1].strip()
    except OSError:
        return None
    if not name or not version:
        return None
    editable = False
    try:
        with open(os.path.join(path, "direct_url.json")) as handle:
            editable = bool(json.load(handle).get("dir_info", {}).get("editable"))
    except (OSError, ValueError, AttributeError):
        pass
    return name, version, editable


def dist_infos(prefix):
    for sp in site_packages(prefix):
        for entry in sorted(os.listdir(sp)):
            if entry.endswith(".dist-info"):
                yield os.path.relpath(os.path.join(sp, entry), prefix), os.path.join(sp, entry)


def conda_records(prefix):
    meta = os.path.join(prefix, "conda-meta")
    records = []
    if os.path.isdir(meta):
        for entry in sorted(os.listdir(meta)):
            if entry.endswith(".json"):
                try:
                    with open(os.path.join(meta, entry)) as handle:
                        records.append(json.load(handle))
                except (OSError, ValueError):
                    continue
    return records


def dist_fields(rec):
    """conda's PackageRecord.dist_fields_dump() for one record."""
    base_url = rec["channel"].rsplit("/", 1)[0] if rec["channel"].endswith("/" + rec["subdir"]) else rec["channel"]
    return {
        "base_url": base_url,
        "build_number": rec.get("build_number", 0),
        "build_string": rec["build"],
        "channel": channel_name(base_url),
        "dist_name": "{}-{}-{}".format(rec["name"], rec["version"], rec["build"]),
        "name": rec["name"],
        "platform": rec["subdir"],
        "version": rec["version"],
    }


def pypi_fields(name, version, editable):
    name = normalise(name)
    build = "dev_0" if editable else "pypi_0"
    channel = "<develop>" if editable else "pypi"
    return {
        "base_url": f"https://conda.anaconda.org/{channel}",
        "build_number": 0,
        "build_string": build,
        "channel": channel,
        "dist_name": f"{name}-{version}-{build}",
        "name": name,
        "platform": channel,
        "version": version,
    }


def list_packages(prefix):
    records = conda_records(prefix)
    owned = set()
    out = []
    for rec in records:
        for path in rec.get("files", []):
            owned.update(part for part in re.split(r"[\\/]", path) if part.endswith(".dist-info"))
        out.append(dist_fields(rec))
    for rel, path in dist_infos(prefix):
        if os.path.basename(rel) in owned:
            continue
        info = read_dist_info(path)
        if info:
            out.append(pypi_fields(*info))
    out.sort(key=lambda r: r["name"])
    return out


def make_record(prefix, name, version, channel_url, files=()):
    sd = subdir()
    rec = {
        "build": STANDIN_BUILD,
        "build_number": 0,
        "channel": f"{channel_url}/{sd}",
        "depends": [],
        "files": list(files),
        "fn": f"{name}-{version}-{STANDIN_BUILD}.conda",
        "name": name,
        "subdir": sd,
        "url": f"{channel_url}/{sd}/{name}-{version}-{STANDIN_BUILD}.conda",
        "version": version,
        "standin": "TEST DOUBLE record: no conda package was installed",
    }
    meta = os.path.join(prefix, "conda-meta")
    os.makedirs(meta, exist_ok=True)
    for old in os.listdir(meta):
        if old.startswith(name + "-") and old.endswith(".json"):
            try:
                with open(os.path.join(meta, old)) as handle:
                    if json.load(handle).get("name") == name:
                        os.remove(os.path.join(meta, old))
            except (OSError, ValueError):
                pass
    with open(os.path.join(meta, f"{name}-{version}-{STANDIN_BUILD}.json"), "w") as handle:
        json.dump(rec, handle, indent=2)
    return rec


def record_new_dists(prefix, channel_url, before):
    """Register distributions that appeared in site-packages (pip, setuptools from ensurepip) as conda records."""
    recs = []
    for rel, path in dist_infos(prefix):
        if rel in before:
            continue
        info = read_dist_info(path)
        if info:
            recs.append(make_record(prefix, normalise(info[0]), info[1], channel_url, [rel + "/METADATA"]))
    return recs


def append_history(prefix, argv, recs, specs, removed=()):
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"==> {stamp} <==",
        "# cmd: {}".format(" ".join(argv)),
        f"# conda version: {conda_version()}",
    ]
    lines += [f"-{d}" for d in removed]
    for rec in recs:
        f = dist_fields(rec)
        lines.append("+{}/{}::{}".format(f["channel"], f["platform"], f["dist_name"]))
    lines.append("# update specs: {}".format(json.dumps(list(specs)).replace('"', "'")))
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    with open(os.path.join(prefix, "conda-meta", "history"), "a") as handle:
        handle.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------------- specs
SPEC_RE = re.compile(r"^(?:(?P<channel>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


def parse_spec(spec):
    match = SPEC_RE.match(spec.strip())
    if not match:
        return None, None
    rest = match.group("rest").strip()
    return match.group("name").lower(), rest


def find_python(rest):
    """Host interpreter for a python version constraint like '=3.11', '3.11.*', '==3.11.7' or ''."""
    want = re.sub(r"^(==|=|\s)+", "", rest).rstrip("*").rstrip(".")
    if want and not re.match(r"^\d+(\.\d+){0,2}$", want):
        return None
    parts = want.split(".") if want else []
    candidates = []
    if len(parts) >= 2:
        candidates.append(f"python{parts[0]}.{parts[1]}")
    candidates += ["python3"]
    override = os.environ.get("TORCHFLEET_STANDIN_PYTHON")
    if override and not parts:
        candidates.insert(0, override)
    for exe in candidates:
        path = shutil.which(exe)
        if not path:
            continue
        try:
            out = subprocess.run(
                [path, "-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        version = out.stdout.strip()
        if out.returncode == 0 and (version == want or version.startswith(want + ".") or not want):
            return path, version
    return None


def installed_python(prefix):
    for rec in conda_records(prefix):
        if rec.get("name") == "python":
            return rec["version"]
    return None


def make_venv(prefix, interpreter, with_pip, system_site=False):
    cmd = [interpreter, "-m", "venv"]
    if not with_pip:
        cmd.append("--without-pip")
    if system_site:
        cmd.append("--system-site-packages")
    subprocess.run([*cmd, prefix], check=True, capture_output=True)


def ensure_pip(prefix):
    subprocess.run(
        [env_python(prefix), "-m", "ensurepip", "--default-pip"], check=True, capture_output=True
    )  # fmt: skip


def transaction(prefix, fetch, link, unlink=()):
    actions = {"FETCH": list(fetch), "PREFIX": prefix}
    if unlink:
        actions["UNLINK"] = list(unlink)
    if link:
        actions["LINK"] = list(link)
    return {"success": True, "actions": actions, "prefix": prefix}


def satisfiable(specs, channels):
    """Split specs into (python_rest or None, wants_pip); raise PackagesNotFoundError for the rest."""
    python_rest = None
    wants_pip = False
    bad = []
    for spec in specs:
        name, rest = parse_spec(spec)
        if name == "python":
            python_rest = rest or ""
        elif name == "pip":
            wants_pip = True
        else:
            bad.append(spec)
    if bad:
        urls = [f"{c}/{sd}" for c in channels for sd in (subdir(), "noarch")]
        raise packages_not_found(bad, urls)
    return python_rest, wants_pip


def no_interpreter(spec, channels):
    urls = [f"{c}/{sd}" for c in channels for sd in (subdir(), "noarch")]
    return packages_not_found([spec], urls)


# --------------------------------------------------------------------------------------------------- commands
def cmd_info(args):
    cfg = config()
    if args.base:
        emit(args, {"root_prefix": ROOT}, ROOT)
        return 0
    if args.envs:
        return cmd_env_list(args)
    emit(args, info_dict(cfg), info_text(cfg))
    return 0


def info_dict(cfg):
    active = os.environ.get("CONDA_PREFIX")
    channels = []
    for url in effective_channels(argparse.Namespace(), cfg):
        channels += [f"{url}/{subdir()}", f"{url}/noarch"]
    info = {
        "platform": subdir(),
        "conda_version": conda_version(),
        "conda_env_version": conda_version(),
        "conda_build_version": "not installed",
        "root_prefix": ROOT,
        "conda_prefix": ROOT,
        "root_writable": os.access(ROOT, os.W_OK),
        "pkgs_dirs": pkgs_dirs(cfg),
        "envs_dirs": envs_dirs(cfg),
        "default_prefix": active or ROOT,
        "active_prefix": active,
        "active_prefix_name": env_name(active, cfg) if active else None,
        "conda_shlvl": int(os.environ.get("CONDA_SHLVL", "-1")),
        "channels": channels,
        "user_rc_path": os.path.join(home(), ".condarc"),
        "rc_path": os.path.join(home(), ".condarc"),
        "sys_rc_path": os.path.join(ROOT, ".condarc"),
        "offline": False,
        "envs": list_envs(cfg),
        "python_version": ".".join(str(v) for v in sys.version_info),
        "requests_version": "not installed",
        "user_agent": f"conda/{conda_version()} (torchfleet stand-in) Python/{platform.python_version()}",
        "conda_location": os.path.dirname(os.path.realpath(__file__)),
        "config_files": condarc_files(),
        "netrc_file": None,
        "virtual_pkgs": [["__unix", "0", "0"]],
        "solver": {"name": "standin", "user_agent": "solver/standin", "default": True},
        "sys.version": sys.version,
        "sys.prefix": sys.prefix,
        "sys.executable": sys.executable,
        "site_dirs": [],
        "env_vars": {k: v for k, v in os.environ.items() if k.startswith("CONDA_")},
        "standin": "TEST DOUBLE: torchfleet.lab conda stand-in, not conda",
    }
    if os.name == "nt":
        info["is_windows_admin"] = False
    else:
        info["UID"] = os.getuid()
        info["GID"] = os.getgid()
    if version_tuple(conda_version()) >= (25, 11):
        info["envs_details"] = envs_details(cfg)
    return info


def info_text(cfg):
    return "\n".join(
        [
            "     active environment : %s" % (os.environ.get("CONDA_DEFAULT_ENV") or "None"),
            f"       conda version : {conda_version()} (torchfleet stand-in, TEST DOUBLE)",
            "       base environment : {}  ({})".format(ROOT, "writable" if os.access(ROOT, os.W_OK) else "read only"),
            f"           platform : {subdir()}",
        ]
    )


def envs_details(cfg):
    details = {}
    for prefix in list_envs(cfg):
        history = os.path.join(prefix, "conda-meta", "history")
        try:
            mtime = datetime.datetime.fromtimestamp(os.path.getmtime(history)).isoformat()
        except OSError:
            mtime = None
        details[prefix] = {
            "name": env_name(prefix, cfg),
            "created": mtime,
            "last_modified": mtime,
            "active": prefix == os.environ.get("CONDA_PREFIX"),
            "base": prefix == ROOT,
            "frozen": False,
            "writable": os.access(prefix, os.W_OK),
        }
    return details


def cmd_env_list(args):
    cfg = config()
    if version_tuple(conda_version()) >= (25, 11):
        doc = {"envs": list_envs(cfg), "envs_details": envs_details(cfg)}
    else:
        doc = info_dict(cfg)
    lines = ["# conda environments:", "#"]
    for prefix in list_envs(cfg):
        lines.append(f"{env_name(prefix, cfg):<20} {prefix}")
    emit(args, doc, "\n".join(lines))
    return 0


def cmd_list(args):
    cfg = config()
    prefix = resolve_prefix(args, cfg)
    if not os.path.isdir(prefix):
        raise env_not_found(prefix)
    if not is_env(prefix):
        raise not_an_env(prefix)
    pkgs = list_packages(prefix)
    if args.no_pip:
        pkgs = [p for p in pkgs if p["channel"] not in ("pypi", "<develop>")]
    text = [f"# packages in environment at {prefix}:", "#"]
    text += [f"{p['name']:<25} {p['version']:<15} {p['build_string']:<15} {p['channel']}" for p in pkgs]
    emit(args, pkgs, "\n".join(text))
    return 0


def cmd_create(args):
    cfg = config()
    channels = effective_channels(args, cfg)
    check_tos(args, cfg)
    prefix = resolve_prefix(args, cfg, for_create=True)
    if prefix == ROOT:
        raise _error("CondaValueError", "The target prefix is the base prefix. Aborting.")
    python_rest, wants_pip = satisfiable(args.packages, channels)
    if " " in prefix:
        raise _error("CondaValueError", f"Spaces not allowed in prefix path: {prefix}")
    if os.path.exists(prefix) and not is_env(prefix) and os.listdir(prefix):
        raise _error(
            "CondaValueError",
            "The target directory exists, but it is not a conda environment.\n"
            f"Remove it or choose another prefix: {prefix}",
        )
    if args.dry_run and is_env(prefix):
        raise _error("CondaValueError", "Cannot `create --dry-run` with an existing conda environment")
    records = []
    if python_rest is not None:
        found = find_python(python_rest)
        if found is None:
            raise no_interpreter("python" + (python_rest if python_rest[:1] in "=<>!~" else " " + python_rest)
                                 if python_rest else "python", channels)  # fmt: skip
    if args.dry_run:
        doc = transaction(prefix, [], [])
        doc["dry_run"] = True
        emit(args, doc, f"Dry run: would create {prefix}")
        return 0
    if os.path.lexists(prefix):
        shutil.rmtree(prefix)
    if python_rest is None:
        os.makedirs(os.path.join(prefix, "conda-meta"))
    else:
        interpreter, version = found
        make_venv(prefix, interpreter, with_pip=wants_pip)
        records.append(make_record(prefix, "python", version, channels[0]))
        if wants_pip:
            records += record_new_dists(prefix, channels[0], set())
    append_history(prefix, ["conda", *sys.argv[1:]], records, args.packages)
    if args.prefix:
        register_env(prefix)
    doc = transaction(prefix, [], [dist_fields(r) for r in records])
    emit(args, doc, f"\n# To activate this environment, use\n#\n#     $ conda activate {prefix}\n")
    return 0


def cmd_install(args):
    cfg = config()
    channels = effective_channels(args, cfg)
    check_tos(args, cfg)
    prefix = resolve_prefix(args, cfg)
    if not os.path.isdir(prefix):
        raise env_not_found(prefix)
    if not is_env(prefix):
        raise not_an_env(prefix)
    python_rest, wants_pip = satisfiable(args.packages, channels)
    current = installed_python(prefix)
    names = {r["name"] for r in conda_records(prefix)}
    todo_python = None
    if python_rest is not None:
        want = re.sub(r"^(==|=|\s)+", "", python_rest).rstrip("*").rstrip(".")
        if current is None or not (not want or current == want or current.startswith(want + ".")):
            todo_python = find_python(python_rest)
            if todo_python is None:
                raise no_interpreter("python" + python_rest, channels)
    todo_pip = wants_pip and "pip" not in names
    if todo_python is None and not todo_pip:
        emit(args, {"success": True, "message": "All requested packages already installed."},
             "# All requested packages already installed.")  # fmt: skip
        return 0
    if args.dry_run:
        doc = transaction(prefix, [], [])
        doc["dry_run"] = True
        emit(args, doc, "Dry run.")
        return 0
    unlink = []
    records = []
    if todo_python is not None:
        # Changing the interpreter of a venv: rebuild it (site-packages of the old minor are lost, as in conda).
        unlink = [p for p in list_packages(prefix) if p["channel"] not in ("pypi", "<develop>")]
        keep_pip = "pip" in names or wants_pip
        history = os.path.join(prefix, "conda-meta", "history")
        with open(history) as handle:
            old_history = handle.read()
        shutil.rmtree(prefix)
        make_venv(prefix, todo_python[0], with_pip=keep_pip)
        os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
        with open(history, "w") as handle:
            handle.write(old_history)
        records.append(make_record(prefix, "python", todo_python[1], channels[0]))
        if keep_pip:
            records += record_new_dists(prefix, channels[0], set())
    elif todo_pip:
        before = {rel for rel, _meta in dist_infos(prefix)}
        ensure_pip(prefix)
        records += record_new_dists(prefix, channels[0], before)
    append_history(prefix, ["conda", *sys.argv[1:]], records, args.packages, [u["dist_name"] for u in unlink])
    doc = transaction(prefix, [], [dist_fields(r) for r in records], unlink)
    emit(args, doc, "Executing transaction: done")
    return 0


def cmd_remove(args):
    cfg = config()
    check_tos(args, cfg)
    prefix = resolve_prefix(args, cfg)
    if args.all or getattr(args, "env_remove", False):
        if os.path.realpath(prefix) == os.path.realpath(ROOT):
            raise _error("CondaEnvironmentError", "cannot remove root environment, add -n NAME or -p PREFIX option")
        active = os.environ.get("CONDA_PREFIX")
        if active and os.path.realpath(prefix) == os.path.realpath(active):
            raise _error(
                "CondaEnvironmentError", "Cannot remove current environment. Deactivate and run conda remove again"
            )
        if not os.path.isdir(prefix):
            raise env_not_found(prefix)
        if not is_env(prefix):
            raise not_an_env(prefix)
        unlink = [p for p in list_packages(prefix) if p["channel"] not in ("pypi", "<develop>")]
        doc = transaction(prefix, [], [], unlink)
        if not args.dry_run:
            shutil.rmtree(prefix)
            register_env(prefix, add=False)
        else:
            doc["dry_run"] = True
        emit(args, doc, f"Remove all packages in environment {prefix}: done")
        return 0
    if not args.packages:
        raise _error("CondaValueError", 'no package names supplied,\n       try "conda remove -h" for more details')
    if not is_env(prefix):
        raise env_not_found(prefix)
    installed = {p["name"]: p for p in list_packages(prefix)}
    missing = [s for s in args.packages if parse_spec(s)[0] not in installed]
    if missing:
        name = "PackagesNotFoundInPrefixError" if version_tuple(conda_version()) >= (26, 3) else "PackagesNotFoundError"
        raise packages_not_found(missing, effective_channels(args, cfg), name=name)
    unlink = []
    for spec in args.packages:
        rec = installed[parse_spec(spec)[0]]
        if rec["name"] == "python":
            raise _error("CondaValueError", "TEST DOUBLE: the stand-in cannot remove python from an environment")
        unlink.append(rec)
        if not args.dry_run:
            subprocess.run([env_python(prefix), "-m", "pip", "uninstall", "-y", "-q", rec["name"]],
                           capture_output=True, check=False)  # fmt: skip
            for old in os.listdir(os.path.join(prefix, "conda-meta")):
                if old.startswith(rec["name"] + "-") and old.endswith(".json"):
                    os.remove(os.path.join(prefix, "conda-meta", old))
    if not args.dry_run:
        append_history(prefix, ["conda", *sys.argv[1:]], [], [], [u["dist_name"] for u in unlink])
    doc = transaction(prefix, [], [], unlink)
    emit(args, doc, "Executing transaction: done")
    return 0


def cmd_run(args):
    cfg = config()
    prefix = resolve_prefix(args, cfg)
    if not is_env(prefix):
        raise env_not_found(prefix)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise _error("ArgumentError", "No command specified", rc=2)
    env = dict(os.environ)
    bindir = os.path.join(prefix, "Scripts" if os.name == "nt" else "bin")
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["CONDA_PREFIX"] = prefix
    env["CONDA_DEFAULT_ENV"] = env_name(prefix, cfg) or prefix
    env["CONDA_SHLVL"] = "1"
    env.pop("PYTHONHOME", None)
    exe = shutil.which(command[0], path=env["PATH"]) or command[0]
    try:
        proc = subprocess.run([exe, *command[1:]], env=env, cwd=args.cwd, check=False)
    except OSError as exc:
        joined = " ".join(command)
        sys.stderr.write(f"{exc}\nERROR conda.cli.main_run:execute(127): `conda run {joined}` failed.\n")
        return 127
    if proc.returncode:
        joined = " ".join(command)
        sys.stderr.write(
            f"ERROR conda.cli.main_run:execute({proc.returncode}): `conda run {joined}` failed. (See above for error)\n"
        )
    return proc.returncode


def cmd_config(args):
    if not args.show_sources:
        raise _error("ArgumentError", "TEST DOUBLE: the stand-in supports only `conda config --show-sources`", rc=2)
    doc = {}
    for path in condarc_files():
        doc[path] = load_yaml(path)
    envvars = env_config()
    if envvars:
        doc["envvars"] = envvars
    lines = []
    for source, values in doc.items():
        lines.append(f"==> {source} <==")
        for key, value in values.items():
            lines.append(f"{key}: {json.dumps(value)}")
        lines.append("")
    emit(args, doc, "\n".join(lines))
    return 0


def tos_target_root(args):
    if args.tos_root:
        return os.path.expanduser(args.tos_root)
    return {
        "site": "/etc/conda/tos",
        "system": os.path.join(ROOT, "conda-meta", "tos"),
        "env": os.path.join(os.environ.get("CONDA_PREFIX", ROOT), "conda-meta", "tos"),
    }.get(args.location or "user", os.path.join(home(), ".conda", "tos"))


def cmd_tos(args):
    cfg = config()
    channels = effective_channels(args, cfg)
    doc = {}
    lines = []
    for url in channels:
        served = url in TOS_CHANNELS and flavor() == "miniconda"
        if args.tos_cmd in ("accept", "reject"):
            if not served:
                doc[url] = None
                lines.append(f"Terms of Service not found for {url}")
                continue
            doc[url] = write_tos_record(tos_target_root(args), url, args.tos_cmd == "accept")
            lines.append(f"{args.tos_cmd}ed Terms of Service for {url}")
        else:  # view
            record = tos_record(url)
            if record is not None:
                doc[url] = record[2]
            elif served:
                doc[url] = {"version": TOS_VERSION, "text": TOS_TEXT, "support": TOS_SUPPORT}
            else:
                doc[url] = None
            if doc[url] is None:
                lines.append(f"no Terms of Service for {url}")
            else:
                lines += [f"viewing Terms of Service for {url}:", doc[url]["text"]]
    emit(args, doc, "\n".join(lines))
    return 0


# --------------------------------------------------------------------------------------------------- parser
def build_parser():
    parser = argparse.ArgumentParser(prog="conda", description="TEST DOUBLE: torchfleet.lab conda stand-in")
    parser.add_argument("-V", "--version", action="store_true")
    sub = parser.add_subparsers(dest="command")

    def common(p, target=True, channels=False, yes=False):
        p.add_argument("--json", action="store_true")
        p.add_argument("-q", "--quiet", action="store_true")
        p.add_argument("-v", "--verbose", action="count", default=0)
        if target:
            group = p.add_mutually_exclusive_group()
            group.add_argument("-n", "--name")
            group.add_argument("-p", "--prefix")
        if channels:
            p.add_argument("-c", "--channel", action="append", default=[])
            p.add_argument("--override-channels", action="store_true")
        if yes:
            p.add_argument("-y", "--yes", action="store_true")
            p.add_argument("-d", "--dry-run", action="store_true")
        return p

    info = common(sub.add_parser("info"), target=False)
    info.add_argument("--base", action="store_true")
    info.add_argument("-e", "--envs", action="store_true")
    info.set_defaults(func=cmd_info)

    env = sub.add_parser("env")
    env_sub = env.add_subparsers(dest="env_cmd")
    common(env_sub.add_parser("list"), target=False).set_defaults(func=cmd_env_list)
    env_remove = common(env_sub.add_parser("remove"), channels=True, yes=True)
    env_remove.set_defaults(func=cmd_remove, env_remove=True, all=True, packages=[])

    lst = common(sub.add_parser("list"))
    lst.add_argument("--no-pip", action="store_true")
    lst.set_defaults(func=cmd_list)

    for name, func in (("create", cmd_create), ("install", cmd_install), ("update", cmd_install)):
        p = common(sub.add_parser(name), channels=True, yes=True)
        p.add_argument("packages", nargs="*")
        p.set_defaults(func=func)

    for name in ("remove", "uninstall"):
        p = common(sub.add_parser(name), channels=True, yes=True)
        p.add_argument("--all", action="store_true")
        p.add_argument("packages", nargs="*")
        p.set_defaults(func=cmd_remove)

    run = sub.add_parser("run")
    group = run.add_mutually_exclusive_group()
    group.add_argument("-n", "--name")
    group.add_argument("-p", "--prefix")
    run.add_argument("--cwd")
    run.add_argument("-s", "--no-capture-output", "--live-stream", action="store_true")
    run.add_argument("command", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)

    cfg = common(sub.add_parser("config"), target=False)
    cfg.add_argument("--show-sources", action="store_true")
    cfg.set_defaults(func=cmd_config)

    tos = sub.add_parser("tos")
    tos_sub = tos.add_subparsers(dest="tos_cmd")
    for name in ("accept", "reject", "view"):
        p = common(tos_sub.add_parser(name), channels=True)
        where = p.add_mutually_exclusive_group()
        for flag in ("site", "system", "user", "env"):
            where.add_argument("--" + flag, dest="location", action="store_const", const=flag)
        where.add_argument("--tos-root")
        p.set_defaults(func=cmd_tos)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: rc 2, usage on stderr, no JSON (as conda)
    if args.version:
        print(f"conda {conda_version()}")
        return 0
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return func(args)
    except CondaError as exc:
        if getattr(args, "json", False):
            print(json.dumps(exc.dump_map(), indent=2, sort_keys=True))
        else:
            sys.stderr.write(f"\n{exc.name}: {exc.message}\n\n")
        return exc.rc
    except (subprocess.CalledProcessError, OSError) as exc:
        err = _error("CondaError", f"TEST DOUBLE stand-in failure: {exc}")
        if getattr(args, "json", False):
            print(json.dumps(err.dump_map(), indent=2, sort_keys=True))
        else:
            sys.stderr.write(f"\nCondaError: {err.message}\n\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
