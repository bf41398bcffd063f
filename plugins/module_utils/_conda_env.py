# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of ``torchfleet.lab.conda_env``, shared by the module (Linux, macOS) and its action (Windows).

Ansible runs only PowerShell modules on Windows, so for a Windows host the ``conda_env`` action plugin runs this
same logic on the controller and carries out each command with ``ansible.windows.win_command``.  What differs
is behind a small host interface:

- ``host.system``: Linux, Darwin or Windows (paths are joined and compared the way that OS does it);
- ``host.check_mode``;
- ``host.run(argv, read_only)`` -> ``(rc, stdout, stderr)``; only read-only commands run in check mode;
- ``host.is_file(path)``, ``host.usable_dir(path)`` (writable, or creatable), ``host.abspath(path)``.

Failures raise :class:`CondaEnvError`; the result is a plain dict for ``exit_json``.  Standard library only,
Python 3.8 syntax (the module ships it to managed hosts).
"""

from __future__ import annotations

import ntpath
import posixpath
import re
from typing import List, NamedTuple, Optional

from ansible_collections.torchfleet.lab.plugins.module_utils import _conda, _validate

ARGUMENT_SPEC = {
    "name": {"type": "str"},
    "prefix": {"type": "path"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "conda": {"type": "path"},
    "python": {"type": "str"},
    "packages": {"type": "list", "elements": "str", "default": []},
    "channels": {"type": "list", "elements": "str", "default": []},
    "override_channels": {"type": "bool", "default": False},
    "pip_requirements": {"type": "list", "elements": "str", "default": []},
    "pip_index_url": {"type": "str"},
    "pip_build_index_url": {"type": "str"},
    "pip_reinstall": {"type": "bool", "default": False},
    "pip_extra_index_urls": {"type": "list", "elements": "str", "default": []},
    "pip_trusted_hosts": {"type": "list", "elements": "str", "default": []},
    "pip_extra_args": {"type": "list", "elements": "str", "default": []},
    "force_recreate": {"type": "bool", "default": False},
}
MUTUALLY_EXCLUSIVE = [("name", "prefix")]
REQUIRED_ONE_OF = [("name", "prefix")]


class CondaEnvError(Exception):
    """A failure; ``result`` holds the extra keys for ``fail_json`` (cmd, rc, stdout, stderr, exception_name)."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def path_module(system):
    return ntpath if system == "Windows" else posixpath


def same_path(a, b, system):
    """Paths compare exactly on POSIX and case-insensitively, either slash, on Windows."""
    if system != "Windows":
        return a == b
    return ntpath.normcase(ntpath.normpath(a)) == ntpath.normcase(ntpath.normpath(b))


# --------------------------------------------------------------------------------------------------- commands
def target_args(params, prefix=None):
    if prefix:
        return ["-p", prefix]
    if params["prefix"]:
        return ["-p", params["prefix"]]
    return ["-n", params["name"]]


def channel_args(params):
    args = []
    for channel in params["channels"]:
        args += ["-c", channel]
    if params["override_channels"]:
        args.append("--override-channels")
    return args


def conda_specs(params):
    specs = list(params["packages"])
    names = {(_conda.parse_conda_spec(s) or (s, []))[0] for s in specs}
    if params["pip_requirements"] and "pip" not in names:
        specs.append("pip")
    return specs


def python_spec(params):
    return "python={}".format(params["python"]) if params["python"] else None


# pip is run isolated from the host's configuration, so that the index given here is the only one it uses:
# --isolated ignores the PIP_* environment variables and the user's configuration files
# (https://pip.pypa.io/en/stable/cli/pip/#cmdoption-isolated), and PIP_CONFIG_FILE=os.devnull skips every
# configuration file, the global /etc/pip.conf and /etc/xdg/pip/pip.conf and the environment's own pip.conf
# included (https://pip.pypa.io/en/stable/topics/configuration/#location: "if PIP_CONFIG_FILE is set to
# os.devnull ... no configuration files are loaded"; pypa/pip src/pip/_internal/configuration.py,
# Configuration._load_config_files).  The variable is set inside the interpreter that runs pip, so the argument
# vector alone carries it on Linux, macOS and Windows (os.devnull is /dev/null or nul on the host itself).
PIP_LAUNCHER = (
    "import os, runpy, sys; os.environ['PIP_CONFIG_FILE'] = os.devnull; sys.argv = sys.argv[1:]; "
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)


