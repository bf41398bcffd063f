"""pytorch_env sets modes only on directories it creates (issue 11, item 2).

Before the fix, "Create the uv directories" ran ``file: state=directory, mode=0755`` on the parent of
``pytorch_env_prefix`` whether or not it existed, so a private directory the user named became world-readable.
Here the uv host gets a new environment directly inside an existing 0700 directory of the student's (so that
directory is the prefix's parent, which the role used to chmod): it keeps its mode and its contents. The
pytorch_env role runs alone, as site.yml includes it, without the GPU roles before it that have no part in this.
"""

from __future__ import annotations

import os
import subprocess

PLAYBOOK = """\
- name: Create the PyTorch environment only
  hosts: tf-uv
  gather_facts: true
  tasks:
    - name: Create and verify the PyTorch environment
      ansible.builtin.include_role:
        name: torchfleet.lab.pytorch_env
"""
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
PRIVATE = "/home/student/private"


def test_an_existing_parent_keeps_its_mode(uv_host, tmp_path):
    uv_host.run(f"rm -rf {PRIVATE} && mkdir -m 0700 {PRIVATE} && touch {PRIVATE}/notes.txt")
    assert uv_host.file(PRIVATE).mode == 0o700
    playbook = tmp_path / "pytorch_env.yml"
    playbook.write_text(PLAYBOOK)
    try:
        # A second environment: without Jupyter, whose kernel name the converged environment holds (the role
        # refuses to take over another environment's kernel) and whose JupyterLab only costs time here.
        cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook),
               "-e", f"pytorch_env_prefix={PRIVATE}/lab",
               "-e", "pytorch_env_jupyter_kernel=false", "-e", "pytorch_env_jupyterlab=false"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, env=PLAIN)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert uv_host.file(PRIVATE).mode == 0o700
        assert uv_host.file(f"{PRIVATE}/notes.txt").exists
        assert uv_host.run(f"{PRIVATE}/lab/bin/python -c 'import torch'").rc == 0
    finally:
        uv_host.run(f"rm -rf {PRIVATE}")
