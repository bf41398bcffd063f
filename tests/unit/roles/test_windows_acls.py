"""Every directory the roles create on Windows goes through torchfleet.lab.win_dirs, protected at system scope.

A directory made with plain ``ansible.windows.win_file`` under C:\\ProgramData keeps the ACL it inherits there,
which lets every standard user create files in it (see plugins/module_utils/_windows_dirs.py for the sources).
This reads the roles' Windows task files as Ansible would (blocks, rescue and always included) and evaluates each
``protect`` expression with Ansible's templar for both scopes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ..ansible_compat import trust_as_template

ROLES = Path(__file__).resolve().parents[3] / "roles"
WIN_FILE = ("ansible.windows.win_file", "win_file")
WIN_DIRS = "torchfleet.lab.win_dirs"
# Each role's Windows task file that creates directories, and whether its protect follows the scope.
EXPECTED = {
    "gpu_driver/tasks/setup-Windows.yml": "always",  # the driver is installed for the machine
    "miniconda/tasks/install-Windows.yml": "scope",
    "pytorch_env/tasks/install-uv-Windows.yml": "scope",
    "trainers/tasks/deploy-Windows.yml": "scope",
}


def windows_task_files():
    return sorted(p for p in ROLES.glob("*/tasks/*.yml") if "windows" in p.name.lower())


def walk(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key))


def tasks_of(path):
    return list(walk(yaml.safe_load(path.read_text())))


def scope_vars(scope):
    # The plans the roles' preflight sets (module_utils: _conda_installer, _pytorch_env, _trainers), scope only.
    return {"__miniconda": {"scope": scope}, "__pytorch_env": {"scope": scope}, "__trainers_plan": {"scope": scope}}


def creates_directories(task):
    if WIN_DIRS in task:
        return True
    return any((task.get(module) or {}).get("state") == "directory" for module in WIN_FILE if module in task)


def test_the_expected_files_are_the_windows_task_files_that_create_directories():
    creating = {
        str(path.relative_to(ROLES))
        for path in windows_task_files()
        if any(creates_directories(task) for task in tasks_of(path))
    }
    assert creating == set(EXPECTED)


@pytest.mark.parametrize("path", windows_task_files(), ids=lambda p: str(p.relative_to(ROLES)))
def test_no_windows_task_creates_a_directory_with_plain_win_file(path):
    for task in tasks_of(path):
        for module in WIN_FILE:
            if module in task:
                assert (task[module] or {}).get("state") != "directory", (
                    f"{path.relative_to(ROLES)}: '{task.get('name')}' creates a directory with {module}, which keeps "
                    f"C:\\ProgramData's ACL; use {WIN_DIRS} with protect at system scope"
                )


@pytest.mark.parametrize(("name", "rule"), sorted(EXPECTED.items()))
@pytest.mark.parametrize("scope", ["system", "user"])
def test_protect_follows_the_scope(name, rule, scope):
    found = [t for t in tasks_of(ROLES / name) if WIN_DIRS in t]
    assert found, f"{name} has no {WIN_DIRS} task"
    templar = Templar(loader=DataLoader(), variables=scope_vars(scope))
    for task in found:
        assert "protect" in task[WIN_DIRS], f"{name}: '{task['name']}' leaves protect to its default"
        protect = task[WIN_DIRS]["protect"]
        protect = templar.template(trust_as_template(protect)) if isinstance(protect, str) else protect
        assert protect is (rule == "always" or scope == "system"), (name, task["name"], scope, protect)
