#!/usr/bin/env python
"""A dead-man's switch for a distributed training job: the job runs while its controller keeps renewing a lease.

    job_lease.py guard --lease FILE --tag NAME --value ID [--stale SECONDS] [--grace SECONDS] -- COMMAND...
    job_lease.py renew --lease FILE [--wait SECONDS]

``guard`` writes FILE, runs COMMAND (torchrun) and watches FILE's modification time. The controller renews it
(``renew``) each time it polls the job, so a lease that has not been renewed for --stale seconds means that the
controller is gone (ansible-playbook interrupted, the controller machine lost, the network cut): the guard then
stops every process of the job, as stop_job.py does (those whose environment holds NAME=ID; torchrun starts each
worker in a session of its own, so a process group is not enough: SubprocessHandler._popen passes
start_new_session=True, pytorch/pytorch torch/distributed/elastic/multiprocessing/subprocess_handler/
subprocess_handler.py), and exits 125 with a message on stderr.
Otherwise it exits with COMMAND's status, and a SIGTERM or SIGINT it receives (coreutils timeout) goes to
COMMAND.

The switch is armed by the first renewal, not by the launch: a host whose polling has not begun (more hosts than
Ansible's forks, so some wait for a free worker) is not stopped for it.  Until then the host-side timeout that
wraps the guard is the bound.

``renew`` touches FILE when a guard holds it, waits up to --wait seconds for the guard to end, and prints
``{"running": bool}``: false once the guard has ended (it removes FILE as it exits; a guard killed outright is
found gone through its pid, which FILE holds).

Standard library only; Linux (/proc, through stop_job.py beside this file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

# renew runs as root in the scripts directory, which stays as the role deployed it: no __pycache__ there.
sys.dont_write_bytecode = True
from stop_job import job_pids, signal_all  # noqa: E402 - after the line above, on purpose

# Exit status when the lease ran out: not one of COMMAND's (timeout uses 124-127 for its own, 125 "timeout
# itself failed" is the closest in spirit: the command did not end on its own).
STALE_EXIT = 125


def lease_mtime(lease: str):
    """The lease's modification time in nanoseconds; None when it is gone."""
    try:
        return os.stat(lease).st_mtime_ns
    except FileNotFoundError:
        return None


def guard_alive(lease: str) -> bool:
    """Whether the guard that wrote the lease (its pid is the file's content) still runs: a guard killed
    outright (SIGKILL from coreutils timeout --kill-after) cannot remove its lease, and renew must not report a
    job that ended as running."""
    try:
        with open(lease, encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return False
    return state not in ("Z", "X")


def ancestors() -> set:
    """This process and its ancestors: they carry the job's tag too (runuser, timeout) but are not the job."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                # The fields after the command name, which is in parentheses and may hold spaces.
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def stop_job(tag: str, value: str, grace: float) -> None:
    """SIGTERM to the job's processes (not this guard's ancestors), SIGKILL to those left after ``grace``."""
    mine = ancestors()

    def left() -> list:
        return [pid for pid in job_pids(tag, value) if pid not in mine]

    signal_all(left(), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    signal_all(left(), signal.SIGKILL)


def guard(args) -> int:
    started = []

    def forward(signum, _frame):
        # coreutils timeout (or a person) stopping the guard stops the command; before it starts, the guard.
        if not started:
            raise SystemExit(128 + signum)
        started[0].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        with open(args.lease, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        # The first renewal moves the time away from the one the lease was made with: that arms the switch.
        made = lease_mtime(args.lease)
        child = subprocess.Popen(args.command)
        started.append(child)
        while True:
            try:
                status = child.wait(timeout=args.poll)
            except subprocess.TimeoutExpired:
                pass
            else:
                # A command ended by a signal: the shell's 128 + N, since an exit status cannot be negative.
                return status if status >= 0 else 128 - status
            renewed = lease_mtime(args.lease)
            armed = renewed != made
            if armed and (renewed is None or time.time() - renewed / 1e9 > args.stale):
                sys.stderr.write(
                    f"job_lease: error: the controller has not polled this job for {args.stale:g} s (lease "
                    f"{args.lease}); it is gone, so the job was stopped. Run the playbook again.\n"
                )
                sys.stderr.flush()
                stop_job(args.tag, args.value, args.grace)
                child.wait()
                return STALE_EXIT
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(args.lease)


def renew(args) -> int:
    with contextlib.suppress(FileNotFoundError):
        os.utime(args.lease)  # never creates it: a guard that has ended is not renewed
    deadline = time.monotonic() + args.wait
    while guard_alive(args.lease) and time.monotonic() < deadline:
        time.sleep(0.2)
    print(json.dumps({"running": guard_alive(args.lease)}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run a job while its controller renews a lease.")
    commands = parser.add_subparsers(dest="action", required=True)
    run = commands.add_parser("guard", help="run COMMAND; stop the job when the lease is not renewed")
    run.add_argument("--lease", required=True, help="the lease file (created here, removed on exit)")
    run.add_argument("--tag", required=True, help="name of the environment variable that marks the job")
    run.add_argument("--value", required=True, help="the job's value of that variable")
    run.add_argument("--stale", type=float, default=60.0, help="seconds without renewal after which the job stops")
    run.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    run.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- and the job's command line")
    again = commands.add_parser("renew", help="renew the lease and wait a little for the job to end")
    again.add_argument("--lease", required=True)
    again.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the job to end")
    args = parser.parse_args(argv)
    if args.action == "renew":
        return renew(args)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("guard needs the job's command line after --")
    if not args.value:
        parser.error("--value must not be empty")
    return guard(args)


if __name__ == "__main__":
    sys.exit(main())
