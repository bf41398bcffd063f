"""pytorch_env sets modes only on directories it creates (issue 11, item 2).

Before the fix, "Create the uv directories" ran ``file: state=directory, mode=0755`` on the parent of
``pytorch_env_prefix`` whether or not it existed, so a private directory the user named became world-readable.
Here the uv host gets a new environment directly inside an existing 0700 directory of the student's (so that
directory is the prefix's parent, which the role used to chmod): it keeps its mode and its contents.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PLAYBOOK = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3])) / "playbooks" / "site.yml"
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
PRIVATE = "/home/student/private"


def test_an_existing_parent_keeps_its_mode(uv_host):
    uv_host.run(f"rm -rf {PRIVATE} && mkdir -m 0700 {PRIVATE} && touch {PRIVATE}/notes.txt")
    assert uv_host.file(PRIVATE).mode == 0o700
    try:
        cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", "tf-uv", str(PLAYBOOK),
               "-e", f"pytorch_env_prefix={PRIVATE}/lab"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, env=PLAIN)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert uv_host.file(PRIVATE).mode == 0o700
        assert uv_host.file(f"{PRIVATE}/notes.txt").exists
        assert uv_host.run(f"{PRIVATE}/lab/bin/python -c 'import torch'").rc == 0
    finally:
        uv_host.run(f"rm -rf {PRIVATE}")
