"""playbooks/audit.yml on the host the gpu_driver role converged (issue 16): no drift, then one driver package
released from its hold by hand (`apt-mark unhold`, as an admin would before an upgrade) is named with
driver_holds and a non-zero exit; the hold is put back in a finally, before the scenario's other tests (file
order) check the holds themselves.

Only the driver is audited: the scenario installs nothing else (docs/audit.md, torchfleet_audit_fields). The host
has no GPU (gpu_driver_force), so driver_version, the loaded driver, is not applicable.
"""

from __future__ import annotations

# A package the role holds (test_gpu_driver.DRIVER_PACKAGES).
RELEASED = "nvidia-smi"


def _fields(report: dict) -> dict:
    (entry,) = report["hosts"]
    return {f["field"]: f for f in entry["fields"]}


def test_no_drift_then_a_released_hold_is_named(host, run_audit, tmp_path):
    clean, report = run_audit(["driver"], tmp_path / "clean")
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
        drifted, report = run_audit(["driver"], tmp_path / "drifted")
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
