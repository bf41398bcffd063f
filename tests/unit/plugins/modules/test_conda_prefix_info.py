"""Tests of torchfleet.lab.conda_prefix_info: the Python module on POSIX prefixes and its action plugin on Windows.

The POSIX cases build prefixes in a temporary directory and answer ``conda info --json`` with the hand-written
reference document (fixtures/ref_info_25_11.json). The Windows cases answer the built-in modules the action runs
(win_stat, win_find, slurp, win_command) from an in-memory prefix; the result shapes are hand-written after
ansible.windows' win_stat.ps1, win_find.ps1, slurp.ps1 and win_command.ps1 (3.x), not recorded on a host.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import ntpath
from pathlib import Path
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.torchfleet.lab.plugins.action.conda_prefix_info import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_prefix as cp
from ansible_collections.torchfleet.lab.plugins.modules import conda_prefix_info

from .conftest import FIXTURES, FailJson, run_main

INFO = json.loads((FIXTURES / "ref_info_25_11.json").read_text())
HISTORY = "==> 2025-11-20 10:00:00 <==\n# cmd: constructor\n+defaults/linux-64::python-3.13.9-h0_0\n"
MARKER = {"distribution": "miniforge", "version": "26.3.2-3", "installer": "Miniforge3-26.3.2-3-Linux-x86_64.sh"}


# --- the Python module on Linux and macOS -------------------------------------------------------------------
def _write(root: Path, files: dict):
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _posix_complete(root: Path):
    _write(
        root,
        {
            "bin/conda": "#!/bin/sh\n",
            "bin/python": "",
            "condabin/conda": "#!/bin/sh\n",
            "conda-meta/history": HISTORY,
            "conda-meta/torchfleet-install.json": json.dumps(MARKER),
            "_conda": "",
            ".installer.info": '{"name": "Miniforge3", "version": "26.3.2-3"}',
            "envs": None,
        },
    )


def run_module(prefix, conda_reply=(0, None, "")):
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        rc, out, err = conda_reply
        if out is None:
            out = json.dumps({**INFO, "root_prefix": str(prefix)})
        return rc, out, err

    return run_main(conda_prefix_info.main, {"prefix": str(prefix)}, run_command=run_command), calls


def test_module_reports_a_complete_prefix_with_its_marker(tmp_path):
    prefix = tmp_path / "miniforge3"
    _posix_complete(prefix)
    outcome, calls = run_module(prefix)
    result = outcome.kwargs
    assert not isinstance(outcome, FailJson)
    assert (result["state"], result["problems"], result["changed"]) == ("complete", [], False)
    assert result["marker"] == MARKER
    assert result["installer_info"]["name"] == "Miniforge3"
    assert (result["conda_version"], result["root_prefix"]) == (INFO["conda_version"], str(prefix))
    assert result["installed_for"] == "system"
    assert calls == [[str(prefix / "bin" / "conda"), "info", "--json"]]


@pytest.mark.parametrize(
    ("layout", "state"),
    [
        pytest.param({}, "absent", id="absent"),
        pytest.param({"": None}, "empty", id="empty"),
        pytest.param({"notes.txt": "mine"}, "foreign", id="foreign"),
        pytest.param({"_conda": "", "install_tmp": None, "conda-meta/history": ""}, "interrupted", id="interrupted"),
    ],
)
def test_module_states_that_never_run_conda(tmp_path, layout, state):
    prefix = tmp_path / "conda"
    _write(prefix, layout)
    outcome, calls = run_module(prefix)
    assert outcome.kwargs["state"] == state
    assert calls == []
    assert outcome.kwargs["marker"] is None


def test_module_reports_a_finished_prefix_whose_conda_does_not_answer_as_unusable(tmp_path):
    prefix = tmp_path / "miniforge3"
    _posix_complete(prefix)
    _write(prefix, {".nonadmin": ""})
    outcome, _calls = run_module(prefix, conda_reply=(1, "", "bad interpreter"))
    assert outcome.kwargs["state"] == "unusable"
    assert "'conda info --json' failed (rc=1): bad interpreter" in outcome.kwargs["problems"]
    assert outcome.kwargs["installed_for"] == "user"


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def test_issue_11_a_finished_miniforge_with_an_environment_and_a_bad_condarc_is_refused(tmp_path):
    # Reproduced on main: conda info failed once (a bad .condarc), the prefix was called half-made and deleted.
    prefix = tmp_path / "miniforge3"
    _posix_complete(prefix)
    _write(prefix, {"envs/research/conda-meta/history": HISTORY, "envs/research/results.csv": "epoch,loss\n1,0.5\n"})
    error = {"exception_name": "LoadError", "message": "Load Error: in .condarc on line 1, column 9. Invalid YAML"}
    before = _tree(prefix)
    outcome, _calls = run_module(prefix, conda_reply=(1, json.dumps(error), ""))
    assert outcome.kwargs["state"] == "unusable"
    assert outcome.kwargs["problems"] == [
        "'conda info --json' failed (rc=1): LoadError: Load Error: in .condarc on line 1, column 9. Invalid YAML"
    ]
    plan = cp.plan(
        outcome.kwargs["state"], outcome.kwargs["problems"], None, "miniforge", "26.3.2-3", "Linux", str(prefix)
    )
    assert plan["action"] == "none" and "Invalid YAML" in plan["refusal"]
    assert _tree(prefix) == before


def test_issue_11_a_conda_environment_given_as_the_prefix_is_refused(tmp_path):
    # Reproduced on main: an environment (conda-meta/history, no bin/conda) was repaired, that is, deleted.
    prefix = tmp_path / "research"
    _write(prefix, {"conda-meta/history": HISTORY, "bin/python": "", "lib/python3.11/site.py": "", "data.csv": "1"})
    outcome, calls = run_module(prefix)
    assert outcome.kwargs["state"] == "environment"
    assert calls == []
    plan = cp.plan("environment", outcome.kwargs["problems"], None, "miniforge", "26.3.2-3", "Linux", str(prefix))
    assert plan["action"] == "none" and "installs nothing over an environment" in plan["refusal"]


def test_module_does_not_offer_to_repair_a_half_made_prefix_that_holds_environments(tmp_path):
    prefix = tmp_path / "miniconda3"
    _write(
        prefix,
        {"_conda": "", "install_tmp": None, "conda-meta/history": "", "envs/research/conda-meta/history": HISTORY},
    )
    outcome, calls = run_module(prefix)
    assert outcome.kwargs["state"] == "damaged"
    assert "envs/ holds research" in outcome.kwargs["problems"]
    assert calls == []


def test_module_refuses_a_link_to_a_system_directory(tmp_path):
    prefix = tmp_path / "conda"
    prefix.symlink_to("/usr")
    outcome, calls = run_module(prefix)
    assert isinstance(outcome, FailJson)
    assert "resolves to /usr" in outcome.kwargs["msg"] and "system directory" in outcome.kwargs["msg"]
    assert calls == []


def test_root_does_not_run_a_conda_a_user_owns(tmp_path, monkeypatch):
    prefix = tmp_path / "miniforge3"
    _posix_complete(prefix)
    (prefix / "bin" / "conda").write_text(f"#!{prefix}/bin/python\nimport conda\n")
    _write(prefix, {"lib/python3.11/site-packages/conda/__init__.py": ""})
    owned = {str(prefix / "lib" / "python3.11" / "site-packages" / "conda"): 1000}
    real_stat = conda_prefix_info._stat_of

    def stat_of(path):
        _uid, _gid, st_mode = real_stat(path)
        # Everything root's but what the test gives a user, wherever the test runs.
        return owned.get(path, 0), 0, st_mode & ~0o022

    monkeypatch.setattr(conda_prefix_info.os, "geteuid", lambda: 0)
    monkeypatch.setattr(conda_prefix_info, "_stat_of", stat_of)
    outcome, calls = run_module(prefix)
    assert isinstance(outcome, FailJson)
    assert calls == []
    message = outcome.kwargs["msg"]
    assert f"{prefix}/lib/python3.11/site-packages/conda is owned by uid 1000" in message
    assert "would run as root" in message and "miniconda_scope: user" in message
    # What it checked: the script, the interpreter its first line names, the conda package.
    assert conda_prefix_info._what_conda_runs(str(prefix)) == [
        str(prefix / "bin" / "conda"),
        str(prefix / "bin" / "python"),
        str(prefix / "lib" / "python3.11" / "site-packages" / "conda"),
    ]
    # Root-owned, the same prefix is read.
    owned.clear()
    outcome, calls = run_module(prefix)
    assert outcome.kwargs["state"] == "complete" and len(calls) == 1


def test_module_fails_on_a_file(tmp_path):
    prefix = tmp_path / "conda"
    prefix.write_text("not a directory")
    outcome, _calls = run_module(prefix)
    assert isinstance(outcome, FailJson)
    assert "is not a directory" in outcome.kwargs["msg"]


# --- the action plugin on Windows ---------------------------------------------------------------------------
WIN_PREFIX = "C:\\Users\\ana\\miniforge3"
WIN_MARKER = {"distribution": "miniforge", "version": "26.3.2-3", "installer": "Miniforge3-26.3.2-3-Windows-x86_64.exe"}


def windows_complete(prefix=WIN_PREFIX, just_me=True):
    """A finished Miniforge JustMe install as the .exe leaves it (constructor nsis/main.nsi.tmpl)."""
    tree = {
        prefix: None,
        prefix + "\\Scripts": None,
        prefix + "\\Scripts\\conda.exe": b"MZ" + b"\0" * 100,
        prefix + "\\Scripts\\pip.exe": b"MZ",
        prefix + "\\condabin": None,
        prefix + "\\condabin\\conda.bat": b"@CALL conda",
        prefix + "\\conda-meta": None,
        prefix + "\\conda-meta\\history": HISTORY.encode(),
        prefix + "\\conda-meta\\torchfleet-install.json": json.dumps(WIN_MARKER).encode(),
        prefix + "\\Library": None,
        prefix + "\\envs": None,
        prefix + "\\pkgs": None,
        prefix + "\\_conda.exe": b"MZ",
        prefix + "\\pre_uninstall.bat": b"",
        prefix + "\\.installer.info": b'\xef\xbb\xbf{"name": "Miniforge3", "version": "26.3.2-3"}',
        prefix + "\\python.exe": b"MZ",
        prefix + "\\Uninstall-Miniforge3.exe": b"MZ",
    }
    if just_me:
        tree[prefix + "\\.nonadmin"] = b""
    return tree


class FakeWindowsHost:
    """Answers the built-in Windows modules from an in-memory tree {path: bytes, or None for a directory}."""

    def __init__(self, tree, conda=(0, None, "")):
        self.tree = {k.lower(): (k, v) for k, v in tree.items()}
        self.conda = conda
        self.calls = []

    def _children(self, directory):
        base = directory.lower().rstrip("\\") + "\\"
        return [
            (name, content)
            for key, (name, content) in self.tree.items()
            if key.startswith(base) and "\\" not in key[len(base) :]
        ]

    def __call__(self, action, module_name, module_args):
        self.calls.append((module_name, dict(module_args), action._task.check_mode))
        if module_name == "ansible.windows.win_stat":
            entry = self.tree.get(module_args["path"].lower())
            if entry is None:
                return {"changed": False, "stat": {"exists": False}}
            return {"changed": False, "stat": {"exists": True, "isdir": entry[1] is None, "path": entry[0]}}
        if module_name == "ansible.windows.win_find":
            files = []
            for directory in module_args["paths"]:
                for name, content in self._children(directory):
                    isdir = content is None
                    if module_args["file_type"] == "directory" and not isdir:
                        continue
                    if module_args["file_type"] == "file" and isdir:
                        continue
                    base = ntpath.basename(name)
                    patterns = module_args.get("patterns")
                    if patterns and not any(fnmatch.fnmatch(base.lower(), p.lower()) for p in patterns):
                        continue
                    files.append(
                        {"filename": base, "path": name, "isdir": isdir, "size": None if isdir else len(content)}
                    )
            return {"changed": False, "examined": len(files), "matched": len(files), "files": files}
        if module_name == "ansible.windows.slurp":
            entry = self.tree.get(module_args["src"].lower())
            if entry is None or entry[1] is None:
                return {"failed": True, "msg": f"Path {module_args['src']} is not found"}
            return {"content": base64.b64encode(entry[1]).decode(), "encoding": "base64", "source": entry[0]}
        if module_name == "ansible.windows.win_command":
            rc, out, err = self.conda
            if out is None:
                out = json.dumps({**INFO, "platform": "win-64", "root_prefix": WIN_PREFIX})
            return {"changed": True, "rc": rc, "stdout": out, "stderr": err, "failed": rc != 0}
        raise AssertionError(f"unexpected module {module_name}")


def run_action(args, host=None, shell="powershell", check_mode=False):
    task = mock.MagicMock(async_val=0, check_mode=check_mode, diff=False, args=dict(args))
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = shell
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)

    def execute(module_name=None, module_args=None, task_vars=None, **kwargs):
        return host(action, module_name, module_args)

    with mock.patch.object(ActionModule, "_execute_module", side_effect=execute) as patched:
        result = action.run(task_vars={})
    return result, task, patched


def test_action_runs_the_python_module_on_posix_hosts():
    task = mock.MagicMock(async_val=0, check_mode=False, diff=False, args={"prefix": "/opt/miniforge3"})
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = "sh"
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    reply = {"state": "complete", "problems": [], "changed": False}
    with mock.patch.object(ActionModule, "_execute_module", return_value=reply) as execute:
        result = action.run(task_vars={})
    execute.assert_called_once_with(
        module_name="torchfleet.lab.conda_prefix_info", module_args={"prefix": "/opt/miniforge3"}, task_vars={}
    )
    assert result["state"] == "complete"


def test_action_classifies_a_complete_windows_install():
    host = FakeWindowsHost(windows_complete())
    result, _task, _patched = run_action({"prefix": WIN_PREFIX + "\\"}, host)
    assert (result["state"], result["problems"]) == ("complete", [])
    assert result["marker"] == WIN_MARKER
    assert result["installer_info"] == {"name": "Miniforge3", "version": "26.3.2-3"}
    assert (result["conda_version"], result["root_prefix"]) == (INFO["conda_version"], WIN_PREFIX)
    assert result["installed_for"] == "user"
    assert result["changed"] is False
    modules = [call[0] for call in host.calls]
    # Only read-only built-ins; conda is called by its path, never through activation.
    assert set(modules) <= {
        "ansible.windows.win_stat",
        "ansible.windows.win_find",
        "ansible.windows.slurp",
        "ansible.windows.win_command",
    }
    command = next(call[1] for call in host.calls if call[0] == "ansible.windows.win_command")
    assert command == {"argv": [WIN_PREFIX + "\\Scripts\\conda.exe", "info", "--json"]}


def test_action_reads_an_all_users_install_and_a_custom_marker():
    tree = windows_complete("C:\\ProgramData\\miniforge3", just_me=False)
    tree["C:\\ProgramData\\miniforge3\\conda-meta\\other.json"] = b'{"version": "x"}'
    host = FakeWindowsHost(tree)
    result, _task, _patched = run_action({"prefix": "C:/ProgramData/miniforge3", "marker": "other.json"}, host)
    assert result["state"] == "complete"
    assert result["installed_for"] == "system"
    assert result["marker"] == {"version": "x"}


@pytest.mark.parametrize(
    ("drop", "add", "problem"),
    [
        pytest.param(
            ["\\Uninstall-Miniforge3.exe"],
            {},
            "Uninstall-<NAME>.exe is missing (the installer writes it last)",
            id="no-uninstaller",
        ),
        pytest.param([], {"\\tmp": None}, "tmp is left over from an unfinished install", id="leftover-tmp"),
        pytest.param(["\\Scripts\\conda.exe"], {}, "Scripts\\conda.exe is missing", id="no-conda-exe"),
        pytest.param([], {"\\conda-meta\\history": b""}, "conda-meta\\history is empty", id="empty-history"),
    ],
)
def test_action_finds_a_half_made_windows_prefix_without_running_conda(drop, add, problem):
    tree = windows_complete()
    for rel in drop:
        del tree[WIN_PREFIX + rel]
    tree.update({WIN_PREFIX + rel: content for rel, content in add.items()})
    host = FakeWindowsHost(tree)
    result, _task, _patched = run_action({"prefix": WIN_PREFIX}, host)
    assert result["state"] == "interrupted"
    assert problem in result["problems"]
    assert result["marker"] == WIN_MARKER
    assert "ansible.windows.win_command" not in [call[0] for call in host.calls]


@pytest.mark.parametrize(
    ("tree", "state"),
    [
        pytest.param({}, "absent", id="absent"),
        pytest.param({WIN_PREFIX: None}, "empty", id="empty"),
        pytest.param(
            {
                WIN_PREFIX: None,
                WIN_PREFIX + "\\Scripts": None,
                WIN_PREFIX + "\\Lib": None,
                WIN_PREFIX + "\\pyvenv.cfg": b"home = C:\\Python313",
            },
            "foreign",
            id="venv-is-foreign",
        ),
    ],
)
def test_action_states_that_read_nothing_inside(tree, state):
    host = FakeWindowsHost(tree)
    result, _task, _patched = run_action({"prefix": WIN_PREFIX}, host)
    assert result["state"] == state
    assert result["marker"] is None
    assert [call[0] for call in host.calls if call[0] in ("ansible.windows.slurp", "ansible.windows.win_command")] == []


def test_action_fails_on_a_file():
    host = FakeWindowsHost({WIN_PREFIX: b"data"})
    result, _task, _patched = run_action({"prefix": WIN_PREFIX}, host)
    assert result["failed"] is True and "is not a directory" in result["msg"]


def test_action_demotes_a_prefix_whose_conda_exe_fails():
    host = FakeWindowsHost(windows_complete(), conda=(3221225781, "", "The code execution cannot proceed"))
    result, _task, _patched = run_action({"prefix": WIN_PREFIX}, host)
    assert result["state"] == "unusable"
    assert result["problems"] == ["'conda info --json' failed (rc=3221225781): The code execution cannot proceed"]


def test_action_probes_in_check_mode_and_leaves_check_mode_as_it_was():
    host = FakeWindowsHost(windows_complete())
    result, task, _patched = run_action({"prefix": WIN_PREFIX}, host, check_mode=True)
    assert result["state"] == "complete"
    # Every probe but conda info runs in check mode; win_command would skip itself there, and conda info is
    # read-only, so it runs for real.
    assert {call[2] for call in host.calls if call[0] != "ansible.windows.win_command"} == {True}
    assert [call[2] for call in host.calls if call[0] == "ansible.windows.win_command"] == [False]
    assert task.check_mode is True


def test_action_refuses_unknown_options():
    with pytest.raises(AnsibleActionFail, match="bogus"):
        run_action({"prefix": WIN_PREFIX, "bogus": 1}, FakeWindowsHost({}))
