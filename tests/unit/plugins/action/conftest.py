"""Helpers for the action plugin tests: an action bound to a fake connection and a fake ``_execute_module``.

The fake answers the Windows modules the actions call (``ansible.windows.win_command``, ``win_stat``) with
results shaped like theirs (ansible.windows plugins/modules/win_command.ps1: ``rc``, ``stdout``, ``stderr``,
``cmd``, ``changed: true``, ``failed`` with ``msg: non-zero return code`` when rc != 0, and
``Failed to run: ...`` with rc 2 and no output when the executable cannot start).
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

from ansible.playbook.play_context import PlayContext

FIXTURES = Path(__file__).resolve().parents[1] / "modules" / "fixtures"


def fixture(name):
    return (FIXTURES / name).read_text()


def win_command_result(argv, rc, stdout, stderr):
    result = {"changed": True, "cmd": " ".join(argv), "rc": rc, "stdout": stdout, "stderr": stderr,
              "start": "2026-01-05 10:00:00.000000", "end": "2026-01-05 10:00:01.000000",
              "delta": "0:00:01.000000"}  # fmt: skip
    if rc != 0:
        result.update(failed=True, msg="non-zero return code")
    return result


def cannot_start(argv):
    return {"changed": False, "failed": True, "rc": 2, "cmd": " ".join(argv),
            "msg": f"Failed to run: '{argv[0]}': The system cannot find the file specified"}  # fmt: skip


def make_action(action_class, args, check_mode=False, shell_family="powershell", name="torchfleet.lab.x"):
    task = mock.MagicMock()
    task.args = dict(args)
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    task.action = name
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = shell_family
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp" if shell_family == "powershell" else "/tmp/ansible-tmp"
    action = action_class(task, connection, PlayContext(), loader=None, templar=None, shared_loader_obj=None)
    # The plugin loader names every plugin it loads (lib/ansible/plugins/loader.py, _update_object); before 2.19,
    # ActionBase.validate_argument_spec reads the name for its "Unsupported parameters" message.
    action._load_name = name
    return action


class FakeExecute:
    """Stands in for ActionBase._execute_module; records every call with the check mode it ran under."""

    def __init__(self, action, answer):
        self.action = action
        self.answer = answer
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append({"module": module_name, "args": dict(module_args or {}),
                           "check_mode": self.action._task.check_mode})  # fmt: skip
        return self.answer(module_name, dict(module_args or {}))

    def commands(self):
        return [c["args"]["argv"] for c in self.calls if c["module"] == "ansible.windows.win_command"]
