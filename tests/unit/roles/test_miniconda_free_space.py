"""The miniconda role measures the free space before it changes anything, and reports an installer that fails
through torchfleet.lab.conda_install_failure (issue 11: a small filesystem mounted at the prefix)."""

from __future__ import annotations

from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles" / "miniconda" / "tasks" / "install-posix.yml"
# Modules that change the host.
CHANGES = ("ansible.builtin.file", "ansible.builtin.get_url", "ansible.builtin.command", "ansible.builtin.copy")


def _flat(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _flat(task.get(key) or [])


def _install_block():
    return next(t for t in yaml.safe_load(TASKS.read_text()) if "block" in t)


def test_the_space_is_checked_before_the_first_change():
    tasks = list(_flat(_install_block()["block"]))
    modules = [next((m for m in t if "." in m), "") for t in tasks]
    measure = modules.index("torchfleet.lab.conda_free_space")
    stop = next(i for i, t in enumerate(tasks) if "__miniconda_space.refusal" in str(t.get("ansible.builtin.assert")))
    first_change = min(i for i, m in enumerate(modules) if m in CHANGES)
    assert measure < stop < first_change
    assert tasks[measure]["torchfleet.lab.conda_free_space"]["min_free_mb"] == "{{ miniconda_min_free_mb }}"


def test_a_failing_installer_is_reported_by_the_failure_filter():
    runner = next(t for t in _install_block()["block"] if t.get("name") == "Run the installer")
    assert [t["ansible.builtin.command"]["argv"] for t in runner["block"]]
    assert "torchfleet.lab.conda_install_failure" in runner["rescue"][0]["ansible.builtin.fail"]["msg"]
