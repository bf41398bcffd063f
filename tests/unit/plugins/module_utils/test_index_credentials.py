"""Credentials in index and mirror URLs never reach a command line (issue 11, item 8).

Any local user can read a process's command line (ps, /proc/PID/cmdline); so the command lines pytorch_env
builds for uv (``_pytorch_env.install_plan``) and for pip (``_conda_env.pip_commands``, fed the plan's
``index`` and ``general_index`` by install-conda.yml) carry URLs without user or password, and the
credentials reach the tools in a netrc file (``_pytorch_env.index_credentials``), read back here with
Python's own netrc module, the parser pip uses through requests.
"""

from __future__ import annotations

import json
import netrc
import sys

import pytest
from ansible_collections.torchfleet.lab.plugins.filter.pytorch_env import FilterModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env as ce
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

USER, PASSWORD = "lab-user", "p@ss:w/rd"
# The password percent-encoded as a URL must carry it (RFC 3986 userinfo: '@', ':' and '/' are reserved).
ENCODED = "p%40ss%3Aw%2Frd"
MIRROR = f"https://{USER}:{ENCODED}@mirror.lab:8443"
BUILD_INDEX = MIRROR + "/whl/cpu"
GENERAL_INDEX = MIRROR + "/pypi/simple"
TOKEN = "tok3n-abc"
TOKEN_INDEX = f"https://{TOKEN}@pypi.corp.lab/simple"  # a token as the user name, as pip allows
SECRETS = (USER, PASSWORD, ENCODED, TOKEN, "p@ss", "p%40ss")

BUILD = {"torch": "2.13.0", "torchvision": "0.28.0", "torchaudio": None, "python": "3.11", "compute": "cpu"}
HOSTS = {
    "Linux": {"system": "Linux", "machine": "x86_64", "home": "/home/lab", "windows": False},
    "Darwin": {"system": "Darwin", "machine": "arm64", "home": "/Users/lab", "windows": False},
    "Windows": {"system": "Windows", "machine": "x86_64", "home": "C:\\Users\\lab", "windows": True},
}


CONDA = {"Windows": "C:\\conda\\Scripts\\conda.exe"}


def _env(system, manager="uv"):
    return pe.layout(HOSTS[system], "lab", manager=manager, scope="user", uv_version="0.13.9",
                     uv_base_url="https://github.com/astral-sh/uv/releases/download",
                     conda=CONDA.get(system, "/opt/conda/bin/conda"))  # fmt: skip


def _argvs(plan):
    return [plan[key] for key in ("uv_venv", "uv_torch", "uv_extra") if plan.get(key)]


def _no_secret(argv):
    text = "\0".join(argv)
    return not any(secret in text for secret in SECRETS)


# ------------------------------------------------------------------------------------------------ command lines
@pytest.mark.parametrize("system", sorted(HOSTS))
@pytest.mark.parametrize(
    ("index", "general"),
    [(BUILD_INDEX, GENERAL_INDEX), (TOKEN_INDEX, "https://pypi.org/simple"), (BUILD_INDEX, BUILD_INDEX)],
)
def test_uv_command_lines_carry_no_credentials(system, index, general):
    plan = pe.install_plan(_env(system), BUILD, ["torch", "torchvision"], index, general, extra_packages=["numpy<3"])
    argvs = _argvs(plan)
    assert len(argvs) == 3
    for argv in argvs:
        assert _no_secret(argv), argv
    # ... and the plan as a whole (a fact, shown with -v) holds none either.
    assert not any(secret in json.dumps(plan) for secret in SECRETS)
    assert plan["credentials"] is True
    # The indexes are still there, only without their userinfo.
    assert plan["index"] in plan["uv_torch"]
    assert plan["general_index"] in plan["uv_torch"]
    assert plan["general_index"] in plan["uv_venv"]


def test_the_stripped_urls_keep_host_port_path_and_query():
    plan = pe.install_plan(_env("Linux"), BUILD, ["torch"], BUILD_INDEX + "?x=1", GENERAL_INDEX, extra_packages=[])
    assert plan["index"] == "https://mirror.lab:8443/whl/cpu?x=1"
    assert plan["general_index"] == "https://mirror.lab:8443/pypi/simple"
    # Same index after stripping means the same decision as before: the general index serves the build.
    same = pe.install_plan(_env("Linux"), BUILD, ["torch"], GENERAL_INDEX, GENERAL_INDEX)
    assert "--index" not in same["uv_torch"]
    assert same["requirements"] == ["torch===2.13.0"]


