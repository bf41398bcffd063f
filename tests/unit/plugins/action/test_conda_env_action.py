"""The conda_env action: POSIX hosts run the module; Windows hosts get the module's decisions through win_command.

Windows answers are hand-written to conda's documented JSON shapes with Windows paths (fixtures win_ref_*,
see ../modules/fixtures/README.md) inside win_command's result shape (conftest.py).
"""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.torchfleet.lab.plugins.action.conda_env import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils._conda_env import PIP_LAUNCHER

from .conftest import FakeExecute, cannot_start, fixture, make_action, win_command_result

ROOT = "C:\\ProgramData\\miniconda3"
CONDA = ROOT + "\\Scripts\\conda.exe"
ENV = ROOT + "\\envs\\torch"
PYTHON = ENV + "\\python.exe"


def torch_list(torch="2.13.0+cpu", python="3.11.9"):
    records = json.loads(fixture("win_ref_list_torch_env.json"))
    for rec in records:
        if rec["name"] == "torch":
            rec["version"] = torch
        if rec["name"] == "python":
            rec["version"] = python
    return records


class FakeWindowsHost:
    """Answers the Windows modules by the command's shape, like the module tests' FakeHost does for run_command."""

    def __init__(self, envs=(ROOT, ENV), lists=None, responses=None, files=()):
        self.envs = list(envs)
        self.lists = dict(lists or {})
        self.responses = dict(responses or {})
        self.files = set(files)

    def __call__(self, module, args):
        if module == "ansible.windows.win_stat":
            path = args["path"]
            return {"changed": False, "stat": {"exists": path in self.files, "isdir": False, "path": path}}
        assert module == "ansible.windows.win_command", module
        argv = args["argv"]
        if "missing-conda" in self.responses:
            return cannot_start(argv)
        if argv[0].endswith("python.exe"):
            key = "pip-dry" if "--dry-run" in argv else "pip"
            return win_command_result(argv, *self.responses.get(key, (0, fixture("pip_install_stdout.txt"), "")))
        sub = argv[1]
        if sub in self.responses:
            return win_command_result(argv, *self.responses[sub])
        if argv[1:3] == ["env", "list"]:
            doc = json.loads(fixture("win_ref_env_list_25_11.json"))
            doc["envs"] = self.envs
            return win_command_result(argv, 0, json.dumps(doc, indent=2), "")
        if sub == "info":
            doc = json.loads(fixture("win_ref_info_25_11.json"))
            doc["envs"] = self.envs
            return win_command_result(argv, 0, json.dumps(doc, indent=2), "")
        if sub == "list":
            prefix = argv[argv.index("-p") + 1]
            return win_command_result(argv, 0, json.dumps(self.lists.get(prefix, [])), "")
        raise AssertionError(f"unexpected command {argv!r}")


def run(args, host, check_mode=False):
    args = dict(args)
    args.setdefault("conda", CONDA)
    action = make_action(ActionModule, args, check_mode=check_mode, name="torchfleet.lab.conda_env")
    fake = FakeExecute(action, host)
    action._execute_module = fake
    result = action.run(task_vars={})
    # Probes ran with check mode lifted, and the task's own flag is back as it was.
    assert all(c["check_mode"] is False for c in fake.calls)
    assert action._task.check_mode is check_mode
    return result, fake


def writes(fake):
    return [c for c in fake.commands() if c[1:2] in (["create"], ["install"], ["remove"]) or "pip" in c[1:4]]


# ------------------------------------------------------------------------------------------------ Windows
def test_windows_create_when_absent():
    host = FakeWindowsHost(envs=[ROOT], responses={"create": (0, fixture("win_ref_create_25_11.json"), "")},
                           lists={ENV: torch_list()})  # fmt: skip
    result, fake = run({"prefix": ENV, "python": "3.11", "pip_requirements": ["torch==2.13.0"],
                        "pip_index_url": "https://download.pytorch.org/whl/cpu"}, host)  # fmt: skip
    assert result["changed"] is True and result["created"] is True
    assert fake.commands()[0] == [CONDA, "env", "list", "--json"]
    create = next(c for c in fake.commands() if c[1] == "create")
    assert create == [CONDA, "create", "--json", "-y", "-p", ENV, "python=3.11", "pip"]
    # The environment's python.exe sits in its root on Windows (conda), not in bin/.
    assert result["python"] == PYTHON
    assert result["installed"] == ["vc-14.42", "python-3.11.9", "pip-24.2"]
    # torch==2.13.0 is met by the listed 2.13.0+cpu after creation: pip is not run.
    assert not [c for c in fake.commands() if "pip" in c[1:4]]
    assert result["packages"]["torch"] == "2.13.0+cpu"
    assert result["diff"]["before"] == {"state": "absent"}
    # The marker conda writes into every environment was looked for with win_stat.
    stats = [c["args"]["path"] for c in fake.calls if c["module"] == "ansible.windows.win_stat"]
    assert stats == [ENV + "\\conda-meta\\history"]


