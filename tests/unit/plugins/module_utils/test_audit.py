"""module_utils/_audit.py: each audited field with no drift, with drift and with its component missing, the
inputs of the audit, and the report (every host, drifted and failed first, unreachable ones too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _audit, _driver

FIXTURES = Path(__file__).resolve().parents[2] / "plugins" / "fixtures" / "gpu"
# dpkg-query on Debian 12 with the distribution's 535 driver, nothing held (fixtures/gpu/README.md).
DPKG = (FIXTURES / "dpkg_debian12_535.tsv").read_text(encoding="utf-8").splitlines()
# The hold part of driver_plan's result for Debian 12, distribution packages, branch 535 (module_utils/_driver.py
# _apt_plan: the driver's source package and the packages the role installs).
PLAN = {
    "action": "install",
    "branch": 535,
    "hold": {
        "mechanism": "dpkg_selections",
        "sources": ["nvidia-graphics-drivers"],
        "names": _driver.debian_distro_packages(535, "proprietary"),
    },
}


def _held(lines, names):
    """The same lines after `dpkg_selections: hold` on ``names``: dpkg-query then shows "hi" (wanted state h,
    dpkg-query(1))."""
    out = []
    for line in lines:
        status, name, rest = line.split("\t", 2)
        out.append("\t".join(["hi " if name in names else status, name, rest]))
    return out


def _by_field(results):
    return {r["field"]: r for r in results}


# ----------------------------------------------------------------------------------------------------- inputs
def test_the_default_inputs_pass():
    assert _audit.check_inputs(list(_audit.GROUPS), "/srv/reports")


@pytest.mark.parametrize(
    ("fields", "directory", "names"),
    [
        ([], "/tmp", "torchfleet_audit_fields"),
        ("torch", "/tmp", "torchfleet_audit_fields"),
        (["torch", "cuda"], "/tmp", "cuda"),
        (["torch"], "reports", "torchfleet_audit_report_dir"),
        (["torch"], 7, "torchfleet_audit_report_dir"),
    ],
)
def test_bad_inputs_say_what_to_change(fields, directory, names):
    with pytest.raises(_audit.AuditError, match=names):
        _audit.check_inputs(fields, directory)


# ----------------------------------------------------------------------------------------------------- driver
def test_driver_matching_branch_loaded_version_and_holds_is_no_drift():
    should = _driver.hold_selection(PLAN, DPKG)
    found = {"installed": "535.261.03-1", "running": "535.261.03", "nvidia_gpus": 1, "dpkg_lines": _held(DPKG, should)}
    results = _by_field(_audit.compare_driver({"plan": PLAN, "hold": True}, found))
    assert {k: v["status"] for k, v in results.items()} == {
        "driver_branch": "ok",
        "driver_version": "ok",
        "driver_holds": "ok",
    }


def test_driver_of_another_branch_a_pending_reboot_and_a_removed_hold_drift():
    should = _driver.hold_selection(PLAN, DPKG)
    found = {
        "installed": "550.163.01-2",
        "running": "535.261.03",
        "nvidia_gpus": 1,
        "dpkg_lines": _held(DPKG, set(should) - {"libcuda1"}),
    }
    results = _by_field(_audit.compare_driver({"plan": PLAN, "hold": True}, found))
    assert results["driver_branch"]["status"] == "drift"
    assert (results["driver_branch"]["wanted"], results["driver_branch"]["found"]) == (535, 550)
    assert results["driver_version"]["status"] == "drift" and "reboot" in results["driver_version"]["detail"]
    assert results["driver_holds"]["status"] == "drift"
    assert results["driver_holds"]["detail"] == "not held: libcuda1"


@pytest.mark.parametrize(("gpus", "status"), [(1, "drift"), (0, "not applicable")])
def test_driver_installed_but_not_loaded(gpus, status):
    found = {"installed": "535.261.03-1", "running": "", "nvidia_gpus": gpus, "dpkg_lines": DPKG}
    result = _by_field(_audit.compare_driver({"plan": PLAN, "hold": False}, found))["driver_version"]
    assert result["status"] == status


def test_driver_holds_are_not_compared_when_gpu_driver_hold_is_false():
    found = {"installed": "535.261.03-1", "running": "535.261.03", "dpkg_lines": DPKG}
    results = _by_field(_audit.compare_driver({"plan": PLAN, "hold": False}, found))
    assert results["driver_holds"]["status"] == "not applicable"


def test_driver_missing():
    results = _by_field(_audit.compare_driver({"plan": PLAN, "hold": True}, {"installed": "", "dpkg_lines": DPKG}))
    assert {r["status"] for r in results.values()} == {"missing"}


def test_driver_not_applicable_where_the_role_skips_the_host():
    skip = {"action": "skip", "reason": "no NVIDIA GPU"}
    results = _audit.compare_driver({"plan": skip, "hold": True}, {})
    assert [(r["field"], r["status"], r["detail"]) for r in results] == [
        ("driver_branch", "not applicable", "no NVIDIA GPU"),
        ("driver_version", "not applicable", "no NVIDIA GPU"),
        ("driver_holds", "not applicable", "no NVIDIA GPU"),
    ]


# The locklist as `dnf versionlock add` writes it: a dated comment, then name-epoch:version-release.* per package
# (dnf-plugins-core plugins/versionlock.py _write_locklist and pkgtup2spec).
LOCKLIST = "\n".join(
    [
        "",
        "# Added lock on Tue Dec  1 10:00:00 2026",
        "nvidia-driver-libs-3:580.95.05-1.el9.*",
        "nvidia-driver-3:580.95.05-1.el9.*",
        "",
    ]
)
RHEL_PLAN = {"action": "install", "branch": 580, "hold": {"mechanism": "dnf_versionlock", "names": ["*nvidia*580*"]}}


@pytest.mark.parametrize(
    ("locklist", "status"),
    [
        (LOCKLIST, "ok"),
        ("nvidia-driver-3:570.195.03-1.el9.*\n", "drift"),
        ("!nvidia-driver-3:580.95.05-1.el9.*\n", "drift"),  # an exclude, no lock
        ("nvidia-driver-libs-3:580.95.05-1.el9.*\n", "drift"),  # the driver itself is not locked
        (None, "missing"),
    ],
)
def test_driver_versionlock_on_rhel(locklist, status):
    found = {"installed": "580.95.05", "running": "580.95.05", "versionlock": locklist}
    results = _by_field(_audit.compare_driver({"plan": RHEL_PLAN, "hold": True}, found))
    assert results["driver_holds"]["status"] == status


# ------------------------------------------------------------------------------------------------------ conda
CONDARC = {
    "channels": ["conda-forge"],
    "channel_priority": "strict",
    "auto_update_conda": False,
    "notify_outdated_conda": False,
}
CONDA_WANTED = {"distribution": "miniforge", "version": "26.3.2-3", "condarc": CONDARC}
MARKER = {"distribution": "miniforge", "version": "26.3.2-3", "sha256": "0" * 64}


def test_conda_matching_is_no_drift():
    found = {"state": "complete", "marker": MARKER, "condarc": dict(CONDARC, envs_dirs=["/srv/envs"])}
    results = _audit.compare_conda(CONDA_WANTED, found)
    assert [(r["field"], r["status"]) for r in results] == [
        ("conda_distribution", "ok"),
        ("conda_version", "ok"),
        ("condarc", "ok"),  # a key the role does not write is not compared
    ]


def test_conda_of_another_version_and_an_edited_condarc_drift():
    found = {
        "state": "complete",
        "marker": dict(MARKER, version="25.3.1-0"),
        "condarc": dict(CONDARC, channel_priority="flexible"),
    }
    results = _by_field(_audit.compare_conda(CONDA_WANTED, found))
    assert results["conda_distribution"]["status"] == "ok"
    assert results["conda_version"]["status"] == "drift"
    assert results["conda_version"]["detail"] == "wanted 26.3.2-3, found 25.3.1-0"
    assert results["condarc"]["status"] == "drift"
    assert results["condarc"]["detail"] == "channel_priority: wanted 'strict', found 'flexible'"


def test_proxy_credentials_in_condarc_never_reach_the_report():
    wanted = dict(CONDARC, proxy_servers={"https": "http://lab:s3cret@proxy.lab:3128"})
    found = dict(CONDARC, proxy_servers={"https": "http://lab:0ld-s3cret@proxy.lab:3128"})
    result = _audit.compare_condarc(wanted, found)
    assert result["status"] == "drift"
    assert "s3cret" not in repr(result) and "http://lab:***@proxy.lab:3128" in result["detail"]


def test_conda_of_another_distribution_drifts():
    found = {"state": "complete", "marker": dict(MARKER, distribution="miniconda"), "condarc": CONDARC}
    assert _by_field(_audit.compare_conda(CONDA_WANTED, found))["conda_distribution"]["status"] == "drift"


def test_conda_missing_and_an_unreadable_condarc():
    results = _by_field(_audit.compare_conda(CONDA_WANTED, {"state": "absent", "marker": None, "condarc": None}))
    assert {r["status"] for r in results.values()} == {"missing"}
    unreadable = _audit.compare_condarc(CONDARC, "unreadable (ScannerError)")
    assert unreadable["status"] == "drift" and "unreadable" in unreadable["detail"]


def test_conda_not_applicable_on_a_uv_host():
    results = _audit.compare_conda({"skip": "pytorch_env_manager is uv"}, {})
    assert {r["status"] for r in results} == {"not applicable"}


# ------------------------------------------------------------------------------------------------------ torch
TORCH_WANTED = {"torch": "2.13.0", "compute": "cu128", "python": "3.12"}
# torch_info's fields for a 2.13.0+cu128 wheel (plugins/modules/torch_info.py RETURN).
INFO = {"version": "2.13.0+cu128", "cuda": "12.8", "hip": None, "python_version": "3.12.11"}
# The record pytorch_env writes (roles/pytorch_env/tasks/verify.yml, "Record the installed versions").
RECORD = {
    "requested": {"version": "2.13", "python": "3.12", "compute": "auto", "packages": ["torch"]},
    "resolved": {"torch": "2.13.0", "compute": "cu128", "python": "3.12"},
    "installed": {"torch": "2.13.0+cu128", "python": "3.12.11", "cuda": "12.8"},
    "manager": "uv",
}


def test_torch_matching_is_no_drift():
    results = _audit.compare_torch(TORCH_WANTED, {"info": INFO, "record": RECORD})
    assert [(r["field"], r["status"]) for r in results] == [
        ("torch_version", "ok"),
        ("torch_build", "ok"),
        ("torch_compute", "ok"),
        ("python", "ok"),
        ("env_record", "ok"),
    ]


def _record(part, **changes):
    return dict(RECORD, **{part: dict(RECORD[part], **changes)})


@pytest.mark.parametrize(
    ("info", "record", "field"),
    [
        (dict(INFO, version="2.12.1+cu128"), _record("installed", torch="2.12.1+cu128"), "torch_version"),
        (dict(INFO, version="2.13.0+cpu", cuda=None), _record("installed", torch="2.13.0+cpu"), "torch_build"),
        (INFO, _record("resolved", compute="cu126"), "torch_compute"),
        (dict(INFO, python_version="3.11.9"), _record("installed", python="3.11.9"), "python"),
        (INFO, _record("installed", torch="2.13.0+cu126"), "env_record"),
    ],
)
def test_torch_each_field_drifts_alone(info, record, field):
    results = _audit.compare_torch(TORCH_WANTED, {"info": info, "record": record})
    assert [r["field"] for r in results if r["status"] != "ok"] == [field]


def test_torch_missing_environment_and_record():
    results = _audit.compare_torch(TORCH_WANTED, {"info": None, "record": None, "error": "cannot import torch"})
    assert {r["status"] for r in results} == {"missing"}
    assert results[0]["detail"] == "cannot import torch"


# --------------------------------------------------------------------------------------------------------- uv
@pytest.mark.parametrize(
    ("output", "status"),
    [
        # `uv --version` of a release and of a build from git (astral-sh/uv crates/uv-cli/src/version.rs).
        ("uv 0.13.9 (x86_64-unknown-linux-gnu)\n", "ok"),
        ("uv 0.13.9 (1a2b3c4d5 2026-11-20 aarch64-apple-darwin)", "ok"),
        ("uv 0.12.4 (x86_64-unknown-linux-gnu)", "drift"),
        ("", "missing"),
    ],
)
def test_uv_version(output, status):
    (result,) = _audit.compare_uv({"version": "0.13.9"}, {"output": output})
    assert result["status"] == status


def test_uv_not_applicable_on_a_conda_host():
    assert _audit.compare_uv({"skip": "pytorch_env_manager is conda"}, {})[0]["status"] == "not applicable"


# --------------------------------------------------------------------------------------------------- trainers
SUMS = {"linear_regression.py": "a" * 40, "mnist_cnn.py": "b" * 40}


@pytest.mark.parametrize(
    ("found", "status", "detail"),
    [
        (SUMS, "ok", ""),
        (dict(SUMS, **{"mnist_cnn.py": "c" * 40}), "drift", "edited: mnist_cnn.py"),
        (dict(SUMS, **{"mnist_cnn.py": None}), "drift", "absent: mnist_cnn.py"),
        ({"linear_regression.py": None, "mnist_cnn.py": None}, "missing", "the trainers are not deployed"),
    ],
)
def test_trainers(found, status, detail):
    (result,) = _audit.compare_trainers({"sha1": SUMS}, {"sha1": found})
    assert (result["status"], result["detail"]) == (status, detail)


# ----------------------------------------------------------------------------------------------------- a host
def test_only_the_audited_groups_are_compared():
    results = _audit.compare_host({"uv": {"version": "0.13.9"}}, {"uv": {"output": "uv 0.13.9"}, "torch": {}})
    assert [r["field"] for r in results] == ["uv_version"]


def test_compare_host_refuses_what_is_not_a_mapping():
    with pytest.raises(_audit.AuditError):
        _audit.compare_host([], {})


# ----------------------------------------------------------------------------------------------------- report
OK = [{"field": "uv_version", "status": "ok", "wanted": "0.13.9", "found": "0.13.9", "detail": ""}]
DRIFT = [{"field": "trainers", "status": "drift", "wanted": {}, "found": {}, "detail": "edited: mnist_cnn.py"}]
FACTS = {"system": "Linux"}


def test_report_lists_every_host_drifted_and_failed_first():
    hostvars = {
        "a-clean": {"ansible_facts": FACTS, "torchfleet_audit": OK},
        "b-drifted": {"ansible_facts": FACTS, "torchfleet_audit": DRIFT + OK},
        "c-failed": {"ansible_facts": FACTS, "torchfleet_audit_failure": "validate_inputs: pytorch_version ..."},
        "d-unreachable": {},
        "not-targeted": {"ansible_facts": FACTS, "torchfleet_audit": DRIFT},
    }
    report = _audit.report(["a-clean", "b-drifted", "c-failed", "d-unreachable"], hostvars)
    assert [(e["host"], e["result"]) for e in report["hosts"]] == [
        ("b-drifted", "DRIFTED"),
        ("c-failed", "FAILED"),
        ("d-unreachable", "UNREACHABLE"),
        ("a-clean", "no drift"),
    ]
    assert report["drifted"] == ["b-drifted"] and report["failed"] == ["c-failed", "d-unreachable"]
    lines = report["markdown"].splitlines()
    assert lines[2] == "| b-drifted | DRIFTED | trainers | trainers: edited: mnist_cnn.py |"
    assert lines[3] == "| c-failed | FAILED | - | the audit failed: validate_inputs: pytorch_version ... |"
    assert lines[4] == "| d-unreachable | UNREACHABLE | - | no facts were read from the host |"
    assert lines[5] == "| a-clean | no drift | - | 1 field matches, the rest not applicable |"
    assert len(lines) == 6


def test_report_cells_stay_on_one_line():
    hostvars = {"h": {"ansible_facts": FACTS, "torchfleet_audit_failure": "two\nlines | and a pipe"}}
    assert _audit.report(["h"], hostvars)["markdown"].splitlines()[2] == (
        "| h | FAILED | - | the audit failed: two lines \\| and a pipe |"
    )
