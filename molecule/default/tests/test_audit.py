"""playbooks/audit.yml on the two hosts site.yml converged (issue 16): no drift on either, then an edit by hand on
tf-conda (its .condarc and the build label in its environment's record) that the audit names, host and fields,
with a non-zero exit, while tf-uv still has none.

site.yml deploys no trainers here, so the audit leaves that group out (docs/audit.md, torchfleet_audit_fields),
and the driver fields are not applicable (containers get no driver). Runs before the scenario's other tests
(file order) and puts both files back in a finally, byte for byte with their owner, mode and times: idempotence has
run already, and test_default then sees the converged host.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

FIELDS = ["driver", "conda", "torch", "uv"]
CONDARC = "/opt/miniconda3/.condarc"
RECORD = "/opt/miniconda3/envs/pytorch_env/torchfleet-env.json"


def _statuses(report: dict) -> dict:
    return {h["host"]: {f["field"]: f["status"] for f in h["fields"]} for h in report["hosts"]}


NOT_APPLICABLE = dict.fromkeys(("driver_branch", "driver_version", "driver_holds"), "not applicable")
TORCH_OK = dict.fromkeys(("torch_version", "torch_build", "torch_compute", "python", "env_record"), "ok")
CLEAN = {
    "tf-conda": {**NOT_APPLICABLE, "conda_distribution": "ok", "conda_version": "ok", "condarc": "ok", **TORCH_OK,
                 "uv_version": "not applicable"},
    "tf-uv": {**NOT_APPLICABLE, **dict.fromkeys(("conda_distribution", "conda_version", "condarc"), "not applicable"),
              **TORCH_OK, "uv_version": "ok"},
}  # fmt: skip


def test_no_drift_after_site_then_exactly_the_edited_host_and_fields(conda_host, run_audit, tmp_path):
    clean, report = run_audit(FIELDS, tmp_path / "clean")
    assert clean.returncode == 0, (clean.stdout + clean.stderr)[-4000:]
    assert [(h["host"], h["result"]) for h in report["hosts"]] == [("tf-conda", "no drift"), ("tf-uv", "no drift")]
    assert report["drifted"] == [] and report["failed"] == []
    assert _statuses(report) == CLEAN

    saved = {path: f"/tmp/torchfleet-audit-test.{Path(path).name}" for path in (CONDARC, RECORD)}
    sums = {path: conda_host.file(path).sha256sum for path in saved}
    for path, copy in saved.items():
        conda_host.check_output(f"cp -a {path} {copy}")
    try:
        # channel_priority as a user might set it with `conda config --set channel_priority flexible`.
        conda_host.check_output(f"sed -i 's/^channel_priority: strict$/channel_priority: flexible/' {CONDARC}")
        assert "channel_priority: flexible" in conda_host.file(CONDARC).content_string
        # Another build label in the record (a CUDA build's, where the environment holds the CPU one).
        record = json.loads(conda_host.file(RECORD).content_string)
        label = record["installed"]["torch"].split("+", 1)[0] + "+cu128"
        record["installed"]["torch"] = label
        conda_host.check_output(f"printf '%s' {shlex.quote(json.dumps(record))} > {RECORD}")

        drifted, report = run_audit(FIELDS, tmp_path / "drifted")
        output = drifted.stdout + drifted.stderr
        assert drifted.returncode == 2, output[-4000:]  # 2: a host failed (on its drift), none unreachable
        assert [(h["host"], h["result"], h["drifted"]) for h in report["hosts"]] == [
            ("tf-conda", "DRIFTED", ["condarc", "env_record"]),
            ("tf-uv", "no drift", []),
        ]
        assert report["drifted"] == ["tf-conda"] and report["failed"] == []
        assert _statuses(report)["tf-uv"] == CLEAN["tf-uv"]
        fields = {f["field"]: f for f in report["hosts"][0]["fields"]}
        assert fields["condarc"]["wanted"] == {"channel_priority": "strict"}
        assert fields["condarc"]["found"] == {"channel_priority": "flexible"}
        assert f"the record says torch {label}" in fields["env_record"]["detail"]
        # The last play fails tf-conda alone, naming its fields.
        assert "Drifted from the inventory: condarc: " in output
        recap = output[output.index("PLAY RECAP") :].splitlines()[1:]
        assert sorted(line.split()[0] for line in recap if "failed=1" in line) == ["tf-conda"]
    finally:
        for path, copy in saved.items():
            conda_host.run(f"cp -a {copy} {path} && rm -f {copy}")
    assert {path: conda_host.file(path).sha256sum for path in saved} == sums
