"""env_integrity (module_utils/_env_record.py): a distribution an interrupted install left half-made is found.

The environments are made by the REAL uv of the dev venv (requirements-dev.txt pins the release the role
installs): ``uv venv`` and ``uv pip install`` of a tiny wheel made here (the binary distribution format,
https://packaging.python.org/en/latest/specifications/binary-distribution-format/) with a console script. The
states an interrupted install leaves are made from what uv's ``install_wheel`` does in order
(astral-sh/uv crates/uv-install-wheel/src/install.rs: link the wheel's files, the .dist-info with the wheel's
own RECORD among them, then write the console scripts, INSTALLER and the final RECORD): the test removes what
uv had not written yet when it was killed. The molecule scenario ``faults`` (test_env_faults.py) kills uv for
real on a host.

What the tests also show with uv itself: without ``reinstall_args`` a second ``uv pip install`` takes the
half-made distribution as installed ("Audited") and leaves it broken; with them it installs it again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _env_record as er

from ...conftest import UV, make_wheel, record_hash

NAME, VERSION = "tfdemo", "1.0"
DIST = f"{NAME}-{VERSION}.dist-info"
FILES = {
    f"{NAME}/__init__.py": "VALUE = 42\n",
    f"{NAME}/core.py": "def main():\n    print('ok')\n",
    f"{NAME}/data/table.txt": "x" * 5000,
}


def uv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(UV_CACHE_DIR=str(cwd / "uv-cache"), UV_NO_PROGRESS="1", UV_PYTHON_DOWNLOADS="never")
    return subprocess.run([UV, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv made by uv, with the tiny wheel installed by uv; returns (work dir, prefix, wheel, site-packages)."""
    if UV is None:
        pytest.skip("uv (requirements-dev.txt) is not installed")
    work = tmp_path_factory.mktemp("env-record")
    entry_points = f"[console_scripts]\n{NAME} = {NAME}.core:main\n"
    wheel = make_wheel(work, NAME, VERSION, FILES, dist_info={"entry_points.txt": entry_points})
    prefix = work / "env"
    made = uv("venv", "--python", sys.executable, str(prefix), cwd=work)
    assert made.returncode == 0, made.stderr
    done = uv("pip", "install", "--python", str(prefix / "bin" / "python"), "--no-index", str(wheel), cwd=work)
    assert done.returncode == 0, done.stderr
    site = Path(er.site_packages_dirs(str(prefix))[0])
    return work, prefix, wheel, site


@pytest.fixture
def env(installed, tmp_path):
    """A fresh copy of the installed environment for one test (links kept, so the venv still runs)."""
    _work, prefix, wheel, _site = installed
    copy = tmp_path / "env"
    shutil.copytree(prefix, copy, symlinks=True)
    # The venv's own paths (pyvenv.cfg, the scripts' #! lines) name the original prefix; only the copy's
    # site-packages is read and changed here, and uv is pointed at the copy's interpreter.
    return tmp_path, copy, wheel, Path(er.site_packages_dirs(str(copy))[0])


def _interrupt(site: Path, prefix: Path, keep_files: int) -> None:
    """What uv leaves when killed while linking: the wheel's own RECORD, no INSTALLER, no console script, and
    only the first ``keep_files`` of the package's files."""
    wheel_record = [f"{p},{record_hash(t.encode())},{len(t.encode())}" for p, t in FILES.items()]
    (site / DIST / "RECORD").write_text("\n".join([*wheel_record, f"{DIST}/RECORD,,"]) + "\n")
    for name in ("INSTALLER", "REQUESTED"):
        (site / DIST / name).unlink(missing_ok=True)
    (prefix / "bin" / NAME).unlink()
    for path in list(FILES)[keep_files:]:
        (site / path).unlink()


def test_a_finished_uv_install_is_complete(installed):
    _work, prefix, _wheel, _site = installed
    result = er.check_environment(str(prefix))
    assert result == {"incomplete": [], "reinstall": [], "reinstall_args": [], "unrepairable": []}


