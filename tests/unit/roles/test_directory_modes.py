"""A role sets the mode of a directory only when it creates it: ``file: state=directory, mode=...`` on a directory
that already exists changes its mode (ansible.builtin.file applies mode to an existing path too), so a directory a
person or another program made, such as ``/tmp`` or an administrator's systemd drop-in directory, would lose its
mode. Every such task in roles/ must therefore be guarded by a stat of the path (``when: not ... stat.exists``, or a
loop over stat results with ``rejectattr('stat.exists')``), or be one of the few directories named below that only
the role itself makes inside a directory of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"

# (task file, task name): directories the role makes inside its own cache directory (mirror_cache_dir/sets,
# .../files/<dir>, .../releases), which nothing but the role writes.
OWN_SUBDIRECTORIES = {
    ("mirror/tasks/fetch.yml", "Create the download directories"),
    ("mirror/tasks/fetch.yml", "Create a directory for each wheel set"),
    ("mirror/tasks/fetch.yml", "Create the directory of release archives"),
    ("mirror/tasks/publish.yml", "Create the release's directory"),
}
GUARD = re.compile(r"not\s+\(?\s*[\w.]+\.stat\.exists")


def _tasks(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _directory_tasks():
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            module = task.get("ansible.builtin.file")
            if isinstance(module, dict) and module.get("state") == "directory" and "mode" in module:
                yield str(path.relative_to(ROLES)), task


def _guarded(task) -> bool:
    when = task.get("when", [])
    conditions = when if isinstance(when, list) else [when]
    if any(GUARD.search(str(condition)) for condition in conditions):
        return True
    return "rejectattr('stat.exists')" in str(task.get("loop", ""))


DIRECTORY_TASKS = list(_directory_tasks())


def test_the_scan_finds_the_directory_tasks():
    # A change of layout that hid every task from the scan would make the test below pass on nothing.
    assert len(DIRECTORY_TASKS) >= 10
    assert {(path, task["name"]) for path, task in DIRECTORY_TASKS} >= OWN_SUBDIRECTORIES


@pytest.mark.parametrize(("path", "task"), DIRECTORY_TASKS, ids=[f"{p}:{t['name']}" for p, t in DIRECTORY_TASKS])
def test_a_mode_is_set_only_on_a_directory_the_role_creates(path, task):
    if (path, task["name"]) in OWN_SUBDIRECTORIES:
        return
    assert _guarded(task), (
        f"{path}: '{task['name']}' sets mode {task['ansible.builtin.file']['mode']} on a directory that may already "
        "exist; stat it first and create it only when it is missing"
    )
