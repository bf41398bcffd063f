"""playbooks/verify.yml end to end on the controller itself (local connection): one environment holds the dev venv's
real torch, one holds none, one host cannot be reached. The table lists all three, the failed and unreachable ones
first with why, and the run fails (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.filter import verify_table

from .local_hosts import local_uv_vars, torch_env

REPO = Path(__file__).resolve().parents[3]
torch = pytest.importorskip("torch")


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_the_table_lists_every_host_and_the_failed_ones_fail(tmp_path):
    inventory = {
        "all": {
            "vars": local_uv_vars(torch.__version__),
            "hosts": {
                "good": {"pytorch_env_prefix": str(torch_env(tmp_path / "good"))},
                "bad": {"pytorch_env_prefix": str(torch_env(tmp_path / "bad", with_torch=False))},
                # Nothing listens on loopback port 9: the connection is refused.
                "gone": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9},
            },
        }
    }
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    report = tmp_path / "verify.md"
    collections = Path(verify_table.__file__).parents[5]  # <dir>/ansible_collections/torchfleet/lab/plugins/filter
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    run = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(REPO / "playbooks" / "verify.yml"),
         "-e", f"torchfleet_verify_report={report}"],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 4, out[-4000:]  # 4: a host was unreachable (and one failed)
    rows = report.read_text(encoding="utf-8").splitlines()[2:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == ["bad", "gone", "good"], rows
    assert "FAILED: " in rows[0] and "cannot import torch" in rows[0]
    assert "UNREACHABLE" in rows[1]
    assert rows[2].endswith("| verified |")
    recap = out[out.index("PLAY RECAP") :]
    assert [line.split()[0] for line in recap.splitlines()[1:] if "failed=1" in line] == ["bad"]
