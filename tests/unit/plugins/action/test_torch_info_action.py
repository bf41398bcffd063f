"""The torch_info action: POSIX hosts run the module; Windows hosts run the same program via win_command."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.torchfleet.lab.plugins.action.torch_info import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_info

from .conftest import FakeExecute, cannot_start, fixture, make_action, win_command_result

PYTHON = "C:\\ProgramData\\torchfleet\\envs\\pytorch_env\\Scripts\\python.exe"


def run(args, answer, check_mode=False, shell_family="powershell"):
    action = make_action(ActionModule, args, check_mode=check_mode, shell_family=shell_family,
                         name="torchfleet.lab.torch_info")  # fmt: skip
    fake = FakeExecute(action, answer)
    action._execute_module = fake
    result = action.run(task_vars={})
    assert action._task.check_mode is check_mode
    return result, fake


def answering(rc, stdout, stderr=""):
    def answer(module, args):
        assert module == "ansible.windows.win_command"
        return win_command_result(args["argv"], rc, stdout, stderr)

    return answer


@pytest.mark.parametrize("check_mode", [False, True])
def test_windows_report_through_python_exe(check_mode):
    result, fake = run({"python": PYTHON}, answering(0, fixture("torch_info_cpu_windows_hand_written.json")),
                       check_mode=check_mode)  # fmt: skip
    # The read-only probe runs in check mode too: win_command itself would skip.
    assert [c["check_mode"] for c in fake.calls] == [False]
    (argv,) = fake.commands()
    assert argv == [PYTHON, "-c", _torch_info.SCRIPT, json.dumps({"device": "auto", "size": 256})]
    assert result["changed"] is False and "failed" not in result
    assert set(_torch_info.KEYS) <= set(result)
    assert result["executable"] == PYTHON and result["machine"] == "AMD64"
    assert result["matmul"] == json.loads(fixture("torch_info_cpu_windows_hand_written.json"))["matmul"]
    assert result["matmul"]["device"] == "cpu" and result["matmul"]["ok"] is True
    assert "warnings" not in result


def test_windows_device_and_size_are_passed():
    _result, fake = run({"python": PYTHON, "device": "cpu", "matmul_size": 64},
                        answering(0, fixture("torch_info_cpu_windows_hand_written.json")))  # fmt: skip
    assert json.loads(fake.commands()[0][3]) == {"device": "cpu", "size": 64}


def test_windows_bad_matmul_is_a_warning():
    result, _fake = run({"python": PYTHON}, answering(0, fixture("torch_info_bad_matmul_hand_written.json")))
    assert result["matmul"]["ok"] is False
    assert "differs from the float64 reference" in result["warnings"][0]


def test_windows_missing_interpreter():
    result, _fake = run({"python": PYTHON}, lambda module, args: cannot_start(args["argv"]))
    assert result["failed"] is True and result["rc"] == 2
    assert "printed no torch report (rc 2): Failed to run" in result["msg"]


def test_windows_no_torch():
    report = (
        '{"python_version": "3.11.9", "executable": "C:\\\\x\\\\python.exe", "error": "cannot import torch: x"}\r\n'
    )
    result, _fake = run({"python": PYTHON}, answering(3, report))
    assert result["failed"] is True and result["msg"] == f"{PYTHON}: cannot import torch: x"
    assert result["python_version"] == "3.11.9"


def test_windows_negative_size_runs_nothing():
    result, fake = run({"python": PYTHON, "matmul_size": -1}, answering(0, ""))
    assert result["failed"] is True and fake.calls == []


def test_windows_arguments_are_validated_like_the_module():
    with pytest.raises(AnsibleActionFail, match="value of device must be one of"):
        run({"python": PYTHON, "device": "tpu"}, answering(0, ""))
    with pytest.raises(AnsibleActionFail, match="missing required arguments: python"):
        run({}, answering(0, ""))


@pytest.mark.parametrize("check_mode", [False, True])
def test_posix_runs_the_module_unchanged(check_mode):
    args = {"python": "/opt/envs/torch/bin/python", "device": "mps"}
    result, fake = run(args, lambda module, margs: {"changed": False, "version": "2.15.0"}, check_mode=check_mode,
                       shell_family="sh")  # fmt: skip
    assert fake.calls == [{"module": "torchfleet.lab.torch_info", "args": args, "check_mode": check_mode}]
    assert result["version"] == "2.15.0"
