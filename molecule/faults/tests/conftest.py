"""What every fault test needs: the host, the fault mirror, playbook runs, snapshots and the rows of docs/faults.md.

The host is the scenario's ``tf-faults`` container (``TORCHFLEET_FAULTS_HOST`` names another one, with
``MOLECULE_INVENTORY_FILE`` pointing at an inventory that holds it). Each test injects one fault, runs a
playbook into it, records what the user saw and what was left, clears the fault, runs again, and then shows that
the host is back where converge.yml left it: a check-mode run of the same playbook reports zero changes and the
listings match the ones taken before the first test. The rows go to ``faults-rows.jsonl`` in molecule's
ephemeral directory; test_zz_faults_doc.py renders them into docs/faults.md.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

# The test modules import the helpers below with `from conftest import ...`. pyproject.toml runs pytest with
# --import-mode=importlib, which puts no test directory on sys.path and names this module after its path: let
# that import find this very module, not a second copy.
sys.modules.setdefault("conftest", sys.modules[__name__])

REPO_ROOT = Path(__file__).resolve().parents[3]
HOST = os.environ.get("TORCHFLEET_FAULTS_HOST", "tf-faults")
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp/torchfleet-faults"))
ROWS = EPHEMERAL / "faults-rows.jsonl"
PORT = int(os.environ.get("TORCHFLEET_FAULT_MIRROR_PORT", "8766"))
# The release the mirror role published for the lab (tests/harness/lab.sh mirror): <mirror_root>/current.
_LAB_CACHE = Path(os.environ.get("TORCHFLEET_LAB_CACHE") or REPO_ROOT / ".cache" / "lab")
MIRROR_DIR = Path(os.environ.get("TORCHFLEET_MIRROR_DIR") or _LAB_CACHE / "mirror-root" / "current")
# molecule's ansible.cfg sets display_failed_stderr, which sends "fatal:" lines to stderr, apart from the TASK
# headers they belong to: the tests read both from stdout, as a run with Ansible's defaults prints them.
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DISPLAY_FAILED_STDERR": "false"}
# What converge.yml installs (system scope, uv): the environment, uv, uv's Pythons and the trainers.
ENV = "/opt/torchfleet/envs/pytorch_env"
TRAINERS = "/opt/torchfleet/trainers"
# A person's work on the host, written before the first fault: the "lost" column compares it afterwards.
WORK = {
    "/srv/work/notes.md": "results of last week's runs\n",
    "/srv/work/model/weights.bin": "0123456789" * 1000,
}


def ansible_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr on one line each, with the callback's wrapping undone."""
        return " ".join((self.stdout + "\n" + self.stderr).split())

    @property
    def recap(self) -> dict:
        """The PLAY RECAP counters of the faults host: {'ok': .., 'changed': .., 'unreachable': .., ...}."""
        for line in self.stdout.splitlines():
            if line.startswith(HOST + " ") and "changed=" in line:
                return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        return {}

    def tail(self, chars: int = 4000) -> str:
        return (self.stdout + self.stderr)[-chars:]


