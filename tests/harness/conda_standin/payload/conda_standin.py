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
#   remove --all --json -y / env remove; run -p|-n CMD...; config --show-sources --json;
#   tos [--json] (the listing), tos accept|view|reject.
# Each rule names its source beside the code.  Short names used below:
#   conda@26.7.1  = github.com/conda/conda tag 26.7.1  (commit 0bf82da17628130d472f528b29578486f90228b5)
#   conda@24.11.3 = github.com/conda/conda tag 24.11.3 (commit 36797234cc507b96e36f50d7ef4a298635d86e9a)
#   conda@23.5.2  = github.com/conda/conda tag 23.5.2  (commit b91a38a1c6a6aff431416ca3f793d81459a7757b)
#   tos@0.2.2     = github.com/anaconda/conda-anaconda-tos tag 0.2.2 (commit 06c5dfa887a459d9682908684ddcc53723f3647d)
# The simulated conda version comes from the installer's version (installer_info) and selects the
# version-dependent rules.  Not implemented: `#!final`, solver, package cache, revisions, MultiChannel other
# than `defaults`, the terms plugin's one-hour cache of the served terms (tos@0.2.2 plugin.py:51; the
# stand-in always reads what is served now, as `--ignore-cache` does).
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
# The terms the stand-in pretends repo.anaconda.com serves at <channel>/terms.json (tos@0.2.2 remote.py:32,
# models.py:17-31: version, text, support).  A test publishes a revised version by writing a JSON file with
# those keys to TOS_SERVED_FILE (or to the file TORCHFLEET_STANDIN_TOS_SERVED names): TEST DOUBLE knob.
TOS_VERSION = "2025-05-12T00:00:00Z"
TOS_TEXT = "TEST DOUBLE: stand-in text for the Anaconda Terms of Service."
TOS_SUPPORT = "anaconda.com/legal"
TOS_SERVED_FILE = "/etc/torchfleet-standin/anaconda-terms.json"
# The terms plugin needs conda >= 24.11 (tos@0.2.2 recipe/meta.yaml:27, pyproject.toml:21).
TOS_PLUGIN_MIN_CONDA = (24, 11)
# `conda create` validates the target with PrefixData.validate_path()/validate_name() from conda 25.5.0
# (conda@26.7.1 conda/cli/main_create.py:181; 25.3.1 and older call conda/cli/install.py check_prefix()).
PREFIX_DATA_VALIDATION = (25, 5)
# conda@26.7.1 conda/base/constants.py:244 (a set: its printed order varies, as in conda) and :140-143.
PREFIX_NAME_DISALLOWED_CHARS = {"/", " ", ":", "#"}
RESERVED_ENV_NAMES = ("base", "root")
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
        # conda@26.7.1 conda/__init__.py:133-146: public attributes and message kwargs, exception_type,
        # exception_name, message (str), error (repr: "<Name>: <message>", :114-115), caused_by (repr)
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
    # conda@26.7.1 conda/exceptions.py:389-392
    return _error("EnvironmentLocationNotFound", f"Not a conda environment: {prefix}", location=prefix)


def not_an_env(prefix):
    # conda@26.7.1 conda/exceptions.py:418-428
    return _error(
        "DirectoryNotACondaEnvironmentError",
        "The target directory exists, but it is not a conda environment.\n"
        "Use 'conda create' to convert the directory to a conda environment.\n"
        f"  target directory: {prefix}\n",
        target_directory=prefix,
    )


def dashlist(items):
    # conda@26.7.1 conda/common/io.py:86-96: each item on its own line, after a newline
    return "".join("\n  - " + str(x) for x in items)


def packages_not_found(specs, channel_urls):
    # conda@26.7.1 conda/exceptions.py:737-790 (PackagesNotFoundError with channel URLs); dump_map adds the public
    # attributes packages and channel_urls (conda/__init__.py:133-146)
    packages_formatted = dashlist(specs)
    channels_formatted = dashlist(channel_urls)
    message = (
        f"The following packages are not available from current channels:\n{packages_formatted}\n\n"
        f"Current channels:\n{channels_formatted}\n\n"
        "To search for alternate channels that may provide the conda package you're\n"
        "looking for, navigate to\n\n    https://anaconda.org\n\nand use the search bar at the top of the page.\n"
    )
    return _error(
        "PackagesNotFoundError",
        message,
        packages=list(specs),
        channel_urls=list(channel_urls),
        packages_formatted=packages_formatted,
        channels_formatted=channels_formatted,
    )


