"""playbooks/health.yml end to end on the controller itself (local connection): two environments hold the dev venv's
real torch, one holds none, one host cannot be reached. The burn-in runs for real on the CPU of the two good ones;
the report lists all four, the failed and unreachable ones first with why; the all-reduce does not start, since two
hosts of the group did not finish their burn-in, and says so; the run fails (issue 16)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.filter import health

from .local_hosts import local_uv_vars, torch_env

REPO = Path(__file__).resolve().parents[3]
torch = pytest.importorskip("torch")


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_every_host_gets_a_row_and_the_failed_ones_fail(tmp_path):
    def host(name, with_torch=True):
        return {
            "pytorch_env_prefix": str(torch_env(tmp_path / name, with_torch=with_torch)),
            # Each "host" keeps its scripts and runs apart (user scope would put them all in this user's home).
            "trainers_dir": str(tmp_path / name / "trainers"),
        }

    inventory = {
        "all": {
            "vars": local_uv_vars(torch.__version__),
            "hosts": {
                "good1": host("good1"),
                "good2": host("good2"),
                "bad": host("bad", with_torch=False),
                # Nothing listens on loopback port 9: the connection is refused.
                "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9},
            },
        }
    }
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    report_dir = tmp_path / "report"
    # An existing directory, shared like /tmp: the play writes into it and leaves its mode alone.
    report_dir.mkdir()
    report_dir.chmod(0o1777)
    extra = {
        "health_seconds_per_test": 0.1,
        "health_sustained_seconds": 0,
        "health_report_dir": str(report_dir),
        # Two "hosts" that share this machine's cores measure each other's load: judging them is the lab's test
        # (molecule fleet), so no figure here is to be flagged.
        "health_median_fraction": 0.01,
    }
    collections = Path(health.__file__).parents[5]  # <dir>/ansible_collections/torchfleet/lab/plugins/filter
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    run = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(REPO / "playbooks" / "health.yml"),
         "-e", json.dumps(extra)],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 4, out[-4000:]  # 4: a host was unreachable (and one failed)
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o1777, oct(report_dir.stat().st_mode)

    report = json.loads((report_dir / "health-report.json").read_text(encoding="utf-8"))
    assert [(h["host"], h["status"]) for h in report["hosts"]] == [
        ("bad", "failed"),
        ("gone", "missing"),
        ("good1", "ok"),
        ("good2", "ok"),
    ]
    assert "cannot import torch" in report["hosts"][0]["reasons"][0]
    for entry in report["hosts"][2:]:
        assert entry["kind"] == "cpu"
        assert entry["measures"]["matmul_fp32"]["value"] > 0
        assert entry["measures"]["loopback_tcp"]["unit"] == "B/s"
    assert report["allreduce"]["status"] == "failed"
    assert "bad, gone did not finish the burn-in" in report["allreduce"]["reason"]

    rows = (report_dir / "health-report.md").read_text(encoding="utf-8").splitlines()
    assert [r.split(" | ")[0].lstrip("| ") for r in rows if re.match(r"^\| (bad|gone|good[12]) \|", r)][:4] == [
        "bad",
        "gone",
        "good1",
        "good2",
    ]
    assert (report_dir / "health-report.html").read_text(encoding="utf-8").count("<svg") >= 1
    for name in ("good1", "good2"):
        fetched = json.loads((report_dir / "metrics" / name / "health_check.json").read_text(encoding="utf-8"))
        assert fetched["schema"] == 1 and fetched["device"] == "cpu"
        assert (tmp_path / name / "trainers" / "scripts" / "health_check.py").is_file()

    recap = run.stdout[run.stdout.index("PLAY RECAP") :]
    assert [line.split()[0] for line in recap.splitlines()[1:] if "failed=1" in line] == ["bad"]
    assert "The burn-in failed: " in out