def test_windows_satisfied_env_is_unchanged_and_writes_nothing():
    host = FakeWindowsHost(lists={ENV: torch_list()})
    result, fake = run({"prefix": ENV, "python": "3.11", "pip_requirements": ["torch==2.13.0"]}, host)
    assert result["changed"] is False
    assert writes(fake) == []
    assert fake.commands() == [[CONDA, "env", "list", "--json"], [CONDA, "list", "--json", "-p", ENV]]


def test_windows_paths_compare_without_case_or_slash_differences():
    host = FakeWindowsHost(
        envs=[ROOT.lower(), ENV.lower()], lists={"C:\\ProgramData\\Miniconda3\\envs\\torch": torch_list()}
    )
    result, fake = run({"prefix": "C:/ProgramData/Miniconda3/envs/torch", "python": "3.11"}, host)
    assert result["changed"] is False
    assert [c for c in fake.calls if c["module"] == "ansible.windows.win_stat"] == []


def test_windows_unmet_requirement_runs_pip_with_python_exe():
    host = FakeWindowsHost(lists={ENV: torch_list(torch="2.12.0+cpu")})
    result, fake = run({"prefix": ENV, "pip_requirements": ["torch==2.13.0"],
                        "pip_index_url": "https://download.pytorch.org/whl/cpu"}, host)  # fmt: skip
    pip = [c for c in fake.commands() if "pip" in c[1:4]]
    assert pip == [[PYTHON, "-c", PIP_LAUNCHER, "pip", "install", "--isolated", "--no-input",
                    "--disable-pip-version-check",
                    "--index-url", "https://download.pytorch.org/whl/cpu", "torch==2.13.0"]]  # fmt: skip
    assert result["changed"] is True and result["installed"] == ["demo-pkg-1.2.3"]


def test_windows_python_mismatch_recreates_by_prefix():
    host = FakeWindowsHost(lists={ENV: torch_list(python="3.10.14")},
                           responses={"create": (0, fixture("win_ref_create_25_11.json"), "")})  # fmt: skip
    result, fake = run({"name": "torch", "python": "3.11"}, host)
    assert [c for c in fake.commands() if c[1] == "create"] == [[CONDA, "create", "--json", "-y", "-p", ENV,
                                                                 "python=3.11"]]  # fmt: skip
    assert result["diff"]["after"]["recreated"] is True


def test_windows_name_resolves_against_envs_dirs():
    host = FakeWindowsHost(envs=[ROOT], responses={"create": (0, fixture("win_ref_create_25_11.json"), "")})
    result, fake = run({"name": "torch", "python": "3.11"}, host)
    assert fake.commands()[:2] == [[CONDA, "env", "list", "--json"], [CONDA, "info", "--json"]]
    create = next(c for c in fake.commands() if c[1] == "create")
    assert create[4:6] == ["-n", "torch"]
    assert result["prefix"] == ENV


@pytest.mark.parametrize(
    ("args", "lists", "responses", "changed", "installed", "commands"),
    [
        # A new environment: the probes run, create does not.
        ({"prefix": ENV, "python": "3.11", "pip_requirements": ["torch==2.13.0"]}, {}, {}, True,
         ["python=3.11", "pip", "torch==2.13.0"], [["env", "list", "--json"]]),
        # Only a requirement the module cannot judge: pip --dry-run is asked (read-only), install is not.
        ({"prefix": ENV, "pip_requirements": ["torch @ file:///C:/wheels/torch.whl"]}, {ENV: torch_list()},
         {"pip-dry": (0, "Would install torch-2.13.0\n", "")}, True, ["torch-2.13.0"],
         [["env", "list", "--json"], ["list", "--json", "-p", ENV],
          ["-c", PIP_LAUNCHER, "pip", "install", "--isolated", "--no-input", "--disable-pip-version-check",
           "--dry-run", "torch @ file:///C:/wheels/torch.whl"]]),
        ({"prefix": ENV, "pip_requirements": ["torch==2.13.0"]}, {ENV: torch_list()}, {}, False, [],
         [["env", "list", "--json"], ["list", "--json", "-p", ENV]]),
    ],
)  # fmt: skip
def test_windows_check_mode_runs_probes_only(args, lists, responses, changed, installed, commands):
    files = {ENV + "\\conda-meta\\history"} if lists else set()
    host = FakeWindowsHost(envs=[ROOT], lists=lists, responses=responses, files=files)
    result, fake = run(args, host, check_mode=True)
    assert writes(fake) == [c for c in fake.commands() if "--dry-run" in c]
    assert [c[1:] for c in fake.commands()] == commands
    assert result["changed"] is changed and result["installed"] == installed


