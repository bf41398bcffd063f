"""pytorch_env hands index credentials to uv and pip in a netrc file named by NETRC, never on a command line
(issue 11, item 8).

The role's own expressions are rendered with Ansible's templar and the collection's filters: what the tools'
tasks get as argv, module arguments and environment, against index URLs holding a user and a password. The
plan comes from ``_pytorch_env.install_plan``, as preflight.yml makes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.filter.pytorch_env import FilterModule as PytorchEnvFilters
from ansible_collections.torchfleet.lab.plugins.filter.sha256sum_digest import FilterModule as DigestFilters
from ansible_collections.torchfleet.lab.plugins.filter.url_credentials import FilterModule as RedactFilters
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

from ..ansible_compat import trust_as_template

FILTERS = {
    "torchfleet.lab." + name: func
    for module in (PytorchEnvFilters, DigestFilters, RedactFilters)
    for name, func in module().filters().items()
}
TASKS = Path(__file__).resolve().parents[3] / "roles" / "pytorch_env" / "tasks"
SECRET = "s3cr3t-pw"
INDEX = f"https://lab:{SECRET}@mirror.lab:8443/whl/cpu"
GENERAL = f"https://lab:{SECRET}@mirror.lab:8443/pypi/simple"
BUILD = {"torch": "2.13.0", "torchvision": None, "torchaudio": None, "python": "3.11", "compute": "cpu"}


def _blocks(name):
    """Each block of a tasks file with its vars, by the block's name, and every task by name."""
    blocks, tasks = {}, {}

    def walk(items, parent=None):
        for task in items or []:
            if "block" in task:
                blocks[task.get("name")] = task
            elif "name" in task:
                tasks[task["name"]] = dict(task, _block=parent)
                # A step wrapped in torchfleet.lab.progress is seen as the module it runs, with its arguments.
                wrapped = task.get("torchfleet.lab.progress")
                if wrapped:
                    tasks[task["name"]][wrapped["module"]] = wrapped["args"]
            for key in ("block", "rescue", "always"):
                walk(task.get(key), task if "block" in task else parent)

    walk(yaml.safe_load((TASKS / name).read_text()))
    return blocks, tasks


def _render(template, variables):
    trusted = {k: trust_as_template(v) if isinstance(v, str) and "{{" in v else v for k, v in variables.items()}
    templar = Templar(loader=DataLoader(), variables=trusted)
    templar.environment.filters.update(FILTERS)
    return templar.template(trust_as_template(template) if isinstance(template, str) else template)


def _values(system, manager, block, netrc_dir):
    host = {"system": system, "machine": "x86_64", "home": "/home/lab", "windows": system == "Windows"}
    if system == "Windows":
        host["home"] = "C:\\Users\\lab"
    conda = "C:\\conda\\Scripts\\conda.exe" if system == "Windows" else "/opt/conda/bin/conda"
    env = pe.layout(host, "lab", manager=manager, scope="user", uv_version="0.13.9", uv_base_url="https://uv.lab",
                    conda=conda)  # fmt: skip
    plan = pe.install_plan(env, BUILD, ["torch"], INDEX, GENERAL, extra_packages=["numpy<3"])
    values = {
        "__pytorch_env": env, "__pytorch_env_plan": plan, "__pytorch_env_build": dict(BUILD, conda_packages=[]),
        "__pytorch_env_index": INDEX, "__pytorch_env_default_index": GENERAL, "pytorch_env_source": "pip",
        "pytorch_env_uv_python_downloads": "manual", "pytorch_env_extra_packages": ["numpy<3"],
        "__pytorch_env_requirements": plan["requirements"], "__pytorch_env_installed_build": {"stdout": ""},
        "__pytorch_env_conda_win_stat": {"stat": {"exists": True}},
        "__pytorch_env_conda_stat": {"stat": {"exists": True}},
    }  # fmt: skip
    if netrc_dir:
        values[_dir_var(system)] = {"path": netrc_dir}
    values.update(block.get("vars") or {})
    return values


def _dir_var(system):
    return "__pytorch_env_netrc_win_dir" if system == "Windows" else "__pytorch_env_netrc_dir"


