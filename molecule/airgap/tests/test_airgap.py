"""The air-gapped lab: tf-airgap-1 reaches the mirror host and nothing else, and was provisioned through it.

Every probe goes to the lab's own addresses (the networks' gateways, which are this machine's, and the mirror
container); none to an outside address.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

CLIENT = "tf-airgap-1"
MIRROR = "tf-airgap-mirror"
AIR = "tf-airgap-air"
UPLINK = "tf-airgap-uplink"
MIRROR_URL = "http://tf-airgap-mirror:8080"
ENV = "/opt/torchfleet/envs/pytorch_env"
TRAINERS = "/opt/torchfleet/trainers"
LAB_MIRROR_PORT = int(os.environ.get("TORCHFLEET_MIRROR_PORT", "8765"))

# Connect to ADDRESS:PORT with a TCP socket; print "ok", or the errno's name. ENETUNREACH is the kernel's answer
# when no route leads to the address (connect(2)); ECONNREFUSED means the address answered and nothing listens.
_CONNECT = """
import errno, socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print('ok')
except socket.timeout:
    print('timeout')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
"""


def _gateway(network: str) -> str:
    out = subprocess.run(["podman", "network", "inspect", network], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["subnets"][0]["gateway"]


def _connect(host, address: str, port: int) -> str:
    return host.check_output(f"python3 -c {shlex.quote(_CONNECT)} {address} {port}").strip()


@pytest.fixture(scope="module")
def client(molecule_host):
    return molecule_host(CLIENT)


@pytest.fixture(scope="module")
def mirror(molecule_host):
    return molecule_host(MIRROR)


def test_the_client_has_no_default_route(client):
    # /proc/net/route: a destination of 00000000 is the default route (proc(5)).
    routes = client.file("/proc/net/route").content_string.splitlines()[1:]
    assert routes, "the client has no route at all"
    assert not [line for line in routes if line.split()[1] == "00000000"], routes


def test_the_client_cannot_reach_the_uplink_but_the_mirror_can(client, mirror):
    gateway = _gateway(UPLINK)
    # The same probe from the mirror host, which sits on the uplink, shows the address is there to be reached.
    assert _connect(mirror, gateway, 22) != "ENETUNREACH"
    assert _connect(client, gateway, 22) == "ENETUNREACH"


def test_the_client_cannot_reach_the_lab_mirror_on_this_machine(client):
    # The lab's own mirror listens on this machine's loopback: from the lab network, the machine's only address
    # is the internal bridge's gateway, where that port gives no answer.
    assert _connect(client, _gateway(AIR), LAB_MIRROR_PORT) != "ok"


def test_the_client_reaches_nginx_on_the_mirror_host(client):
    head = client.check_output(
        "python3 -c %s",
        f"import urllib.request; r = urllib.request.urlopen('{MIRROR_URL}/SHA256SUMS', timeout=10); "
        "print(r.headers['Server'])",
    )
    assert head.startswith("nginx"), head


def test_torch_came_from_the_mirror(client, mirror):
    version = client.check_output(f"{ENV}/bin/python -c 'import torch; print(torch.__version__)'")
    assert version == "2.13.0+cpu"
    with mirror.sudo():
        log = mirror.check_output("cat /var/log/nginx/access.log")
    # The index page links the file with "+" percent-encoded (module_utils/_mirror_plan.py quotes each href).
    assert re.search(r"GET /\S*torch-2\.13\.0(\+|%2B)cpu-cp311-\S*\.whl ", log), log[-2000:]
    assert "uv-x86_64-unknown-linux-gnu.tar.gz" in log


def test_the_client_trained_on_the_mirror_s_data(client):
    report = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "report" / "metrics" / CLIENT
    metrics = json.loads((report / "linear_regression.json").read_text())
    assert metrics["losses"][-1] < metrics["losses"][0]
    sums = client.check_output(f"cd {TRAINERS}/data/mnist && sha256sum *.gz")
    published = client.check_output(
        "python3 -c %s",
        f"import urllib.request; print(urllib.request.urlopen('{MIRROR_URL}/mnist/SHA256SUMS', timeout=10)"
        ".read().decode())",
    )
    assert len(sums.splitlines()) == 4
    assert sorted(sums.split()) == sorted(published.split())


def test_verify_playbook_passes_through_the_mirror():
    run = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "playbooks/verify.yml",
            "-e",
            "torchfleet_hosts=fleet",
            # Into the scenario's directory, which destroy.yml empties, not the checkout.
            "-e",
            f"torchfleet_verify_report={os.environ['MOLECULE_EPHEMERAL_DIRECTORY']}/report/torchfleet-verify.md",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"{CLIENT}" in run.stdout and "failed=0" in run.stdout
