"""`make bench`: measure what issue 14 asks on the podman lab, in one run, and write benchmarks/RESULTS.md.

Hosts are Debian 12 containers of the lab image (tf-bench-*), reached as users reach theirs: over SSH as the
login labadmin with sudo, with docs/ansible.cfg (pipelining, ControlPersist), set up by tests/harness/lab_ssh.sh
as `make demo` does. They share the machine's network and take everything from a mirror on loopback: the lab
mirror's files, served by benchmarks/counting_server.py so that every byte the hosts fetch is counted. A second
counting server plays "upstream" for the mirror role (benchmarks/mirror_fetch.yml).

Steps, in order, each timed with a monotonic clock around the whole ansible-playbook (or ssh) process:
  1. benchmarks/floor.yml on one fresh host (it changes nothing), then site.yml on it (JSON callback, for the
     phases): the Ansible floor there, the 1-host wall time and the role's first provision
  2. benchmarks/baseline_provision.sh on another fresh host: the plain script's first provision; then
     benchmarks/bare_provision.yml on a third: the script's steps as plain Ansible tasks; steps 1 and 2 run
     TORCHFLEET_BENCH_FIRST_REPEATS times (5), each on fresh hosts, and the median pair is reported
  3. site.yml on four fresh hosts at once: the 4-host wall time
  4. on the two hosts site.yml provisioned first: benchmarks/floor.yml, then the site.yml re-run, for SSH with
     pipelining (TORCHFLEET_BENCH_RERUN_REPEATS pairs, 9: the median pair is reported), SSH without it and the
     podman connection; every run starts with an empty fact cache and no SSH master connection, as a daily re-run
     does
  5. the mirror role's planning and fetching for fleets of 1, 4 and 8 hosts, each into an empty cache
  6. site.yml on eight fresh hosts at once, when the time left allows it (TORCHFLEET_BENCH_BUDGET_S, 1200 s)
Raw figures go to build/bench/raw.json and benchmarks/raw.json; benchmarks/report.py turns them into
RESULTS.md and the charts. `run.py clean` removes the hosts and stops the servers. The containers and servers are
removed at the end whatever happens.
"""

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = REPO / "build" / "bench"
HARNESS = REPO / "tests" / "harness"
PREFIX = "tf-bench-"
BASE_PORT = int(os.environ.get("TORCHFLEET_BENCH_SSH_PORT", "2460"))
MIRROR_PORT = int(os.environ.get("TORCHFLEET_BENCH_MIRROR_PORT", "8797"))
UPSTREAM_PORT = MIRROR_PORT + 1
BUDGET_S = float(os.environ.get("TORCHFLEET_BENCH_BUDGET_S", "1200"))
# On a shared 2-core VM single pairs of the same code varied from 1.0x to 2.3x (re-run) and 1.3x to 1.6x (first
# provision) within one run (session 13): the medians of 9 and 5 pairs cost about 2 minutes more than 5 and 3.
RERUN_REPEATS = int(os.environ.get("TORCHFLEET_BENCH_RERUN_REPEATS", "9"))
FIRST_REPEATS = int(os.environ.get("TORCHFLEET_BENCH_FIRST_REPEATS", "5"))
SIZES = [int(n) for n in os.environ.get("TORCHFLEET_BENCH_SIZES", "1 4 8").split()]
START = time.monotonic()


def log(message):
    print(f"bench [{time.monotonic() - START:6.0f} s]: {message}", flush=True)


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kwargs).stdout


def lab_env():
    env = {}
    for line in sh(str(HARNESS / "lab.sh"), "env").splitlines():
        if line.startswith("export "):
            key, _sep, value = line[len("export ") :].partition("=")
            env[key] = value.strip("'\"")
    return env


# The lab's variables (image, mirror directory, versions), read when a run starts.
LAB = {}


# --------------------------------------------------------------------------- hosts and servers


def host_name(index):
    return f"{PREFIX}{index}"


