# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a PyTorch environment is still what the role last installed and verified (``pytorch_env_state``).

The pytorch_env role ends a successful run by writing the environment's record (``torchfleet-env.json`` in the
prefix): what was asked, what it resolved to, what torch_info measured, and a fingerprint of the installed
distributions. A later run asks one question of the host before anything else: is everything as asked? It is
when all of these hold, and then the role skips its install and verification as a block:

- the record exists, was written by a verified run (``verified`` and ``fingerprint`` are there), and each key the
  role would write now (request, resolved build, manager, index, uv) is equal to the one in the record;
- every file the role's steps leave behind is there (uv, its archive, the interpreter), and each pair of files
  the role copies one from the other (the unpacked uv and the uv it installs) is still the same;
- the fingerprint of the environment is the one recorded: the names of every ``.dist-info`` and ``.egg-info``
  in its site-packages (which carry each distribution's name and version) and of every ``conda-meta/*.json``
  (name-version-build of each conda package), and the contents of ``pyvenv.cfg``. Any install, upgrade or
  removal by pip, uv or conda since the verified run changes it;
- no distribution is half-made (module_utils/_env_record.py: a killed install leaves a ``.dist-info`` that pip
  and uv take for installed).

Anything else answers "not current", with the reasons, and the role runs its full path, which repairs what it
can and verifies again. Reading only: nothing on the host changes. Standard library only, Python 3.8 syntax.
"""

from __future__ import annotations

import filecmp
import glob
import hashlib
import json
import os

from ansible_collections.torchfleet.lab.plugins.module_utils import _env_record

# The keys of the record written by a verified run that are not part of the request.
VERIFIED_KEYS = ("verified", "fingerprint")


def fingerprint(prefix):
    """SHA-256 over what identifies the installed distributions of ``prefix``, in a fixed order; empty when
    ``prefix`` is not a directory."""
    if not os.path.isdir(prefix):
        return ""
    names = []
    for site_packages in _env_record.site_packages_dirs(prefix):
        for entry in os.listdir(site_packages):
            if entry.endswith((".dist-info", ".egg-info")):
                names.append("site-packages/" + entry)
    for meta in glob.glob(os.path.join(prefix, "conda-meta", "*.json")):
        names.append("conda-meta/" + os.path.basename(meta))
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\n")
    cfg = os.path.join(prefix, "pyvenv.cfg")
    if os.path.isfile(cfg):
        with open(cfg, "rb") as handle:
            digest.update(b"pyvenv.cfg\n" + handle.read())
    return digest.hexdigest()


def read_pyvenv_cfg(prefix):
    """The text of ``prefix``/pyvenv.cfg (undecodable bytes replaced), or None when it is missing or unreadable."""
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def absent(paths):
    """The paths of ``paths`` that do not exist, in their order; a link counts as existing, as for
    ansible.builtin.stat's ``exists`` (it does not follow links by default)."""
    return [path for path in paths if not os.path.lexists(path)]


def _normalise(value):
    """The value as it reads back from the record's JSON (tuples become lists, keys become strings)."""
    return json.loads(json.dumps(value))


def read_record(path):
    """The record's content, or None when it is missing or not a JSON object."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _record_reasons(record, record_path, expected):
    if record is None:
        return [f"{record_path} is missing or unreadable"]
    reasons = [
        f"the record has no {key} (written before this check existed, or unverified)"
        for key in VERIFIED_KEYS
        if key not in record
    ]
    for key, value in sorted(_normalise(expected).items()):
        if record.get(key) != value:
            reasons.append(f"the record's {key} differs from what is asked now")
    return reasons


def _file_reasons(files, same_files):
    reasons = [f"{path} is missing" for path in files if not os.path.exists(path)]
    for source, copy in same_files:
        if not (os.path.isfile(source) and os.path.isfile(copy) and filecmp.cmp(source, copy, shallow=False)):
            reasons.append(f"{copy} is not the same file as {source}")
    return reasons


def probe(record_path, expected, prefix, files=(), same_files=()):
    """``{"current": bool, "reasons": [...], "fingerprint": str, "record": dict or None}``."""
    record = read_record(record_path)
    reasons = _record_reasons(record, record_path, expected) + _file_reasons(files, same_files)
    found = fingerprint(prefix)
    if not found:
        reasons.append(f"{prefix} does not exist")
    elif record is not None and record.get("fingerprint") not in (None, found):
        reasons.append("the installed distributions changed since the last verified run")
    if found and not reasons:
        incomplete = _env_record.check_environment(prefix)["incomplete"]
        if incomplete:
            reasons.append("half-made distributions: " + ", ".join(item["name"] for item in incomplete))
    return {"current": not reasons, "reasons": reasons, "fingerprint": found, "record": record}
