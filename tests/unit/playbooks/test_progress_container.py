"""torchfleet.lab.progress against a real lab host (a container of the lab image, reached through podman as an
unprivileged login that becomes root with sudo, as users' hosts are): the progress lines and the module's result
in a normal run, and no process of the job left on the host soon after ansible-playbook is interrupted (Ctrl-C:
SIGINT to its process group) or killed (SIGKILL to ansible-playbook alone, whose worker then polls no more).

Skipped where podman or the lab image (``make lab``, tests/harness/build_image.sh) is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.action import progress

from ..conftest import REPO_ROOT

IMAGE = os.environ.get("TORCHFLEET_LAB_IMAGE", "localhost/torchfleet-debian:12")
COLLECTIONS = Path(progress.__file__).parents[5]
ENV = dict(
    os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", str(REPO_ROOT / "tests/harness/containers.conf"))
)
INTERVAL, TIMEOUT = 2, 10
# The supervisor notices a stale heartbeat within TIMEOUT + its 0.5 s step after the last poll, then waits at
# most 5 s (grace) between SIGTERM and SIGKILL; the rest is podman exec's latency on a busy machine.
BOUND = INTERVAL + TIMEOUT + 5 + 15


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=ENV, check=check, timeout=120)


def _image_present():
    if not shutil.which("podman"):
        return False
    try:
        return podman("image", "exists", IMAGE, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


pytestmark = pytest.mark.skipif(not _image_present(), reason=f"podman or the lab image {IMAGE} is missing")


@pytest.fixture(scope="module")
def host():
    name = f"tf-p-progress-{os.getpid()}"
    podman("run", "-d", "--rm", "--name", name, "--stop-timeout=0", "--network=none", IMAGE, "sleep", "infinity")
    try:
        sudoers = "echo 'tfp ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/tfp && chmod 0440 /etc/sudoers.d/tfp"
        podman("exec", name, "sh", "-c", "useradd -m tfp && " + sudoers)
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def write_play(tmp_path, host_name, tasks):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {host_name: {
        "ansible_connection": "containers.podman.podman", "ansible_user": "tfp", "ansible_become": True,
        "ansible_python_interpreter": "/usr/bin/python3"}}}}))  # fmt: skip
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    return ["ansible-playbook", "-i", str(inventory), str(book)]


def ansible_env():
    bin_dir = str(Path(sys.executable).parent)
    return dict(ENV, PATH=bin_dir + os.pathsep + ENV.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
                ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")  # fmt: skip


def remaining(host_name, marker):
    """The job's processes still on the host (their command line holds ``marker``)."""
    found = podman("exec", host_name, "pgrep", "-af", marker, check=False).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def test_a_normal_run_prints_lines_and_returns_the_module_result(tmp_path, host):
    script = ("mkdir -p /opt/tfp-fill; for i in 1 2 3 4 5 6; do head -c 2097152 /dev/urandom > /opt/tfp-fill/$i;"
              " sleep 1; done; id -un; echo fine >&2")  # fmt: skip
    out = tmp_path / "result.json"
    command = {"module": "ansible.builtin.command", "interval": INTERVAL, "timeout": TIMEOUT}
    fill = dict(command, label="filling", watch=["/opt/tfp-fill"], args={"argv": ["bash", "-c", script]})
    fail = dict(command, args={"argv": ["bash", "-c", "sleep 3; echo 'no such index' >&2; exit 2"]})
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    content = "{{ {'filled': filled, 'failing': failing} | to_json }}"
    tasks = [
        {"name": "Fill", "torchfleet.lab.progress": fill, "register": "filled"},
        {"name": "Fail", "torchfleet.lab.progress": fail, "register": "failing", "ignore_errors": True},
        {"name": "Save", "delegate_to": "localhost", "become": False, "vars": local,
         "ansible.builtin.copy": {"dest": str(out), "content": content}},
    ]  # fmt: skip
    run = subprocess.run(write_play(tmp_path, host, tasks), capture_output=True, text=True, env=ansible_env(),
                         timeout=300, check=False)  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    lines = re.findall(rf"^{host}: filling: .*$", output, re.M)
    assert len(lines) >= 2, output
    assert any(re.search(r" MiB in /opt/tfp-fill \(\+[0-9.]+ MiB/2 s\), \d+ s$", line) for line in lines), lines
    saved = json.loads(out.read_text())
    assert (saved["filled"]["rc"], saved["filled"]["stdout"], saved["filled"]["stderr"]) == (0, "root", "fine")
    assert saved["filled"]["changed"] is True
    failing = saved["failing"]
    assert (failing["failed"], failing["rc"], failing["msg"], failing["stderr"]) == (
        True, 2, "non-zero return code", "no such index")  # fmt: skip
    assert podman("exec", host, "sh", "-c", "ls -A /root/.ansible_async").stdout.strip() == ""


@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_no_process_of_the_job_outlives_an_interrupted_controller(tmp_path, host, how):
    marker = f"tfp-orphan-{how}-{os.getpid()}"
    argv = ["bash", "-c", f"sleep 600 & sleep 601; wait; : {marker}"]
    long = {"module": "ansible.builtin.command", "label": "sleeping", "interval": INTERVAL, "timeout": TIMEOUT}
    tasks = [{"name": "Long", "torchfleet.lab.progress": dict(long, args={"argv": argv})}]
    log = tmp_path / "playbook.log"
    with open(log, "w") as handle:
        play = subprocess.Popen(write_play(tmp_path, host, tasks), stdout=handle, stderr=subprocess.STDOUT,
                                env=ansible_env(), start_new_session=True)  # fmt: skip
    try:
        deadline = time.time() + 120
        while f"{host}: sleeping: running" not in log.read_text():
            assert play.poll() is None and time.time() < deadline, log.read_text()
            time.sleep(0.5)
        assert remaining(host, marker), "the job is not running on the host"
        if how == "ctrl-c":
            os.killpg(play.pid, signal.SIGINT)  # what a terminal sends to the foreground group
        else:
            play.kill()  # ansible-playbook alone: its worker process lives on
        killed = time.time()
        play.wait(timeout=60)
        while remaining(host, marker) and time.time() - killed < BOUND:
            time.sleep(1)
        left = remaining(host, marker)
        assert not left, f"still on the host {time.time() - killed:.0f} s after the {how}: {left}"
        print(f"{how}: no process of the job left {time.time() - killed:.0f} s after it")
        # The supervisor also removed the job's directory.
        deadline = time.time() + 10
        while podman("exec", host, "sh", "-c", "ls -A /root/.ansible_async").stdout.strip() and time.time() < deadline:
            time.sleep(0.5)
        assert podman("exec", host, "sh", "-c", "ls -A /root/.ansible_async").stdout.strip() == ""
    finally:
        if play.poll() is None:
            os.killpg(play.pid, signal.SIGKILL)
        # A worker left by the kill case ends at its next poll (os.getppid changed); wait for nothing else.
