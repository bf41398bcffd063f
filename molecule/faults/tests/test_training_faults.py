"""Faults while the host trains (playbooks/train.yml): a bad data set file, the host gone mid-run, the controller
interrupted mid-run.

The group ``faults`` holds one host, so train.yml runs linear_regression and then mnist_cnn under torchrun with one
node. A run is skipped when its metrics exist; the runs that must really happen here use a seed of their own
(``-e trainers_seed=...``), which is part of a run's key, so the earlier results (the "lost" column) are never
touched or trained over.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time

from conftest import HOST, TRAINERS, ansible_bin, finish, play, podman, snapshot, start_play, wait_for_process

DATA = TRAINERS + "/data/mnist"
RUNS = TRAINERS + "/runs"
# The smallest MNIST file, and the last one the role fetches: the other three arrive before it fails.
BAD_FILE = "t10k-labels-idx1-ubyte.gz"
MNIST = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", BAD_FILE)
# A torchrun worker: torchrun starts the script as `python -u <script> ...` (its entrypoint); the launcher's and
# the guard's command lines name the script too, but after other words.
WORKER = r"python[0-9.]* -u [^ ]*/scripts/mnist_cnn\.py --distributed"
# What belongs to a training job on the host: the tag the role sets on every process of the job, or torchrun and
# the trainer by name (the same probe as molecule/fleet/tests/conftest.py's).
JOB_PROCESSES = r"""
import os
me = {os.getpid(), os.getppid()}
for pid in filter(str.isdigit, os.listdir('/proc')):
    if int(pid) in me:
        continue
    try:
        cmdline = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode()
        environ = open(f'/proc/{pid}/environ', 'rb').read()
    except OSError:
        continue
    if b'TORCHFLEET_JOB=' in environ or 'torch.distributed.run' in cmdline or 'mnist_cnn.py' in cmdline:
        print(pid, cmdline)
"""
# Sockets on a TCP port, from /proc/net/tcp{,6} (no ss in a minimal host): state 0A is LISTEN, 01 ESTABLISHED;
# TIME_WAIT (06) holds no process and no bound socket, so it is left out.
PORT_SOCKETS = r"""
import sys
port = int(sys.argv[1])
for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        fields = row.split()
        if int(fields[1].rsplit(':', 1)[1], 16) == port and fields[3] != '06':
            print(table, fields[1], fields[3])
