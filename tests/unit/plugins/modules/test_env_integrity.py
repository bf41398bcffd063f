"""torchfleet.lab.env_integrity: the module around module_utils/_env_record.py (whose rules
test_env_record.py pins against environments made by the real uv). The site-packages trees here are written by
hand after the packaging specification's "Recording installed projects"
(https://packaging.python.org/en/latest/specifications/recording-installed-packages/)."""

from __future__ import annotations

from ansible_collections.torchfleet.lab.plugins.modules import env_integrity

from .conftest import ExitJson, FailJson, run_main

DIST = "demo-1.0.dist-info"


def run(prefix):
    outcome = run_main(env_integrity.main, {"prefix": str(prefix)}, check_mode=True)
    return type(outcome), outcome.kwargs


def make_env(root, record=True, installer=True):
    site = root / "lib" / "python3.11" / "site-packages"
    (site / "demo").mkdir(parents=True)
    (site / "demo" / "__init__.py").write_text("X = 1\n")
    (site / DIST).mkdir()
    (site / DIST / "METADATA").write_text("Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\n")
    if installer:
        (site / DIST / "INSTALLER").write_text("uv\n")
    rows = [f"{p.relative_to(site)},sha256=x,{p.stat().st_size}" for p in sorted(site.rglob("*")) if p.is_file()]
    if record:
        (site / DIST / "RECORD").write_text("\n".join([*rows, f"{DIST}/RECORD,,"]) + "\n")
    return site


def test_a_complete_environment_reports_nothing(tmp_path):
    make_env(tmp_path)
    kind, result = run(tmp_path)
    assert kind is ExitJson
    assert result["changed"] is False and result["incomplete"] == [] and result["reinstall_args"] == []


def test_an_unfinished_install_is_reported_for_reinstall(tmp_path):
    make_env(tmp_path, installer=False)
    kind, result = run(tmp_path)
    assert kind is ExitJson
    assert result["reinstall"] == ["demo"]
    assert result["reinstall_args"] == ["--reinstall-package", "demo"]


def test_a_dist_info_without_record_fails_and_removes_nothing(tmp_path):
    site = make_env(tmp_path, record=False, installer=False)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    kind, result = run(tmp_path)
    assert kind is FailJson
    assert str(site / DIST) in result["msg"]
    assert result["unrepairable"] == [str(site / DIST)]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
