"""Unit tests of torchfleet.lab.conda_env.

Most cases mock ``AnsibleModule.run_command`` with recorded conda JSON (fixtures/); the last ones run the module
against the conda stand-in (a TEST DOUBLE, tests/harness/conda_standin) end to end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible_collections.torchfleet.lab.plugins.module_utils._conda_env import PIP_LAUNCHER
from ansible_collections.torchfleet.lab.plugins.modules import conda_env

from .conftest import fixture, run_main

CONDA = "/opt/miniforge3/bin/conda"
ROOT = "/opt/miniforge3"
TORCH_ENV = ROOT + "/envs/torch"


class FakeHost:
    """Answers run_command by the command's shape; records every command."""

    def __init__(self, envs=(ROOT, TORCH_ENV), lists=None, responses=None):
        self.envs = list(envs)
        self.lists = dict(lists or {})
        self.responses = dict(responses or {})
        self.calls = []

    def __call__(self, module, args, **kwargs):
        args = list(args)
        self.calls.append(args)
        if args[0].endswith("python") and "pip" in args:
            key = "pip-dry" if "--dry-run" in args else "pip"
            return self.responses.get(key, (0, fixture("pip_install_stdout.txt"), ""))
        sub = args[1]
        if sub in self.responses:
            return self.responses[sub]
        if args[1:3] == ["env", "list"]:
            doc = json.loads(fixture("ref_env_list_25_11.json"))
            doc["envs"] = self.envs
            return 0, json.dumps(doc), ""
        if sub == "info":
            doc = json.loads(fixture("ref_info_25_11.json"))
            doc["envs"] = self.envs
            return 0, json.dumps(doc), ""
        if sub == "list":
            prefix = args[args.index("-p") + 1]
            return 0, json.dumps(self.lists.get(prefix, [])), ""
        raise AssertionError(f"unexpected command {args!r}")

    def bound(self):
        def run_command(module, args, **kwargs):
            return self(module, args, **kwargs)

        return run_command

    def writes(self):
        return [c for c in self.calls if c[1:2] in (["create"], ["install"], ["remove"]) or "pip" in c[1:4]]


def run(params, host, check_mode=False):
    params = {"conda": CONDA, **params}
    return run_main(conda_env.main, params, check_mode, run_command=host.bound()).kwargs


def torch_list(torch="2.13.0+cpu", python="3.11.9"):
    records = json.loads(fixture("ref_list_torch_env.json"))
    for rec in records:
        if rec["name"] == "torch":
            rec["version"] = torch
        if rec["name"] == "python":
            rec["version"] = python
    return records


# ------------------------------------------------------------------------------------------------ create
def test_create_when_absent():
    host = FakeHost(envs=[ROOT], responses={"create": (0, fixture("ref_create_25_11.json"), "")},
                    lists={TORCH_ENV: torch_list()})  # fmt: skip
    result = run({"name": "torch", "python": "3.11", "channels": ["conda-forge"], "override_channels": True,
                  "pip_requirements": ["torch==2.13.0"]}, host)  # fmt: skip
    assert result["changed"] is True and result["created"] is True
    create = next(c for c in host.calls if c[1] == "create")
    assert create == [CONDA, "create", "--json", "-y", "-n", "torch", "-c", "conda-forge", "--override-channels",
                      "python=3.11", "pip"]  # fmt: skip
    # torch==2.13.0 is met by the listed 2.13.0+cpu after creation, so pip is not run
    assert not [c for c in host.calls if "pip" in c[1:4]]
    assert result["prefix"] == TORCH_ENV
    assert result["python"] == TORCH_ENV + "/bin/python"
    assert result["installed"] == ["zlib-1.3.1", "python-3.11.9", "pip-24.2"]
    assert result["packages"]["torch"] == "2.13.0+cpu"
    assert result["diff"]["before"] == {"state": "absent"}


def test_create_old_conda_progress_output():
    host = FakeHost(envs=[ROOT], responses={"create": (0, fixture("ref_conda_22_9_create_progress.txt"), "")})
    result = run({"prefix": TORCH_ENV, "python": "3.11"}, host)
    assert result["created"] is True
    assert result["installed"] == ["zlib-1.3.1", "python-3.11.9", "pip-24.2"]
    assert next(c for c in host.calls if c[1] == "create")[4:6] == ["-p", TORCH_ENV]


def test_satisfied_env_is_unchanged():
    host = FakeHost(lists={TORCH_ENV: torch_list()})
    result = run({"name": "torch", "python": "3.11", "packages": ["python>=3.10"],
                  "pip_requirements": ["torch==2.13.0", "typing_extensions>=4"]}, host)  # fmt: skip
    assert result["changed"] is False
    assert host.writes() == []
    assert result["installed"] == []
    assert result["diff"]["before"]["packages"] == result["diff"]["after"]["packages"]
    assert result["packages"]["torch"] == "2.13.0+cpu"


