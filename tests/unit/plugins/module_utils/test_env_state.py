"""module_utils/_env_state.py: "is everything as asked?", the question a re-run of pytorch_env asks first.

The environments are made by the REAL uv of the dev venv: ``uv venv`` and ``uv pip install`` of tiny wheels made
here (tests/unit/conftest.py make_wheel); an install, an upgrade and a removal are done by uv as a user would do
them. The record is written the way roles/pytorch_env/tasks/verify.yml writes it: the request
(roles/pytorch_env/vars/main.yml __pytorch_env_record_request), ``installed``, ``verified`` and ``fingerprint``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_record, _env_state

from ...conftest import UV, make_wheel

REQUEST = {"requested": {"version": "2.13", "python": "3.11", "compute": "auto", "packages": ["torch"]}, "uv": "0.13.9"}


def uv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(UV_CACHE_DIR=str(cwd / "uv-cache"), UV_NO_PROGRESS="1", UV_PYTHON_DOWNLOADS="never")
    done = subprocess.run([UV, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def install(work: Path, prefix: Path, name: str, version: str) -> None:
    wheel = make_wheel(work, name, version, {f"{name}/__init__.py": f"VERSION = {version!r}\n"})
    uv("pip", "install", "--python", str(prefix / "bin" / "python"), "--no-index", str(wheel), cwd=work)


@pytest.fixture
def verified(tmp_path):
    """A uv venv with one package, and its record as a verified run writes it; returns (work, prefix, record)."""
    if UV is None:
        pytest.skip("uv (requirements-dev.txt) is not installed")
    prefix = tmp_path / "env"
    uv("venv", "--python", sys.executable, str(prefix), cwd=tmp_path)
    install(tmp_path, prefix, "tfalpha", "1.0")
    record = prefix / "torchfleet-env.json"
    content = dict(REQUEST, installed={"torch": "2.13.0+cpu"}, verified={"version": "2.13.0+cpu"})
    content["fingerprint"] = _env_state.fingerprint(str(prefix))
    record.write_text(json.dumps(content, indent=2) + "\n")
    return tmp_path, prefix, record


def probe(prefix, record, **kwargs):
    return _env_state.probe(str(record), kwargs.pop("expected", REQUEST), str(prefix), **kwargs)


def test_a_verified_environment_as_asked_is_current(verified):
    _work, prefix, record = verified
    result = probe(prefix, record, files=[str(prefix / "bin" / "python")])
    assert result["current"] is True, result["reasons"]
    assert result["reasons"] == [] and result["record"]["verified"] == {"version": "2.13.0+cpu"}


def test_writing_the_record_does_not_change_the_fingerprint(verified):
    _work, prefix, record = verified
    before = _env_state.fingerprint(str(prefix))
    record.write_text(record.read_text() + "\n")
    assert _env_state.fingerprint(str(prefix)) == before


@pytest.mark.parametrize(
    "change",
    ["install another", "upgrade", "remove"],
)
def test_any_install_upgrade_or_removal_by_uv_is_seen(verified, change):
    work, prefix, record = verified
    python = str(prefix / "bin" / "python")
    if change == "install another":
        install(work, prefix, "tfbeta", "2.0")
    elif change == "upgrade":
        install(work, prefix, "tfalpha", "1.1")
    else:
        uv("pip", "uninstall", "--python", python, "tfalpha", cwd=work)
    result = probe(prefix, record)
    assert result["current"] is False
    assert result["reasons"] == ["the installed distributions changed since the last verified run"]


def test_a_different_request_is_not_current(verified):
    _work, prefix, record = verified
    asked = dict(REQUEST, uv="0.14.0")
    result = probe(prefix, record, expected=asked)
    assert result["reasons"] == ["the record's uv differs from what is asked now"]
    # A key the record does not hold yet (a record of an older release) differs as well.
    result = probe(prefix, record, expected=dict(REQUEST, source="pip"))
    assert result["reasons"] == ["the record's source differs from what is asked now"]


def test_a_record_without_verification_is_not_current(verified):
    _work, prefix, record = verified
    content = json.loads(record.read_text())
    del content["verified"], content["fingerprint"]
    record.write_text(json.dumps(content))
    reasons = probe(prefix, record)["reasons"]
    assert "the record has no verified (written before this check existed, or unverified)" in reasons
    assert "the record has no fingerprint (written before this check existed, or unverified)" in reasons


@pytest.mark.parametrize("text", [None, "", "{not json", "[1, 2]"])
def test_a_missing_or_unreadable_record_is_not_current(verified, text):
    _work, prefix, record = verified
    if text is None:
        record.unlink()
    else:
        record.write_text(text)
    result = probe(prefix, record)
    assert result["current"] is False and result["record"] is None
    assert result["reasons"] == [f"{record} is missing or unreadable"]


def test_missing_files_and_copies_that_differ_are_named(verified):
    work, prefix, record = verified
    source, copy = work / "uv-unpacked", work / "uv"
    source.write_bytes(b"uv 0.13.9")
    copy.write_bytes(b"uv 0.13.9")
    assert probe(prefix, record, same_files=[(str(source), str(copy))])["current"] is True
    copy.write_bytes(b"uv 0.13.8")
    result = probe(prefix, record, files=[str(work / "gone")], same_files=[(str(source), str(copy))])
    assert result["reasons"] == [f"{work / 'gone'} is missing", f"{copy} is not the same file as {source}"]


def test_a_prefix_that_is_gone_is_not_current(verified):
    _work, prefix, record = verified
    kept = prefix.parent / "record.json"
    shutil.copy(record, kept)
    shutil.rmtree(prefix)
    result = probe(prefix, kept)
    assert result["current"] is False and result["fingerprint"] == ""
    assert f"{prefix} does not exist" in result["reasons"]


def test_a_half_made_distribution_is_not_current(verified):
    """A file of an installed distribution lost after the verified run: the names are the same, so only the
    integrity rules of _env_record see it (the fingerprint does not)."""
    _work, prefix, record = verified
    site = Path(_env_record.site_packages_dirs(str(prefix))[0])
    (site / "tfalpha" / "__init__.py").unlink()
    result = probe(prefix, record)
    assert result["current"] is False
    assert result["reasons"] == ["half-made distributions: tfalpha"]


def test_the_fingerprint_covers_conda_meta_and_pyvenv_cfg(tmp_path):
    prefix = tmp_path / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "python-3.11.9-h0.json").write_text("{}")
    first = _env_state.fingerprint(str(prefix))
    (prefix / "conda-meta" / "numpy-2.1.0-py311h0.json").write_text("{}")
    second = _env_state.fingerprint(str(prefix))
    (prefix / "pyvenv.cfg").write_text("version = 3.11.9\n")
    third = _env_state.fingerprint(str(prefix))
    assert len({first, second, third}) == 3