class PipRun(NamedTuple):
    """How one pip run differs from the plain install of the requirements from the module's indexes."""

    dry_run: bool = False
    index_url: Optional[str] = None  # None: pip_index_url
    extra_index_urls: Optional[List[str]] = None  # None: pip_extra_index_urls
    no_deps: bool = False
    force: bool = False


def pip_command(params, prefix, requirements, system, how=None):
    how = how or PipRun()
    # python -c LAUNCHER pip install ...: sys.argv is ['-c', 'pip', 'install', ...]; the launcher drops '-c'.
    cmd = [_conda.env_python_path(prefix, system), "-c", PIP_LAUNCHER, "pip", "install", "--isolated", "--no-input"]
    cmd.append("--disable-pip-version-check")
    if how.dry_run:
        cmd.append("--dry-run")
    if how.force:
        cmd.append("--force-reinstall")
    if how.no_deps:
        cmd.append("--no-deps")
    index_url = params["pip_index_url"] if how.index_url is None else how.index_url
    if index_url:
        cmd += ["--index-url", index_url]
    for url in params["pip_extra_index_urls"] if how.extra_index_urls is None else how.extra_index_urls:
        cmd += ["--extra-index-url", url]
    for host in params["pip_trusted_hosts"]:
        cmd += ["--trusted-host", host]
    return cmd + list(params["pip_extra_args"]) + list(requirements)


def pip_commands(params, prefix, requirements, system):
    """The pip runs that install ``requirements``: one, or two when a build index serves them.

    pip has no per-package index: every index given is searched for every name and the best version wins
    (https://pip.pypa.io/en/stable/cli/pip_install/#finding-packages, "pip looks for packages in a number of
    places ... all of them"), so a general index holding a higher torch would win (dependency confusion).  With
    ``pip_build_index_url`` the requirements themselves are therefore installed first from that index alone with
    --no-deps; the second run then only adds their dependencies, from ``pip_index_url`` with the build index as
    extra (PyTorch's indexes carry copies of many dependencies; a dependency only the general index has, such as
    cuda-bindings for cu130, pytorch/pytorch#172926, comes from there).  In that second run the requirements are
    already installed and satisfied, and pip keeps a satisfied requirement unless told to upgrade
    (https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-upgrade-strategy).
    """
    build = params.get("pip_build_index_url")
    general = params["pip_index_url"]
    # pip_reinstall: the requirements are met by another build (a local label pip ignores); --force-reinstall
    # replaces them, --no-deps keeps it from reinstalling every dependency too.
    force = bool(params.get("pip_reinstall"))
    if not build or build == general:
        if not force:
            return [pip_command(params, prefix, requirements, system)]
        build = general
    extra = [u for u in [build, *params["pip_extra_index_urls"]] if u and u != general]
    extra = [u for i, u in enumerate(extra) if u not in extra[:i]]
    first = pip_command(
        params, prefix, requirements, system, PipRun(index_url=build, extra_index_urls=[], no_deps=True, force=force)
    )
    return [first, pip_command(params, prefix, requirements, system, PipRun(extra_index_urls=extra))]


# --------------------------------------------------------------------------------------------------- credentials
# A command line is readable by every local user (ps, /proc/<pid>/cmdline; proc(5)), so a URL with a user or a
# password is refused here rather than put on conda's or pip's argv.  pip reads credentials from the netrc
# file named by NETRC in its environment, even with --isolated (pypa/pip src/pip/_internal/network/auth.py,
# MultiDomainBasicAuth._get_new_credentials -> psf/requests src/requests/utils.py get_netrc_auth); the
# pytorch_env role writes such a file for the URLs it is given and passes them here without credentials.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]+)@")
URL_OPTIONS = ("pip_index_url", "pip_build_index_url", "pip_extra_index_urls", "pip_extra_args", "channels")


