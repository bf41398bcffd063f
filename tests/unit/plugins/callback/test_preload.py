"""torchfleet.lab.preload, run by a real ansible-playbook: it loads every filter and action plugin of the collection
in the main process, runs validate_inputs' preload() there, and changes no task's result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.callback import preload

PLAY = """\
- name: Use the collection's filters
  hosts: all
  gather_facts: false
  tasks:
    - name: Redact a URL
      ansible.builtin.debug:
        msg: "{{ 'https://lab:secret@mirror.lab/simple' | torchfleet.lab.redact_url }}"
    - name: Resolve a release
      ansible.builtin.debug:
        msg: "{{ ('2.13.0' | torchfleet.lab.pytorch_release).version }}"
"""

PLUGINS = Path(preload.__file__).parents[1]


def test_the_names_are_one_per_filter_document_and_action_file():
    filters = preload.plugin_names("filter")
    actions = preload.plugin_names("action")
    assert filters == sorted(p.stem for p in (PLUGINS / "filter").glob("*.yml"))
    assert "redact_url" in filters and "url_credentials" not in filters  # the .py file holds several filters
    assert actions == sorted(p.stem for p in (PLUGINS / "action").glob("*.py") if not p.name.startswith("_"))
    assert "validate_inputs" in actions
    assert preload.plugin_names("no-such-kind") == []


def _filter_module_utils():
    """The module_utils the filter files name through ModuleUtils, read from their source."""
    names = set()
    for path in (PLUGINS / "filter").glob("*.py"):
        names.update(re.findall(r'^\w+ = ModuleUtils\("(\w+)"\)$', path.read_text(encoding="utf-8"), re.MULTILINE))
    return names


def test_the_filters_name_their_module_utils():
    assert {"_pytorch_env", "_torch_build", "_mirror", "_driver", "_trainers"} <= _filter_module_utils()


def _play(tmp_path, callbacks):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"[all]\na\nb\n[all:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n"
    )
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACKS_ENABLED=callbacks)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(Path(preload.__file__).parents[5]))
    return subprocess.run(
        ["ansible-playbook", "-vvv", "-i", str(inventory), str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_every_plugin_loads_and_the_results_are_the_same(tmp_path):
    run = _play(tmp_path, "torchfleet.lab.preload")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    loaded = re.search(r"torchfleet\.lab\.preload: (\d+) plugins loaded", out)
    assert loaded, out[-4000:]
    expected = len(preload.plugin_names("filter")) + len(preload.plugin_names("action"))
    assert int(loaded.group(1)) == expected, re.findall(r"torchfleet\.lab\.preload: .*", out)
    # The filters import their module_utils on first call (plugin_utils/_filter_options.py, ModuleUtils); the
    # callback imports them in the main process, so that no worker compiles them again.
    imported = re.search(r"torchfleet\.lab\.preload: (\d+) module_utils imported", out)
    assert imported, re.findall(r"torchfleet\.lab\.preload: .*", out)
    assert int(imported.group(1)) == len(_filter_module_utils()), re.findall(r"torchfleet\.lab\.preload: .*", out)
    without = _play(tmp_path, "torchfleet.lab.fleet_summary")
    assert without.returncode == 0
    for text in ('"msg": "https://lab:***@mirror.lab/simple"', '"msg": "2.13.0"'):
        assert out.count(text) == 2 and (without.stdout + without.stderr).count(text) == 2
