"""A job that fails on one host fails as a whole, names the host, and leaves nothing running anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HOSTS = ("tf-fleet-1", "tf-fleet-2", "tf-fleet-3")
TRAINERS = "/opt/torchfleet/trainers"


def _train(repo_root: Path, tmp_path: Path, host_vars: dict, extra: dict, limit=None) -> subprocess.CompletedProcess:
    inventory = tmp_path / "failure.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": host_vars}}))
    extra = {"trainers_force": True, "trainers_run": ["mnist_cnn"], "trainers_report": False, **extra}
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        *("-i", os.environ["MOLECULE_INVENTORY_FILE"], "-i", str(inventory)),
        *("-e", json.dumps(extra)),
        *(("--limit", limit) if limit else ()),
        str(repo_root / "playbooks" / "train.yml"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture
def clean_after(hosts):
    yield
    for host in hosts.values():
        host.run("rm -rf /tmp/bad-mnist /tmp/hang")


def test_corrupt_data_on_one_host_fails_the_job_naming_it(hosts, tmp_path, clean_after, repo_root, job_processes):
    bad = hosts["tf-fleet-2"]
    bad.check_output(f"mkdir -p /tmp/bad-mnist && cp {TRAINERS}/data/mnist/*.gz /tmp/bad-mnist/")
    bad.check_output("truncate -s 2000 /tmp/bad-mnist/train-images-idx3-ubyte.gz")

    result = _train(
        repo_root,
        tmp_path,
        {"tf-fleet-2": {"trainers_data_dir": "/tmp/bad-mnist", "trainers_data_download": False}},
        {"trainers_timeout": 60},
    )
    output = " ".join((result.stdout + result.stderr).split())  # the callback wraps long messages
    assert result.returncode != 0, output
    assert "failed on tf-fleet-2." in output, output
    assert "train-images-idx3-ubyte.gz: corrupt gzip data" in output, output
    for name, host in hosts.items():
        assert job_processes(host) == [], name


def test_a_host_that_never_joins_times_out_and_the_job_is_stopped_everywhere(
    hosts, tmp_path, clean_after, repo_root, job_processes
):
    # tf-fleet-3's "python" never starts torchrun: the others wait at the rendezvous until the timeout.
    hosts["tf-fleet-3"].check_output("mkdir -p /tmp/hang && printf '#!/bin/sh\\nexec sleep 600\\n' >/tmp/hang/python")
    hosts["tf-fleet-3"].check_output("chmod +x /tmp/hang/python")

    env_python = {"trainers_python": "/opt/torchfleet/envs/pytorch_env/bin/python"}
    host_vars = {
        "tf-fleet-1": env_python,
        "tf-fleet-2": env_python,
        "tf-fleet-3": {"trainers_python": "/tmp/hang/python"},
    }
    result = _train(repo_root, tmp_path, host_vars, {"trainers_timeout": 15})
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    for name in HOSTS:
        assert f"{name}: still running after 15 s" in output, output
    assert "were stopped on every reachable host" in output
    for name, host in hosts.items():
        assert job_processes(host) == [], name
        assert "sleep 600" not in host.check_output("ps -eo args"), name


@pytest.fixture
def stopped_host(hosts, repo_root):
    """tf-fleet-3 powered off for one test: its container stops, so Ansible cannot reach it."""
    subprocess.run(["podman", "stop", "--time=2", "tf-fleet-3"], check=True, capture_output=True)
    yield "tf-fleet-3"
    subprocess.run(["podman", "start", "tf-fleet-3"], check=True, capture_output=True)
    # Back with another address on the bridge (podman hands one out again at each start), as a host that takes
    # its address from DHCP: the scenario's ssh_config learns it, as prepare.yml wrote it the first time.
    address = subprocess.run(
        ["podman", "container", "inspect", "--format",
         '{{ (index .NetworkSettings.Networks "torchfleet-fleet").IPAddress }}', "tf-fleet-3"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ssh_dir = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ssh"
    lab_ssh = repo_root / "tests" / "harness" / "lab_ssh.sh"
    command = [str(lab_ssh), "host", str(ssh_dir), "tf-fleet-3", "labadmin", address, "--sudo"]
    subprocess.run(command, check=True, capture_output=True)


def test_an_unreachable_host_fails_the_job_naming_it(hosts, tmp_path, stopped_host, repo_root, job_processes):
    result = _train(repo_root, tmp_path, {}, {"trainers_timeout": 15})
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert f"failed on {stopped_host}." in output, output
    assert f"{stopped_host}: took no part (unreachable, or failed before the launch)" in output, output
    for name in ("tf-fleet-1", "tf-fleet-2"):
        assert f"{name}: still running after 15 s" in output, output
        assert job_processes(hosts[name]) == [], name


# Mistakes that used to end "successfully" having trained nothing, or to wait out trainers_timeout: each now
# stops before anything starts, and says why.


def test_a_misspelled_group_fails_at_once_naming_the_groups(tmp_path, repo_root):
    result = _train(repo_root, tmp_path, {}, {"trainers_group": "fleeet"})
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert "trainers_group (fleeet) is not a group of the inventory" in output, output


def test_a_limit_that_cuts_the_group_fails_naming_the_hosts_left_out(tmp_path, repo_root, hosts, job_processes):
    result = _train(repo_root, tmp_path, {}, {}, limit="tf-fleet-1")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert "The play leaves out tf-fleet-2, tf-fleet-3 of trainers_group (fleet)" in output, output
    assert job_processes(hosts["tf-fleet-1"]) == []
