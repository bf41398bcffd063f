# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``audit_*`` of playbooks/audit.yml: check the audit's inputs, compare one host with what the inventory
asks, and build the fleet's drift report (thin wrappers over module_utils._audit).  Internal to the collection."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_audit = ModuleUtils("_audit")

# The files the trainers role copies (roles/trainers/tasks/deploy.yml, src: relative to the role's files/).
TRAINER_FILES = Path(__file__).resolve().parents[2] / "roles" / "trainers" / "files"


def audit_check_inputs(fields, report_dir):
    try:
        return _audit.check_inputs(fields, report_dir)
    except _audit.AuditError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def _slurped(result):
    """The text of an ansible.builtin.slurp result, or None when the file could not be read (absent)."""
    if not isinstance(result, Mapping) or not result.get("content"):
        return None
    try:
        return base64.b64decode(result["content"]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _parsed(result, loader):
    text = _slurped(result)
    if text is None:
        return None
    try:
        return loader(text)
    except (ValueError, yaml.YAMLError) as exc:
        return f"unreadable ({type(exc).__name__})"


def _controller_sha1(name):
    path = TRAINER_FILES / Path(str(name)).name
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise AnsibleFilterError(f"audit_host: cannot read the trainer {path}: {exc}") from exc


def _prepare(wanted, found):
    """Turn what the playbook gathered (slurp and stat results, the trainers plan) into _audit's inputs."""
    wanted = dict(wanted)
    found = {key: dict(value or {}) for key, value in found.items()}
    if "driver" in found:
        found["driver"]["versionlock"] = _slurped(found["driver"].get("versionlock"))
    if "conda" in found:
        found["conda"]["condarc"] = _parsed(found["conda"].get("condarc"), yaml.safe_load)
    if "torch" in found:
        found["torch"]["record"] = _parsed(found["torch"].get("record"), json.loads)
    if "trainers" in wanted:
        scripts = (wanted["trainers"] or {}).get("scripts") or []
        wanted["trainers"] = {"sha1": {s["src"]: _controller_sha1(s["src"]) for s in scripts}}
        stats = (found.get("trainers") or {}).get("stats") or []
        found["trainers"] = {
            "sha1": {
                Path(str((r.get("item") or {}).get("src", ""))).name: (r.get("stat") or {}).get("checksum")
                for r in stats
                if isinstance(r, Mapping)
            }
        }
    return wanted, found


def audit_host(wanted, found):
    if not isinstance(wanted, Mapping) or not isinstance(found, Mapping):
        raise AnsibleFilterError("audit_host takes the wanted values and what was found, two mappings")
    try:
        return _audit.compare_host(*_prepare(wanted, found))
    except (_audit.AuditError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"audit_host: {exc}") from exc


def audit_report(hosts, hostvars):
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleFilterError(f"audit_report: the input must be a list of host names, not {hosts!r}")
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("audit_report: hostvars must be a mapping of host name to its variables")
    return _audit.report(list(hosts), hostvars)


class FilterModule:
    def filters(self):
        return checked_filters(
            {"audit_check_inputs": audit_check_inputs, "audit_host": audit_host, "audit_report": audit_report}
        )
