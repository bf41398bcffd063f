"""The facts the roles publish keep their types on every ansible-core of the matrix.

Before 2.19 a template nested in a YAML dict rendered to text unless it looked like a dict, list or bool (2.16
lib/ansible/template/native_helpers.py, ``ansible_eval_concat``): ``device_count: "{{ n }}"`` gave '1' and a null
gave ''. The publish tasks build each fact in one expression; here the real task runs under ansible-playbook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ..conftest import REPO_ROOT

INFO = {"version": "2.13.0+cpu", "cuda": None, "cuda_available": False, "device_count": 2, "devices": ["cpu"],
        "mps_available": False, "mps_built": False, "matmul": 1.5, "python_version": "3.11.2"}  # fmt: skip


def _task(path, name):
    def find(tasks):
        for task in tasks:
            if task.get("name") == name:
                return task
            for key in ("block", "rescue", "always"):
                found = find(task.get(key, []))
                if found:
                    return found
        return None

    return find(yaml.safe_load(path.read_text()))


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_torchfleet_torch_keeps_numbers_and_null(tmp_path):
    task = _task(REPO_ROOT / "roles" / "pytorch_env" / "tasks" / "verify.yml", "Publish what the environment holds")
    out = tmp_path / "fact.json"
    play = [{
        "name": "Publish", "hosts": "localhost", "gather_facts": False,
        "vars": {"__pytorch_env_info": INFO, "__pytorch_env_build": {"compute": "cpu"}, "pytorch_env_manager": "uv",
                 "__pytorch_env": {"prefix": "/opt/env", "python": "/opt/env/bin/python", "scope": "system"}},
        "tasks": [task, {"ansible.builtin.copy": {"content": "{{ torchfleet_torch | to_json }}", "dest": str(out),
                                                  "mode": "0600"}}],
    }]  # fmt: skip
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                          f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
                         capture_output=True, text=True, env=env, check=False, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    fact = json.loads(out.read_text(encoding="utf-8"))
    assert fact == {**{key: INFO[key] for key in INFO}, "compute": "cpu", "manager": "uv", "env": "/opt/env",
                    "python": "/opt/env/bin/python", "scope": "system",
                    # measured by this run, not read from the record of an earlier one (tasks/main.yml)
                    "from_record": False}  # fmt: skip