def packages_not_in_prefix(specs, prefix):
    # conda >= 26.3 remove: PackagesNotFoundInPrefixError(sorted specs, prefix) (conda@26.7.1
    # conda/cli/main_remove.py:236-242), a PackageNotInstalledError (conda/exceptions.py:854-896, 898-910): keys
    # prefix, package_name, packages_formatted; no channel list.
    packages_formatted = dashlist(sorted(specs))
    message = (
        f"The following packages are missing from the target environment:\n  prefix: {prefix}\n{packages_formatted}\n"
    )
    return _error(
        "PackagesNotFoundInPrefixError",
        message,
        prefix=prefix,
        package_name=sorted(specs),
        packages_formatted=packages_formatted,
    )


def _tos_bullets(channels):
    # tos@0.2.2 exceptions.py:100-106 (_bullet) and :109-115 (_get_removal_guidance)
    commands = [f"conda tos accept --override-channels --channel {c}" for c in channels]
    return (
        "\n".join(f"    - {c}" for c in channels)
        + "\n\nTo accept these channels' Terms of Service, run the following commands:\n"
        + "\n".join(f"    {c}" for c in commands)
        + "\n\nFor information on safely removing channels from your conda configuration,\n"
        "please see the official documentation:\n\n"
        "    https://www.anaconda.com/docs/tools/working-with-conda/channels"
    )


def tos_error(channels):
    # CondaToSNonInteractiveError, tos@0.2.2 exceptions.py:77-97
    message = (
        "Terms of Service have not been accepted for the following channels. "
        "Please accept or remove them before proceeding:\n" + _tos_bullets(channels)
    )
    return _error("CondaToSNonInteractiveError", message, module="conda_anaconda_tos.exceptions")


def tos_rejected_error(channels):
    # CondaToSRejectedError, tos@0.2.2 exceptions.py:54-74
    message = (
        "Terms of Service has been rejected for the following channels. "
        "Please remove or accept them before proceeding:\n" + _tos_bullets(channels)
    )
    return _error("CondaToSRejectedError", message, module="conda_anaconda_tos.exceptions")


def command_not_found(command):
    # conda < 23.7: the parser's error() turns argparse's "invalid choice" for the command into
    # CommandNotFoundError when no `conda-<command>` executable exists (conda@23.5.2
    # conda/cli/conda_argparse.py:176-213); message: conda@23.5.2 conda/exceptions.py:331-342 (no close match
    # among conda's commands is simulated).
    return _error("CommandNotFoundError", f"No command 'conda {command}'.", command=command)


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
    # conda@26.7.1 conda/core/prefix_data.py:222-231: conda-meta/history marks an environment
    return os.path.isfile(os.path.join(prefix, "conda-meta", "history"))


def env_python(prefix):
    return os.path.join(prefix, "python.exe") if os.name == "nt" else os.path.join(prefix, "bin", "python")


def dumps(doc, sort=None):
    # indent 2 (conda@26.7.1 conda/common/serialize/json.py:62); conda 25.5 and older sorted the keys
    # (conda@25.5.1 conda/common/serialize.py:67-70), later ones keep insertion order.
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
    """Existing config files, lowest precedence first: conda's SEARCH_PATH (conda/base/constants.py), as
    https://docs.conda.io/projects/conda/en/stable/user-guide/configuration/use-condarc.html#searching-for-condarc
    lists it."""
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
    # tos@0.2.2 path.py:62-75 hash_channel: sha256(channel_location + channel_name)
    rest = url.split("://", 1)[-1]
    location, _sep, name = rest.partition("/")
    return hashlib.sha256((location + name).encode("utf-8")).hexdigest()


