#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: conda_env
short_description: Manage a conda environment and the pip requirements inside it
version_added: 0.1.0
description:
  - Creates or removes a conda environment, installs missing conda packages into it, and installs pip requirements
    with the environment's own Python.
  - State is read from C(conda env list --json) and C(conda list --json); nothing is installed when the requested
    conda specs and pip requirements are already satisfied, so the module is idempotent.
  - Pip requirements the module cannot judge (URLs, markers, paths) are handed to pip; the task then reports a change
    only when pip says it installed something.
  - Anaconda's channel terms are never accepted by this module. When conda refuses with
    C(CondaToSNonInteractiveError) the failure names the role variable that accepts them.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  name:
    description:
      - Name of the environment, resolved by conda against its C(envs_dirs).
      - Mutually exclusive with O(prefix); one of the two is required.
    type: str
  prefix:
    description:
      - Full path of the environment.
      - Mutually exclusive with O(name); one of the two is required.
    type: path
  state:
    description:
      - V(present) creates the environment and installs what is missing; V(absent) removes the whole environment.
    type: str
    choices: [present, absent]
    default: present
  conda:
    description:
      - Path of the conda executable. By default C(conda) is looked up on E(PATH).
    type: path
  python:
    description:
      - Python version of the environment, for example V(3.11). On creation it becomes the spec C(python=3.11).
      - When an existing environment has a different Python version it is removed and created again.
    type: str
  packages:
    description:
      - Conda package specs, for example V(numpy>=1.26) or V(pip).
      - C(pip) is added automatically when O(pip_requirements) is given.
    type: list
    elements: str
    default: []
  channels:
    description:
      - Channels passed to conda with C(-c), in order.
    type: list
    elements: str
    default: []
  override_channels:
    description:
      - Pass C(--override-channels) so that only O(channels) are searched, not those of C(.condarc).
    type: bool
    default: false
  pip_requirements:
    description:
      - Pip requirement strings installed with the environment's Python, for example V(torch==2.13.0).
    type: list
    elements: str
    default: []
  pip_index_url:
    description:
      - Base URL of the Python package index (C(pip --index-url)).
    type: str
  pip_extra_index_urls:
    description:
      - Extra package indexes (C(pip --extra-index-url)), in order.
    type: list
    elements: str
    default: []
  pip_trusted_hosts:
    description:
      - Hosts pip trusts without valid HTTPS (C(pip --trusted-host)).
    type: list
    elements: str
    default: []
  pip_extra_args:
    description:
      - Further arguments passed to C(pip install) before the requirements.
    type: list
    elements: str
    default: []
  force_recreate:
    description:
      - Remove and create the environment even when it exists.
      - The task then always reports a change.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
notes:
  - Conda is always run with C(--json) and C(-y).
  - The environment's interpreter is C(PREFIX/bin/python) (C(PREFIX\python.exe) on Windows).
seealso:
  - module: torchfleet.lab.torch_info
"""

EXAMPLES = r"""
- name: Create the PyTorch environment with the CPU build of torch
  torchfleet.lab.conda_env:
    name: torch
    conda: /opt/miniforge3/bin/conda
    python: "3.11"
    pip_requirements:
      - torch==2.13.0
    pip_index_url: https://download.pytorch.org/whl/cpu

- name: Create an environment at a fixed path from conda-forge only
  torchfleet.lab.conda_env:
    prefix: /opt/envs/lab
    python: "3.12"
    packages:
      - numpy>=1.26
    channels:
      - conda-forge
    override_channels: true

- name: Remove an environment
  torchfleet.lab.conda_env:
    name: scratch
    state: absent
"""

RETURN = r"""
prefix:
  description: Full path of the environment.
  returned: always
  type: str
  sample: /opt/miniforge3/envs/torch
python:
  description: Path of the environment's Python interpreter.
  returned: always
  type: str
  sample: /opt/miniforge3/envs/torch/bin/python
packages:
  description:
    - Installed packages after the run, normalised name to version, from C(conda list --json).
    - In check mode, the packages found before the run.
  returned: always
  type: dict
  sample: {"python": "3.11.9", "pip": "24.2", "torch": "2.13.0+cpu"}
created:
  description: Whether the environment was created (or, in check mode, would be).
  returned: always
  type: bool
  sample: true
installed:
  description:
    - What was installed, as C(name-version) from conda's LINK actions and pip's C(Successfully installed) line.
    - In check mode, the specs and requirements that would be installed.
  returned: always
  type: list
  elements: str
  sample: ["python-3.11.9", "pip-24.2", "torch-2.13.0+cpu"]
exception_name:
  description: Conda's exception name when conda failed.
  returned: failure
  type: str
  sample: CondaToSNonInteractiveError
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda


