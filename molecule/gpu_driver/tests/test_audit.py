"""playbooks/audit.yml on the host the gpu_driver role converged (issue 16): no drift, then one driver package
released from its hold by hand (`apt-mark unhold`, as an admin would before an upgrade) is named with
driver_holds and a non-zero exit; the hold is put back in a finally, before the scenario's other tests (file
order) check the holds themselves.

Only the driver is audited: the scenario installs nothing else (docs/audit.md, torchfleet_audit_fields). The host
has no GPU (gpu_driver_force), so driver_version, the loaded driver, is not applicable.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# A package the role holds (test_gpu_driver.DRIVER_PACKAGES).
RELEASED = "nvidia-smi"
# Plain output, so the table and the recap can be read as text.
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


def _audit(report_dir: Path) -> tuple[subprocess.CompletedProcess, dict]:
    report_dir.mkdir()
    extra = {"torchfleet_audit_fields": ["driver"], "torchfleet_audit_report_dir": str(report_dir)}
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(REPO / "playbooks" / "audit.yml"),
           "-e", json.dumps(extra)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)
    output = result.stdout + result.stderr
    # The table as the play printed it, for the log of a failed run (and pytest -s).
    print(output[output.find("TASK [Show the drift table]") :].split("PLAY [", 1)[0])
    report = report_dir / "audit-report.json"
    assert report.exists(), output[-4000:]
    return result, json.loads(report.read_text(encoding="utf-8"))


def _fields(report: dict) -> dict:
    (entry,) = report["hosts"]
    return {f["field"]: f for f in entry["fields"]}


def test_no_drift_then_a_released_hold_is_named(host, tmp_path):
    clean, report = _audit(tmp_path / "clean")
    assert clean.returncode == 0, (clean.stdout + clean.stderr)[-4000:]
    assert [(h["host"], h["result"]) for h in report["hosts"]] == [("tf-gpu-driver", "no drift")]
    fields = _fields(report)
    assert {name: f["status"] for name, f in fields.items()} == {
        "driver_branch": "ok", "driver_version": "not applicable", "driver_holds": "ok",
    }  # fmt: skip
    assert str(fields["driver_branch"]["wanted"]) == "535"
    assert RELEASED in fields["driver_holds"]["wanted"]

    assert RELEASED in host.check_output("apt-mark showhold").split()
    try:
        host.check_output(f"apt-mark unhold {RELEASED}")
        drifted, report = _audit(tmp_path / "drifted")
        output = drifted.stdout + drifted.stderr
        assert drifted.returncode == 2, output[-4000:]  # 2: the host failed on its drift
        assert [(h["host"], h["result"], h["drifted"]) for h in report["hosts"]] == [
            ("tf-gpu-driver", "DRIFTED", ["driver_holds"]),
        ]
        holds = _fields(report)["driver_holds"]
        assert holds["detail"] == f"not held: {RELEASED}"
        assert RELEASED not in holds["found"]
        assert "Drifted from the inventory: driver_holds: not held: " + RELEASED in output
    finally:
        host.run(f"apt-mark hold {RELEASED}")
    assert RELEASED in host.check_output("apt-mark showhold").split()
