"""Run every case of tests/bad_inputs.yml and cases/live_cases.yml against the real roles in one lab container.

Each case becomes one inventory host (``case-<id>``) with the case's variables, reached through the
containers.podman.podman connection at the same container.  One ``ansible-playbook --check`` run with
several forks includes each host's role (catalogue.yml) for the cases of tests/bad_inputs.yml; a second run,
without ``--check``, does the same for cases/live_cases.yml, gathering the host's facts first where a case says
``facts: true``.  A case is "refused clearly" when its host failed with a message holding the case's
``expect``, "unclear" when it failed otherwise and "silently accepted" when it did not fail.  ``podman diff``
of the container must be the same after the runs as before them; before the first diff, one ``setup`` call
through the same connection lays down what gathering facts leaves on any host (Ansible's remote temporary
directory), so that the diff shows what the cases changed.

Exit status 0 only when every case was refused clearly and nothing changed.  The report (``--report``) lists
each case with its outcome and message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIVE = HERE / "cases" / "live_cases.yml"
sys.path.insert(0, str(ROOT / "tools"))
import gen_bad_inputs_doc as catalogue  # noqa: E402


def podman_diff(container):
    run = subprocess.run(["podman", "diff", "--format", "json", container], capture_output=True, text=True, check=True)
    return json.loads(run.stdout or "{}")


def inventory(cases, container):
    hosts = {}
    for case in cases:
        hosts[f"case-{case['id']}"] = {**case["vars"], "case_role": case["role"], "case_facts": bool(case.get("facts"))}
    return {
        "bad_inputs": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "containers.podman.podman",
                "ansible_host": container,
                "ansible_python_interpreter": "/usr/bin/python3",
            },
        }
    }


ENV = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_FORCE_COLOR": "0",
       "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}  # fmt: skip


def outcome(case, message):
    """catalogue.outcome, where a live case's ``expect`` may list fragments that must all be in the message."""
    parts = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
    results = [catalogue.outcome({**case, "expect": part}, message) for part in parts]
    return next((result for result in ("silently accepted", "unclear") if result in results), "refused clearly")


def run_cases(cases, container, forks, check):
    """``(failures, seconds)`` of one ansible-playbook run of catalogue.yml over ``cases``; None on bad output."""
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        inv = Path(tmp) / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory(cases, container), allow_unicode=True))
        started = time.monotonic()
        run = subprocess.run(
            ["ansible-playbook", "-i", str(inv), *(["--check"] if check else []), "--forks", str(forks),
             str(HERE / "catalogue.yml")],
            capture_output=True, text=True, env=ENV, check=False, timeout=900,
        )  # fmt: skip
        seconds = time.monotonic() - started
    try:
        output = json.loads(run.stdout[run.stdout.index("{") :])
    except ValueError:
        print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
        print("ansible-playbook did not write JSON output", file=sys.stderr)
        return None, seconds
    return failures(output), seconds


def warm_up(container):
    """Gather facts once, so that what any fact gathering leaves on the host is there before the first diff."""
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        inv = Path(tmp) / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory([{"id": "warm-up", "role": "", "vars": {}}], container)))
        run = subprocess.run(["ansible", "-i", str(inv), "case-warm-up", "-m", "ansible.builtin.setup"],
                             capture_output=True, text=True, env=ENV, check=False, timeout=300)  # fmt: skip
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
    return run.returncode == 0


def failures(json_output):
    """``{host: (task name, message)}`` in ansible.posix.json output, for each host a failure stopped.

    The message is the host's last failure: one a ``rescue`` answered (the gpu_driver role turns its plan's error
    into a message that ends "Nothing was changed") or ``ignore_errors`` let pass did not stop the host.
    """
    stopped = {host for host, stats in json_output.get("stats", {}).items() if stats.get("failures")}
    found = {}
    for play in json_output.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if result.get("failed") and host in stopped:
                    found[host] = (task["task"]["name"], str(result.get("msg", "")))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--container", required=True)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--forks", type=int, default=8)
    args = parser.parse_args()

    checked, live = catalogue.load_cases(), catalogue.load_cases(LIVE)
    ids = [case["id"] for case in checked + live]
    if len(ids) != len(set(ids)):
        print("tests/bad_inputs.yml and cases/live_cases.yml share ids", file=sys.stderr)
        return 1
    if any(case.get("facts") for case in live) and not warm_up(args.container):
        print("gathering facts from the container failed", file=sys.stderr)
        return 1
    before = podman_diff(args.container)
    failed, seconds = {}, {}
    for name, cases, check in (("check mode", checked, True), ("real run", live, False)):
        found, seconds[name] = run_cases(cases, args.container, args.forks, check)
        if found is None:
            return 1
        failed.update(found)
    after = podman_diff(args.container)

    report, counts = [], {"refused clearly": 0, "silently accepted": 0, "unclear": 0}
    for case in checked + live:
        task, message = failed.get(f"case-{case['id']}", (None, ""))
        result = outcome(case, message)
        counts[result] += 1
        report.append({"id": case["id"], "role": case["role"], "check_mode": case in checked, "outcome": result,
                       "task": task, "message": message})  # fmt: skip
        if result != "refused clearly":
            print(f"{case['id']}: {result}: expected {case['expect']!r}; task {task!r} said {message[:500]!r}")
    changed = before != after
    if changed:
        print(f"the container changed: before {before}, after {after}")
    if args.report:
        args.report.write_text(json.dumps({"counts": counts, "changed": changed,
                                           "seconds": {k: round(v, 1) for k, v in seconds.items()},
                                           "cases": report}, indent=1))  # fmt: skip
    for name, cases in (("check mode", checked), ("real run", live)):
        print(f"{name}: {len(cases)} cases in {seconds[name]:.0f} s with {args.forks} forks")
    print(
        "refused clearly: {refused clearly}; silently accepted: {silently accepted}; unclear: {unclear}".format(
            **counts
        )
    )
    print("podman diff: " + ("CHANGED" if changed else "nothing changed"))
    return 0 if counts["refused clearly"] == len(report) and not changed else 1


if __name__ == "__main__":
    sys.exit(main())