def check_no_credentials(params):
    """Refuse, before anything runs, a URL with credentials in any option that ends up on a command line."""
    for option in URL_OPTIONS:
        value = params.get(option)
        for item in [value] if isinstance(value, str) else list(value or []):
            if isinstance(item, str) and _USERINFO.search(item):
                where = "conda's" if option == "channels" else "pip's"
                fix = (
                    "Give the channel without them and set its credentials in the .condarc instead"
                    if option == "channels"
                    else "Give the URL without them and put them in a netrc file named by NETRC in the task's "
                    "environment (pip reads it, even with --isolated); the pytorch_env role does this for you"
                )
                raise CondaEnvError(
                    f"{option} carries a user or password ({_validate.redact_text(item)}): on {where} command line "
                    f"every local user could read it (ps, /proc/PID/cmdline). {fix}. Nothing was changed.",
                    option=option,
                )


# --------------------------------------------------------------------------------------------------- logic
class CondaEnv:
    def __init__(self, params, host, conda):
        self.params = params
        self.host = host
        self.conda = conda
        self.system = host.system
        self.paths = path_module(host.system)

    # ------------------------------------------------------------------ running conda
    def run_conda(self, args, what, read_only=True):
        cmd = [self.conda, *args]
        rc, out, err = self.host.run(cmd, read_only)
        if rc != 0:
            self.fail_conda(what, cmd, rc, out, err)
        try:
            doc = _conda.parse_conda_json(out)
        except ValueError:
            raise CondaEnvError(f"conda {what} printed no JSON", cmd=cmd, rc=rc, stdout=out, stderr=err) from None
        return doc

    @staticmethod
    def fail_conda(what, cmd, rc, out, err):
        message, name = _conda.conda_error(out, err)
        msg = f"conda {what} failed: {message}"
        if name == _conda.TOS_ERROR:
            msg = f"{msg}\n\n{_conda.tos_hint()}"
        raise CondaEnvError(msg, exception_name=name, cmd=cmd, rc=rc, stdout=out, stderr=err)

    # ------------------------------------------------------------------ state
    def _is_env(self, candidate, envs):
        if any(same_path(candidate, env, self.system) for env in envs):
            return True
        return self.host.is_file(self.paths.join(candidate, "conda-meta", "history"))

    def locate(self):
        """Return (prefix, exists)."""
        envs = _conda.env_prefixes(self.run_conda(["env", "list", "--json"], "env list"))
        if self.params["prefix"]:
            prefix = self.host.abspath(self.params["prefix"])
            return prefix, self._is_env(prefix, envs)
        name = self.params["name"]
        info = self.run_conda(["info", "--json"], "info")
        info = info if isinstance(info, dict) else {}
        root = info.get("root_prefix")
        if name in ("base", "root") and root:
            return root, True
        dirs = info.get("envs_dirs") or []
        for directory in dirs:
            candidate = self.paths.join(directory, name)
            if self._is_env(candidate, envs):
                return candidate, True
        for prefix in envs:
            if self.paths.basename(prefix.rstrip("/\\")) == name and not (
                root and same_path(prefix, root, self.system)
            ):
                return prefix, True
        for directory in dirs:
            if self.host.usable_dir(directory):
                return self.paths.join(directory, name), False
        return (self.paths.join(dirs[0], name) if dirs else name), False

    def list_packages(self, prefix):
        records = self.run_conda(["list", "--json", "-p", prefix], "list")
        return records if isinstance(records, list) else []

    # ------------------------------------------------------------------ main logic
    def run(self):
        check_no_credentials(self.params)
        prefix, exists = self.locate()
        if self.params["state"] == "absent":
            return self.absent(prefix, exists)
        return self.present(prefix, exists)

    def absent(self, prefix, exists):
        result = {"prefix": prefix, "python": _conda.env_python_path(prefix, self.system), "packages": {},
                  "created": False, "installed": []}  # fmt: skip
        if not exists:
            result["diff"] = {"before": {"state": "absent"}, "after": {"state": "absent"}}
            return dict(result, changed=False)
        before = _conda.packages_from_list(self.list_packages(prefix))
        if not self.host.check_mode:
            self.run_conda(["remove", "--all", "-y", "--json", "-p", prefix], "remove", read_only=False)
        result["diff"] = {"before": {"state": "present", "prefix": prefix, "packages": before},
                          "after": {"state": "absent"}}  # fmt: skip
        return dict(result, changed=True)

    def present(self, prefix, exists):
        params = self.params
        before = _conda.packages_from_list(self.list_packages(prefix)) if exists else {}
        recreate = exists and (
            params["force_recreate"]
            or (params["python"] and not _conda.python_matches(before.get("python"), params["python"]))
        )
        created = bool(not exists or recreate)
        if created:
            prefix, installed = self.create(prefix, exists)
            current = {}
        else:
            installed = self.install_missing(prefix, before)
            current = before
        if params["pip_requirements"] and not self.host.check_mode and (created or installed):
            current = _conda.packages_from_list(self.list_packages(prefix))
        installed += self.pip_install(prefix, current, created)
        changed = created or bool(installed)
        check = self.host.check_mode
        after = dict(before) if check or not changed else _conda.packages_from_list(self.list_packages(prefix))
        after_state = {"install": installed} if check else {"packages": after}
        return {
            "changed": changed,
            "prefix": prefix,
            "python": _conda.env_python_path(prefix, self.system),
            "packages": after if not check else before,
            "created": created,
            "installed": installed,
            "diff": {
                "before": {"state": "present", "prefix": prefix, "packages": before} if exists else {"state": "absent"},
                "after": {"state": "present", "prefix": prefix, **after_state, "recreated": bool(recreate)},
            },
        }

    def create(self, prefix, exists):
        """Create the environment (or say what creating it would install): its prefix and what was installed."""
        params = self.params
        specs = conda_specs(params)
        py_spec = python_spec(params)
        create_specs = ([py_spec] if py_spec else []) + specs
        if (
            not py_spec
            and params["pip_requirements"]
            and not any((_conda.parse_conda_spec(s) or ("",))[0] == "python" for s in specs)
        ):
            create_specs.insert(0, "python")
        if self.host.check_mode:
            return prefix, create_specs
        target = ["-p", prefix] if (exists or params["prefix"]) else target_args(params)
        doc = self.run_conda(
            ["create", "--json", "-y", *target, *channel_args(params), *create_specs], "create", read_only=False
        )
        prefix = doc.get("prefix") or (doc.get("actions") or {}).get("PREFIX") or prefix
        return prefix, _conda.installed_from_transaction(doc)

    def install_missing(self, prefix, current):
        """Install the conda specs ``current`` does not meet (or name them in check mode)."""
        missing = [s for s in conda_specs(self.params) if not _conda.conda_spec_satisfied(s, current)]
        if not missing or self.host.check_mode:
            return missing
        doc = self.run_conda(
            ["install", "--json", "-y", "-p", prefix, *channel_args(self.params), *missing], "install", read_only=False
        )
        return _conda.installed_from_transaction(doc)

    def pip_install(self, prefix, current, created):
        """Install the pip requirements ``current`` does not meet: what was (or would be) installed."""
        params = self.params
        requirements = list(params["pip_requirements"])
        unmet = [r for r in requirements if params.get("pip_reinstall")
                 or not _conda.requirement_satisfied(r, current)]  # fmt: skip
        if not unmet:
            return []
        if self.host.check_mode:
            unparsable = [r for r in unmet if _conda.parse_requirement(r) is None]
            if created or len(unparsable) < len(unmet):
                return unmet
            # Only requirements this module cannot judge: ask pip, which writes nothing with --dry-run.
            build = params.get("pip_build_index_url")
            extra = ([build] if build else []) + list(params["pip_extra_index_urls"])
            cmd = pip_command(params, prefix, requirements, self.system, PipRun(dry_run=True, extra_index_urls=extra))
            rc, out, _err = self.host.run(cmd, True)
            return _conda.parse_pip_would_install(out) if rc == 0 else unmet
        installed = []
        for cmd in pip_commands(params, prefix, requirements, self.system):
            rc, out, err = self.host.run(cmd, False)
            if rc != 0:
                raise CondaEnvError(
                    f"pip install failed in {prefix}: {(err or out).strip()[-2000:]}",
                    cmd=cmd, rc=rc, stdout=out, stderr=err,
                )  # fmt: skip
            installed += _conda.parse_pip_installed(out)
        return installed