def test_pip_requirement_unmet_runs_pip_with_env_python():
    host = FakeHost(lists={TORCH_ENV: torch_list(torch="2.12.0+cpu")})
    params = {"prefix": TORCH_ENV, "pip_requirements": ["torch==2.13.0"],
              "pip_index_url": "http://mirror/whl/cpu", "pip_extra_index_urls": ["http://mirror/simple"],
              "pip_trusted_hosts": ["mirror"], "pip_extra_args": ["--no-cache-dir"]}  # fmt: skip
    result = run(params, host)
    pip = [c for c in host.calls if "pip" in c[1:4]]
    assert pip == [[TORCH_ENV + "/bin/python", "-c", PIP_LAUNCHER, "pip", "install", "--isolated", "--no-input",
                    "--disable-pip-version-check",
                    "--index-url", "http://mirror/whl/cpu", "--extra-index-url", "http://mirror/simple",
                    "--trusted-host", "mirror", "--no-cache-dir", "torch==2.13.0"]]  # fmt: skip
    assert result["changed"] is True
    assert result["installed"] == ["demo-pkg-1.2.3"]


def test_unjudgeable_requirement_changed_only_if_pip_installs():
    host = FakeHost(lists={TORCH_ENV: torch_list()},
                    responses={"pip": (0, "Requirement already satisfied: torch in /x\n", "")})  # fmt: skip
    result = run({"prefix": TORCH_ENV, "pip_requirements": ["torch; python_version >= '3.9'"]}, host)
    assert len([c for c in host.calls if "pip" in c[1:4]]) == 1
    assert result["changed"] is False


def test_missing_conda_package_is_installed():
    host = FakeHost(lists={TORCH_ENV: torch_list()},
                    responses={"install": (0, fixture("ref_create_25_11.json"), "")})  # fmt: skip
    params = {"prefix": TORCH_ENV, "packages": ["zlib", "numpy>=2", "python=3.11"], "channels": ["conda-forge"]}
    result = run(params, host)
    install = [c for c in host.calls if c[1] == "install"]
    assert install == [[CONDA, "install", "--json", "-y", "-p", TORCH_ENV, "-c", "conda-forge", "numpy>=2"]]
    assert result["changed"] is True and result["created"] is False


def test_python_minor_mismatch_recreates():
    host = FakeHost(lists={TORCH_ENV: torch_list(python="3.10.14")},
                    responses={"create": (0, fixture("ref_create_25_11.json"), "")})  # fmt: skip
    result = run({"name": "torch", "python": "3.11"}, host)
    create = [c for c in host.calls if c[1] == "create"]
    assert create == [[CONDA, "create", "--json", "-y", "-p", TORCH_ENV, "python=3.11"]]
    assert result["created"] is True
    assert result["diff"]["after"]["recreated"] is True
    assert result["diff"]["before"]["packages"]["python"] == "3.10.14"


def test_force_recreate():
    host = FakeHost(lists={TORCH_ENV: torch_list()}, responses={"create": (0, fixture("ref_create_25_11.json"), "")})
    result = run({"prefix": TORCH_ENV, "python": "3.11", "force_recreate": True}, host)
    assert result["changed"] is True and result["created"] is True


@pytest.mark.parametrize(
    ("params", "lists", "changed", "installed"),
    [
        ({"name": "new", "python": "3.11"}, {}, True, ["python=3.11"]),
        ({"name": "torch", "pip_requirements": ["torch==2.13.0"]}, {TORCH_ENV: torch_list(torch="2.12.0")}, True,
         ["torch==2.13.0"]),
        ({"name": "torch", "pip_requirements": ["torch==2.13.0"]}, {TORCH_ENV: torch_list()}, False, []),
        ({"name": "torch", "packages": ["zlib", "numpy"]}, {TORCH_ENV: torch_list()}, True, ["numpy"]),
    ],
)  # fmt: skip
def test_check_mode_writes_nothing(params, lists, changed, installed):
    host = FakeHost(lists=lists)
    result = run(params, host, check_mode=True)
    assert host.writes() == []
    assert result["changed"] is changed
    assert result["installed"] == installed


def test_check_mode_asks_pip_dry_run_for_unjudgeable_requirements():
    host = FakeHost(lists={TORCH_ENV: torch_list()}, responses={"pip-dry": (0, "Would install torch-2.13.0\n", "")})
    result = run({"name": "torch", "pip_requirements": ["torch @ file:///wheels/torch.whl"]}, host, check_mode=True)
    (pip,) = [c for c in host.calls if "pip" in c[1:4]]
    assert "--dry-run" in pip and pip[-1] == "torch @ file:///wheels/torch.whl"
    assert result["changed"] is True and result["installed"] == ["torch-2.13.0"]


# ------------------------------------------------------------------------------------------------ absent
def test_absent_removes_existing():
    host = FakeHost(lists={TORCH_ENV: torch_list()}, responses={"remove": (0, fixture("ref_remove_all.json"), "")})
    result = run({"name": "torch", "state": "absent"}, host)
    assert [c for c in host.calls if c[1] == "remove"] == [[CONDA, "remove", "--all", "-y", "--json", "-p", TORCH_ENV]]
    assert result["changed"] is True
    assert result["diff"]["after"] == {"state": "absent"}


def test_absent_missing_is_unchanged_and_check_mode_safe():
    assert run({"name": "gone", "state": "absent"}, FakeHost())["changed"] is False
    host = FakeHost(lists={TORCH_ENV: torch_list()})
    assert run({"prefix": TORCH_ENV, "state": "absent"}, host, check_mode=True)["changed"] is True
    assert host.writes() == []


# ------------------------------------------------------------------------------------------------ errors
def test_tos_error_fails_with_hint():
    host = FakeHost(envs=[ROOT], responses={"create": (1, fixture("ref_error_tos.json"), "")})
    result = run({"name": "torch", "python": "3.11"}, host)
    assert result["failed"] is True
    assert result["exception_name"] == "CondaToSNonInteractiveError"
    assert result["rc"] == 1
    assert "miniconda_accept_anaconda_tos" in result["msg"] and "Miniforge" in result["msg"]
    assert result["msg"].startswith("conda create failed: Terms of Service have not been accepted")
    assert result["stdout"] == fixture("ref_error_tos.json")


def test_packages_not_found_fails_with_conda_message():
    host = FakeHost(lists={TORCH_ENV: torch_list()},
                    responses={"install": (1, fixture("standin_error_packages_not_found.json"), "")})  # fmt: skip
    result = run({"prefix": TORCH_ENV, "packages": ["numpy"]}, host)
    assert result["exception_name"] == "PackagesNotFoundError"
    assert "miniconda_accept_anaconda_tos" not in result["msg"]


def test_pip_failure():
    error = "ERROR: No matching distribution found for torch==2.13.0\n"
    host = FakeHost(lists={TORCH_ENV: torch_list(torch="2.0")}, responses={"pip": (1, "", error)})
    result = run({"prefix": TORCH_ENV, "pip_requirements": ["torch==2.13.0"]}, host)
    assert result["failed"] is True and "No matching distribution" in result["msg"]


def test_name_and_prefix_are_exclusive():
    result = run({"name": "a", "prefix": "/b"}, FakeHost())
    assert "mutually exclusive" in result["msg"]


def test_conda_found_on_path():
    host = FakeHost(lists={TORCH_ENV: torch_list()})
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value="/usr/local/bin/conda") as gbp:
        run({"name": "torch", "conda": None}, host)
    gbp.assert_called_once_with("conda", required=True)
    assert host.calls[0][0] == "/usr/local/bin/conda"


def test_old_env_list_shape_is_understood():
    doc = fixture("ref_env_list_25_5.json")
    host = FakeHost(lists={TORCH_ENV: torch_list()}, responses={})
    host.responses["env"] = (0, doc, "")
    result = run({"name": "torch", "pip_requirements": ["torch"]}, host)
    assert result["changed"] is False and result["prefix"] == TORCH_ENV


# ------------------------------------------------------------------------------------------------ stand-in
HARNESS = Path(__file__).resolve().parents[3] / "harness" / "conda_standin"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    sys.path.insert(0, str(HARNESS))
    import lab  # noqa: PLC0415

    inst = lab.install(tmp_path_factory.mktemp("conda-env-standin"), "miniforge")
    with mock.patch.dict("os.environ", lab.clean_env(inst["home"]), clear=True):
        yield inst


def run_real(params, check_mode=False):
    return run_main(conda_env.main, params, check_mode).kwargs


def test_against_standin_create_idempotent_remove(standin):
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    params = {"name": "lab", "conda": str(standin["conda"]), "python": py, "packages": ["pip"]}
    first = run_real(params, check_mode=True)
    assert first["changed"] is True and not (standin["prefix"] / "envs" / "lab").exists()
    created = run_real(params)
    assert created["changed"] is True and created["created"] is True, created
    assert created["prefix"] == str(standin["prefix"] / "envs" / "lab")
    assert Path(created["python"]).exists()
    assert created["packages"]["python"].startswith(py + ".")
    again = run_real(params)
    assert again["changed"] is False, again
    failed = run_real(dict(params, packages=["numpy"]))
    assert failed["exception_name"] == "PackagesNotFoundError"
    removed = run_real({"name": "lab", "conda": str(standin["conda"]), "state": "absent"})
    assert removed["changed"] is True and not (standin["prefix"] / "envs" / "lab").exists()