class CondaEnv:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.conda = self.params["conda"] or module.get_bin_path("conda", required=True)
        self.system = platform.system()

    # ------------------------------------------------------------------ running conda
    def run_conda(self, args, what, check_rc=True):
        cmd = [self.conda, *args]
        rc, out, err = self.module.run_command(cmd)
        if rc != 0 and check_rc:
            self.fail_conda(what, cmd, rc, out, err)
        try:
            doc = _conda.parse_conda_json(out)
        except ValueError:
            if not check_rc:
                return rc, None, out, err
            self.module.fail_json(
                msg=f"conda {what} printed no JSON", cmd=cmd, rc=rc, stdout=out, stderr=err
            )  # fmt: skip
        return rc, doc, out, err

    def fail_conda(self, what, cmd, rc, out, err):
        message, name = _conda.conda_error(out, err)
        msg = f"conda {what} failed: {message}"
        if name == _conda.TOS_ERROR:
            msg = f"{msg}\n\n{_conda.tos_hint()}"
        self.module.fail_json(msg=msg, exception_name=name, cmd=cmd, rc=rc, stdout=out, stderr=err)

    def target_args(self, prefix=None):
        if prefix:
            return ["-p", prefix]
        if self.params["prefix"]:
            return ["-p", self.params["prefix"]]
        return ["-n", self.params["name"]]

    def channel_args(self):
        args = []
        for channel in self.params["channels"]:
            args += ["-c", channel]
        if self.params["override_channels"]:
            args.append("--override-channels")
        return args

    # ------------------------------------------------------------------ state
    def locate(self):
        """Return (prefix, exists)."""
        _rc, envs_doc, _out, _err = self.run_conda(["env", "list", "--json"], "env list")
        envs = _conda.env_prefixes(envs_doc)
        if self.params["prefix"]:
            prefix = os.path.abspath(self.params["prefix"])
            exists = prefix in envs or os.path.isfile(os.path.join(prefix, "conda-meta", "history"))
            return prefix, exists
        name = self.params["name"]
        _rc, info, _out, _err = self.run_conda(["info", "--json"], "info")
        info = info if isinstance(info, dict) else {}
        root = info.get("root_prefix")
        if name in ("base", "root") and root:
            return root, True
        dirs = info.get("envs_dirs") or []
        for directory in dirs:
            candidate = os.path.join(directory, name)
            if candidate in envs or os.path.isfile(os.path.join(candidate, "conda-meta", "history")):
                return candidate, True
        for prefix in envs:
            if os.path.basename(prefix.rstrip("/\\")) == name and prefix != root:
                return prefix, True
        for directory in dirs:
            if os.access(directory, os.W_OK) or (not os.path.exists(directory) and self._creatable(directory)):
                return os.path.join(directory, name), False
        return (os.path.join(dirs[0], name) if dirs else name), False

    @staticmethod
    def _creatable(directory):
        probe = directory
        while probe and not os.path.exists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                return False
            probe = parent
        return os.access(probe, os.W_OK)

    def list_packages(self, prefix):
        _rc, records, _out, _err = self.run_conda(["list", "--json", "-p", prefix], "list")
        return records if isinstance(records, list) else []

    # ------------------------------------------------------------------ main logic
    def python_spec(self):
        return "python={}".format(self.params["python"]) if self.params["python"] else None

    def conda_specs(self):
        specs = list(self.params["packages"])
        names = {(_conda.parse_conda_spec(s) or (s, []))[0] for s in specs}
        if self.params["pip_requirements"] and "pip" not in names:
            specs.append("pip")
        return specs

    def pip_command(self, prefix, requirements, dry_run=False):
        cmd = [_conda.env_python_path(prefix, self.system), "-m", "pip", "install", "--no-input"]
        cmd.append("--disable-pip-version-check")
        if dry_run:
            cmd.append("--dry-run")
        if self.params["pip_index_url"]:
            cmd += ["--index-url", self.params["pip_index_url"]]
        for url in self.params["pip_extra_index_urls"]:
            cmd += ["--extra-index-url", url]
        for host in self.params["pip_trusted_hosts"]:
            cmd += ["--trusted-host", host]
        return cmd + list(self.params["pip_extra_args"]) + list(requirements)

    def absent(self, prefix, exists):
        result = {"prefix": prefix, "python": _conda.env_python_path(prefix, self.system), "packages": {},
                  "created": False, "installed": []}  # fmt: skip
        if not exists:
            result["diff"] = {"before": {"state": "absent"}, "after": {"state": "absent"}}
            self.module.exit_json(changed=False, **result)
        before = _conda.packages_from_list(self.list_packages(prefix))
        if not self.module.check_mode:
            self.run_conda(["remove", "--all", "-y", "--json", "-p", prefix], "remove")
        result["diff"] = {"before": {"state": "present", "prefix": prefix, "packages": before},
                          "after": {"state": "absent"}}  # fmt: skip
        self.module.exit_json(changed=True, **result)

    def present(self, prefix, exists):
        params = self.params
        check = self.module.check_mode
        before_records = self.list_packages(prefix) if exists else []
        before = _conda.packages_from_list(before_records)
        recreate = exists and (
            params["force_recreate"]
            or (params["python"] and not _conda.python_matches(before.get("python"), params["python"]))
        )
        create = not exists or recreate
        installed = []
        created = False
        specs = self.conda_specs()
        python_spec = self.python_spec()

        # conda: create, or install what is missing
        if create:
            create_specs = ([python_spec] if python_spec else []) + specs
            if (
                not python_spec
                and params["pip_requirements"]
                and not any((_conda.parse_conda_spec(s) or ("",))[0] == "python" for s in specs)
            ):
                create_specs.insert(0, "python")
            if check:
                installed += create_specs
            else:
                target = ["-p", prefix] if (exists or params["prefix"]) else self.target_args()
                _rc, doc, _o, _e = self.run_conda(
                    ["create", "--json", "-y", *target, *self.channel_args(), *create_specs], "create"
                )  # fmt: skip
                prefix = doc.get("prefix") or (doc.get("actions") or {}).get("PREFIX") or prefix
                installed += _conda.installed_from_transaction(doc)
            created = True
            current = {}
        else:
            current = before
            missing = [s for s in specs if not _conda.conda_spec_satisfied(s, current)]
            if missing:
                if check:
                    installed += missing
                else:
                    _rc, doc, _o, _e = self.run_conda(
                        ["install", "--json", "-y", "-p", prefix, *self.channel_args(), *missing], "install"
                    )  # fmt: skip
                    installed += _conda.installed_from_transaction(doc)

        # pip
        pip_changed = False
        requirements = list(params["pip_requirements"])
        if requirements:
            if not check and (created or installed):
                current = _conda.packages_from_list(self.list_packages(prefix))
            unmet = [r for r in requirements if not _conda.requirement_satisfied(r, current)]
            if unmet and check:
                unparsable = [r for r in unmet if _conda.parse_requirement(r) is None]
                if created or len(unparsable) < len(unmet):
                    installed += unmet
                    pip_changed = True
                else:
                    # Only requirements this module cannot judge: ask pip, which writes nothing with --dry-run.
                    rc, out, _err = self.module.run_command(self.pip_command(prefix, requirements, dry_run=True))
                    would = _conda.parse_pip_would_install(out) if rc == 0 else unmet
                    installed += would
                    pip_changed = bool(would)
            elif unmet:
                cmd = self.pip_command(prefix, requirements)
                rc, out, err = self.module.run_command(cmd)
                if rc != 0:
                    self.module.fail_json(
                        msg=f"pip install failed in {prefix}: {(err or out).strip()[-2000:]}",
                        cmd=cmd, rc=rc, stdout=out, stderr=err,
                    )  # fmt: skip
                done = _conda.parse_pip_installed(out)
                installed += done
                pip_changed = bool(done)

        changed = created or bool(installed) or pip_changed
        after = dict(before) if check or not changed else _conda.packages_from_list(self.list_packages(prefix))
        result = {
            "prefix": prefix,
            "python": _conda.env_python_path(prefix, self.system),
            "packages": after if not check else before,
            "created": created,
            "installed": installed,
            "diff": {
                "before": {"state": "present", "prefix": prefix, "packages": before} if exists else {"state": "absent"},
                "after": {"state": "present", "prefix": prefix, "packages": after, "recreated": bool(recreate)}
                if not check
                else {"state": "present", "prefix": prefix, "install": installed, "recreated": bool(recreate)},
            },
        }
        self.module.exit_json(changed=changed, **result)


def main():
    module = AnsibleModule(
        argument_spec={
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
            "pip_extra_index_urls": {"type": "list", "elements": "str", "default": []},
            "pip_trusted_hosts": {"type": "list", "elements": "str", "default": []},
            "pip_extra_args": {"type": "list", "elements": "str", "default": []},
            "force_recreate": {"type": "bool", "default": False},
        },
        mutually_exclusive=[("name", "prefix")],
        required_one_of=[("name", "prefix")],
        supports_check_mode=True,
    )
    env = CondaEnv(module)
    prefix, exists = env.locate()
    if module.params["state"] == "absent":
        env.absent(prefix, exists)
    else:
        env.present(prefix, exists)


if __name__ == "__main__":
    main()
