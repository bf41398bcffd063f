"""Connections to the fleet scenario's hosts and the paths molecule gives the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

HOSTS = ("tf-fleet-1", "tf-fleet-2", "tf-fleet-3")
REPO_ROOT = Path(__file__).resolve().parents[3]
# Processes that belong to a training job: the tag the role sets, or torchrun and the trainer by name.
JOB_PROCESSES = r"""
import os, sys
me = {os.getpid(), os.getppid()}
found = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    if int(pid) in me:
        continue
    try:
        cmdline = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode()
        environ = open(f'/proc/{pid}/environ', 'rb').read()
    except OSError:
        continue
    if b'TORCHFLEET_JOB=' in environ or 'torch.distributed.run' in cmdline or 'mnist_cnn.py' in cmdline:
        found.append(pid + ' ' + cmdline)
print('\n'.join(found))
"""


@pytest.fixture(scope="module")
def hosts(molecule_host):
    return {name: molecule_host(name) for name in HOSTS}


@pytest.fixture(scope="module")
def report_dir():
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "report"


@pytest.fixture(scope="session")
def job_processes():
    """A function: the command lines of the training-job processes on a host (empty when none is left)."""

    def find(host) -> list:
        # As root: the login user could not read the environment of the trainers account's processes, and would
        # find none of them.
        with host.sudo():
            out = host.check_output("python3 -c %s", JOB_PROCESSES)
        return [line for line in out.splitlines() if line.strip()]

    return find


@pytest.fixture(scope="session")
def read_json():
    return lambda path: json.loads(Path(path).read_text())


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT
