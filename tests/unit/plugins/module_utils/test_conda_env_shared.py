"""module_utils/_conda_env.py: command vectors and path rules for Linux, macOS and Windows.

The full decision logic is exercised through the module (tests/unit/plugins/modules/test_conda_env.py) and the
Windows action (tests/unit/plugins/action/test_conda_env_action.py); these cases pin the per-OS pieces.
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env as ce
from ansible_collections.torchfleet.lab.plugins.module_utils._conda_env import PIP_LAUNCHER

PARAMS = {
    "name": None,
    "prefix": None,
    "state": "present",
    "conda": None,
    "python": "3.11",
    "packages": [],
    "channels": ["pytorch", "nvidia"],
    "override_channels": True,
    "pip_requirements": ["torch==2.5.1"],
    "pip_index_url": "https://download.pytorch.org/whl/cu124",
    "pip_extra_index_urls": ["https://pypi.org/simple"],
    "pip_trusted_hosts": [],
    "pip_extra_args": ["--no-cache-dir"],
    "force_recreate": False,
}


@pytest.mark.parametrize(
    ("system", "prefix", "python"),
    [
        ("Linux", "/opt/miniconda3/envs/pytorch_env", "/opt/miniconda3/envs/pytorch_env/bin/python"),
        ("Darwin", "/Users/ana/miniconda3/envs/pytorch_env", "/Users/ana/miniconda3/envs/pytorch_env/bin/python"),
        ("Windows", "C:\\ProgramData\\miniconda3\\envs\\pytorch_env",
         "C:\\ProgramData\\miniconda3\\envs\\pytorch_env\\python.exe"),
    ],
)  # fmt: skip
def test_pip_command_uses_the_environment_interpreter(system, prefix, python):
    assert ce.pip_command(PARAMS, prefix, ["torch==2.5.1"], system) == [
        python, "-c", PIP_LAUNCHER, "pip", "install", "--isolated", "--no-input", "--disable-pip-version-check",
        "--index-url", "https://download.pytorch.org/whl/cu124", "--extra-index-url", "https://pypi.org/simple",
        "--no-cache-dir", "torch==2.5.1",
    ]  # fmt: skip
    assert "--dry-run" in ce.pip_command(PARAMS, prefix, [], system, ce.PipRun(dry_run=True))


def test_conda_arguments_do_not_depend_on_the_os():
    assert ce.channel_args(PARAMS) == ["-c", "pytorch", "-c", "nvidia", "--override-channels"]
    assert ce.conda_specs(PARAMS) == ["pip"]
    assert ce.conda_specs(dict(PARAMS, packages=["pip>=24"])) == ["pip>=24"]
    assert ce.python_spec(PARAMS) == "python=3.11"
    assert ce.target_args(dict(PARAMS, name="lab")) == ["-n", "lab"]
    assert ce.target_args(PARAMS, "C:\\envs\\lab") == ["-p", "C:\\envs\\lab"]


@pytest.mark.parametrize(
    ("a", "b", "system", "same"),
    [
        ("/opt/mf/envs/a", "/opt/mf/envs/a", "Linux", True),
        ("/opt/mf/envs/A", "/opt/mf/envs/a", "Linux", False),
        ("/Users/ana/mf/envs/a", "/Users/ana/mf/envs/a/", "Darwin", False),
        ("C:\\ProgramData\\miniconda3\\envs\\a", "c:/programdata/Miniconda3/envs/a", "Windows", True),
        ("C:\\ProgramData\\miniconda3\\envs\\a", "C:\\ProgramData\\miniconda3\\envs\\b", "Windows", False),
    ],
)
def test_same_path(a, b, system, same):
    assert ce.same_path(a, b, system) is same


def test_error_carries_the_fail_json_keys():
    error = ce.CondaEnvError("boom", rc=1, cmd=["conda"])
    assert error.msg == "boom" and error.result == {"rc": 1, "cmd": ["conda"]}


class _NoHost:
    """A host that must not be reached: the refusal comes before any command."""

    system = "Linux"
    check_mode = False

    def run(self, argv, read_only=True):
        raise AssertionError(f"ran {argv}")


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        ("pip_index_url", "https://alice:s3cret@pypi.lab.example/simple", "https://alice:***@pypi.lab.example/simple"),
        ("pip_build_index_url", "https://tok3n@wheels.lab.example/cpu", "https://***@wheels.lab.example/cpu"),
        ("pip_extra_index_urls", ["https://pypi.org/simple", "http://u:p@10.0.0.5:8080/simple"],
         "http://u:***@10.0.0.5:8080/simple"),
        ("pip_extra_args", ["--no-cache-dir", "--index-url=https://u:p@idx.example/simple"],
         "--index-url=https://u:***@idx.example/simple"),
        ("channels", ["https://bob:pw@conda.lab.example/private"], "https://bob:***@conda.lab.example/private"),
    ],
)  # fmt: skip
def test_credentials_on_a_command_line_are_refused_before_anything_runs(option, value, shown):
    params = dict(PARAMS, prefix="/opt/miniforge3/envs/lab", **{option: value})
    with pytest.raises(ce.CondaEnvError) as caught:
        ce.CondaEnv(params, _NoHost(), "/opt/miniforge3/bin/conda").run()
    msg = caught.value.msg
    assert msg.startswith(f"{option} carries a user or password ({shown}): ")
    assert "s3cret" not in msg and "tok3n" not in msg and ":p@" not in msg and ":pw@" not in msg
    assert msg.endswith("Nothing was changed.")
    assert ("netrc" in msg) == (option != "channels")


def test_urls_without_credentials_pass():
    ce.check_no_credentials(dict(PARAMS, pip_extra_args=["--index-url=https://idx.example/simple"]))
