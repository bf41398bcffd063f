#!/usr/bin/env python
"""Stop every process of one distributed training job and print what was stopped as JSON.

    stop_job.py --tag NAME --value ID [--grace SECONDS]

The job's processes are those whose environment holds NAME=ID: the launch sets that variable and every
process of the job inherits it.  Killing torchrun's process group alone would not do, because torchrun
starts each worker in a session of its own.  SIGTERM goes first (torchrun then stops its workers);
whatever is still there after --grace seconds gets SIGKILL.  Output: {"stopped": [...], "killed": [...]}.
Standard library only; Linux (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time


def job_pids(tag: str, value: str) -> list:
    """Pids of the processes whose environment holds tag=value (not this one)."""
    wanted = f"{tag}={value}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environment = handle.read().split(b"\0")
        except OSError:  # gone meanwhile, or another user's
            continue
        if wanted in environment:
            pids.append(int(entry))
    return sorted(pids)


def signal_all(pids: list, signum: int) -> list:
    sent = []
    for pid in pids:
        try:
            os.kill(pid, signum)
            sent.append(pid)
        except ProcessLookupError:
            pass
    return sent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Stop every process of one distributed training job.")
    parser.add_argument("--tag", required=True, help="name of the environment variable that marks the job")
    parser.add_argument("--value", required=True, help="the job's value of that variable")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    args = parser.parse_args(argv)
    if not args.value:
        parser.error("--value must not be empty")

    stopped = signal_all(job_pids(args.tag, args.value), signal.SIGTERM)
    deadline = time.monotonic() + args.grace
    left = job_pids(args.tag, args.value)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = job_pids(args.tag, args.value)
    killed = signal_all(left, signal.SIGKILL)
    print(json.dumps({"stopped": stopped, "killed": killed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