def test_windows_absent_removes():
    host = FakeWindowsHost(lists={ENV: torch_list()}, responses={"remove": (0, fixture("ref_remove_all.json"), "")})
    result, fake = run({"prefix": ENV, "state": "absent"}, host)
    assert [c for c in fake.commands() if c[1] == "remove"] == [[CONDA, "remove", "--all", "-y", "--json", "-p", ENV]]
    assert result["changed"] is True and result["python"] == PYTHON


def test_windows_tos_error_fails_with_hint():
    host = FakeWindowsHost(envs=[ROOT], responses={"create": (1, fixture("ref_error_tos.json"), "")})
    result, _fake = run({"prefix": ENV, "python": "3.11"}, host)
    assert result["failed"] is True and result["changed"] is False
    assert result["exception_name"] == "CondaToSNonInteractiveError" and result["rc"] == 1
    assert result["msg"].startswith("conda create failed: Terms of Service have not been accepted")
    assert "miniconda_accept_anaconda_tos" in result["msg"]


def test_windows_missing_conda_exe_says_why():
    host = FakeWindowsHost(responses={"missing-conda": True})
    result, _fake = run({"prefix": ENV}, host)
    assert result["failed"] is True and result["rc"] == 2
    assert result["msg"].startswith("conda env list failed: Failed to run:")
    assert "cannot find the file" in result["msg"]


def test_windows_pip_failure():
    error = "ERROR: No matching distribution found for torch==2.13.0\r\n"
    host = FakeWindowsHost(lists={ENV: torch_list(torch="2.0")}, responses={"pip": (1, "", error)})
    result, _fake = run({"prefix": ENV, "pip_requirements": ["torch==2.13.0"]}, host)
    assert result["failed"] is True and "No matching distribution" in result["msg"]


def test_windows_default_conda_is_found_on_path_by_win_command():
    host = FakeWindowsHost(lists={ENV: torch_list()})
    action = make_action(ActionModule, {"prefix": ENV}, name="torchfleet.lab.conda_env")
    fake = FakeExecute(action, host)
    action._execute_module = fake
    action.run(task_vars={})
    assert fake.commands()[0][0] == "conda"


def test_windows_relative_prefix_is_refused():
    result, _fake = run({"prefix": "envs\\torch"}, FakeWindowsHost())
    assert result["failed"] is True and "absolute Windows path" in result["msg"]


def test_windows_arguments_are_validated_like_the_module():
    with pytest.raises(AnsibleActionFail, match="mutually exclusive"):
        run({"name": "a", "prefix": ENV}, FakeWindowsHost())
    with pytest.raises(AnsibleActionFail, match="one of the following is required"):
        run({"python": "3.11"}, FakeWindowsHost())


# ------------------------------------------------------------------------------------------------ POSIX
@pytest.mark.parametrize("check_mode", [False, True])
def test_posix_runs_the_module_unchanged(check_mode):
    args = {"prefix": "/opt/miniforge3/envs/torch", "conda": "/opt/miniforge3/bin/conda", "python": "3.11"}
    action = make_action(ActionModule, args, check_mode=check_mode, shell_family="sh", name="torchfleet.lab.conda_env")
    fake = FakeExecute(action, lambda module, margs: {"changed": False, "prefix": margs["prefix"]})
    action._execute_module = fake
    result = action.run(task_vars={})
    assert fake.calls == [{"module": "torchfleet.lab.conda_env", "args": args, "check_mode": check_mode}]
    assert result["prefix"] == args["prefix"]