def tos_roots():
    """Search path of conda-anaconda-tos, highest priority first (tos@0.2.2 path.py:25-55)."""
    roots = ["/etc/conda/tos", "/var/lib/conda/tos", os.path.join(ROOT, "conda-meta", "tos")]
    if os.environ.get("XDG_CONFIG_HOME"):
        roots.append(os.path.join(os.environ["XDG_CONFIG_HOME"], "conda", "tos"))
    roots += [os.path.join(home(), ".config", "conda", "tos"), os.path.join(home(), ".conda", "tos")]
    if os.environ.get("CONDA_PREFIX"):
        roots.append(os.path.join(os.environ["CONDA_PREFIX"], "conda-meta", "tos"))
    if os.environ.get("CONDATOS"):
        roots.append(os.environ["CONDATOS"])
    return roots


def tos_plugin_present():
    """Whether this simulated conda carries conda-anaconda-tos (Miniconda only; needs conda >= 24.11)."""
    return flavor() == "miniconda" and version_tuple(conda_version()) >= TOS_PLUGIN_MIN_CONDA


def _parse_time(text):
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def served_tos(url):
    """The terms repo.anaconda.com serves for a channel now (TEST DOUBLE), or None where none are served.

    Only the channels behind `defaults` serve terms.json (tos@0.2.2 remote.py:35-68 asks <base_url>/terms.json).
    """
    if url not in TOS_CHANNELS:
        return None
    doc = {"version": TOS_VERSION, "text": TOS_TEXT, "support": TOS_SUPPORT}
    path = os.environ.get("TORCHFLEET_STANDIN_TOS_SERVED") or TOS_SERVED_FILE
    try:
        with open(path) as handle:
            published = json.load(handle)
    except (OSError, ValueError):
        published = None
    if isinstance(published, dict):
        doc.update({k: published[k] for k in ("version", "text", "support") if k in published})
    return doc


