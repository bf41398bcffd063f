"""torchfleet.lab.pytorch_env_state: the module around module_utils/_env_state.py (whose rules test_env_state.py
pins against environments made by the real uv). Here: its arguments, check mode, and the fingerprint-only call
(no record asked for)."""

from __future__ import annotations

import json

from ansible_collections.torchfleet.lab.plugins.module_utils import _env_state
from ansible_collections.torchfleet.lab.plugins.modules import pytorch_env_state

from .conftest import ExitJson, FailJson, run_main


def make_env(root):
    """A finished install after the packaging specification's "Recording installed projects": INSTALLER, and a
    RECORD that lists it (https://packaging.python.org/en/latest/specifications/recording-installed-packages/)."""
    dist = root / "lib" / "python3.11" / "site-packages" / "demo-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "INSTALLER").write_text("uv\n")
    (dist / "RECORD").write_text("demo-1.0.dist-info/INSTALLER,,3\ndemo-1.0.dist-info/RECORD,,\n")
    (root / "pyvenv.cfg").write_text("version = 3.11.2\n")
    return root


def test_without_a_record_it_only_reads_the_fingerprint(tmp_path):
    prefix = make_env(tmp_path / "env")
    outcome = run_main(pytorch_env_state.main, {"prefix": str(prefix)}, check_mode=True)
    assert isinstance(outcome, ExitJson) and not isinstance(outcome, FailJson)
    assert outcome.kwargs["fingerprint"] == _env_state.fingerprint(str(prefix))
    assert outcome.kwargs["current"] is False and outcome.kwargs["changed"] is False


def test_a_matching_record_is_current_in_check_mode(tmp_path):
    prefix = make_env(tmp_path / "env")
    record = prefix / "torchfleet-env.json"
    found = _env_state.fingerprint(str(prefix))
    record.write_text(json.dumps({"manager": "uv", "verified": {"version": "2.13.0+cpu"}, "fingerprint": found}))
    args = {"prefix": str(prefix), "record": str(record), "expected": {"manager": "uv"}, "files": [str(record)]}
    outcome = run_main(pytorch_env_state.main, args, check_mode=True)
    assert not isinstance(outcome, FailJson) and outcome.kwargs["current"] is True, outcome.kwargs
    outcome = run_main(pytorch_env_state.main, dict(args, expected={"manager": "conda"}), check_mode=True)
    assert outcome.kwargs["current"] is False
    assert outcome.kwargs["reasons"] == ["the record's manager differs from what is asked now"]


def test_a_same_files_item_must_be_a_pair(tmp_path):
    prefix = make_env(tmp_path / "env")
    args = {"prefix": str(prefix), "record": str(prefix / "r.json"), "same_files": [["/a", "/b", "/c"]]}
    outcome = run_main(pytorch_env_state.main, args, check_mode=True)
    assert isinstance(outcome, FailJson)
    assert "[source, copy] pair" in outcome.kwargs["msg"]


def test_it_names_the_absent_paths_of_look_and_returns_pyvenv_cfg(tmp_path):
    """install-uv.yml creates only the directories absent here, and reads the interpreter version from pyvenv_cfg."""
    prefix = make_env(tmp_path / "env")
    (tmp_path / "bin").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")  # a link counts as there, as for ansible.builtin.stat
    look = [str(tmp_path / "bin"), str(tmp_path / "cache"), str(tmp_path / "dangling"), str(tmp_path / "envs")]
    for record in (None, str(prefix / "torchfleet-env.json")):
        args = {"prefix": str(prefix), "look": look, **({"record": record} if record else {})}
        outcome = run_main(pytorch_env_state.main, args, check_mode=True)
        assert not isinstance(outcome, FailJson), outcome.kwargs
        assert outcome.kwargs["absent"] == [str(tmp_path / "cache"), str(tmp_path / "envs")]
        assert outcome.kwargs["pyvenv_cfg"] == "version = 3.11.2\n"
    outcome = run_main(pytorch_env_state.main, {"prefix": str(tmp_path / "none"), "look": []}, check_mode=True)
    assert outcome.kwargs["absent"] == [] and outcome.kwargs["pyvenv_cfg"] is None
    assert outcome.kwargs["fingerprint"] == ""