def playbook_command(playbook: str, *extra: str, check: bool = False) -> list:
    """ansible-playbook on the faults host; ``playbook`` is a path under playbooks/ or an absolute one."""
    path = playbook if os.path.isabs(playbook) else str(REPO_ROOT / "playbooks" / playbook)
    cmd = [ansible_bin("ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", HOST, path]
    for item in extra:
        cmd += ["-e", item]
    if check:
        cmd.append("--check")
    return cmd


def play(playbook: str, *extra: str, check: bool = False, timeout: int = 1200) -> Run:
    result = subprocess.run(
        playbook_command(playbook, *extra, check=check),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=PLAIN,
    )
    return Run(result.returncode, result.stdout, result.stderr)


def start_play(playbook: str, *extra: str) -> subprocess.Popen:
    """ansible-playbook in the background, in a process group of its own (for a test that interrupts it)."""
    return subprocess.Popen(
        playbook_command(playbook, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=PLAIN,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: int = 1200) -> Run:
    stdout, stderr = proc.communicate(timeout=timeout)
    return Run(proc.returncode, stdout, stderr)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=120)


def wait_for_process(pattern: str, timeout: float = 300, poll: float = 0.2) -> str:
    """Wait until a process whose command line matches ``pattern`` (pgrep -f) runs on the host; its pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = podman("exec", HOST, "pgrep", "-f", pattern, check=False)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
        time.sleep(poll)
    raise AssertionError(f"no process matching {pattern!r} on {HOST} within {timeout} s")


def snapshot(host, path: str, exclude: str = r"/__pycache__(/|$)|\.pyc$") -> dict:
    """Every entry under ``path`` (recursively) mapped to 'type mode size [link target]', and every regular
    file's SHA-256 appended; paths matching ``exclude`` are left out. Empty when ``path`` does not exist."""
    if not host.file(path).exists:
        return {}
    listing = host.check_output(f"cd {shlex.quote(path)} && find . -printf '%p\\t%y %m %s %l\\n' | LC_ALL=C sort")
    sums = host.check_output(
        f"cd {shlex.quote(path)} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum"
    )
    entries = {}
    for line in listing.splitlines():
        name, _sep, attrs = line.partition("\t")
        if not re.search(exclude, name):
            entries[name] = attrs.strip()
    for line in sums.splitlines():
        digest, name = line.split(None, 1)
        if name in entries:
            entries[name] += " sha256:" + digest
    return entries


# The packages installed on the host: Debian's (dpkg-query's binary:Package, Version and db:Status-Abbrev
# fields, dpkg-query(1)) and the Python distributions of the environment (importlib.metadata, read by the
# environment's own interpreter). A key of ``converged`` like a path, listed by ``packages`` instead of ``snapshot``.
PACKAGES = "packages"
_DISTRIBUTIONS = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(d.metadata['Name'] + '\\t' + d.version for d in m.distributions())))"
)


def packages(host) -> dict:
    """'deb <name:arch>' mapped to 'version status' for every Debian package, and 'python <name>' to the version
    of every distribution in the environment (none when the environment has no interpreter)."""
    entries = {}
    debs = host.check_output("dpkg-query -W -f='${binary:Package}\\t${Version} ${db:Status-Abbrev}\\n' | LC_ALL=C sort")
    for line in debs.splitlines():
        name, _sep, attrs = line.partition("\t")
        entries[f"deb {name}"] = attrs.strip()
    if host.file(f"{ENV}/bin/python").exists:
        for line in host.check_output(f"{ENV}/bin/python -I -c {shlex.quote(_DISTRIBUTIONS)}").splitlines():
            name, _sep, version = line.partition("\t")
            entries[f"python {name}"] = version
    return entries


def listing(host, key: str) -> dict:
    """The listing ``converged`` keeps under ``key``: the packages, or a path's snapshot."""
    return packages(host) if key == PACKAGES else snapshot(host, key)


def differences(before: dict, after: dict) -> list:
    """Paths that were lost, added or changed between two snapshots, each with what happened to it."""
    out = [f"lost {p}" for p in sorted(before.keys() - after.keys())]
    out += [f"added {p}" for p in sorted(after.keys() - before.keys())]
    out += [
        f"changed {p}: {before[p]} -> {after[p]}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]
    ]
    return out