# The directory ansible.builtin.tempfile / ansible.windows.win_tempfile would return, and the file in it.
POSIX_DIR, WINDOWS_DIR = "/tmp/torchfleet-netrc.x", "C:\\Temp\\torchfleet-netrc.x"
DIRS = [("Linux", POSIX_DIR, POSIX_DIR + "/netrc"), ("Windows", WINDOWS_DIR, WINDOWS_DIR + "\\netrc")]
UV_FILES = [(system, "install-uv.yml" if system == "Linux" else "install-uv-Windows.yml", directory, path)
            for system, directory, path in DIRS]  # fmt: skip


@pytest.mark.parametrize(("system", "tasks_file", "netrc_dir", "netrc_file"), UV_FILES)
def test_uv_gets_the_credentials_from_netrc_only(system, tasks_file, netrc_dir, netrc_file):
    blocks, tasks = _blocks(tasks_file)
    block = blocks[next(name for name in blocks if name.startswith("Install uv"))]
    values = _values(system, "uv", block, netrc_dir)
    module = "ansible.builtin.command" if system == "Linux" else "ansible.windows.win_command"
    runs = ["Create the environment with Python {{ __pytorch_env_build.python }}", "Install torch into the environment",
            "Install the extra packages"]  # fmt: skip
    for name in runs:
        task = tasks[name]
        argv = _render(task[module]["argv"], dict(values, **(task.get("vars") or {})))
        assert argv and SECRET not in " ".join(argv), (name, argv)
        environment = _render(task["environment"], values)
        assert environment["NETRC"] == netrc_file, name
    # Without credentials there is no netrc directory, and no NETRC.
    values.pop(_dir_var(system))
    assert "NETRC" not in _render(tasks["Install torch into the environment"]["environment"], values)


@pytest.mark.parametrize(("system", "tasks_file", "netrc_dir", "netrc_file"), UV_FILES)
def test_the_uv_netrc_is_written_privately_and_removed(system, tasks_file, netrc_dir, netrc_file):
    blocks, tasks = _blocks(tasks_file)
    block = blocks[next(name for name in blocks if name.startswith("Install uv"))]
    values = _values(system, "uv", block, netrc_dir)
    write = tasks["Write the index credentials for uv"]
    module = write.get("ansible.builtin.copy") or write["ansible.windows.win_copy"]
    assert write["no_log"] is True
    assert _render(module["dest"], values) == netrc_file
    assert _render(module["content"], values) == f"machine mirror.lab login lab password {SECRET}\n"
    if system == "Linux":
        assert module["mode"] == "0600"
    made = tasks["Create a private directory for the index credentials"]
    assert (made.get("ansible.builtin.tempfile") or made.get("ansible.windows.win_tempfile"))["state"] == "directory"
    removed = next(t for t in block["always"] if t["name"] == "Remove the index credentials")
    assert _render(next(v for k, v in removed.items() if k.endswith("file"))["path"], values) == netrc_dir


@pytest.mark.parametrize(("system", "netrc_dir", "netrc_file"), DIRS)
def test_conda_env_gets_urls_without_credentials_and_netrc_in_its_environment(system, netrc_dir, netrc_file):
    blocks, tasks = _blocks("install-conda.yml")
    block = blocks["Create the conda environment"]
    values = _values(system, "conda", block, netrc_dir)
    for name in ("Create the conda environment with torch", "Install the extra packages"):
        task = tasks[name]
        args = {key: _render(value, dict(values, omit="__omit__"))
                for key, value in task["torchfleet.lab.conda_env"].items()}  # fmt: skip
        urls = [args.get("pip_index_url"), args.get("pip_build_index_url")]
        assert urls[0] == "https://mirror.lab:8443/pypi/simple", name
        assert SECRET not in repr(args), name
        assert _render(task["environment"], values) == {"NETRC": netrc_file}, name
    suffix = " on Windows" if system == "Windows" else ""
    write = tasks["Write the index credentials for pip" + suffix]
    assert write["no_log"] is True
    module = write.get("ansible.builtin.copy") or write["ansible.windows.win_copy"]
    assert _render(module["dest"], values) == netrc_file
    assert SECRET in _render(module["content"], values)
    removed = next(t for t in block["always"] if t["name"] == "Remove the index credentials" + suffix)
    assert _render(next(v for k, v in removed.items() if k.endswith("file"))["path"], values) == netrc_dir