"""


def job_processes() -> list:
    out = podman("exec", HOST, "python3", "-c", JOB_PROCESSES, check=False).stdout
    return [line for line in out.splitlines() if line.strip()]


def port_sockets(port: int) -> list:
    out = podman("exec", HOST, "python3", "-c", PORT_SOCKETS, str(port), check=False).stdout
    return [line for line in out.splitlines() if line.strip()]


def master_port() -> int:
    """trainers_master_port as the inventory sets it for the host (the role's default otherwise)."""
    inventory = subprocess.run(
        [ansible_bin("ansible-inventory"), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--host", HOST],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return int(json.loads(inventory.stdout).get("trainers_master_port", 29400))


def ddp_results(host) -> list:
    """The distributed run's metrics (rank files and combined) in runs/."""
    return sorted(name.lstrip("./") for name in snapshot(host, RUNS) if re.search(r"mnist_cnn-ddp-.*\.json$", name))


def ls(host, path) -> list:
    return sorted(host.check_output(f"ls -A {path}").split()) if host.file(path).exists else []


DATA_FAULTS = [("data-truncated", "truncate"), ("data-corrupt", "corrupt")]


def test_a_bad_data_file_is_refused_by_its_sum(host, mirror, lost, back_to_converged, record):
    """The truncated and the corrupted file one after the other (each refusal leaves the same state), then one
    recovery run and one check-mode run."""
    runs = snapshot(host, RUNS)
    # The role's own copy goes, so that the file is really fetched again (never runs/, the results).
    host.check_output(f"rm -rf {DATA}")
    for key, fault in DATA_FAULTS:
        mirror.set({"match": "/mnist/" + re.escape(BAD_FILE) + "$", "fault": fault, "at": 0.5})
        try:
            failed = play("train.yml")
            hits = mirror.hits()
        finally:
            mirror.clear()
        assert failed.rc != 0, (key, failed.tail())
        assert len(hits) == 4, hits  # the first try and get_url's three retries, each spoiled
        out = failed.output
        assert f"{BAD_FILE} ({mirror.url}/mnist/{BAD_FILE}) failed on each of its 4 tries: The checksum for" in out, (
            out[-3000:]
        )
        assert "did not match" in out and "Nothing that failed was kept under its name" in out, out[-3000:]
        assert "run the play again" in out
        # Nothing bad under its final name, and no partial download beside the files that passed their sums.
        assert ls(host, DATA) == sorted(MNIST[:3])
        assert lost() == "nothing"

    again = play("train.yml")
    assert again.rc == 0, again.tail()
    assert ls(host, DATA) == sorted(MNIST)
    # The data's sums are what they were, so the run keys are too: the earlier results count, nothing trains.
    assert snapshot(host, RUNS) == runs
    recovered = back_to_converged("train.yml")
    for key, fault in DATA_FAULTS:
        record(
            key,
            saw=f"the file {'cut at half its length' if fault == 'truncate' else 'with 4 KiB flipped'} on the wire: "
            f'train.yml failed at "Download and verify MNIST": {BAD_FILE} failed '
            "its SHA-256 check on each of 4 tries; the message names the file and its URL, quotes get_url's "
            "checksum error, and says to run again and, if it persists, to compare the mirror's file with its sum",
            left="the other three MNIST files, each verified by its sum; nothing under the bad file's name and no "
            "partial download (get_url checks the download in its temporary file and removes it)",
            recovery=(
                "the corrupt-file case ran next and was refused the same way; " if key == "data-truncated" else ""
            )
            + "the next train.yml with a good mirror fetched the file, verified it, and found the earlier results of "
            "the same run (same data sums, same run key), so it did not train again; " + recovered,
            lost=lost(),
        )


def test_the_host_disappears_during_training(host, mirror, lost, back_to_converged, record):
    mirror.clear()
    seed = f"trainers_seed={random.randint(10**5, 10**6)}"  # a run of its own, so that it really trains
    before = ddp_results(host)
    proc = start_play("train.yml", seed)
    try:
        wait_for_process(WORKER, timeout=600)
        podman("stop", "--time=0", HOST)  # SIGKILL to everything in it at once: the machine is gone
        failed = finish(proc, timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        podman("start", HOST)
    assert failed.rc != 0, failed.tail()
    assert f"fatal: [{HOST}]: UNREACHABLE!" in failed.stdout or f"[{HOST}]: UNREACHABLE" in failed.output, failed.tail()
    assert failed.recap.get("unreachable") == 1, failed.recap
    # The interrupted run left no metrics of its own, so nothing takes it for done.
    assert ddp_results(host) == before
    assert job_processes() == []
    assert lost() == "nothing"

    again = play("train.yml", seed)
    assert again.rc == 0, again.tail()
    assert "Launch torchrun on every host" in again.stdout
    trained = [name for name in ddp_results(host) if name not in before]
    assert len(trained) == 2 and any(".rank0." in name for name in trained), trained
    recovered = back_to_converged("train.yml", extra=(seed,))
    record(
        "host-gone-training",
        saw=f"train.yml failed while it waited for the torchrun job: {HOST} UNREACHABLE (the play names the host "
        "and stops there)",
        left="no process (the host was off) and no metrics of the interrupted run: the trainer writes its metrics "
        "whole, synced, under their final name only at the end, and a run counts as done only when every rank's "
        "file and the combined metrics are there",
        recovery="after podman start, the next train.yml trained the same run again from the start; " + recovered,
        lost=lost(),
    )


def test_the_controller_is_interrupted_during_training(host, mirror, lost, back_to_converged, record):
    mirror.clear()
    port = master_port()
    # A run of its own that trains far longer than the test waits (400 epochs: the lab's data set takes about 2 s
    # an epoch), with trainers_timeout long enough that only the dead-man's switch can end it in time.
    seed = f"trainers_seed={random.randint(10**5, 10**6)}"
    extra = (seed, "trainers_limit=0", "trainers_epochs=400", "trainers_timeout=1800")
    before = ddp_results(host)
    proc = start_play("train.yml", *extra)
    try:
        wait_for_process(WORKER, timeout=600)
        # The controller has renewed the job's lease at least once, which arms the switch.
        wait_for_process("job_lease.py renew", timeout=120)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the signal goes to the terminal's process group
        interrupted = time.monotonic()
        stopped = finish(proc, timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert stopped.rc != 0, stopped.tail()
    assert "User interrupted execution" in stopped.output or "KeyboardInterrupt" in stopped.output, stopped.tail()
    # The job goes on alone until its lease (60 s) runs out; then the guard stops all of it (10 s of grace).
    assert job_processes() != [], "the job ended with the controller: nothing left to show the switch working"
    left, sockets = job_processes(), port_sockets(port)
    while (left or sockets) and time.monotonic() - interrupted < 120:
        time.sleep(2)
        left, sockets = job_processes(), port_sockets(port)
    ended = time.monotonic() - interrupted
    assert left == [] and sockets == [], (left, sockets)
    # Well before the host-side timeout, which would have ended it trainers_timeout + 30 s after the launch.
    assert ended < 100, ended
    assert ddp_results(host) == before
    assert lost() == "nothing"

    again = play("train.yml")
    assert again.rc == 0, again.tail()
    recovered = back_to_converged("train.yml")
    record(
        "controller-interrupted",
        saw="ansible-playbook stopped on SIGINT (Ctrl-C) while it waited for the torchrun job",
        left="the job ran on alone until its lease ran out: 60 s after the controller's last poll job_lease.py "
        "stopped every process of it (then none left, and nothing bound to the rendezvous port), long before "
        "trainers_timeout; no metrics of the interrupted run",
        recovery="the next plain train.yml completed (the earlier results of its runs were there); " + recovered,
        lost=lost(),
    )
