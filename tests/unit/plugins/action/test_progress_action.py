"""torchfleet.lab.progress (plugins/action/progress.py): the lines it prints, and real runs under ansible-playbook
on the controller (local connection): the lines appear while a step runs, the task's result is the module's,
a failing command fails the task with its message, no_log hides the arguments, the environment keyword
applies, a quick step costs no more commands than the module alone, and progress off, check mode and
Windows run the module plainly."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.action import progress

from .conftest import make_action

COLLECTIONS = Path(progress.__file__).parents[5]  # the ansible_collections tree conftest.py made


def test_human_sizes():
    assert [progress.human(n) for n in (0, 900, 2048, 5 * 2**20 + 2**19, 412 * 2**20, 3 * 2**30 // 2, -35 * 2**20)] == [
        "0 B", "900 B", "2.0 KiB", "5.5 MiB", "412 MiB", "1.5 GiB", "-35 MiB"]  # fmt: skip


def test_the_line_names_host_label_sizes_growth_and_time():
    sizes = [["/opt/envs/x", 412 * 2**20], ["/root/.cache/uv", None]]
    line = progress.progress_line("tf-uv", "installing torch", sizes, [["/opt/envs/x", 377 * 2**20]], 5, 40)
    assert line == "tf-uv: installing torch: 412 MiB in /opt/envs/x (+35 MiB/5 s), 40 s"
    assert progress.progress_line("h", "x", [["/a", None]], None, 5, 5) == "h: x: nothing yet in /a, 5 s"
    assert progress.progress_line("h", "x", [], None, 5, 10) == "h: x: running, 10 s"


@pytest.mark.parametrize(
    ("enabled", "shell", "check_mode", "async_val", "reason"),
    [
        (False, "sh", False, 0, "progress is off"),
        (True, "powershell", False, 0, "Windows"),
        (True, "sh", True, 0, "check mode"),
        (True, "sh", False, 30, "async"),
        (True, "sh", False, 0, None),
    ],
)
def test_when_the_module_runs_plainly(enabled, shell, check_mode, async_val, reason):
    action = make_action(progress.ActionModule, {"module": "ansible.builtin.command"}, check_mode=check_mode,
                         shell_family=shell)  # fmt: skip
    action._task.async_val = async_val
    found = action._plain_reason(enabled)
    assert (found is None) if reason is None else (reason in found)


def test_windows_runs_the_wrapped_action_and_returns_its_result():
    action = make_action(progress.ActionModule, {"module": "ansible.windows.win_command", "args": {"argv": ["x"]}})
    with mock.patch.object(progress.ActionModule, "_run_plain", return_value={"rc": 0, "changed": True}) as plain, \
            mock.patch.object(progress.ActionModule, "_run_with_progress") as supervised:  # fmt: skip
        result = action.run(task_vars={})
    plain.assert_called_once()
    assert plain.call_args[0][:2] == ("ansible.windows.win_command", {"argv": ["x"]})
    supervised.assert_not_called()
    assert result["rc"] == 0 and result["changed"] is True


@pytest.mark.parametrize("args", [{"interval": 0}, {"interval": 5, "timeout": 9}, {"enabled": "maybe"}])
def test_bad_options_are_refused(args):
    action = make_action(progress.ActionModule, dict({"module": "ansible.builtin.command"}, **args), shell_family="sh")
    with pytest.raises(Exception, match=r"torchfleet\.lab\.progress"):
        action.run(task_vars={})


def step(name, argv, register=None, **options):
    """A task running ``argv`` with ansible.builtin.command through torchfleet.lab.progress."""
    options = dict({"module": "ansible.builtin.command", "args": {"argv": argv}}, **options)
    return dict({"name": name, "torchfleet.lab.progress": options}, **({"register": register} if register else {}))


def playbook(tmp_path, tasks, *extra, env=None):
    """Run ``tasks`` on localhost; returns (rc, output, registered results)."""
    out = tmp_path / "results.json"
    saved = {t["register"]: f"{{{{ {t['register']} }}}}" for t in tasks if "register" in t}
    save = {"ansible.builtin.copy": {"dest": str(out), "content": "{{ saved | to_json }}"}, "vars": {"saved": saved}}
    tasks = [*tasks, dict(save, name="Save")]
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_ASYNC_DIR=str(tmp_path / "async"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ltmp"),
                   ANSIBLE_REMOTE_TMP=str(tmp_path / "rtmp"), **(env or {}))  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "ansible", "playbook", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", *extra, str(book)],
        capture_output=True, text=True, env=environ, timeout=240, check=False)  # fmt: skip
    saved = json.loads(out.read_text()) if out.exists() else {}
    return run.returncode, run.stdout + run.stderr, saved


def test_a_long_step_prints_lines_and_returns_the_module_result(tmp_path):
    fill = tmp_path / "fill"
    script = (
        f"mkdir -p {fill}; for i in 1 2 3 4 5; do head -c 1048576 /dev/zero > {fill}/$i; sleep 1; done;"
        " echo out; echo err >&2"
    )
    task = step("Fill", ["bash", "-c", script], "filled", label="filling", watch=[str(fill)], interval=1, timeout=10)
    task["changed_when"] = "'out' in filled.stdout"
    rc, output, saved = playbook(tmp_path, [task])
    assert rc == 0, output
    lines = re.findall(r"^localhost: filling: .*$", output, re.M)
    assert len(lines) >= 3, output
    assert any(
        re.search(r"[1-5]\.0 MiB in " + re.escape(str(fill)) + r" \(\+1\.0 MiB/1 s\), \d+ s$", line) for line in lines
    ), lines
    result = saved["filled"]
    assert (result["rc"], result["stdout"], result["stderr"], result["changed"]) == (0, "out", "err", True)
    assert result["cmd"] == ["bash", "-c", script]
    assert "start" in result and "delta" in result
    assert os.listdir(tmp_path / "async") == []


def test_a_long_step_ends_with_its_job_not_at_the_next_poll(tmp_path):
    # The start command answers after one interval (5 s) with the job still running; the poll that follows waits on
    # the host for the rest of the next interval and answers when the job ends, at 6 s. A controller that slept to
    # the next interval and then polled would end the task at 10 s or later.
    clock = {"ansible.builtin.set_fact": {"at": "{{ now().timestamp() }}"}}
    tasks = [
        dict(clock, name="Before", register="before"),
        step("Six seconds", ["sleep", "6"], "slept", interval=5, timeout=30),
        dict(clock, name="After", register="after"),
    ]
    rc, output, saved = playbook(tmp_path, tasks)
    assert rc == 0, output
    assert len(re.findall(r"^localhost: running .*$", output, re.M)) == 1, output  # the start's one line
    took = float(saved["after"]["ansible_facts"]["at"]) - float(saved["before"]["ansible_facts"]["at"])
    assert 6 <= took < 9, f"the step took {took:.1f} s for a 6 s job polled every 5 s"


def test_a_failing_command_fails_the_task_with_its_message(tmp_path):
    task = step("Fail", ["bash", "-c", "sleep 2; echo broken >&2; exit 3"], "broke", interval=1, timeout=5)
    task["ignore_errors"] = True
    rc, output, saved = playbook(tmp_path, [task])
    assert rc == 0, output
    result = saved["broke"]
    assert (result["failed"], result["rc"], result["msg"], result["stderr"]) == (
        True,
        3,
        "non-zero return code",
        "broken",
    )
    assert "fatal: [localhost]: FAILED!" in output and "...ignoring" in output


def test_failed_when_and_no_log_and_environment(tmp_path):
    secret = "https://user:s3cret-token@index.example/simple"
    task = step("Secret", ["bash", "-c", f"sleep 2; echo $TF_INDEX; : {secret}"], "hidden", label="secretive",
                interval=1, timeout=5)  # fmt: skip
    task.update(environment={"TF_INDEX": "from-environment"}, no_log=True)
    task["failed_when"] = "hidden.stdout != 'from-environment'"
    rc, output, saved = playbook(tmp_path, [task], "-v")
    assert rc == 0, output
    assert "localhost: secretive: running, " in output
    assert "s3cret" not in output
    assert saved["hidden"]["stdout"] == "from-environment" and saved["hidden"]["failed"] is False


def exec_count(output):
    return len(re.findall(r"^<localhost> (?:EXEC|PUT) ", output, re.M))


@pytest.mark.parametrize("pipelining", ["0", "1"])
def test_a_quick_step_costs_no_more_commands_than_the_module_alone(tmp_path, pipelining):
    counts = {}
    for enabled in (False, True):
        task = step("Quick", ["true"], f"quick_{str(enabled).lower()}", enabled=enabled)
        rc, output, saved = playbook(tmp_path, [task], "-vvv", env={"ANSIBLE_PIPELINING": pipelining})
        assert rc == 0, output
        assert saved[f"quick_{str(enabled).lower()}"]["rc"] == 0
        counts[enabled] = exec_count(output.split("TASK [Quick]")[1].split("TASK [Save]")[0])
    assert counts[False] > 0
    print(f"pipelining={pipelining}: commands of a quick step, plain {counts[False]}, with progress {counts[True]}")
    assert counts[True] <= counts[False] + 1, counts


def test_progress_off_and_check_mode_run_the_module_plainly(tmp_path):
    tasks = [
        step("Off", ["sleep", "3"], "off", enabled=False, interval=1, timeout=5),
        dict(step("Check", ["touch", str(tmp_path / "never")], "checked"), check_mode=True),
    ]
    rc, output, saved = playbook(tmp_path, tasks)
    assert rc == 0, output
    assert "localhost: running ansible.builtin.command" not in output
    assert saved["off"]["rc"] == 0
    assert saved["checked"]["skipped"] is True or "check mode" in saved["checked"].get("msg", "")
    assert not (tmp_path / "never").exists()
    assert not (tmp_path / "async").exists()
