"""job_lease.py, the dead-man's switch around a distributed job: run as the role runs it, in subprocesses.

The job here is a tagged ``sleep`` (and a tagged grandchild in a session of its own, as torchrun's workers are),
so the tests see the same /proc that stop_job.py reads on a host. Linux only, like the script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="job_lease.py reads /proc")
SCRIPT = str(Path(__file__).resolve().parents[3] / "roles" / "trainers" / "files" / "job_lease.py")
TAG = "TORCHFLEET_JOB"


def start_guard(lease, value, *command, stale=1.0):
    argv = [sys.executable, SCRIPT, "guard", f"--lease={lease}", f"--tag={TAG}", f"--value={value}",
            f"--stale={stale}", "--grace=2", "--poll=0.2", "--", *command]  # fmt: skip
    return subprocess.Popen(argv, env={**os.environ, TAG: value}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def renew(lease, wait=0.0) -> dict:
    out = subprocess.run([sys.executable, SCRIPT, "renew", f"--lease={lease}", f"--wait={wait}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)


def tagged(value) -> list:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if f"{TAG}={value}".encode() in handle.read().split(b"\0"):
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def wait_for_lease(lease):
    for _attempt in range(100):
        if os.path.exists(lease):
            return
        time.sleep(0.05)
    raise AssertionError("the guard did not write its lease")


def test_the_guard_ends_with_the_commands_status_and_removes_its_lease(tmp_path):
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, uuid.uuid4().hex, sys.executable, "-c", "import sys; sys.exit(3)")
    assert guard.wait(timeout=30) == 3
    assert not os.path.exists(lease)


def test_an_unrenewed_lease_does_not_stop_a_job_whose_polling_has_not_begun(tmp_path):
    # More hosts than forks: a host's polling may start only when the first hosts' has ended.
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, uuid.uuid4().hex, "sleep", "3", stale=0.5)
    assert guard.wait(timeout=30) == 0


def test_a_lease_the_controller_stopped_renewing_stops_the_whole_job(tmp_path):
    value = uuid.uuid4().hex
    lease = str(tmp_path / "job.lease")
    # A worker in a session of its own, as torchrun starts them: killing the guard's process group would miss it.
    job = "import subprocess, time; subprocess.Popen(['sleep', '300'], start_new_session=True); time.sleep(300)"
    guard = start_guard(lease, value, sys.executable, "-c", job, stale=1.0)
    wait_for_lease(lease)
    time.sleep(0.5)
    assert renew(lease) == {"running": True}  # the controller polls once, then is gone
    started = time.monotonic()
    assert guard.wait(timeout=30) == 125
    assert time.monotonic() - started < 10
    _out, err = guard.communicate()
    assert "the controller has not polled this job for 1 s" in err
    assert tagged(value) == []
    assert not os.path.exists(lease)


def test_a_renewed_lease_keeps_the_job_running(tmp_path):
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, uuid.uuid4().hex, "sleep", "3", stale=1.0)
    wait_for_lease(lease)
    answers = [renew(lease, wait=0.4) for _poll in range(20) if guard.poll() is None]
    assert guard.wait(timeout=30) == 0
    assert answers[0] == {"running": True}
    # renew never makes a lease the guard has removed, and says the job ended.
    assert renew(lease) == {"running": False}
    assert not os.path.exists(lease)


def test_renew_waits_for_the_end_of_the_job(tmp_path):
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, uuid.uuid4().hex, "sleep", "1", stale=5.0)
    wait_for_lease(lease)
    assert renew(lease, wait=20) == {"running": False}
    assert guard.wait(timeout=5) == 0


def test_a_signal_to_the_guard_reaches_the_command(tmp_path):
    # coreutils timeout sends SIGTERM to the guard when trainers_timeout is up.
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, uuid.uuid4().hex, "sleep", "300")
    wait_for_lease(lease)
    guard.terminate()
    assert guard.wait(timeout=10) == 128 + 15  # sleep's end, as a shell reports it


def test_renew_does_not_report_a_job_whose_guard_was_killed_outright(tmp_path):
    # coreutils timeout --kill-after ends the guard with SIGKILL: its lease stays, with a pid that is gone.
    value = uuid.uuid4().hex
    lease = str(tmp_path / "job.lease")
    guard = start_guard(lease, value, "sleep", "300")
    wait_for_lease(lease)
    assert renew(lease) == {"running": True}
    guard.kill()
    guard.wait(timeout=10)
    try:
        assert os.path.exists(lease)
        assert renew(lease, wait=10) == {"running": False}
    finally:
        for pid in tagged(value):  # the sleep the killed guard left behind
            os.kill(pid, 9)