def tos_record(url):
    """Newest local record for a channel as (version, path, doc), or None (tos@0.2.2 local.py:78-99)."""
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
                version = _parse_time(doc["version"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if isinstance(doc, dict) and "tos_accepted" in doc:
                found.append((version, path, doc))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    return found[-1]


def tos_pair(url):
    """(local record or None, newer served terms or None, served terms or None): tos@0.2.2 api.py:180-212."""
    served = served_tos(url)
    record = tos_record(url)
    if record is None:
        return None, None, served
    newer = served if served is not None and _parse_time(served["version"]) > record[0] else None
    return record, newer, served


def write_tos_record(root, url, accepted, metadata):
    """Record acceptance or rejection of `metadata` (tos@0.2.2 local.py:24-59, path.py:106-112)."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {
        "version": metadata["version"],
        "text": metadata["text"],
        "support": metadata["support"],
        "base_url": url,
        "tos_accepted": accepted,
        "acceptance_timestamp": now,
    }
    stamp = _parse_time(metadata["version"]).timestamp()
    directory = os.path.join(root, tos_hash(url))
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{stamp}.json")
    with open(path, "w") as handle:
        json.dump(doc, handle)
    return doc, path


def check_tos(args, cfg):
    """conda-anaconda-tos's pre-command check (tos@0.2.2 plugin.py:339-369, console/render.py:275-451)."""
    if not tos_plugin_present():
        return
    rejected = []
    pending = []
    for url in effective_channels(args, cfg):
        record, newer, served = tos_pair(url)
        if record is None:
            if served is not None:
                pending.append((url, served))
        elif newer is not None:
            # A newer version is served: the channel is pending again, whatever was recorded (render.py:294-297).
            pending.append((url, newer))
        elif not record[2].get("tos_accepted"):
            rejected.append(url)
    if rejected:  # render.py:417-420: rejected channels stop the command before anything else
        raise tos_rejected_error(rejected)
    if not pending:
        return
    plugins = cfg.get("plugins") or {}
    auto = _boolish(plugins.get("auto_accept_tos", False)) if isinstance(plugins, dict) else False
    if auto or ci_detected():  # render.py:316-336; accepted into the user root (plugin.py:341)
        for url, metadata in pending:
            write_tos_record(os.path.join(home(), ".conda", "tos"), url, True, metadata)
        return
    # --json, -y or no terminal: no prompt (render.py:338-340, :440-441); the stand-in never prompts.
    raise tos_error([url for url, _metadata in pending])


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
    # conda@26.7.1 conda/core/envs_manager.py:118 list_all_known_prefixes: environments.txt, envs_dirs, root
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
    """conda's PackageRecord.dist_fields_dump() for one record (conda@26.7.1 conda/models/records.py:394-404)."""
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
    # pip-installed distributions: channel pypi, build pypi_0; editable ones <develop>, dev_0
    # (conda@26.7.1 conda/plugins/prefix_data_loaders/pypi/pkg_format.py:1240-1272)
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
    # conda@26.7.1 conda/core/link.py:1315-1343 (FETCH and PREFIX always, UNLINK/LINK when not empty) and
    # conda/cli/install.py:544 handle_txn ({"success", "actions", "prefix"})
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
    # keys of conda@26.7.1 conda/cli/main_info.py:190 get_info_dict; envs_details from 25.11 (:440-470)
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
    # >= 25.11 {"envs", "envs_details"} (conda@26.7.1 conda/cli/main_info.py:515-521); before, the info dict
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


def validate_create_target(prefix, cfg):
    """conda create's checks of the target prefix, for the simulated conda version.

    Returns False where old conda accepts an existing non-environment directory without further checks.
    """
    if version_tuple(conda_version()) >= PREFIX_DATA_VALIDATION:
        # PrefixData.validate_path, conda@26.7.1 conda/core/prefix_data.py:317-353
        if os.pathsep in prefix:  # :339-342
            raise _error("CondaValueError", f"Environment paths cannot contain '{os.pathsep}'. Prefix: '{prefix}'")
        if " " in prefix:  # :344-348, a warning through the "conda" logger (conda/common/io.py:81-83 format)
            sys.stderr.write(
                "WARNING conda.core.prefix_data:validate_path(345): "
                f"Environment paths should not contain spaces. Prefix: '{prefix}'\n"
            )
        if is_env(os.path.dirname(prefix)):  # :349-353
            raise _error(
                "CondaValueError", "Environment paths cannot be immediately nested under another conda environment."
            )
        # PrefixData.validate_name, :355-373; .name is "base" for the root prefix, the directory name inside an
        # envs_dir, else "" (:183-197)
        name = "base" if os.path.realpath(prefix) == os.path.realpath(ROOT) else env_name(prefix, cfg)
        if name in RESERVED_ENV_NAMES:
            raise _error("CondaValueError", f"'{name}' is a reserved environment name")
        if PREFIX_NAME_DISALLOWED_CHARS.intersection(os.path.basename(prefix)):
            raise _error(
                "CondaValueError",
                f"Environment names cannot contain any of these characters: {PREFIX_NAME_DISALLOWED_CHARS}",
            )
        return True
    # conda < 25.5: check_prefix, conda@24.11.3 conda/cli/install.py:98-123
    if os.pathsep in prefix:
        message = f"Cannot create a conda environment with '{os.pathsep}' in the prefix. Aborting."
        raise _error("CondaValueError", message)
    error = "'base' is a reserved environment name" if os.path.basename(prefix) == "base" else None
    if os.path.exists(prefix):
        if os.path.isdir(prefix) and "conda-meta" not in os.listdir(prefix):
            return False  # :108-111: an existing directory without conda-meta is taken as it is
        error = f"prefix already exists: {prefix}"
    if error:
        raise _error("CondaValueError", error)
    if " " in prefix:  # :118-123, through the "conda.stderr" logger (plain message)
        sys.stderr.write(
            "WARNING: A space was detected in your requested environment path:\n"
            f"'{prefix}'\n"
            "Spaces in paths can sometimes be problematic. To minimize issues,\n"
            "make sure you activate your environment before running any executables!\n\n"
        )
    return True


def cmd_create(args):
    cfg = config()
    channels = effective_channels(args, cfg)
    check_tos(args, cfg)  # a pre-command: before create's own checks (conda@26.7.1 conda/cli/conda_argparse.py)
    prefix = resolve_prefix(args, cfg, for_create=True)
    modern = version_tuple(conda_version()) >= PREFIX_DATA_VALIDATION
    if modern:
        validate_create_target(prefix, cfg)  # conda@26.7.1 conda/cli/main_create.py:181
    if is_env(prefix):
        if not modern and os.path.realpath(prefix) == os.path.realpath(ROOT):
            raise _error("CondaValueError", "The target prefix is the base prefix. Aborting.")  # 24.11.3 :127
        if args.dry_run:  # conda@26.7.1 main_create.py:183-189
            raise _error("CondaValueError", "Cannot `create --dry-run` with an existing conda environment")
        # :190-198: an existing environment is removed (after the -y confirmation) BEFORE the packages are solved
        shutil.rmtree(prefix)
        register_env(prefix, add=False)
    elif os.path.isdir(prefix):
        # :199-206: a directory that is not an environment is kept; after the confirmation (-y) conda installs
        # into it.  conda < 25.5 first runs check_prefix on it (conda@24.11.3 main_create.py:143-152).
        if not modern:
            validate_create_target(prefix, cfg)
    elif os.path.lexists(prefix):
        raise _error("CondaValueError", f"TEST DOUBLE: the stand-in cannot create an environment over a file: {prefix}")
    if not modern and not os.path.isdir(prefix):
        validate_create_target(prefix, cfg)  # conda@24.11.3 conda/cli/install.py:205-206 (newenv)
    python_rest, wants_pip = satisfiable(args.packages, channels)
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
    if python_rest is None:
        os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
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
        # conda@26.7.1 conda/cli/install.py:570-577
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
        # conda@26.7.1 conda/cli/main_remove.py:164-190: the target must be an environment (assert_environment:
        # EnvironmentLocationNotFound, DirectoryNotACondaEnvironmentError, conda/core/prefix_data.py:265-287) before
        # the current/base environment checks.  Which of the two CondaEnvironmentError messages base gets depends on
        # context.default_prefix; the stand-in reports the base one.
        if not os.path.isdir(prefix):
            raise env_not_found(prefix)
        if not is_env(prefix):
            raise not_an_env(prefix)
        if os.path.realpath(prefix) == os.path.realpath(ROOT):
            raise _error("CondaEnvironmentError", "cannot remove root environment, add -n NAME or -p PREFIX option")
        active = os.environ.get("CONDA_PREFIX")
        if active and os.path.realpath(prefix) == os.path.realpath(active):
            raise _error(
                "CondaEnvironmentError", "Cannot remove current environment. Deactivate and run conda remove again"
            )
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
        if version_tuple(conda_version()) >= (26, 3):
            raise packages_not_in_prefix(missing, prefix)
        raise packages_not_found(missing, effective_channels(args, cfg))
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
    if proc.returncode:  # the child's rc, with this log line (conda@26.7.1 conda/cli/main_run.py:140-152)
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
    # --site/--system/--user/--env/--tos-root, default --user (tos@0.2.2 plugin.py:47-48, :81-102, path.py:25-35)
    if args.tos_root:
        return os.path.expanduser(args.tos_root)
    return {
        "site": "/etc/conda/tos",
        "system": os.path.join(ROOT, "conda-meta", "tos"),
        "env": os.path.join(os.environ.get("CONDA_PREFIX", ROOT), "conda-meta", "tos"),
    }.get(args.location or "user", os.path.join(home(), ".conda", "tos"))


def _tos_list(channels):
    """`conda tos` without a subcommand (tos@0.2.2 console/render.py:94-148, api.py:274-299).

    Each channel: its newest local record (or the served terms where none is recorded) plus "outdated" (a newer
    version is served than the one recorded) and "path" (the record's file; "None" without one); null where the
    channel serves no terms.  Channels recorded elsewhere follow the asked ones.
    """
    doc = {}
    lines = []
    for url in list(channels) + [u for u in TOS_CHANNELS if u not in channels]:
        record, newer, served = tos_pair(url)
        if url not in channels and (record is None or served is None):
            continue  # api.py:215-239 lists other stored channels only where terms are still served
        if record is None and served is None:
            doc[url] = None
            lines.append(f"{url:<45} -")
            continue
        metadata = record[2] if record is not None else served
        doc[url] = dict(metadata, outdated=newer is not None, path=str(record[1]) if record else "None")
        state = "-" if record is None else ("accepted" if metadata.get("tos_accepted") else "rejected")
        lines.append(f"{url:<45} {metadata['version']}{'*' if newer else ''}  {state}")
    if any(v and v["outdated"] for v in doc.values()):
        lines.append("* Terms of Service version(s) are outdated.")  # render.py:51
    return doc, lines


def cmd_tos(args):
    cfg = config()
    channels = effective_channels(args, cfg)
    if args.tos_cmd is None:
        doc, lines = _tos_list(channels)
        emit(args, doc, "\n".join(lines))
        return 0
    doc = {}
    lines = []
    for url in channels:
        record, newer, served = tos_pair(url)
        if record is None and served is None:  # CondaToSMissingError (api.py:195-203)
            doc[url] = None
            lines.append(
                f"no Terms of Service for {url}" if args.tos_cmd == "view" else f"Terms of Service not found for {url}"
            )
            continue
        if args.tos_cmd in ("accept", "reject"):
            # api.py:242-271: the newer served version if there is one, else the recorded or served one.
            metadata = newer or (record[2] if record is not None else served)
            doc[url], _path = write_tos_record(tos_target_root(args), url, args.tos_cmd == "accept", metadata)
            lines.append(f"{args.tos_cmd}ed Terms of Service for {url}")
        else:
            # view: render.py:151-180 shows get_one_tos(...).metadata, the LOCAL record where there is one, even
            # when a newer version is served (which only the listing's "outdated" reveals).
            doc[url] = record[2] if record is not None else served
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

    if tos_plugin_present():
        # tos@0.2.2 plugin.py:134-248: `tos` itself lists (with -c/--override-channels, cache flags, --json),
        # subcommands accept/reject/view take a storage location too.  interactive/info/clean: not simulated.
        def cache_flags(p):
            group = p.add_mutually_exclusive_group()
            group.add_argument("--cache-timeout", type=int)
            group.add_argument("--ignore-cache", dest="cache_timeout", action="store_const", const=0)

        tos = common(sub.add_parser("tos"), channels=True)
        cache_flags(tos)
        tos.set_defaults(func=cmd_tos, tos_cmd=None)
        tos_sub = tos.add_subparsers(dest="tos_cmd")
        for name in ("accept", "reject", "view"):
            p = common(tos_sub.add_parser(name), channels=True)
            cache_flags(p)
            where = p.add_mutually_exclusive_group()
            for flag in ("site", "system", "user", "env"):
                where.add_argument("--" + flag, dest="location", action="store_const", const=flag)
            where.add_argument("--tos-root")
            p.set_defaults(func=cmd_tos, location=None, tos_root=None)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    command = next((a for a in argv if not a.startswith("-")), None)
    known = parser._subparsers._group_actions[0].choices  # argparse has no public accessor
    if command is not None and command not in known and version_tuple(conda_version()) < (23, 7):
        # conda < 23.7 raises CommandNotFoundError (rc 1, message on stderr: the context has not read --json yet,
        # conda@23.5.2 conda/cli/main.py:63-75, conda/exceptions.py:1239-1259); conda >= 23.7 lets argparse
        # print "invalid choice" with rc 2 (conda@24.11.3 conda/cli/conda_argparse.py, no error() override).
        exc = command_not_found(command)
        sys.stderr.write(f"\n{exc.name}: {exc.message}\n\n")
        return exc.rc
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
        # with --json the error JSON (sorted keys) on stdout when rc != 0, else "\n<Name>: <message>\n" on stderr
        # (conda@26.7.1 conda/exceptions.py:1806 print_conda_exception; conda@23.5.2 :1239-1259)
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
