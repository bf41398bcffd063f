# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows directories a role creates, and which of them get the protected ACL.

Why: a directory created under ``C:\\ProgramData`` inherits that folder's ACL, and standard users may create
files and folders there (Microsoft: "an application only has write permission to ... CSIDL_COMMON_APPDATA",
https://learn.microsoft.com/en-us/previous-versions/bb756940(v=msdn.10); CSIDL_COMMON_APPDATA is
``FOLDERID_ProgramData``, https://learn.microsoft.com/en-us/windows/win32/shell/csidl). ``icacls C:\\ProgramData``
on a stock Windows lists SYSTEM and Administrators full control, ``CREATOR OWNER`` full control of what one
creates (inherit only), Users read and execute, and Users ``(CI)(AD,WD,...)``: create folders and files, in every
subfolder.  So a standard user could plant ``uv.exe`` next to the one the role installs, or swap the installer in
the download cache between its check and its run, and an administrator would run it.

Rule: at system scope every directory the role *creates* gets an explicit, protected ACL: inheritance off
(nothing of C:\\ProgramData's ACL, CREATOR OWNER included, is kept), Administrators and SYSTEM full control and
Users read and execute, all three inherited by files and subfolders.  Only the topmost directory the run creates
on each path needs it: what is created below it afterwards inherits it.  A directory that was already there (a
person's own, named in a variable) is never touched, nor is anything at user scope (a profile is private).
"""

from __future__ import annotations

import ntpath

# Well-known SIDs, the same in every Windows language (names such as "Administratoren" are not):
# https://learn.microsoft.com/en-us/windows-server/identity/ad-ds/manage/understand-security-identifiers
ADMINISTRATORS = "S-1-5-32-544"
SYSTEM = "S-1-5-18"
USERS = "S-1-5-32-545"

# win_acl's options for each entry; "ContainerInherit, ObjectInherit" is what children inherit
# (ansible.windows plugins/modules/win_acl.py, options rights and inherit).
INHERIT = "ContainerInherit, ObjectInherit"
PROTECTED_ACL = (
    {"user": ADMINISTRATORS, "rights": "FullControl"},
    {"user": SYSTEM, "rights": "FullControl"},
    {"user": USERS, "rights": "ReadAndExecute"},
)


class WindowsDirsError(ValueError):
    """A path that cannot be created as asked; the message says what to change."""


def normalise(path):
    """``path`` with backslashes and no trailing separator; a full ``X:\\...`` path is required."""
    text = str(path or "").strip().replace("/", "\\")
    drive, rest = ntpath.splitdrive(text)
    if len(drive) != 2 or not rest.startswith("\\"):
        raise WindowsDirsError(f"{path!r} is not a full Windows path such as C:\\ProgramData\\torchfleet.")
    rest = rest.rstrip("\\")
    if not rest:
        raise WindowsDirsError(f"{path!r} is a drive root; the roles never create or protect one.")
    return drive.upper() + rest


def key(path):
    """Windows paths compare without regard to case."""
    return path.lower()


def lineage(path):
    """The directories from the first one below the drive root down to ``path`` itself, in that order."""
    path = normalise(path)
    drive, rest = ntpath.splitdrive(path)
    parts = [part for part in rest.split("\\") if part]
    return [drive + "\\" + "\\".join(parts[: i + 1]) for i in range(len(parts))]


def probe_paths(paths):
    """Every directory whose existence decides the plan for ``paths``, each once, parents first."""
    seen = {}
    for path in paths:
        for directory in lineage(path):
            seen.setdefault(key(directory), directory)
    return list(seen.values())


def plan(paths, existing, protect=True):
    """Decide what to create and protect.

    ``paths``: the directories the role needs; ``existing``: the paths (any case) that are already directories
    on the host, as :func:`probe_paths` listed them; ``protect``: whether the protected ACL applies (system scope).
    Returns ``{"create": [...], "protect": [...]}``: ``create`` the missing ``paths`` in order, ``protect`` the
    topmost directory each missing path creates (what ``win_file`` would otherwise create with the parent's ACL),
    each once.  Nothing that exists is ever in either list.
    """
    present = {key(normalise(path)) for path in existing}
    create = []
    tops = {}
    for path in paths:
        chain = lineage(path)
        missing = [directory for directory in chain if key(directory) not in present]
        if not missing:
            continue
        if key(chain[-1]) not in {key(p) for p in create}:
            create.append(chain[-1])
        # A missing directory has no existing child, so the first missing one is the top of what gets created.
        tops.setdefault(key(missing[0]), missing[0])
    return {"create": create, "protect": list(tops.values()) if protect else []}
