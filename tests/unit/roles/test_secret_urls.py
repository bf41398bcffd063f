"""Credentials in index and mirror URLs never reach a message, a record or a report, and the tasks that use such a
URL are no_log (issue 11, item 8).

The roles' own expressions (messages, records, the no_log switches in vars/main.yml) are rendered with Ansible's
templar, with the collection's filters, against a mirror URL that holds a user and a password.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.filter.url_credentials import FilterModule

from ..ansible_compat import trust_as_template

# The roles call the collection's own filters; the unit tests import the collection without Ansible's collection
# loader (conftest.py), so the templar is handed them under the names the roles use.
FILTERS = {"torchfleet.lab." + name: func for name, func in FilterModule().filters().items()}
ROLES = Path(__file__).resolve().parents[3] / "roles"
SECRET = "s3cr3t-pw"
MIRROR = f"http://lab:{SECRET}@mirror.lab:8765"
TOKEN_INDEX = f"https://{SECRET}@pypi.lab/simple"  # a token given as the user name, as pip allows


def _tasks(role, name):
    """Every task of a tasks file, blocks and rescues included, by name."""
    found = {}

    def walk(items):
        for task in items or []:
            if "name" in task:
                found[task["name"]] = task
            for key in ("block", "rescue", "always"):
                walk(task.get(key))

    walk(yaml.safe_load((ROLES / role / "tasks" / name).read_text()))
    return found


def _role_vars(role):
    return yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text())


def _render(template, **variables):
    trusted = {k: trust_as_template(v) if isinstance(v, str) and "{{" in v else v for k, v in variables.items()}
    templar = Templar(loader=DataLoader(), variables=trusted)
    templar.environment.filters.update(FILTERS)
    return templar.template(trust_as_template(template))


def _render_var(role, name, **variables):
    return _render("{{ " + name + " }}", **dict(_role_vars(role), **variables))


# ------------------------------------------------------------------------------------------------ no_log switches
@pytest.mark.parametrize(
    ("role", "variable", "values", "secret"),
    [
        ("miniconda", "__miniconda_secret_urls", {"torchfleet_mirror_url": MIRROR}, True),
        ("miniconda", "__miniconda_secret_urls", {"torchfleet_mirror_url": "http://mirror.lab:8765"}, False),
        ("miniconda", "__miniconda_secret_urls", {}, False),
        ("pytorch_env", "__pytorch_env_secret_urls", {"pytorch_env_index_url": TOKEN_INDEX}, True),
        ("pytorch_env", "__pytorch_env_secret_urls", {"pytorch_env_index_url": "", "torchfleet_mirror_url": MIRROR},
         True),
        ("pytorch_env", "__pytorch_env_secret_urls", {"pytorch_env_index_url": "https://pypi.lab/simple"}, False),
        ("trainers", "__trainers_secret_urls", {"trainers_data_url": f"https://u:{SECRET}@data.lab/mnist/"}, True),
        ("trainers", "__trainers_secret_urls", {"trainers_data_url": "", "torchfleet_mirror_url": MIRROR}, True),
        ("trainers", "__trainers_secret_urls", {"trainers_data_url": ""}, False),
    ],
)  # fmt: skip
def test_secret_switch_follows_the_urls(role, variable, values, secret):
    assert _render_var(role, variable, **values) is secret


@pytest.mark.parametrize(
    ("role", "tasks_file", "task", "switch"),
    [
        ("miniconda", "install-posix.yml", "Download the installer and check its SHA-256", "__miniconda_secret_urls"),
        ("miniconda", "install-Windows.yml", "Download the installer and check its SHA-256", "__miniconda_secret_urls"),
        ("miniconda", "install-Windows.yml", "Read the published SHA-256 of the installer", "__miniconda_secret_urls"),
        # Its facts hold the URLs as given: -v printed them.
        ("pytorch_env", "preflight.yml", "Work out the environment's paths and package sources",
         "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv.yml", "Download, verify and install uv", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv.yml", "Install torch into the environment", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv.yml", "Install the extra packages", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv-Windows.yml", "Read the published SHA-256 of uv", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv-Windows.yml", "Download and verify uv", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-uv-Windows.yml", "Install torch into the environment", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-conda.yml", "Create the conda environment with torch", "__pytorch_env_secret_urls"),
        ("pytorch_env", "install-conda.yml", "Install the extra packages", "__pytorch_env_secret_urls"),
        ("trainers", "deploy.yml", "Download and verify MNIST", "__trainers_secret_urls"),
        ("trainers", "deploy-Windows.yml", "Download and verify MNIST", "__trainers_secret_urls"),
    ],
)  # fmt: skip
def test_tasks_that_use_the_urls_are_no_log(role, tasks_file, task, switch):
    assert _tasks(role, tasks_file)[task].get("no_log") == "{{ " + switch + " }}"


# ------------------------------------------------------------------------------------------------ messages, records
def _miniconda(**extra):
    info = {
        "version": "26.3.2-3", "prefix": "/opt/miniforge3", "filename": "Miniforge3-26.3.2-3-Linux-x86_64.sh",
        "url": f"{MIRROR}/miniforge/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh",
        "checksum": f"sha256:{MIRROR}/miniforge/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh.sha256",
        "checksum_url": f"{MIRROR}/miniforge/26.3.2-3/Miniforge3-26.3.2-3-Linux-x86_64.sh.sha256",
        "sha256": None, "install_type": "AllUsers",
    }  # fmt: skip
    values = {
        "__miniconda": info, "__miniconda_action": "install", "miniconda_distribution": "miniforge",
        "__miniconda_mirror": MIRROR, "miniconda_download_retries": 3,
        "__miniconda_installer_stat": {"stat": {"checksum": "ab" * 32}},
    }  # fmt: skip
    values.update(extra)
    return values


@pytest.mark.parametrize("tasks_file", ["install-posix.yml", "install-Windows.yml"])
@pytest.mark.parametrize(
    "failure",
    [f"Request failed: <urlopen error {MIRROR}/x>", "The checksum did not match: sha256 of the file"],
    ids=["unreachable", "checksum"],
)
def test_miniconda_messages_and_record_hide_the_password(tasks_file, failure):
    tasks = _tasks("miniconda", tasks_file)
    values = _miniconda(__miniconda_download={"msg": failure, "response": ""}, ansible_failed_result={"msg": failure})
    shown = [
        _render(tasks["Report what would be installed"]["ansible.builtin.debug"]["msg"], **values),
        _render(tasks["Stop with the reason the installer could not be had"]["ansible.builtin.fail"]["msg"],
                **dict(values, __miniconda_failure=failure)),
    ]  # fmt: skip
    record = tasks["Record what was installed"]["vars"]["__miniconda_record"]["url"]
    shown.append(_render(record, **values))
    for text in shown:
        assert SECRET not in text
    assert "lab:***@mirror.lab" in shown[0]


def test_pytorch_env_report_and_record_hide_the_password():
    report = _tasks("pytorch_env", "preflight.yml")["Report the decision"]["ansible.builtin.debug"]["msg"]
    values = {
        "__pytorch_env_build": {"torch": "2.13.0", "compute": "cpu", "python": "3.11"},
        "pytorch_env_manager": "uv", "__pytorch_env": {"prefix": "/opt/torchfleet/envs/p", "scope": "system"},
        "__pytorch_env_index": TOKEN_INDEX,
    }  # fmt: skip
    text = _render(report, **values)
    assert SECRET not in text and "https://***@pypi.lab/simple" in text
    # The record's request (roles/pytorch_env/vars/main.yml), which verify.yml writes and pytorch_env_state compares.
    record = yaml.safe_load((ROLES / "pytorch_env" / "vars" / "main.yml").read_text())["__pytorch_env_record_request"]
    values["__pytorch_env_build"]["build_index_url"] = f"{MIRROR}/whl/cpu"
    values["__pytorch_env_build"]["index_url"] = f"{MIRROR}/whl/cpu"
    resolved = _render(record["resolved"], **values)
    assert resolved["build_index_url"] == "http://lab:***@mirror.lab:8765/whl/cpu" and resolved["torch"] == "2.13.0"
    assert SECRET not in _render(record["index_url"], **values)


def test_trainers_report_hides_the_password():
    report = _tasks("trainers", "main.yml")["Report the runs that would follow once the environment exists"]
    values = {
        "__trainers_dir": "/opt/torchfleet/trainers", "__trainers_data_url": f"{MIRROR}/mnist/",
        "trainers_run": ["mnist_cnn"], "trainers_group": "lab", "__trainers_plan": {"distributed": False},
    }  # fmt: skip
    text = _render(report["ansible.builtin.debug"]["msg"], **values)
    assert SECRET not in text and "lab:***@mirror.lab" in text
