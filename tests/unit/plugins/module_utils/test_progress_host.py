"""The host side of torchfleet.lab.progress (plugins/module_utils/_progress.py), run here with real processes:
the supervisor starts a job, answers a quick one at once, reports sizes, and stops a job whose polls stopped,
with every process of its session."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _progress

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="the session check reads /proc (Linux)")


def options(tmp_path, **more):
    return dict(
        {"argv": [sys.executable], "timeout": 30, "wait": 5, "watch": [], "base": str(tmp_path / "async")}, **more
    )


def marked(marker):
    """PIDs whose command line holds ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


def wait_until(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_tree_size_counts_files_once_and_reports_missing_paths(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a").write_bytes(b"x" * 1000)
    (tmp_path / "d" / "sub" / "b").write_bytes(b"y" * 24)
    os.link(tmp_path / "d" / "a", tmp_path / "d" / "sub" / "a-link")  # uv links the cache into the env
    os.symlink("/usr", tmp_path / "d" / "usr")  # not followed
    assert _progress.tree_size(str(tmp_path / "d")) == 1024
    assert _progress.tree_size(str(tmp_path / "d" / "a")) == 1000
    assert _progress.tree_size(str(tmp_path / "absent")) is None


def test_a_quick_job_is_answered_by_the_start_and_leaves_nothing(tmp_path):
    script = b"import json,sys; print(json.dumps({'changed': False, 'rc': 0})); sys.stderr.write('note')"
    answer = _progress.start(options(tmp_path, watch=[str(tmp_path / "nothing")]), script)
    assert answer["finished"] is True
    assert json.loads(answer["stdout"]) == {"changed": False, "rc": 0}
    assert answer["stderr"] == "note"
    assert answer["rc"] == 0 and answer["stopped"] == ""
    assert answer["sizes"] == [[str(tmp_path / "nothing"), None]]
    assert os.listdir(tmp_path / "async") == []


def test_a_long_job_is_polled_with_sizes_then_answered(tmp_path):
    fill = tmp_path / "fill"
    script = (
        f"import os,time; os.makedirs({str(fill)!r}); open({str(fill / 'a')!r},'wb').write(b'z'*4096); time.sleep(2);"
        " print('{\"done\": 1}')"
    ).encode()
    answer = _progress.start(options(tmp_path, wait=0.5, watch=[str(fill)]), script)
    assert answer["finished"] is False
    job = answer["job"]
    assert oct(os.stat(job).st_mode & 0o777) == "0o700"
    seen = []
    while not answer["finished"]:
        time.sleep(0.5)
        answer = _progress.poll({"job": job, "watch": [str(fill)]})
        seen.append(answer["sizes"][0][1])
    assert 4096 in seen
    assert json.loads(answer["stdout"]) == {"done": 1}
    assert not os.path.exists(job)


def test_the_module_exit_status_and_output_come_back(tmp_path):
    answer = _progress.start(options(tmp_path), b"import sys; print('not json'); sys.exit(3)")
    assert (answer["finished"], answer["rc"], answer["stdout"]) == (True, 3, "not json\n")


def test_main_reads_the_payload_from_stdin_and_prints_json(tmp_path, capsys):
    _progress.main(["start", json.dumps(options(tmp_path))], stdin=io.BytesIO(b"print('hi')"))
    assert json.loads(capsys.readouterr().out)["stdout"] == "hi\n"


def test_a_job_whose_polls_stop_is_stopped_with_its_whole_session(tmp_path):
    marker = f"torchfleet-test-{os.getpid()}-{time.time_ns()}"
    # The module starts a child in its own process group (as a shell's job control would), and waits.
    script = (
        "import os,subprocess,time;"
        f" subprocess.Popen(['bash', '-c', 'sleep 300; : {marker}'],"
        " preexec_fn=os.setpgrp); time.sleep(300)"
    ).encode()
    answer = _progress.start(options(tmp_path, timeout=2, wait=0.5, grace=1), script)
    assert answer["finished"] is False
    assert wait_until(lambda: marked(marker), 5), "the job's child did not start"
    # No poll: the heartbeat goes stale, the supervisor stops the module and the child of another group.
    assert wait_until(lambda: not marked(marker), 15), f"left running: {marked(marker)}"
    assert wait_until(lambda: not os.path.exists(answer["job"]), 5)
    lost = _progress.poll({"job": answer["job"], "watch": []})
    assert lost["finished"] is True and lost["lost"] is True


def test_polls_keep_a_long_job_alive(tmp_path):
    answer = _progress.start(options(tmp_path, timeout=2, wait=0.2), b"import time; time.sleep(4); print('{}')")
    for _attempt in range(30):
        if answer["finished"]:
            break
        time.sleep(0.5)
        answer = _progress.poll({"job": answer["job"], "watch": []})
    assert answer["finished"] is True and answer["stopped"] == "" and answer["stdout"] == "{}\n"


def test_the_start_answer_renews_the_heartbeat(tmp_path):
    # The first poll comes an interval after the start's answer, itself an interval after the job started: with a
    # timeout of two intervals, the job must count from the answer or it is stopped before its first poll.
    answer = _progress.start(options(tmp_path, timeout=2, wait=1.5), b"import time; time.sleep(3.5); print('{}')")
    while not answer["finished"]:
        time.sleep(1.5)
        answer = _progress.poll({"job": answer["job"], "watch": []})
    assert answer["stopped"] == "" and answer["stdout"] == "{}\n"


def test_a_poll_that_waits_is_answered_when_the_job_ends(tmp_path):
    """The action sends each poll with the rest of its interval as ``wait``: the host answers as soon as the job is
    done, within that wait, instead of the controller learning it one poll later. Here the wait (60 s) is far longer
    than the job (about 1 s), so an answer that is finished can only have come from the job's end."""
    answer = _progress.start(options(tmp_path, wait=0), b"import time; time.sleep(1); print('{}')")
    assert answer["finished"] is False
    answer = _progress.poll({"job": answer["job"], "watch": [], "wait": 60})
    assert answer["finished"] is True and answer["rc"] == 0 and answer["stdout"] == "{}\n"


def test_the_supervisor_writes_the_exit_status_when_the_job_ends_not_after_its_step(tmp_path):
    """supervise() waits on the child rather than sleeping ``step`` between looks: with a step of an hour, a job of
    an instant still gets its DONE file within a minute (a sleep of the step would hold it for the hour, and this
    test would fail at the minute instead of waiting for it)."""
    job = tmp_path / "job"
    job.mkdir()
    (job / _progress.HEARTBEAT).write_text("")
    rcs = []
    args = (str(job), [sys.executable], b"print('x')")
    thread = threading.Thread(
        target=lambda: rcs.append(_progress.supervise(*args, timeout=7200, grace=1, step=3600)), daemon=True
    )
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the supervisor still sleeps its step after the job ended"
    assert rcs == [0] and (job / _progress.DONE).read_text() == "0"
