"""WindowsHost (plugin_utils/_windows.py): the one place the actions reach a Windows host through.

The answers are shaped like ansible.windows 3.x results: win_stat's ``stat``, win_find's ``files`` (each with
``filename``, ``path``, ``size``; a failure leaves ``files`` empty and sets ``msg``), slurp's base64 ``content``,
and ``changed``/``failed``/``msg`` for win_file, win_acl and win_acl_inheritance.
"""

from __future__ import annotations

import base64

import pytest
from ansible_collections.torchfleet.lab.plugins.action.win_dirs import ActionModule
from ansible_collections.torchfleet.lab.plugins.plugin_utils import _windows

from .conftest import FakeExecute, make_action

DIR = "C:\\Users\\ana\\miniforge3"


def host_with(answer, check_mode=False, **options):
    action = make_action(ActionModule, {}, check_mode=check_mode)
    fake = FakeExecute(action, answer)
    action._execute_module = fake
    return _windows.WindowsHost(action, {}, **options), fake


def test_stat_reads_a_failure_as_absent_unless_strict():
    def answer(module, args):
        return {"failed": True, "msg": "Access is denied"}

    host, fake = host_with(answer)
    assert host.stat(DIR) == {"exists": False}
    with pytest.raises(_windows.WindowsModuleError) as caught:
        host.stat(DIR, strict=True)
    assert caught.value.msg == "Access is denied"
    assert str(caught.value) == f"ansible.windows.win_stat on {DIR} failed: Access is denied"
    assert fake.calls[0]["args"] == {"path": DIR, "get_checksum": False}


def test_listdir_lists_directories_and_files_hidden_ones_included():
    entries = {"directory": ["pkgs", "conda-meta"], "file": [".nonadmin", "_conda.exe"]}

    def answer(module, args):
        assert module == "ansible.windows.win_find"
        names = entries[args["file_type"]]
        return {"changed": False, "files": [{"filename": n, "path": DIR + "\\" + n} for n in names]}

    host, fake = host_with(answer)
    assert host.listdir(DIR) == [".nonadmin", "_conda.exe", "conda-meta", "pkgs"]
    assert [c["args"] for c in fake.calls] == [
        {"paths": [DIR], "file_type": file_type, "hidden": True, "get_checksum": False}
        for file_type in ("directory", "file")
    ]


def test_find_passes_patterns_and_raises_on_failure():
    replies = [
        {"changed": False, "files": [{"filename": "conda.exe", "path": DIR + "\\Scripts\\conda.exe", "size": 9}]},
        {"failed": True, "msg": "Invalid age pattern specified", "files": []},
    ]
    host, fake = host_with(lambda module, args: replies.pop(0))
    found = host.find([DIR + "\\Scripts"], "file", patterns=["conda.exe"])
    assert found == [{"filename": "conda.exe", "path": DIR + "\\Scripts\\conda.exe", "size": 9}]
    assert fake.calls[0]["args"]["patterns"] == ["conda.exe"]
    with pytest.raises(_windows.WindowsModuleError, match="Invalid age pattern specified"):
        host.find([DIR], "directory")
    assert "patterns" not in fake.calls[1]["args"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(
            {"content": base64.b64encode(b"\xef\xbb\xbf{}").decode(), "encoding": "base64"},
            b"\xef\xbb\xbf{}",
            id="content",
        ),
        pytest.param({"failed": True, "msg": "Path C:\\x is not found"}, None, id="missing"),
        pytest.param({"failed": True, "msg": "Path C:\\x is a directory"}, None, id="directory"),
        pytest.param({"content": "not base64!", "encoding": "base64"}, None, id="garbled"),
    ],
)
def test_read_bytes_decodes_slurp_or_gives_none(reply, expected):
    host, fake = host_with(lambda module, args: reply)
    assert host.read_bytes("C:\\x") == expected
    assert fake.calls == [{"module": "ansible.windows.slurp", "args": {"src": "C:\\x"}, "check_mode": False}]


def test_changing_calls_send_the_documented_options():
    host, fake = host_with(lambda module, args: {"changed": True})
    assert host.make_dir(DIR) is True
    assert host.grant(DIR, "S-1-5-18", "FullControl", "ContainerInherit, ObjectInherit") is True
    assert host.protect_acl(DIR) is True
    assert [(c["module"], c["args"]) for c in fake.calls] == [
        ("ansible.windows.win_file", {"path": DIR, "state": "directory"}),
        (
            "ansible.windows.win_acl",
            {
                "path": DIR,
                "user": "S-1-5-18",
                "rights": "FullControl",
                "type": "allow",
                "state": "present",
                "inherit": "ContainerInherit, ObjectInherit",
                "propagation": "None",
            },
        ),
        ("ansible.windows.win_acl_inheritance", {"path": DIR, "state": "absent", "reorganize": False}),
    ]


def test_a_failed_change_raises_with_the_module_and_its_message():
    host, _fake = host_with(lambda module, args: {"failed": True, "msg": "denied"})
    with pytest.raises(_windows.WindowsModuleError) as caught:
        host.grant(DIR, "S-1-5-18", "FullControl", "ContainerInherit, ObjectInherit")
    assert str(caught.value) == f"ansible.windows.win_acl on {DIR} failed: denied"


@pytest.mark.parametrize(
    "call",
    [
        lambda host: host.make_dir(DIR),
        lambda host: host.grant(DIR, "S-1-5-18", "FullControl", "ContainerInherit, ObjectInherit"),
        lambda host: host.protect_acl(DIR),
        lambda host: host.run(["mkdir", DIR], read_only=False),
    ],
)
def test_check_mode_refuses_every_changing_call_before_it_reaches_the_host(call):
    host, fake = host_with(lambda module, args: {"changed": True}, check_mode=True)
    with pytest.raises(RuntimeError, match="check mode"):
        call(host)
    assert fake.calls == []


@pytest.mark.parametrize(("lift", "probe_check_mode"), [(True, False), (False, True)])
def test_probes_lift_check_mode_unless_asked_to_keep_it(lift, probe_check_mode):
    def answer(module, args):
        if module == "ansible.windows.win_command":
            return {"changed": True, "rc": 0, "stdout": "", "stderr": ""}
        return {"changed": False, "stat": {"exists": True, "isdir": True}, "files": [], "content": ""}

    host, fake = host_with(answer, check_mode=True, lift_check_mode=lift)
    host.stat(DIR)
    host.find([DIR], "file")
    host.read_bytes(DIR + "\\x")
    host.run(["cmd.exe", "/c", "ver"])
    modes = {c["module"]: c["check_mode"] for c in fake.calls}
    # win_command does not support check mode and would skip itself: a read-only command always runs for real.
    assert modes.pop("ansible.windows.win_command") is False
    assert set(modes.values()) == {probe_check_mode}
    assert host._action._task.check_mode is True
