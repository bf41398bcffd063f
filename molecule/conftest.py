"""What the scenarios' testinfra tests share: a connection to a host of the scenario, as molecule's inventory names it.

molecule's testinfra verifier runs pytest on ``molecule/<scenario>/tests``; pyproject.toml sets the rootdir to the
repository, so pytest loads this file for every scenario as a conftest of a parent directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import testinfra


@pytest.fixture(scope="session")
def molecule_host():
    """A function: the testinfra host NAME, reached as molecule's inventory says (connection and user).

    testinfra's ``ansible://`` backend hands only ssh, local, docker and lxc hosts to a native backend (``fleet``'s
    SSH hosts go to its ssh backend, with the inventory's user, key and ``ansible_ssh_common_args`` and the
    ``ssh_args`` of molecule's ansible.cfg); for any other connection (podman, which the other lab scenarios use)
    it runs each command as an ad-hoc ansible task
    (testinfra/utils/ansible_runner.py, ``get_ansible_host``), about 3 s of CPU each on this lab. A podman host is
    therefore reached with testinfra's own ``podman://`` backend, which runs ``podman exec [-u USER]``, as the
    inventory's ``ansible_user`` and ``ansible_connection: podman`` would (ansible's podman connection also runs
    ``podman exec`` as ``ansible_user``). Any other connection keeps the ansible backend.
    """
    inventory_file = os.environ["MOLECULE_INVENTORY_FILE"]
    listing = subprocess.run(
        ["ansible-inventory", "-i", inventory_file, "--list"], capture_output=True, text=True, check=True
    )
    hostvars = json.loads(listing.stdout)["_meta"]["hostvars"]

    def connect(name):
        variables = hostvars[name]
        if variables.get("ansible_connection") in ("podman", "containers.podman.podman"):
            container = variables.get("ansible_host", name)
            user = variables.get("ansible_user")
            return testinfra.get_host(f"podman://{user}@{container}" if user else f"podman://{container}")
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory_file}")

    return connect


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def run_audit():
    """A function: playbooks/audit.yml on the scenario's inventory with FIELDS, its report written into REPORT_DIR.

    Returns the finished process and the parsed audit-report.json. The output is plain (no colour), so the table and
    the recap read as text, and the drift table the play printed is echoed for the log of a failed run (pytest -s).
    """
    plain = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}

    def audit(fields, report_dir):
        report_dir.mkdir()
        extra = {"torchfleet_audit_fields": list(fields), "torchfleet_audit_report_dir": str(report_dir)}
        cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(REPO / "playbooks" / "audit.yml"),
               "-e", json.dumps(extra)]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=plain)
        output = result.stdout + result.stderr
        print(output[output.find("TASK [Show the drift table]") :].split("PLAY [", 1)[0])
        report = report_dir / "audit-report.json"
        assert report.exists(), output[-4000:]
        return result, json.loads(report.read_text(encoding="utf-8"))

    return audit
