#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
---
module: conda_free_space
version_added: 1.0.0
short_description: Check that a Miniconda prefix and its download directory have room, before anything changes
description:
  - Measures, with C(statvfs), the free space of the filesystem that will hold the installation prefix and of
    the one that will hold the downloaded installer (for a path that does not exist yet, its nearest existing
    parent), and says why the install cannot start when either is too small. Changes nothing.
  - The prefix needs O(min_free_mb); the download directory needs O(installer_bytes) unless O(installer_path)
    is already there. When both are on one filesystem it must hold both.
  - Linux and macOS only (the C(.sh) installer).
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  prefix:
    description: The installation prefix.
    type: path
    required: true
  cache_dir:
    description: The directory the installer is downloaded to.
    type: path
    required: true
  installer_path:
    description: Where the installer is downloaded to; when it exists, no space is needed for the download.
    type: path
    required: true
  installer_bytes:
    description: Size of the installer to download (its C(Content-Length)); 0 when unknown.
    type: int
    default: 0
  min_free_mb:
    description: Free space, in MB of 1024 * 1024 bytes, the prefix's filesystem must have.
    type: int
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [posix]
notes:
  - The conda documentation gives 400 MB of disk space for Miniconda or Miniforge
    (U(https://docs.conda.io/projects/conda/en/stable/user-guide/install/index.html)); the C(.sh) installer
    itself refuses with less than the installation's size plus 50 MB free (conda/constructor
    C(constructor/header.sh)).
"""

EXAMPLES = r"""
- name: Check the free space before installing
  torchfleet.lab.conda_free_space:
    prefix: /opt/miniconda3
    cache_dir: /var/cache/torchfleet
    installer_path: /var/cache/torchfleet/Miniconda3-py313_25.11.1-1-Linux-x86_64.sh
    installer_bytes: 157286400
    min_free_mb: 450
  register: __space

- name: Stop when there is not enough room
  ansible.builtin.assert:
    that: __space.refusal | length == 0
    fail_msg: "{{ __space.refusal }}"
"""

RETURN = r"""
prefix_fs:
  description: The filesystem of the prefix, measured at its nearest existing directory.
  returned: always
  type: dict
  sample: {"path": "/srv/tiny", "device": 64, "free_bytes": 16777216}
cache_fs:
  description: The filesystem of the download directory, measured at its nearest existing directory.
  returned: always
  type: dict
  sample: {"path": "/var", "device": 2049, "free_bytes": 51539607552}
refusal:
  description: Why the install cannot start for lack of space (naming the space needed and free); empty when it can.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci


def _measure(path):
    """statvfs of ``path`` or, when it does not exist yet, of its nearest existing parent."""
    probe = os.path.abspath(path)
    while not os.path.isdir(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    vfs = os.statvfs(probe)
    return {"path": probe, "device": os.stat(probe).st_dev, "free_bytes": vfs.f_bavail * vfs.f_frsize}


def main():
    module = AnsibleModule(
        argument_spec={
            "prefix": {"type": "path", "required": True},
            "cache_dir": {"type": "path", "required": True},
            "installer_path": {"type": "path", "required": True},
            "installer_bytes": {"type": "int", "default": 0},
            "min_free_mb": {"type": "int", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    prefix_fs = _measure(params["prefix"])
    cache_fs = _measure(params["cache_dir"])
    pending = 0 if os.path.isfile(params["installer_path"]) else max(0, params["installer_bytes"] or 0)
    try:
        refusal = ci.free_space_refusal(
            params["prefix"],
            prefix_fs,
            params["cache_dir"],
            cache_fs,
            params["min_free_mb"],
            installer_bytes=pending,
            filename=os.path.basename(params["installer_path"]),
        )
    except ci.InstallerError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, prefix_fs=prefix_fs, cache_fs=cache_fs, refusal=refusal)


if __name__ == "__main__":
    main()