def test_a_prefix_that_does_not_exist_has_nothing_unfinished(tmp_path):
    assert er.check_environment(str(tmp_path / "absent"))["incomplete"] == []


def test_files_missing_after_a_kill_are_found_and_uv_alone_does_not_repair_them(env):
    work, prefix, wheel, site = env
    _interrupt(site, prefix, keep_files=1)
    result = er.check_environment(str(prefix))
    assert result["reinstall"] == [NAME]
    assert result["reinstall_args"] == ["--reinstall-package", NAME]
    problems = result["incomplete"][0]["problems"]
    assert problems[0] == f"{DIST}/INSTALLER is missing or not in RECORD: the install did not finish"
    assert problems[1] == f"2 of the files RECORD lists are missing ({NAME}/core.py, {NAME}/data/table.txt)"
    python = str(prefix / "bin" / "python")
    # uv takes the .dist-info as an installed distribution: the environment stays broken.
    again = uv("pip", "install", "--python", python, "--no-index", str(wheel), cwd=work)
    assert again.returncode == 0, again.stderr
    assert "Installed" not in again.stderr  # uv 0.13.9: "Checked 1 package"
    assert not (site / NAME / "core.py").exists()
    # With the reinstall options it is installed again, and complete.
    repaired = uv("pip", "install", "--python", python, "--no-index", str(wheel), *result["reinstall_args"], cwd=work)
    assert repaired.returncode == 0, repaired.stderr
    assert "Installed 1 package" in repaired.stderr
    assert er.check_environment(str(prefix))["incomplete"] == []
    assert (prefix / "bin" / NAME).exists()


def test_every_file_there_but_no_installer_is_unfinished(env):
    """Killed after the last file was linked, before the console scripts and INSTALLER were written."""
    _work, prefix, _wheel, site = env
    _interrupt(site, prefix, keep_files=len(FILES))
    result = er.check_environment(str(prefix))
    assert result["reinstall"] == [NAME]
    assert result["incomplete"][0]["problems"] == [
        f"{DIST}/INSTALLER is missing or not in RECORD: the install did not finish"
    ]


def test_a_file_of_another_size_is_found(env):
    _work, prefix, _wheel, site = env
    (site / NAME / "data" / "table.txt").write_text("x" * 10)
    assert er.check_environment(str(prefix))["incomplete"][0]["problems"] == [
        f"1 files differ in size from RECORD ({NAME}/data/table.txt)"
    ]


def test_compiled_files_are_not_checked(env):
    """Python writes __pycache__ again; pip lists the .pyc it compiled in RECORD."""
    _work, prefix, _wheel, site = env
    record = site / DIST / "RECORD"
    record.write_text(record.read_text() + f"{NAME}/__pycache__/core.cpython-311.pyc,,\n")
    assert er.check_environment(str(prefix))["incomplete"] == []


def test_a_dist_info_without_record_is_unrepairable_and_named(env):
    _work, prefix, _wheel, site = env
    (site / DIST / "RECORD").unlink()
    result = er.check_environment(str(prefix))
    assert result["reinstall"] == []
    assert result["unrepairable"] == [str(site / DIST)]
    message = er.unrepairable_message(str(prefix), result["unrepairable"])
    assert str(site / DIST) in message
    assert "nothing is removed automatically" in message


def test_record_rows_are_read_as_csv():
    text = 'a/b.py,sha256=x,12\n"a/c,d.py",sha256=y,3\nx.dist-info/RECORD,,\n\n'
    assert er.parse_record(text) == [("a/b.py", 12), ("a/c,d.py", 3), ("x.dist-info/RECORD", None)]


@pytest.mark.parametrize(("raw", "name"), [("Torch", "torch"), ("typing_extensions", "typing-extensions"),
                                           ("zope.interface", "zope-interface")])  # fmt: skip
def test_names_are_normalised_for_reinstall_package(raw, name):
    assert er.canonical_name(raw) == name