@pytest.mark.parametrize("system", sorted(HOSTS))
@pytest.mark.parametrize("reinstall", [False, True])
def test_pip_command_lines_carry_no_credentials(system, reinstall):
    # install-conda.yml hands conda_env the plan's URLs; conda_env puts them on pip's command line.
    plan = pe.install_plan(_env(system, "conda"), BUILD, ["torch"], BUILD_INDEX, GENERAL_INDEX)
    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(pip_index_url=plan["general_index"], pip_build_index_url=plan["index"], pip_reinstall=reinstall)
    commands = ce.pip_commands(params, "/opt/conda/envs/lab", plan["requirements"], system)
    assert len(commands) == 2
    for argv in commands:
        assert _no_secret(argv), argv
        assert "--index-url" in argv
    dry_run = ce.pip_command(params, "/opt/conda/envs/lab", plan["requirements"], system,
                             ce.PipRun(dry_run=True, extra_index_urls=[plan["index"]]))  # fmt: skip
    assert _no_secret(dry_run)


def test_urls_without_credentials_are_left_as_they_are():
    index, general = "https://download.pytorch.org/whl/cpu", "https://pypi.org/simple"
    plan = pe.install_plan(_env("Linux"), BUILD, ["torch"], index, general)
    assert plan["credentials"] is False
    assert (plan["index"], plan["general_index"]) == (index, general)
    assert plan["uv_torch"][-5:] == ["--index", index, "--default-index", general, "torch==2.13.0+cpu"]
    assert pe.index_credentials([index, general, "", None]) == ""


# ------------------------------------------------------------------------------------------------ netrc
def _parse(tmp_path, text):
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(0o600)
    return netrc.netrc(str(path)).hosts


def test_netrc_holds_the_percent_decoded_credentials(tmp_path):
    text = pe.index_credentials([BUILD_INDEX, GENERAL_INDEX])
    assert text == f"machine mirror.lab login {USER} password {PASSWORD}\n"
    assert _parse(tmp_path, text) == {"mirror.lab": (USER, "", PASSWORD)}


def test_each_host_gets_its_own_machine_line(tmp_path):
    text = pe.index_credentials([BUILD_INDEX, "https://ci:s%20cret%22x@Other.Lab/simple", "https://pypi.org/simple"])
    assert text.splitlines() == [
        f"machine mirror.lab login {USER} password {PASSWORD}",
        'machine other.lab login ci password "s cret\\"x"',  # the quoted form, for a space and a quote
    ]
    if sys.version_info >= (3, 10):  # quoted tokens: Python 3.10 and later (and uv's parser)
        assert _parse(tmp_path, text) == {"mirror.lab": (USER, "", PASSWORD), "other.lab": ("ci", "", 's cret"x')}


def test_a_lone_token_is_the_login(tmp_path):
    text = pe.index_credentials([TOKEN_INDEX])
    assert text == f"machine pypi.corp.lab login {TOKEN}\n"
    if sys.version_info >= (3, 10):  # an entry without password: Python 3.10 and later
        assert _parse(tmp_path, text) == {"pypi.corp.lab": (TOKEN, "", "")}


def test_one_host_with_two_sets_of_credentials_is_refused():
    with pytest.raises(pe.LayoutError, match=r"other credentials.*by host name alone") as caught:
        pe.index_credentials([BUILD_INDEX, "https://someone:else@mirror.lab:9000/simple"])
    assert "else" not in str(caught.value)
    # The plan refuses it too, before anything changes (preflight builds the plan).
    with pytest.raises(pe.LayoutError):
        pe.install_plan(_env("Linux"), BUILD, ["torch"], BUILD_INDEX, "https://someone:else@mirror.lab/simple")


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        (BUILD_INDEX, False),  # plain tokens read the same in every Python
        ("https://u:with%20space@mirror.lab/simple", True),
        ("https://u:back%5Cslash@mirror.lab/simple", True),
        (TOKEN_INDEX, True),  # no password: Python before 3.10 refuses the entry
    ],
)
def test_pip_on_an_older_python_refuses_what_its_netrc_misreads(url, refused):
    env = _env("Linux", "conda")
    build = dict(BUILD, python="3.9")
    if refused:
        with pytest.raises(pe.LayoutError, match=r"Python 3\.9's netrc module"):
            pe.install_plan(env, build, ["torch"], url, "https://pypi.org/simple")
    else:
        assert pe.install_plan(env, build, ["torch"], url, "https://pypi.org/simple")["credentials"]
    # uv parses netrc itself (quoted tokens, missing password), whatever the environment's Python.
    assert pe.install_plan(_env("Linux"), build, ["torch"], url, "https://pypi.org/simple")["credentials"]


def test_a_control_character_is_refused_without_showing_the_password():
    with pytest.raises(pe.LayoutError, match="control character") as caught:
        pe.index_credentials(["https://u:bad%0Apw@mirror.lab/simple"])
    assert "bad" not in str(caught.value)


def test_the_filter_gives_the_same_text():
    filters = FilterModule().filters()
    assert filters["pytorch_env_netrc"]([BUILD_INDEX, GENERAL_INDEX]) == pe.index_credentials([BUILD_INDEX])
