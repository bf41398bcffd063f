#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the code is the action plugin plugins/action/win_dirs.py.

DOCUMENTATION = r"""
---
module: win_dirs
short_description: Create a role's directories on Windows, with a protected ACL on what it creates
version_added: 1.0.0
description:
  - Creates each missing directory in O(path), parents included, with M(ansible.windows.win_file).
  - With O(protect=true) (the roles pass it at system scope), the topmost directory it creates on each path gets an
    explicit ACL before anything is created below it, with M(ansible.windows.win_acl) and
    M(ansible.windows.win_acl_inheritance) (C(state=absent), C(reorganize=false)) - inheritance off,
    C(BUILTIN\Administrators) (C(S-1-5-32-544)) and C(NT AUTHORITY\SYSTEM) (C(S-1-5-18)) full control,
    C(BUILTIN\Users) (C(S-1-5-32-545)) read and execute, each inherited by files and subfolders. Nothing of the
    parent's ACL is kept, so the C(CREATOR OWNER) entry and the Users right to create files and folders that
    C(C:\ProgramData) hands down are gone.
  - A directory that already exists is never changed, neither its ACL nor its owner.
  - Runs on the controller and calls built-in Windows modules; the connection must use PowerShell.
options:
  path:
    description:
      - The directories the role needs, full Windows paths (C(C:\...)).
    type: list
    elements: str
    required: true
  protect:
    description:
      - Give what is created the protected ACL. The roles pass C(true) at system scope and C(false) at user scope,
        where the profile's ACL is private already.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - A run stopped between creating a directory and protecting it leaves that directory with its parent's ACL; the
    next run leaves an existing directory alone. The task's error message names such a directory.
seealso:
  - module: ansible.windows.win_acl
  - module: ansible.windows.win_acl_inheritance
author:
  - torchfleet.lab contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Create the download cache directory
  torchfleet.lab.win_dirs:
    path: C:\ProgramData\torchfleet\cache
    protect: true
"""

RETURN = r"""
created:
  description: The directories of O(path) that were missing (and were created, unless in check mode).
  returned: always
  type: list
  elements: str
  sample: ['C:\ProgramData\torchfleet\cache']
protected:
  description: The topmost directory created on each path, which got the protected ACL.
  returned: always
  type: list
  elements: str
  sample: ['C:\ProgramData\torchfleet']
"""
