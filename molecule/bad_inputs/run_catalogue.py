"""Run every case of tests/bad_inputs.yml against the real roles in one lab container and check the outcome.

Each case becomes one inventory host (``case-<id>``) with the case's variables, reached through the
containers.podman.podman connection at the same container.  One ``ansible-playbook --check`` run with
several forks includes each host's role (catalogue.yml).  A case is "refused clearly" when its host failed
with a message holding the case's ``expect``, "unclear" when it failed otherwise and "silently accepted" when
it did not fail.  ``podman diff`` of the container must be the same after the run as before it.

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
sys.path.insert(0, str(ROOT / "tools"))
import gen_bad_inputs_doc as catalogue  # noqa: E402


def podman_diff(container):
    run = subprocess.run(["podman", "diff", "--format", "json", container], capture_output=True, text=True, check=True)
    return json.loads(run.stdout or "{}")


def inventory(cases, container):
    hosts = {}
    for case in cases:
        hosts[f"case-{case['id']}"] = {**case["vars"], "case_role": case["role"]}
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


def failures(json_output):
    """``{host: (task name, message)}`` for the first failure of each host in ansible.posix.json output."""
    found = {}
    for play in json_output.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if result.get("failed") and host not in found:
                    found[host] = (task["task"]["name"], str(result.get("msg", "")))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--container", required=True)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--forks", type=int, default=8)
    args = parser.parse_args()

    cases = catalogue.load_cases()
    before = podman_diff(args.container)
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        inv = Path(tmp) / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory(cases, args.container), allow_unicode=True))
        env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}  # fmt: skip
        started = time.monotonic()
        run = subprocess.run(
            ["ansible-playbook", "-i", str(inv), "--check", "--forks", str(args.forks), str(HERE / "catalogue.yml")],
            capture_output=True, text=True, env=env, check=False, timeout=900,
        )  # fmt: skip
        seconds = time.monotonic() - started
    after = podman_diff(args.container)
    try:
        output = json.loads(run.stdout[run.stdout.index("{") :])
    except ValueError:
        print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
        print("ansible-playbook did not write JSON output", file=sys.stderr)
        return 1
    failed = failures(output)

    report, counts = [], {"refused clearly": 0, "silently accepted": 0, "unclear": 0}
    for case in cases:
        task, message = failed.get(f"case-{case['id']}", (None, ""))
        result = catalogue.outcome(case, message)
        counts[result] += 1
        report.append({"id": case["id"], "role": case["role"], "outcome": result, "task": task, "message": message})
        if result != "refused clearly":
            print(f"{case['id']}: {result}: expected {case['expect']!r}; task {task!r} said {message[:500]!r}")
    changed = before != after
    if changed:
        print(f"the container changed: before {before}, after {after}")
    if args.report:
        args.report.write_text(json.dumps({"counts": counts, "changed": changed, "seconds": round(seconds, 1),
                                           "cases": report}, indent=1))  # fmt: skip
    print(f"{len(cases)} cases in {seconds:.0f} s with {args.forks} forks")
    print(
        "refused clearly: {refused clearly}; silently accepted: {silently accepted}; unclear: {unclear}".format(
            **counts
        )
    )
    print("podman diff: " + ("CHANGED" if changed else "nothing changed"))
    return 0 if counts["refused clearly"] == len(cases) and not changed else 1


if __name__ == "__main__":
    sys.exit(main())
