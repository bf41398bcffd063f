"""playbooks/audit.yml end to end on the controller itself (local connection), no containers: two uv-style
environments whose torch is the dev venv's (a .pth file), each with its record written by verify.yml (the
pytorch_env role's own record step), a uv stand-in and a trainers deployment in temporary directories (the roles'
path variables point there). Matching layouts: no drift and exit 0. Then one trainer script is edited on one host
and the record's build label on the other, a third host's environment has lost torch and a fourth cannot be
reached: the audit names exactly those hosts and fields, lists every host, and exits non-zero (issue 16)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.filter import audit

from .local_hosts import local_uv_vars, torch_env

REPO = Path(__file__).resolve().parents[3]
TRAINERS = REPO / "roles" / "trainers" / "files"
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")

# What `uv --version` prints for the release the role pins (pytorch_env_uv_version 0.13.9): the format of
# astral-sh/uv crates/uv-cli/src/version.rs (SelfVersionInfo's Display, after clap's program name).
UV_STANDIN = "#!/bin/sh\necho 'uv 0.13.9 (x86_64-unknown-linux-gnu)'\n"


def _host(root: Path, with_torch: bool = True) -> dict:
    """A host's environment with the dev venv's torch, a uv stand-in and the trainers deployed as the role does."""
    env = torch_env(root / "env", with_torch)
    (root / "bin").mkdir()
    uv = root / "bin" / "uv"
    uv.write_text(UV_STANDIN, encoding="utf-8")
    uv.chmod(0o755)
    (root / "trainers" / "scripts").mkdir(parents=True)
    for script in TRAINERS.glob("*.py"):
        shutil.copy2(script, root / "trainers" / "scripts" / script.name)
    return {
        "pytorch_env_prefix": str(env),
        "pytorch_env_uv_install_dir": str(root / "bin"),
        "trainers_dir": str(root / "trainers"),
    }


def _play(tmp_path: Path, playbook: str, hosts: dict, *extra: str) -> subprocess.CompletedProcess:
    inventory = {
        "all": {
            "vars": local_uv_vars(torch.__version__),
            "hosts": hosts,
        }
    }
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    collections = Path(audit.__file__).parents[5]  # <dir>/ansible_collections/torchfleet/lab/plugins/filter
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    return subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(REPO / "playbooks" / playbook), *extra],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip


def _rows(report: Path) -> list:
    lines = report.read_text(encoding="utf-8").splitlines()
    table = lines[lines.index("| Host | Result | Drifted fields | Details |") + 2 :]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in table]


def _snapshot(root: Path) -> dict:
    """Every file under root with its content and modification time, to show that the audit changed nothing."""
    return {
        str(p): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("inventory.yml", "audit-report.md", "audit-report.json")
    }


def test_no_drift_then_exactly_the_changed_host_and_field(tmp_path):
    hosts = {"alpha": _host(tmp_path / "alpha"), "beta": _host(tmp_path / "beta")}
    verify = _play(tmp_path, "verify.yml", hosts, "-e", f"torchfleet_verify_report={tmp_path / 'verify.md'}")
    assert verify.returncode == 0, (verify.stdout + verify.stderr)[-4000:]
    report_dir = ["-e", f"torchfleet_audit_report_dir={tmp_path}"]

    before = _snapshot(tmp_path)
    clean = _play(tmp_path, "audit.yml", hosts, *report_dir)
    out = clean.stdout + clean.stderr
    assert clean.returncode == 0, out[-4000:]
    assert _snapshot(tmp_path) == before
    assert [r[:3] for r in _rows(tmp_path / "audit-report.md")] == [
        ["alpha", "no drift", "-"],
        ["beta", "no drift", "-"],
    ]
    data = json.loads((tmp_path / "audit-report.json").read_text(encoding="utf-8"))
    assert data["drifted"] == [] and data["failed"] == []
    statuses = {f["field"]: f["status"] for f in data["hosts"][0]["fields"]}
    assert statuses == {
        "driver_branch": "not applicable", "driver_version": "not applicable", "driver_holds": "not applicable",
        "conda_distribution": "not applicable", "conda_version": "not applicable", "condarc": "not applicable",
        "torch_version": "ok", "torch_build": "ok", "torch_compute": "ok", "python": "ok", "env_record": "ok",
        "uv_version": "ok", "trainers": "ok",
    }  # fmt: skip
    recap = out[out.index("PLAY RECAP") :].splitlines()[1:]
    assert [line.split()[0] for line in recap if "changed=0" in line] == ["alpha", "beta"]  # localhost: the reports
    assert "is not a variable of torchfleet.lab" not in out

    print(out[out.index("Show the drift table") :])
    # One edit per host: a trainer script on alpha, the record's build label on beta.
    script = tmp_path / "alpha" / "trainers" / "scripts" / "linear_regression.py"
    script.write_text(script.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    record_path = Path(hosts["beta"]["pytorch_env_prefix"]) / "torchfleet-env.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["installed"]["torch"] = torch.__version__.split("+")[0] + "+cu128"
    record_path.write_text(json.dumps(record), encoding="utf-8")
    hosts["bare"] = _host(tmp_path / "bare", with_torch=False)  # an environment whose torch is gone, no record
    hosts["gone"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9}  # refused

    # In check mode too: every read the audit makes runs there.
    drifted = _play(tmp_path, "audit.yml", hosts, *report_dir, "--check")
    out = drifted.stdout + drifted.stderr
    assert drifted.returncode == 4, out[-4000:]  # 4: a host was unreachable (and two failed on their drift)
    rows = _rows(tmp_path / "audit-report.md")
    assert [r[:3] for r in rows] == [
        ["alpha", "DRIFTED", "trainers"],
        ["bare", "DRIFTED", "torch_version, torch_build, torch_compute, python, env_record"],
        ["beta", "DRIFTED", "env_record"],
        ["gone", "UNREACHABLE", "-"],
    ]
    assert rows[0][3] == "trainers: edited: linear_regression.py"
    assert rows[1][3].startswith("torch_version: ") and "cannot import torch" in rows[1][3]
    assert "the record says torch " + record["installed"]["torch"] in rows[2][3]
    data = json.loads((tmp_path / "audit-report.json").read_text(encoding="utf-8"))
    assert data["drifted"] == ["alpha", "bare", "beta"] and data["failed"] == ["gone"]
    print(out[out.index("Show the drift table") :])
    recap = out[out.index("PLAY RECAP") :]
    assert sorted(line.split()[0] for line in recap.splitlines()[1:] if "failed=1" in line) == ["alpha", "bare", "beta"]
