#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: uv_binary
version_added: 1.1.0
short_description: Download uv's release archive, check its SHA-256, unpack it and put the uv binary in place
description:
  - One step for what would otherwise take one task per path and per action (create the directories, download
    and check the archive, unpack it, copy the binary), each a round trip to the host.
  - Creates the directories of O(dirs) that do not exist, mode C(0755); a directory that exists keeps its owner
    and mode.
  - Downloads O(url) to O(archive) unless O(archive) already has the expected SHA-256. The download goes to a
    temporary file beside O(archive) and replaces it only once its SHA-256 matches, so a failed or corrupt
    download never takes the place of a good archive.
  - Unpacks the archive into O(unpack_dir) without its top directory (uv's archives hold one,
    C(uv-TARGET/)), unless O(unpack_dir) already holds the binary. Only regular files and directories are
    unpacked; a member with an absolute path, a C(..) component, a link or a device fails the module before
    anything is written.
  - Copies the unpacked binary to O(dest), mode C(0755), when O(dest) is missing or differs from it; the copy is
    written beside O(dest) and renamed over it.
  - Linux and macOS. Needs no C(tar) on the host (Python's C(tarfile) reads the archive), so macOS's bsdtar and
    GNU tar hosts behave the same.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  url:
    description:
      - The release archive, for example
        C(https://github.com/astral-sh/uv/releases/download/0.13.9/uv-x86_64-unknown-linux-gnu.tar.gz) or a
        mirror's copy. A user and password in the URL are used for HTTP basic authentication, as
        M(ansible.builtin.get_url) uses them.
    type: str
    required: true
  checksum:
    description:
      - V(sha256:DIGEST), the 64 hexadecimal digits, or V(sha256:URL), a file that gives the digest in
        C(sha256sum) form (C(DIGEST  NAME) or C(DIGEST *NAME)), as uv's releases publish it beside each archive.
        In a file of several lines the line naming the archive's file name is used.
      - The same forms as the C(checksum) option of M(ansible.builtin.get_url), SHA-256 only.
    type: str
    required: true
  archive:
    description: Where the downloaded archive is kept.
    type: path
    required: true
  unpack_dir:
    description: Where the archive is unpacked, without its top directory.
    type: path
    required: true
  dest:
    description: Where the uv binary goes.
    type: path
    required: true
  binary:
    description: The file of the unpacked archive that is copied to O(dest).
    type: str
    default: uv
  dirs:
    description:
      - Directories to create, with their missing parents, when they do not exist (mode C(0755)).
      - The directories of O(archive), O(unpack_dir) and O(dest) must exist once these are made.
    type: list
    elements: path
    default: []
  timeout:
    description: Seconds to wait for each HTTP response.
    type: int
    default: 60
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Downloads nothing; reports what a run would change.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - uv publishes each archive with a C(.sha256) file beside it
    (U(https://github.com/astral-sh/uv/releases), U(https://docs.astral.sh/uv/getting-started/installation/)).
  - The checksum forms are M(ansible.builtin.get_url)'s
    (U(https://docs.ansible.com/ansible/latest/collections/ansible/builtin/get_url_module.html)).
"""

EXAMPLES = r"""
- name: Install uv 0.13.9 into /opt/torchfleet/bin
  torchfleet.lab.uv_binary:
    url: https://github.com/astral-sh/uv/releases/download/0.13.9/uv-x86_64-unknown-linux-gnu.tar.gz
    checksum: sha256:https://github.com/astral-sh/uv/releases/download/0.13.9/uv-x86_64-unknown-linux-gnu.tar.gz.sha256
    archive: /var/cache/torchfleet/uv-x86_64-unknown-linux-gnu.tar.gz
    unpack_dir: /var/cache/torchfleet/uv-0.13.9
    dest: /opt/torchfleet/bin/uv
    dirs: [/var/cache/torchfleet/uv-0.13.9, /opt/torchfleet/bin]
"""

RETURN = r"""
sha256:
  description: The SHA-256 the archive has and was checked against.
  returned: success
  type: str
created:
  description: The directories this run created.
  returned: always
  type: list
  elements: str
downloaded:
  description: Whether the archive was downloaded (in check mode, would be).
  returned: always
  type: bool
unpacked:
  description: Whether the archive was unpacked (in check mode, would be).
  returned: always
  type: bool
installed:
  description: Whether O(dest) was written (in check mode, would be).
  returned: always
  type: bool
"""

import filecmp
import hashlib
import http.client
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.torchfleet.lab.plugins.module_utils._pytorch_env import LayoutError, sha256_from_record

CHUNK = 1024 * 1024


def _redact(url):
    """URL without a user and password, for messages."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url, flags=re.IGNORECASE)


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(module, url):
    response, info = fetch_url(module, url, timeout=module.params["timeout"])
    if response is None or info.get("status") != 200:
        module.fail_json(
            msg="could not download {}: HTTP {} {}; check the URL, and that the host can reach it".format(
                _redact(url), info.get("status"), info.get("msg", "")
            ).strip()
        )
    return response


def expected_sha256(module, checksum, archive_name):
    """The digest ``checksum`` names: given, or read from the checksum file it points at."""
    algorithm, _sep, value = checksum.partition(":")
    if algorithm.lower() != "sha256" or not value:
        module.fail_json(msg=f"checksum must be sha256:DIGEST or sha256:URL, not {checksum!r}")
    if re.fullmatch(r"[0-9A-Fa-f]{64}", value):
        return value.lower()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        module.fail_json(msg=f"checksum must be sha256:DIGEST (64 hexadecimal digits) or sha256:URL, not {checksum!r}")
    text = _open(module, value).read()
    try:
        return sha256_from_record(text, archive_name)
    except LayoutError as exc:
        module.fail_json(msg=f"{_redact(value)}: {exc}")
    return None  # not reached: fail_json exits


class _Counted:
    """A response read through: the SHA-256 and the number of the bytes read so far."""

    def __init__(self, response):
        self.response, self.digest, self.received = response, hashlib.sha256(), 0

    def read(self, size=-1):
        block = self.response.read(size)
        self.digest.update(block)
        self.received += len(block)
        return block


def download(module, url, archive, wanted):
    """Fetch URL into a temporary file beside ARCHIVE; rename it over ARCHIVE once its SHA-256 is WANTED."""
    response = _open(module, url)
    body = _Counted(response)

    def check():
        # http.client's read(amt) returns what came before the server closed, without an error, when a body is
        # shorter than its Content-Length (CPython Lib/http/client.py, HTTPResponse.read): compare them here.
        announced = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
        if announced and announced.isdigit() and int(announced) != body.received:
            module.fail_json(
                msg=f"the download of {_redact(url)} broke off after {body.received} of {announced} bytes; the "
                "partial file was not kept"
            )
        if body.digest.hexdigest() != wanted:
            module.fail_json(
                msg=f"The SHA-256 of {_redact(url)} did not match: expected {wanted}, got {body.digest.hexdigest()}. "
                "The download was not kept; check the mirror's copy and its .sha256, or pytorch_env_uv_sha256."
            )

    try:
        write_beside(archive, body, 0o644, check)
    except (OSError, http.client.HTTPException) as exc:  # a connection reset, a timeout
        module.fail_json(msg=f"the download of {_redact(url)} broke off ({exc!r}); the partial file was not kept")


def _members(module, archive):
    """The archive's members below its top directory, as (member, relative path); fails on an unsafe one."""
    found = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = [p for p in member.name.split("/") if p not in ("", ".")]
            if member.name.startswith("/") or ".." in parts:
                module.fail_json(msg=f"{archive}: member {member.name!r} would be written outside the directory")
            if not (member.isfile() or member.isdir()):
                module.fail_json(msg=f"{archive}: member {member.name!r} is not a regular file or a directory")
            if len(parts) > 1:
                found.append((member, posixpath.join(*parts[1:])))
    return found


def unpack(module, archive, unpack_dir):
    members = _members(module, archive)
    with tarfile.open(archive, "r:gz") as tar:
        for member, relative in members:
            target = os.path.join(unpack_dir, relative)
            if member.isdir():
                os.makedirs(target, mode=0o755, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            write_beside(target, tar.extractfile(member), 0o755 if member.mode & stat.S_IXUSR else 0o644)


def write_beside(target, source, mode, check=None):
    """Copy the file object SOURCE to a temporary file beside TARGET and rename it over TARGET with MODE, once
    CHECK (which fails the module) has passed: a reader sees the old file or the whole new one, and a failure
    leaves no partial file."""
    handle, partial = tempfile.mkstemp(prefix=".uv-write.", dir=os.path.dirname(target))
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        if check is not None:
            check()
        os.chmod(partial, mode)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def make_dirs(dirs, check_mode):
    """Create each missing directory and its missing parents, mode 0755; the ones created (would be)."""
    created = []
    for directory in dirs:
        missing = []
        path = os.path.abspath(directory)
        while not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for path in reversed(missing):
            if path not in created:
                created.append(path)
            if not check_mode:
                os.mkdir(path, 0o755)
                os.chmod(path, 0o755)  # mkdir's mode is masked by the umask
    return created


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "checksum": {"type": "str", "required": True},
            "archive": {"type": "path", "required": True},
            "unpack_dir": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "binary": {"type": "str", "default": "uv"},
            "dirs": {"type": "list", "elements": "path", "default": []},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    params, check = module.params, module.check_mode
    archive, unpack_dir, dest = params["archive"], params["unpack_dir"], params["dest"]
    unpacked = os.path.join(unpack_dir, params["binary"])
    try:
        created = make_dirs(params["dirs"], check)
    except OSError as exc:
        module.fail_json(msg=f"could not create {exc.filename}: {exc.strerror}", created=[])
    result = {"changed": False, "created": created, "downloaded": False, "unpacked": False, "installed": False}
    result["changed"] = bool(created)

    wanted = expected_sha256(module, params["checksum"], os.path.basename(archive))
    result["sha256"] = wanted
    have = _file_sha256(archive) if os.path.isfile(archive) else None
    if have != wanted:
        result.update(changed=True, downloaded=True)
        if not check:
            download(module, params["url"], archive, wanted)
    # A binary already unpacked stays (the unpack directory is the version's own); a new archive is unpacked.
    if result["downloaded"] or not os.path.isfile(unpacked):
        result.update(changed=True, unpacked=True)
        if not check:
            unpack(module, archive, unpack_dir)
            if not os.path.isfile(unpacked):
                module.fail_json(msg=f"{archive} holds no {params['binary']} below its top directory", **result)
    if result["unpacked"] and check:
        differs = True
    else:
        # The same comparison as the state probe's same_files (module_utils/_env_state.py): byte for byte.
        differs = not os.path.isfile(dest) or not filecmp.cmp(unpacked, dest, shallow=False)
    mode_wrong = os.path.isfile(dest) and stat.S_IMODE(os.stat(dest).st_mode) != 0o755
    if differs or mode_wrong:
        result.update(changed=True, installed=True)
        if not check:
            with open(unpacked, "rb") as source:
                write_beside(dest, source, 0o755)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
