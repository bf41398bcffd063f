"""torchfleet.lab.fleet_summary, run by a real ansible-playbook: after the recap it names the hosts that failed or
were unreachable, with the play, the task and why, and leaves out failures a rescue or ignore_errors handled
(issue 15: a fleet run must say at its end which host broke and why)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.callback import fleet_summary

PLAY = """\
- name: Provision
  hosts: all
  gather_facts: false
  tasks:
    - name: Reach the host
      ansible.builtin.ping:
    - name: Fail where asked, through a rescue
      when: inventory_hostname == 'rescued'
      block:
        - name: A failure the block rescues
          ansible.builtin.fail:
            msg: rescued, not a failure of the host
      rescue:
        - name: Carry on
          ansible.builtin.debug:
            msg: rescued
    - name: A failure ignore_errors lets pass
      ansible.builtin.fail:
        msg: ignored
      ignore_errors: true
      when: inventory_hostname == 'ignored'
    - name: Fetch from the mirror
      ansible.builtin.fail:
        msg: "Request failed: <urlopen error [Errno 111] Connection refused> for https://lab:s3cret@mirror.lab/whl/"
      when: inventory_hostname == 'broken'
    - name: Check each item
      ansible.builtin.assert:
        that: item != 2
        fail_msg: item {{ item }} is bad
      loop: [1, 2]
      when: inventory_hostname == 'looped'
"""


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_the_summary_names_each_broken_host_and_why(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[all]\nok1\nrescued\nignored\nbroken\nlooped\n"
        # Nothing listens on loopback port 9: the connection is refused.
        "gone ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=9\n"
        f"[all:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n",
        encoding="utf-8",
    )
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    collections = Path(fleet_summary.__file__).parents[5]  # <dir>/ansible_collections/torchfleet/lab/plugins/callback
    env = dict(
        os.environ,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACKS_ENABLED="torchfleet.lab.fleet_summary",
        TORCHFLEET_SUMMARY_PATH=str(tmp_path / "out" / "summary.json"),
    )
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    run = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 4, out[-4000:]
    summary = out[out.index("TORCHFLEET FLEET SUMMARY") :].splitlines()[1:]
    lines = [line for line in summary if line.strip() and not line.startswith("*")]
    assert lines == [
        "FAILED: broken: Provision > Fetch from the mirror: Request failed: <urlopen error [Errno 111] Connection "
        "refused> for https://lab:***@mirror.lab/whl/",
        "FAILED: looped: Provision > Check each item: item 2 is bad",
        lines[2],
        "3 of 6 hosts completed without failing",
    ], out[-3000:]
    assert lines[2].startswith("UNREACHABLE: gone: Provision > Reach the host: ")
    assert out.index("PLAY RECAP") < out.index("TORCHFLEET FLEET SUMMARY")
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert [(e["host"], e["state"]) for e in written["hosts"]] == [
        ("broken", "failed"),
        ("looped", "failed"),
        ("gone", "unreachable"),
    ]
    assert written["completed"] == ["ignored", "ok1", "rescued"]
    # The task's own output is the stdout callback's; the summary and its file hide the password.
    assert "s3cret" not in "\n".join(summary) + json.dumps(written)


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_without_a_path_the_summary_is_printed_and_no_file_written(tmp_path):
    (tmp_path / "play.yml").write_text(
        "- name: Provision\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Reach the host\n"
        "      ansible.builtin.ping:\n",
        encoding="utf-8",
    )
    collections = Path(fleet_summary.__file__).parents[5]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACKS_ENABLED="torchfleet.lab.fleet_summary")
    env.pop("TORCHFLEET_SUMMARY_PATH", None)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    run = subprocess.run(
        ["ansible-playbook", "-i", "only,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "1 of 1 hosts completed without failing" in out
    assert "Callback dispatch" not in out, out[-3000:]  # once it tried to write the summary to the working directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["play.yml"]


def test_a_reason_is_one_line_and_bounded():
    assert fleet_summary.reason_of({"stderr": "first\nlast line\n"}) == "last line"
    assert fleet_summary.reason_of({}) == "no message"
    long = fleet_summary.reason_of({"msg": "x" * 1000})
    assert len(long) == fleet_summary.REASON_CHARS and long.endswith("...")
    assert fleet_summary.reason_of({"msg": "a\n  b"}) == "a b"