def start_hosts(names):
    """Fresh containers, each running sshd on a loopback port of its own; labadmin with sudo and a key."""
    for name in names:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)
    for name in names:
        sshd = sh(str(HARNESS / "lab_ssh.sh"), "sshd-command", str(PORTS[name]), "127.0.0.1")
        sh(
            "podman",
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            name,
            "--add-host",
            f"{name}:127.0.0.1",
            "--network",
            "host",
            LAB["TORCHFLEET_LAB_IMAGE"],
            "bash",
            "-c",
            sshd,
        )
    for name in names:
        sh(
            str(HARNESS / "lab_ssh.sh"),
            "host",
            str(OUT / "ssh"),
            name,
            "labadmin",
            "127.0.0.1",
            str(PORTS[name]),
            "--sudo",
        )


def clean():
    OUT.mkdir(parents=True, exist_ok=True)
    names = sh("podman", "ps", "-a", "--format", "{{.Names}}").split()
    for name in names:
        if name.startswith(PREFIX):
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)
    for pidfile in OUT.glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text()), 15)
        pidfile.unlink()


def start_server(name, port, upstream):
    logfile = OUT / f"{name}.jsonl"
    logfile.write_text("")
    argv = [
        sys.executable,
        str(HERE / "counting_server.py"),
        "--root",
        LAB["TORCHFLEET_MIRROR_DIR"],
        "--port",
        str(port),
        "--log",
        str(logfile),
    ] + (["--upstream"] if upstream else [])
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(OUT / f"{name}.err", "w"))  # noqa: SIM115
    (OUT / f"{name}.pid").write_text(str(proc.pid))
    probe = "/pypi/simple/" if upstream else "/mnist/SHA256SUMS"
    for _try in range(50):
        if (
            subprocess.run(
                [
                    "python3",
                    "-c",
                    "import sys,urllib.request; urllib.request.urlopen(sys.argv[1])",
                    f"http://127.0.0.1:{port}{probe}",
                ],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        ):
            break
        time.sleep(0.2)
    else:
        raise SystemExit(f"bench: the {name} server on 127.0.0.1:{port} did not start ({OUT / (name + '.err')})")
    return logfile


class Counter:
    """Bytes and requests a counting server's log gained since the mark."""

    def __init__(self, logfile):
        self.logfile = logfile
        self.mark = 0

    def start(self):
        self.mark = len(self.logfile.read_text().splitlines())

    def since(self):
        records = [json.loads(line) for line in self.logfile.read_text().splitlines()[self.mark :]]
        ok = [r for r in records if 200 <= r["status"] < 400]
        return {"bytes": sum(r["bytes"] for r in ok), "requests": len(ok), "failed": len(records) - len(ok)}


# --------------------------------------------------------------------------- inventories and runs


def inventory(path, names, connection):
    # Group vars of fleet, not of all: the implicit localhost of mirror_fetch.yml takes all's vars.
    lines = ["all:", "  children:", "    fleet:", "      vars:"]
    common = {
        "ansible_python_interpreter": "/usr/bin/python3",
        "torchfleet_mirror_url": f"http://127.0.0.1:{MIRROR_PORT}",
        "pytorch_version": LAB["TORCHFLEET_TORCH_VERSION"],
        "pytorch_python_version": "3.11",
        "pytorch_env_packages": ["torch"],
        "pytorch_env_manager": "uv",
        "pytorch_env_scope": "system",
        "pytorch_env_uv_version": LAB["TORCHFLEET_UV_VERSION"],
        "pytorch_env_uv_python_downloads": "never",
    }
    if connection == "podman":
        common["ansible_connection"] = "containers.podman.podman"
    else:
        common.update(
            {
                "ansible_connection": "ssh",
                "ansible_user": "labadmin",
                "ansible_ssh_private_key_file": str(OUT / "ssh" / "id_ed25519"),
                "ansible_ssh_common_args": f"-F {OUT / 'ssh' / 'config'}",
            }
        )
    lines += [f"        {key}: {json.dumps(value)}" for key, value in common.items()]
    lines += ["      hosts:"] + [f"        {name}: {{}}" for name in names]
    path.write_text("\n".join(lines) + "\n")
    return path


def settle():
    """Write out what earlier runs left in the page cache before a timed run starts. A first provision writes about
    1 GiB (uv's cache and the environment); without this, the kernel writes it back during whatever run comes
    next, and that run pays for the one before it (on this lab's virtual disk the same install took 4.7 to 15.8 s)."""
    os.sync()


def playbook(name, playbook_path, names, connection="ssh-pipelining", extra_env=None, args=()):  # noqa: PLR0913 (one call site per kind of run)
    """Run one playbook; return (seconds, stdout path). Fresh fact cache and SSH control sockets each time."""
    inv = inventory(OUT / f"{name}.inventory.yml", names, "podman" if connection == "podman" else "ssh")
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=OUT))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "docs" / "ansible.cfg"),
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(scratch / "facts"),
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(scratch / "cp"),
        ANSIBLE_INJECT_FACT_VARS="false",
        ANSIBLE_PIPELINING="False" if connection == "ssh-no-pipelining" else "True",
        ANSIBLE_FORCE_COLOR="false",
        **(extra_env or {}),
    )
    stdout = OUT / f"{name}.log"
    settle()
    started = time.monotonic()
    with open(stdout, "w") as handle:
        rc = subprocess.run(
            ["ansible-playbook", "-i", str(inv), str(playbook_path), *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    seconds = time.monotonic() - started
    shutil.rmtree(scratch, ignore_errors=True)
    log(f"{name}: rc {rc} in {seconds:.1f} s ({stdout})")
    if rc != 0:
        print(stdout.read_text()[-4000:], file=sys.stderr)
        raise SystemExit(f"bench: {name} failed (rc {rc}); see {stdout}")
    return seconds, stdout


def baseline(host, logfile):
    """benchmarks/baseline_provision.sh on HOST over the same SSH, as root through sudo; its wall time."""
    settle()
    started = time.monotonic()
    with open(HERE / "baseline_provision.sh") as script, open(logfile, "w") as handle:
        subprocess.run(
            [
                *("ssh", "-F", str(OUT / "ssh" / "config"), "-i", str(OUT / "ssh" / "id_ed25519")),
                *("-l", "labadmin", host, "sudo", "bash", "-s", "--"),
                f"http://127.0.0.1:{MIRROR_PORT}",
                LAB["TORCHFLEET_TORCH_VERSION"],
                LAB["TORCHFLEET_UV_VERSION"],
                "3.11",
            ],
            stdin=script,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=True,
        )
    seconds = time.monotonic() - started
    log(f"baseline on {host}: {seconds:.1f} s ({logfile})")
    return seconds


def median_of(samples, numerator, denominator):
    """The sample whose NUMERATOR / DENOMINATOR ratio is the median (the upper one of an even count), and every
    sample's ratio from lowest to highest."""
    ordered = sorted(samples, key=lambda sample: sample[numerator] / sample[denominator])
    return ordered[len(ordered) // 2], [round(sample[numerator] / sample[denominator], 2) for sample in ordered]


def median_pair(connection, samples):
    """The (floor, re-run) pair whose ratio is the median of SAMPLES, with every pair's ratio, and the most any
    re-run changed."""
    middle, ratios = median_of(samples, "site_s", "floor_s")
    return {
        "connection": connection,
        "floor_s": middle["floor_s"],
        "site_s": middle["site_s"],
        "site_changed": max(pair["site_changed"] for pair in samples),
        "pairs": len(samples),
        "ratios": ratios,
    }


def recap_changed(logfile):
    """The sum of changed= over the PLAY RECAP lines of a default-callback log."""
    total, inside = 0, False
    for line in logfile.read_text().splitlines():
        if line.startswith("PLAY RECAP"):
            inside = True
        elif inside and "changed=" in line:
            total += int(line.split("changed=", 1)[1].split(maxsplit=1)[0])
    return total


def _when(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def json_phases(logfile):
    """Seconds per phase from ansible.posix.json output: tasks of a role grouped under the role's name, the other
    tasks under their play's name; a task's time is from its start to its end on the slowest host."""
    text = logfile.read_text()
    # The fleet_summary callback of docs/ansible.cfg prints its lines after the JSON document.
    data = json.JSONDecoder().raw_decode(text[text.index("{") :])[0]
    totals, tasks = {}, []
    for play in data["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            phase = name.split(" : ", 1)[0] if " : " in name else f"play: {play['play']['name']}"
            if name == "Gathering Facts":
                phase = "gathering facts"
            duration = task["task"].get("duration") or {}
            if duration.get("start") and duration.get("end"):
                seconds = (_when(duration["end"]) - _when(duration["start"])).total_seconds()
                totals[phase] = totals.get(phase, 0.0) + seconds
                tasks.append({"name": name, "seconds": round(seconds, 2)})
    changed = sum(stats.get("changed", 0) for stats in data["stats"].values())
    tasks = sorted(tasks, key=lambda t: -t["seconds"])[:8]
    return [{"name": k, "seconds": round(v, 2)} for k, v in totals.items()], tasks, changed


# --------------------------------------------------------------------------- the run


def machine():
    def first_line(*argv):
        try:
            return sh(*argv).splitlines()[0]
        except (OSError, subprocess.CalledProcessError, IndexError):
            return "?"

    mem_kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "podman": first_line("podman", "--version").rsplit(maxsplit=1)[-1],
        "ansible_core": first_line("ansible", "--version").rsplit("core ", maxsplit=1)[-1].rstrip("]"),
        "python": platform.python_version(),
        "load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "hosts": f"Debian 12 containers of {LAB['TORCHFLEET_LAB_IMAGE']}, podman --network host, sshd on loopback",
    }


def served(counter):
    return counter.since()["bytes"]


def main():  # noqa: PLR0915 (one run, in the order the docstring gives)
    LAB.update(lab_env())
    clean()
    raw = {
        "schema": 1,
        "command": os.environ.get("TORCHFLEET_BENCH_COMMAND", "make bench"),
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "wall": [],
        "upstream_bytes": [],
    }
    biggest = max(SIZES)
    names = [host_name(i) for i in range(1, biggest + 1)]
    # The first-provision pairs: site.yml on names[0] (provisioned, it serves the re-runs later) and on firstN, the
    # plain script on base and baseN, the script's steps as plain Ansible tasks on bare and bareN.
    firsts = [names[0], *(host_name(f"first{n}") for n in range(2, FIRST_REPEATS + 1))]
    bases = [host_name("base"), *(host_name(f"base{n}") for n in range(2, FIRST_REPEATS + 1))]
    bares = [host_name("bare"), *(host_name(f"bare{n}") for n in range(2, FIRST_REPEATS + 1))]
    every_host = [*names, *firsts[1:], *bases, *bares]
    PORTS.update({name: BASE_PORT + i for i, name in enumerate(every_host)})
    try:
        mirror = Counter(start_server("mirror", MIRROR_PORT, upstream=False))
        upstream = Counter(start_server("upstream", UPSTREAM_PORT, upstream=True))
        log(f"starting {len(every_host)} hosts")
        start_hosts(every_host)
        site = REPO / "playbooks" / "site.yml"

        # 1-2. FIRST_REPEATS pairs, one after the other: the Ansible floor on a fresh host (it changes nothing), then
        #      site.yml on that host (JSON callback, for the phases), then the plain script on another fresh host,
        #      then the script's steps as plain Ansible tasks (bare_provision.yml) on a third: the least any Ansible
        #      implementation costs. The pair whose ratio is the median is reported, with every pair's ratio; the
        #      phases are the first pair's.
        pairs = []
        for number, (first_host, base_host, bare_host) in enumerate(zip(firsts, bases, bares), 1):
            suffix = "" if number == 1 else f"-{number}"
            floor_s, _log = playbook(f"floor-fresh{suffix}", HERE / "floor.yml", [first_host])
            mirror.start()
            seconds, out = playbook(
                f"first-1{suffix}", site, [first_host], extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
            )
            if number == 1:
                raw["phases"], raw["slowest_tasks"], changed = json_phases(out)
                # What no task's start and end cover: ansible-playbook's start-up, includes, the recap.
                raw["phases"].append(
                    {
                        "name": "outside the tasks (start-up, recap)",
                        "seconds": round(max(seconds - sum(p["seconds"] for p in raw["phases"]), 0), 2),
                    }
                )
                served_first = served(mirror)
            base_s = baseline(base_host, OUT / f"baseline{suffix}.log")
            bare_s, _log = playbook(f"bare{suffix}", HERE / "bare_provision.yml", [bare_host])
            pairs.append(
                {
                    "role_s": round(seconds, 1),
                    "baseline_s": round(base_s, 1),
                    "floor_s": round(floor_s, 1),
                    "bare_s": round(bare_s, 1),
                }
            )
        middle, ratios = median_of(pairs, "role_s", "baseline_s")
        raw["first_provision"] = dict(
            middle,
            role_changed=changed,
            pairs=len(pairs),
            ratios=ratios,
            bare_ratios=median_of(pairs, "bare_s", "baseline_s")[1],
            note=BASELINE_NOTE,
        )
        raw["wall"].append({"hosts": 1, "seconds": raw["first_provision"]["role_s"], "served_bytes": served_first})

        # 3. Four fresh hosts at once.
        if 4 in SIZES:
            mirror.start()
            seconds, out = playbook("first-4", site, names[1:5])
            raw["wall"].append({"hosts": 4, "seconds": round(seconds, 1), "served_bytes": served(mirror)})

        # 4. Re-runs on two provisioned hosts, floor and site.yml side by side, per connection.
        pair = names[:2] if 4 in SIZES else names[:1]
        #    The pair with a target (SSH with pipelining) runs RERUN_REPEATS times: the table keeps the pair whose
        #    ratio is the median, and every pair's ratio is kept beside it.
        runs = []
        for connection in ("ssh-pipelining", "ssh-no-pipelining", "podman"):
            samples = []
            for _attempt in range(RERUN_REPEATS if connection == "ssh-pipelining" else 1):
                floor_s, _log = playbook(f"floor-{connection}", HERE / "floor.yml", pair, connection)
                site_s, out = playbook(f"rerun-{connection}", site, pair, connection)
                samples.append(
                    {"floor_s": round(floor_s, 2), "site_s": round(site_s, 2), "site_changed": recap_changed(out)}
                )
            runs.append(median_pair(connection, samples))
        raw["rerun"] = {"hosts": len(pair), "runs": runs}

        # 5. Bytes from upstream for fleets of 1, 4 and 8 hosts (facts only: the hosts need not be provisioned).
        local = {f"uv/{LAB['TORCHFLEET_UV_VERSION']}/uv-x86_64-unknown-linux-gnu.tar.gz": None}
        local.update(
            {
                f"mnist/{f}": None
                for f in (
                    "train-images-idx3-ubyte.gz",
                    "train-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz",
                    "t10k-labels-idx1-ubyte.gz",
                )
            }
        )
        local = {key: os.path.join(LAB["TORCHFLEET_MIRROR_DIR"], key) for key in local}
        for size in SIZES:
            cache = OUT / f"mirror-cache-{size}"
            shutil.rmtree(cache, ignore_errors=True)
            extra = {
                "mirror_torch_index_url": f"http://127.0.0.1:{UPSTREAM_PORT}/whl",
                "mirror_pypi_url": f"http://127.0.0.1:{UPSTREAM_PORT}/pypi/simple",
                "mirror_cache_dir": str(cache),
                "mirror_local_files": local,
                "mirror_check_local_sums": False,
            }
            upstream.start()
            playbook(f"mirror-{size}", HERE / "mirror_fetch.yml", names[:size], args=("-e", json.dumps(extra)))
            counted = upstream.since()
            raw["upstream_bytes"].append(
                {
                    "hosts": size,
                    "bytes": counted["bytes"],
                    "requests": counted["requests"],
                    "local_bytes": sum(os.path.getsize(p) for p in local.values()),
                }
            )
            shutil.rmtree(cache, ignore_errors=True)

        # 6. Eight fresh hosts at once, if the budget allows (estimated from the 4-host run, scaled by hosts).
        if 8 in SIZES:
            four = next((row["seconds"] for row in raw["wall"] if row["hosts"] == 4), None)
            estimate = (four or raw["wall"][0]["seconds"] * 4) * 2 + 30
            left = BUDGET_S - (time.monotonic() - START)
            if estimate <= left:
                log(f"8 hosts: recreating {', '.join(names)}")
                start_hosts(names)
                mirror.start()
                seconds, out = playbook("first-8", site, names)
                raw["wall"].append({"hosts": 8, "seconds": round(seconds, 1), "served_bytes": served(mirror)})
            else:
                raw["wall"].append(
                    {
                        "hosts": 8,
                        "seconds": None,
                        "served_bytes": None,
                        "note": f"not run: about {estimate:.0f} s expected, {left:.0f} s of the "
                        f"{BUDGET_S:.0f} s budget left",
                    }
                )
                log(raw["wall"][-1]["note"])
    finally:
        clean()
    raw["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    raw["elapsed_s"] = round(time.monotonic() - START, 1)
    raw.update(NOTES)
    (OUT / "raw.json").write_text(json.dumps(raw, indent=2) + "\n")
    (HERE / "raw.json").write_text(json.dumps(raw, indent=2) + "\n")
    sys.path.insert(0, str(HERE))
    import report  # noqa: PLC0415 (beside this file)

    report.write(raw, HERE)
    log(f"wrote {HERE / 'RESULTS.md'}")


PORTS = {}
BASELINE_NOTE = (
    "The script (benchmarks/baseline_provision.sh) does site.yml's steps for this host from the same mirror: uv's "
    "archive and its .sha256, the check, unpacking uv, `uv venv --seed`, `uv pip install torch` from the CPU "
    "index, `import torch`. It leaves out what the role adds: input validation and preflight checks, GPU and "
    "driver detection, the environment record and state probes that make a re-run a no-op, recovery from a "
    "half-made install, index credentials, readable output. benchmarks/bare_provision.yml does the script's steps "
    "as six plain ansible.builtin tasks (directories, get_url with the .sha256, unarchive, three commands) and "
    "nothing else: what it costs beyond the script is what Ansible itself costs for those steps. "
    "Each ran on a fresh host of its own, one after the "
    "other, over the same SSH connection settings, and each timed run of the bench began with a sync, so that no "
    "run paid for writing out the gigabyte the one before it left in the page cache."
)
NOTES = {
    "note": os.environ.get("TORCHFLEET_BENCH_NOTE", ""),
    "upstream_method": (
        "Method: benchmarks/mirror_fetch.yml runs the mirror role's own planning and fetching (tasks/preflight.yml "
        "and tasks/fetch.yml, with the controller as the mirror host and nothing served or published) for a fleet "
        "of 1, 4 and 8 lab hosts, each time into an empty download cache. mirror_torch_index_url and "
        "mirror_pypi_url point at benchmarks/counting_server.py --upstream on loopback, which serves the lab "
        "mirror's files laid out as download.pytorch.org and PyPI and logs the bytes of every response it sends: "
        "the figure is the sum of that log over the run. uv and the MNIST files, which the role takes from fixed "
        "upstream URLs (GitHub, the MNIST host) this machine cannot reach, are given as mirror_local_files and "
        "copied from the controller, never downloaded; their size is the last column."
    ),
    "served_method": (
        "The middle column is the access log of the mirror the hosts provisioned from "
        "(benchmarks/counting_server.py serving the lab mirror): what every host fetched, so it grows with the "
        "fleet. Like the lab's own mirror it is Python's http.server, which answers no Range requests, and the "
        "lab's indexes carry no PEP 658 metadata files; in its log each host fetched the torch wheel twice, a few "
        "seconds apart (uv reading its metadata, then installing it). The plain script's host did the same."
    ),
    "phases_method": (
        "Method: the 1-host first run ran with Ansible's ansible.posix.json stdout callback; each task's time is "
        "from its start to its end, summed per role (tasks of no role under their play). Fact gathering is its "
        "own phase."
    ),
}

if __name__ == "__main__":
    if sys.argv[1:] == ["clean"]:
        clean()
    else:
        main()