class FaultMirror:
    """The scenario's fault mirror (tests/harness/fault_mirror.py): set faults, read what was hit, restart it."""

    def __init__(self, state: Path, port: int, directory: Path):
        self.state, self.port, self.directory = state, port, directory
        self.url = f"http://127.0.0.1:{port}"
        self.args = ["--directory", str(directory), "--state", str(state), "--port", str(port)]

    def set(self, *rules: dict) -> None:
        (self.state / "hits.jsonl").unlink(missing_ok=True)
        tmp = self.state / "faults.json.tmp"
        tmp.write_text(json.dumps(list(rules)))
        tmp.replace(self.state / "faults.json")

    def clear(self) -> None:
        self.set()

    def hits(self) -> list:
        path = self.state / "hits.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def answers(self) -> bool:
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"{self.url}/mnist/SHA256SUMS", timeout=2
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def ensure_up(self) -> None:
        """Start the server again if a fault stopped it (the fault 'die' exits the process)."""
        if self.answers():
            return
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "log", "ab") as log:
            subprocess.Popen(
                [sys.executable, str(REPO_ROOT / "tests/harness/fault_mirror.py"), *self.args],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        for _attempt in range(50):
            if self.answers():
                return
            time.sleep(0.2)
        raise AssertionError(f"the fault mirror did not come back at {self.url}; see {self.state / 'log'}")


@pytest.fixture(scope="session")
def mirror():
    server = FaultMirror(Path(os.environ.get("TORCHFLEET_FAULT_MIRROR_STATE", EPHEMERAL / "fault-mirror")), PORT,
                         MIRROR_DIR)  # fmt: skip
    server.ensure_up()
    server.clear()
    yield server
    server.clear()
    server.ensure_up()


@pytest.fixture(scope="session")
def host(molecule_host):
    # Reached as molecule's inventory says (molecule/conftest.py molecule_host: podman exec, as root here).
    return molecule_host(HOST)


@pytest.fixture(scope="session")
def work(host):
    """A person's files on the host, written once; returns their snapshot, to compare after each fault."""
    for path, content in WORK.items():
        host.check_output(f"mkdir -p {shlex.quote(os.path.dirname(path))}")
        host.check_output(f"printf %s {shlex.quote(content)} > {shlex.quote(path)}")
    return {"/srv/work": snapshot(host, "/srv/work"), TRAINERS + "/runs": snapshot(host, TRAINERS + "/runs")}


@pytest.fixture(scope="session")
def lost(host, work):
    """A function: what of the person's work (and the runs' results) differs from before the first fault, as a
    phrase for the "lost" column: "nothing" when nothing does."""

    def check() -> str:
        changes = []
        for path, before in work.items():
            changes += differences(before, snapshot(host, path))
        changes = [c for c in changes if not c.startswith("added ")]
        return "; ".join(changes) or "nothing"

    return check


@pytest.fixture(scope="session")
def converged(host):
    """Snapshots of what converge.yml installed, taken before the first fault: the state each recovery must
    reach again."""
    keys = (ENV, "/opt/torchfleet/bin", TRAINERS + "/scripts", TRAINERS + "/data", PACKAGES)
    return {key: listing(host, key) for key in keys}


@pytest.fixture(scope="session")
def record():
    """A function: append a row of docs/faults.md. ``fault`` is one of test_zz_faults_doc.FAULTS' keys."""
    ROWS.parent.mkdir(parents=True, exist_ok=True)
    ROWS.unlink(missing_ok=True)  # rows from this session only

    def add(fault: str, saw: str, left: str, recovery: str, lost: str) -> None:
        row = {"fault": fault, "saw": saw, "left": left, "recovery": recovery, "lost": lost}
        with open(ROWS, "a", encoding="utf-8") as rows:
            rows.write(json.dumps(row) + "\n")

    return add


def kill_on_host(pattern: str, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to every process on the host whose command line matches ``pattern`` (pkill -f)."""
    podman("exec", HOST, "pkill", f"-{int(sig)}", "-f", pattern, check=False)


@pytest.fixture(scope="session")
def back_to_converged(host, converged):
    """A function: show that the host is where converge.yml left it. A check-mode run of ``playbooks`` (site.yml
    and train.yml by default) reports zero changes (``dry_run=False`` leaves it out, where a later case of the
    same module runs it), and the listings of what converge.yml installed match the ones taken before the first
    fault. Returns the phrase for the "how the next run recovered" column."""

    def check(*playbooks: str, extra: tuple = (), dry_run: bool = True) -> str:
        if dry_run:
            for playbook in playbooks or ("site.yml", "train.yml"):
                dry = play(playbook, *extra, check=True)
                assert dry.rc == 0, dry.tail()
                assert dry.recap.get("changed") == 0, f"{playbook} --check: {dry.recap}\n{dry.tail()}"
        for key, before in converged.items():
            assert differences(before, listing(host, key)) == [], key
        if not dry_run:
            return "listings match a never-interrupted host"
        return "check-mode run: 0 changed; listings match a never-interrupted host"

    return check
