#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
---
module: conda_prefix_info
version_added: 1.0.0
short_description: Tell whether a Miniconda or Miniforge prefix is a complete installation
description:
  - Inspects an installation prefix without changing it and classifies it as absent, empty, complete,
    interrupted (left half-made by an installer that stopped, holding nothing else), foreign (a directory that
    is not a conda installation), environment (a C(conda create) prefix, not an installation), damaged
    (incomplete, and holding more than an interrupted installer leaves, such as environments under C(envs/))
    or unusable (finished, but C(conda info --json) fails; the problem quotes conda's error).
  - A complete prefix has C(bin/conda) and C(condabin/conda), a non-empty C(conda-meta/history), none of the
    installer's temporary files, and a C(conda info --json) that parses.
  - Before it runs C(<prefix>/bin/conda), the module checks that conda's script, the interpreter its first line
    names, its C(conda) package and every directory above them are owned by root or the user the module runs
    as, and writable by no one else; otherwise it fails and runs nothing (root never runs code a user can
    change).
  - Fails when the prefix, with its links resolved, is a system or home directory.
  - On Windows a complete prefix has C(Scripts\conda.exe), C(condabin\conda.bat), a non-empty
    C(conda-meta\history), the C(Uninstall-<NAME>.exe) the installer writes last, and no C(tmp) left over.
  - Reads the marker the C(torchfleet.lab.miniconda) role writes after a successful install
    (C(conda-meta/torchfleet-install.json)) and the constructor's C(.installer.info).
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description: The installation prefix.
    type: path
    required: true
  marker:
    description: Name of the install marker under C(conda-meta).
    type: str
    default: torchfleet-install.json
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [posix, windows]
    details:
      - On Windows the module's action plugin reads the prefix through the read-only built-in modules
        M(ansible.windows.win_stat), M(ansible.windows.win_find), M(ansible.windows.slurp) and runs
        C(Scripts\conda.exe info --json) with M(ansible.windows.win_command); the rules are the same.
notes:
  - The rules follow conda/constructor's installer templates. C(header.sh) creates C(install_tmp/) and the
    C(preconda)/C(postconda) archives while it runs and removes them at the end; the Windows installer
    (C(nsis/main.nsi.tmpl)) works in C(PREFIX\tmp) and writes C(Uninstall-<NAME>.exe) last.
requirements:
  - ansible.windows (for Windows hosts)
"""

EXAMPLES = r"""
- name: Inspect the Miniconda prefix
  torchfleet.lab.conda_prefix_info:
    prefix: /opt/miniconda3
  register: __miniconda_prefix_state

- name: Inspect a Miniforge prefix on a Windows host
  torchfleet.lab.conda_prefix_info:
    prefix: C:\ProgramData\miniforge3

- name: Refuse a foreign directory
  ansible.builtin.assert:
    that: __miniconda_prefix_state.state != 'foreign'
    fail_msg: "{{ __miniconda_prefix_state.problems | join('; ') }}"
"""

RETURN = r"""
state:
  description:
    - One of C(absent), C(empty), C(complete), C(interrupted), C(foreign), C(environment), C(damaged),
      C(unusable).
  returned: always
  type: str
  sample: complete
problems:
  description: Why the prefix is not complete.
  returned: always
  type: list
  elements: str
  sample: ["conda-meta/history is missing", "install_tmp is left over from an unfinished install"]
marker:
  description: The install marker's content, or null.
  returned: always
  type: dict
  sample: {"distribution": "miniconda", "version": "py313_25.11.1-1", "sha256": "e0b1..."}
installer_info:
  description: The constructor's C(.installer.info) content, or null.
  returned: always
  type: dict
conda_version:
  description: C(conda_version) from C(conda info --json) when the prefix is complete.
  returned: always
  type: str
  sample: 25.11.1
root_prefix:
  description: C(root_prefix) from C(conda info --json) when the prefix is complete.
  returned: always
  type: str
installed_for:
  description:
    - C(user) when the installer left C(.nonadmin) (a Windows JustMe install, a C(.sh) install by a non-root
      user), else C(system); null when the prefix holds no installation.
  returned: always
  type: str
  sample: system
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_prefix as cp


def _read_json(path):
    try:
        with open(path, "rb") as handle:
            return cp.parse_json_document(handle.read())
    except OSError:
        return None


def _found(prefix, system):
    """Size of each probe path that exists (the history only when it is a regular file)."""
    found = {}
    for rel in cp.probe_paths(system):
        path = os.path.join(prefix, *rel.split("/"))
        if os.path.isfile(path) if rel == cp.HISTORY else os.path.exists(path):
            found[rel] = os.path.getsize(path) if os.path.isfile(path) else 0
    return found


def _environments(prefix):
    envs = os.path.join(prefix, "envs")
    try:
        return sorted(os.listdir(envs)) if os.path.isdir(envs) else []
    except OSError:
        # Unreadable: assume it holds something, so nothing is repaired over it.
        return ["(unreadable)"]


def _interpreter(script):
    """The interpreter a script's ``#!`` line names, or None."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    return words[0] if words else None


def _what_conda_runs(prefix):
    """Resolved paths of what ``<prefix>/bin/conda info`` executes: the script, its interpreter and the conda
    package it imports (``lib/python3.*/site-packages/conda``)."""
    script = os.path.join(prefix, "bin", "conda")
    paths = [os.path.realpath(script)]
    interpreter = _interpreter(script)
    if interpreter and os.path.isabs(interpreter):
        paths.append(os.path.realpath(interpreter))
    paths.extend(
        os.path.realpath(p)
        for p in sorted(glob.glob(os.path.join(prefix, "lib", "python3*", "site-packages", "conda")))
    )
    return paths


def _stat_of(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, st.st_mode


def main():
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "marker": {"type": "str", "default": cp.DEFAULT_MARKER},
        },
        supports_check_mode=True,
    )
    prefix = module.params["prefix"]
    # The Python module runs on Linux and macOS only; Windows hosts go through the action plugin.
    system = "Linux"
    exists = os.path.lexists(prefix)
    if exists and not os.path.isdir(prefix):
        module.fail_json(msg=f"{prefix} exists and is not a directory; choose another miniconda_prefix")
    if exists:
        # What is on disk decides: a link to a system or home directory is refused like the directory itself.
        try:
            ci.check_prefix(os.path.realpath(prefix), system)
        except ci.InstallerError as exc:
            module.fail_json(msg=f"{prefix} resolves to {os.path.realpath(prefix)}: {exc}")
    listing = sorted(os.listdir(prefix)) if exists else []
    found = _found(prefix, system) if listing else {}
    environments = _environments(prefix) if listing else []
    state, problems = cp.classify(prefix, listing, exists, found, system, environments=environments)

    result = cp.new_result(state, problems, listing, system)
    if state in ("complete", "interrupted"):
        result["marker"] = _read_json(os.path.join(prefix, "conda-meta", module.params["marker"]))
        result["installer_info"] = _read_json(os.path.join(prefix, ".installer.info"))
    if state == "complete":
        uid = os.geteuid()
        unsafe = cp.trust_problems(_what_conda_runs(prefix), uid, _stat_of)
        if unsafe:
            module.fail_json(msg=cp.trust_refusal(prefix, uid, unsafe), state=state, problems=unsafe)
        rc, out, err = module.run_command([os.path.join(prefix, "bin", "conda"), "info", "--json"])
        cp.apply_conda_info(result, rc, out, err)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
