"""torchfleet.lab.pytorch_env_record: the record verify.yml writes, with the fingerprint that
torchfleet.lab.pytorch_env_state compares on a re-run. The text is checked against ansible-core's own
``to_nice_json`` filter (the role wrote the record with it before this module), so a record written by an earlier
release stays unchanged."""

from __future__ import annotations

import json
import stat

from ansible.plugins.filter.core import to_nice_json
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_state
from ansible_collections.torchfleet.lab.plugins.modules import pytorch_env_record, pytorch_env_state

from .conftest import FailJson, run_main
from .test_pytorch_env_state import make_env

# The keys verify.yml writes: the request, what torch_info found, and the verified fact (its matmul without the
# time and the error, which differ from run to run).
CONTENT = {
    "requested": {"version": "2.13", "python": "3.11", "compute": "auto", "packages": ["torch"]},
    "manager": "uv",
    "installed": {"torch": "2.13.0+cpu", "python": "3.11.2", "cuda": None},
    "verified": {"version": "2.13.0+cpu", "device_count": 0, "devices": [], "cuda_available": False,
                 "matmul": {"device": "cpu", "size": 256, "ok": True}, "from_record": False},
}  # fmt: skip


def write(prefix, record, check_mode=False, **extra):
    args = {"prefix": str(prefix), "path": str(record), "content": CONTENT, **extra}
    return run_main(pytorch_env_record.main, args, check_mode=check_mode)


def test_it_writes_what_to_nice_json_wrote_with_the_fingerprint(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    outcome = write(prefix, record)
    assert not isinstance(outcome, FailJson) and outcome.kwargs["changed"] is True
    found = _env_state.fingerprint(str(prefix))
    assert outcome.kwargs["fingerprint"] == found and found
    assert record.read_text() == to_nice_json(dict(CONTENT, fingerprint=found)) + "\n"
    assert stat.S_IMODE(record.stat().st_mode) == 0o644


def test_a_record_the_copy_task_wrote_is_left_as_it_is(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    record.write_text(to_nice_json(dict(CONTENT, fingerprint=_env_state.fingerprint(str(prefix)))) + "\n")
    record.chmod(0o644)
    before = record.stat().st_mtime_ns
    outcome = write(prefix, record)
    assert outcome.kwargs["changed"] is False
    assert record.stat().st_mtime_ns == before


def test_the_record_it_writes_makes_the_next_probe_current(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    write(prefix, record)
    args = {"prefix": str(prefix), "record": str(record), "expected": {"manager": "uv"}, "files": [str(record)]}
    probe = run_main(pytorch_env_state.main, args, check_mode=True)
    assert probe.kwargs["current"] is True, probe.kwargs["reasons"]
    # A package installed afterwards changes the fingerprint: the probe is no longer current.
    (prefix / "lib" / "python3.11" / "site-packages" / "extra-2.0.dist-info").mkdir()
    probe = run_main(pytorch_env_state.main, args, check_mode=True)
    assert probe.kwargs["current"] is False


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    outcome = write(prefix, record, check_mode=True)
    assert outcome.kwargs["changed"] is True and not record.exists()


def test_another_text_or_mode_is_written_again(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    record.write_text(json.dumps(dict(CONTENT, fingerprint="an older one")))
    record.chmod(0o600)
    assert write(prefix, record).kwargs["changed"] is True
    assert json.loads(record.read_text())["fingerprint"] == _env_state.fingerprint(str(prefix))
    assert stat.S_IMODE(record.stat().st_mode) == 0o644
    record.chmod(0o600)
    assert write(prefix, record).kwargs["changed"] is True  # the mode alone
    assert stat.S_IMODE(record.stat().st_mode) == 0o644
    assert write(prefix, record).kwargs["changed"] is False


def test_a_missing_directory_is_named_and_not_created(tmp_path):
    outcome = write(tmp_path / "none", tmp_path / "none" / "torchfleet-env.json")
    assert isinstance(outcome, FailJson) and f"{tmp_path / 'none'} does not exist" in outcome.kwargs["msg"]
    assert not (tmp_path / "none").exists()
