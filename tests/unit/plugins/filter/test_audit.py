"""torchfleet.lab.audit_* filters: what audit.yml gathers (slurp and stat results, the trainers plan) reaches the
comparison decoded, and a bad input fails with what to change."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter import audit

TRAINERS = Path(__file__).resolve().parents[4] / "roles" / "trainers" / "files"
CONDARC = {"channels": ["conda-forge"], "channel_priority": "strict", "auto_update_conda": False}


def _slurp(text):
    """An ansible.builtin.slurp result (content: base64)."""
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


def _sha1(name):
    return hashlib.sha1((TRAINERS / name).read_bytes()).hexdigest()


def _fields(results):
    return {r["field"]: r for r in results}


def test_the_condarc_as_the_role_writes_it_is_no_drift_and_an_edit_is():
    wanted = {"conda": {"distribution": "miniforge", "version": "26.3.2-3", "condarc": CONDARC}}
    marker = {"distribution": "miniforge", "version": "26.3.2-3"}
    written = yaml.safe_dump(CONDARC, sort_keys=False)  # the role: to_nice_yaml(indent=2, sort_keys=false)
    found = {"conda": {"state": "complete", "marker": marker, "condarc": _slurp(written)}}
    assert _fields(audit.audit_host(wanted, found))["condarc"]["status"] == "ok"
    found["conda"]["condarc"] = _slurp(written.replace("strict", "flexible"))
    assert _fields(audit.audit_host(wanted, found))["condarc"]["status"] == "drift"
    found["conda"]["condarc"] = _slurp("channels: [conda-forge\n")
    assert "unreadable" in _fields(audit.audit_host(wanted, found))["condarc"]["detail"]
    # slurp of a file that is not there (failed_when: false): no content.
    found["conda"]["condarc"] = {"failed": True, "msg": "file not found: /opt/miniforge3/.condarc"}
    assert _fields(audit.audit_host(wanted, found))["condarc"]["status"] == "missing"


def test_the_record_is_read_from_its_slurp():
    record = {"resolved": {"compute": "cpu"}, "installed": {"torch": "2.13.0+cpu", "python": "3.11.7"}}
    info = {"version": "2.13.0+cpu", "cuda": None, "python_version": "3.11.7"}
    wanted = {"torch": {"torch": "2.13.0", "compute": "cpu", "python": "3.11"}}
    found = {"torch": {"info": info, "record": _slurp(json.dumps(record))}}
    assert {r["status"] for r in audit.audit_host(wanted, found)} == {"ok"}
    found["torch"]["record"] = _slurp("{not json")
    assert _fields(audit.audit_host(wanted, found))["env_record"]["status"] == "missing"


def test_trainers_are_compared_with_the_roles_files():
    names = ("mnist_cnn.py", "stop_job.py")
    scripts = [{"src": name, "dest": f"/opt/torchfleet/trainers/scripts/{name}"} for name in names]
    stats = [{"item": s, "stat": {"exists": True, "checksum": _sha1(s["src"])}} for s in scripts]
    wanted = {"trainers": {"scripts": scripts}}
    assert audit.audit_host(wanted, {"trainers": {"stats": stats}})[0]["status"] == "ok"
    stats[1]["stat"] = {"exists": True, "checksum": "0" * 40}
    result = audit.audit_host(wanted, {"trainers": {"stats": stats}})[0]
    assert (result["status"], result["detail"]) == ("drift", "edited: stop_job.py")
    stats[1]["stat"] = {"exists": False}
    assert audit.audit_host(wanted, {"trainers": {"stats": stats}})[0]["detail"] == "absent: stop_job.py"


def test_the_versionlock_list_is_read_from_its_slurp():
    plan = {"action": "install", "branch": 580, "hold": {"mechanism": "dnf_versionlock"}}
    found = {"driver": {"installed": "580.95.05", "running": "580.95.05",
                        "versionlock": _slurp("nvidia-driver-3:580.95.05-1.el9.*\n")}}  # fmt: skip
    assert _fields(audit.audit_host({"driver": {"plan": plan}}, found))["driver_holds"]["status"] == "ok"


def test_bad_inputs_fail_with_what_to_change():
    with pytest.raises(AnsibleFilterError, match="torchfleet_audit_fields names gpu"):
        audit.audit_check_inputs(["gpu"], "/tmp")
    with pytest.raises(AnsibleFilterError, match="two mappings"):
        audit.audit_host([], {})
    with pytest.raises(AnsibleFilterError, match="list of host names"):
        audit.audit_report("all", {})
