"""Run a role's task file with a real ansible-playbook on local hosts, one inventory host per case, and read back
how many tasks failed on each: the tests of task files whose outcome is the point (a check that must stop a host)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ansible_collections.torchfleet.lab.plugins.module_utils import _env_state

# The collections directory the tests imported the collection from (as tests/unit/plugins/callback/test_preload.py).
COLLECTIONS = Path(_env_state.__file__).parents[5]


def run_play(tmp_path: Path, play: str, hosts: dict, env: dict | None = None) -> tuple[dict, str]:
    """Run ``play`` against ``hosts`` ({name: host variables}) as local hosts; return ({name: failed count}, the
    run's output). The tasks may ask for become: the local hosts run as the test's user (a connection variable
    wins). Fails the test when a host has no line in the recap."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}
    (tmp_path / "hosts.json").write_text(json.dumps({"all": {"hosts": hosts, "vars": local}}))
    (tmp_path / "play.yml").write_text(play)
    env = dict(env if env is not None else os.environ, ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
    run = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "hosts.json"), str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = run.stdout + run.stderr
    recap = {host: re.search(rf"^{re.escape(host)}\s*:.*\bfailed=(\d+)", out, re.M) for host in hosts}
    assert all(recap.values()), out[-4000:]
    return {host: int(found.group(1)) for host, found in recap.items()}, out
