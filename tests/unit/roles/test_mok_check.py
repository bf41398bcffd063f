"""gpu_driver's tasks/mok-check.yml (included by preflight.yml when the plan signs with a Machine Owner Key), run by
a real ansible-playbook on three local hosts: the key pair and a usable password pass; a missing key file, or an
empty password, stops the host with the message that says what to change."""

from __future__ import annotations

import shutil

import pytest

from .local_play import run_play

PLAY = """\
- name: Check the Machine Owner Key as preflight.yml does
  hosts: all
  gather_facts: false
  tasks:
    - name: Include the role's MOK checks
      ansible.builtin.include_role:
        name: torchfleet.lab.gpu_driver
        tasks_from: mok-check.yml
"""


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_the_mok_checks_pass_a_key_pair_and_stop_on_a_missing_file_or_password(tmp_path):
    key, cert = tmp_path / "mok.priv", tmp_path / "mok.der"
    key.write_text("key\n")
    cert.write_text("cert\n")
    plan = {"mok": {"key": str(key), "cert": str(cert)}}
    hosts = {
        "good": {"__gpu_driver_plan": plan, "gpu_driver_mok_password": "hunter2"},
        "nokey": {"__gpu_driver_plan": {"mok": dict(plan["mok"], key=str(tmp_path / "absent.priv"))},
                  "gpu_driver_mok_password": "hunter2"},
        "nopassword": {"__gpu_driver_plan": plan, "gpu_driver_mok_password": ""},
    }  # fmt: skip
    failed, out = run_play(tmp_path, PLAY, hosts)
    assert failed == {"good": 0, "nokey": 1, "nopassword": 1}, out[-4000:]
    assert f"{tmp_path / 'absent.priv'} does not exist on nokey" in " ".join(out.split())
    assert "Enrolling the Machine Owner Key needs gpu_driver_mok_password" in " ".join(out.split())
