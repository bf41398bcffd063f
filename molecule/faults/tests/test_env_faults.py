"""Faults met while site.yml installs uv and the PyTorch environment (uv, system scope), injected for real.

The fault mirror (tests/harness/fault_mirror.py) serves the torch wheel truncated, corrupted, or half-sent before
the server process exits; it serves uv's archive truncated or corrupted. On the host, uv is killed in the middle
of putting torch into the environment, and the whole host is stopped (podman stop) while uv fetches torch.

To make a fault matter, a test first removes what the role itself made and would otherwise reuse: the
environment (/opt/torchfleet/envs/pytorch_env) and uv's cache (/var/cache/torchfleet/uv-cache), or uv and its
download. Nothing of the person's (/srv/work) or of the trainers is touched. Each test runs site.yml into the
fault, looks at what it left, runs site.yml again without it, and ends with back_to_converged('site.yml') (the
environment is site.yml's: train.yml only reads it) and the "lost" comparison. Faults that leave the same state
(a refused download) run one after the other and share the recovery run.
"""

from __future__ import annotations

import re
import time

from conftest import ENV, HOST, finish, play, podman, start_play, wait_for_process

# Where the role keeps uv, its cache and the environment at system scope (module_utils/_pytorch_env.py
# _POSIX_SYSTEM and _uv, with the scenario's pytorch_env_uv_version, roles/pytorch_env/defaults/main.yml).
CACHE = "/var/cache/torchfleet"
UV_CACHE = CACHE + "/uv-cache"
UV_EXE = "/opt/torchfleet/bin/uv"
UV_VERSION = "0.13.9"
UV_ASSET = "uv-x86_64-unknown-linux-gnu.tar.gz"
UV_ARCHIVE = f"{CACHE}/{UV_ASSET}"
UV_UNPACKED = f"{CACHE}/uv-{UV_VERSION}"
SITE = ENV + "/lib/python3.11/site-packages"
# The requests the faults spoil (the path of the request; '+' is sent as %2B).
TORCH_WHEEL = r"^/whl/cpu/torch-2\.13\.0(\+|%2B)cpu-.*\.whl$"
UV_TARBALL = rf"^/uv/{re.escape(UV_VERSION)}/{re.escape(UV_ASSET)}$"
# A torch that uv unpacked into its cache (archive-v0/<id>/torch/__init__.py): kept only when the wheel was good.
CACHED_TORCH = f"find {UV_CACHE} -path '*/archive-v0/*/torch/__init__.py' -print -quit 2>/dev/null || true"


def sh(host, command: str) -> str:
    return host.check_output(command)


def remove_env_and_uv_cache(host) -> None:
    """The role's own environment and uv's cache: the next run downloads and installs torch again."""
    sh(host, f"rm -rf {ENV} {UV_CACHE}")


def failed_task(run) -> str:
    """The name of the task the run failed in (the TASK header before the first 'fatal:')."""
    task = ""
    for line in run.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK [") :].split("]")[0]
        if line.startswith(("fatal: ", "failed: ")):
            return task.split(" : ")[-1]
    return ""


def nothing_of_torch_left(host) -> None:
    """No torch in the environment that claims to be installed, and no spoiled torch kept in uv's cache."""
    assert sh(host, f"ls -d {SITE}/torch-*.dist-info 2>/dev/null || true").strip() == ""
    assert sh(host, CACHED_TORCH).strip() == ""


# ------------------------------------------------------------------------------------------- torch wheel
def task_status(run, name: str) -> str:
    """The first result line ('ok', 'changed', 'fatal', 'skipping') of the task called ``name`` in a run."""
    current = None
    for line in run.stdout.splitlines():
        if line.startswith("TASK ["):
            current = line[len("TASK [") :].split("]")[0].split(" : ")[-1]
        elif current == name and re.match(r"^(ok|changed|fatal|skipping|failed): ", line):
            return line.split(":")[0]
    return ""


# What ``uv venv --seed`` installs into a new environment of Python 3.11 (seen on the host with uv 0.13.9).
SEEDED = ["packaging", "pip", "setuptools", "wheel"]


def only_pip_installed(host) -> None:
    """What ``uv venv --seed`` put in the new environment, and nothing else: uv installs no package when one
    of the downloads fails."""
    listing = sh(host, f"cd {SITE} && ls -d *.dist-info").split()
    assert [re.sub(r"-[^-]*\.dist-info$", "", name) for name in listing] == SEEDED, listing


def _wheel_fault(host, mirror, rule: dict):
    remove_env_and_uv_cache(host)
    mirror.set({"match": TORCH_WHEEL, **rule})
    failing = play("site.yml")
    hits = [h for h in mirror.hits() if re.search(TORCH_WHEEL, h["path"])]
    mirror.clear()
    assert hits, "the fault was not met"
    assert failing.rc != 0, failing.tail()
    assert failed_task(failing) == "Install torch into the environment", failing.tail()
    only_pip_installed(host)
    nothing_of_torch_left(host)
    return failing


def _recover(host) -> None:
    again = play("site.yml")
    assert again.rc == 0, again.tail()
    assert task_status(again, "Install torch into the environment") == "changed", again.tail()
    assert task_status(again, "Run torch_info in the environment") == "ok", again.tail()


# ------------------------------------------------------------------------------------------- uv archive
UV_FAULTS = [
    ("uv-truncated", {"fault": "truncate", "at": 0.5}, "cut at half its length"),
    ("uv-corrupt", {"fault": "corrupt", "at": 0.5}, "with 4 KiB flipped at half its length"),
]


def remove_uv(host) -> None:
    """uv as the role installed it: the binary, the downloaded archive and its unpacked copy."""
    sh(host, f"rm -rf {UV_EXE} {UV_ARCHIVE} {UV_UNPACKED}")


def test_a_bad_uv_archive_is_refused_by_its_checksum(host, mirror, back_to_converged, lost, record):
    rows = []
    for key, rule, what in UV_FAULTS:
        remove_uv(host)
        mirror.set({"match": UV_TARBALL, **rule})
        failing = play("site.yml")
        hits = mirror.hits()
        mirror.clear()
        assert failing.rc != 0, failing.tail()
        assert len(hits) == 4, hits  # the first try and its three retries, each spoiled
        assert failed_task(failing) == "Download, verify and install uv", failing.tail()
        assert "did not match" in failing.output, failing.tail()
        # Nothing under the archive's name, no uv, and the environment as it was.
        assert not host.file(UV_ARCHIVE).exists and not host.file(UV_EXE).exists
        assert sh(host, f"ls -A {CACHE} | grep -F {UV_ASSET} || true").split() == [], "a stray download"
        rows.append((key, what))
    again = play("site.yml")
    assert again.rc == 0, again.tail()
    assert task_status(again, "Download, verify and install uv") == "changed", again.tail()
    assert task_status(again, "Install torch into the environment") == "ok", again.tail()
    recovery = back_to_converged("site.yml", dry_run=False) + " (check-mode after the killed-install case: 0 changed)"
    assert lost() == "nothing"
    for key, what in rows:
        record(
            key,
            saw=f"the uv archive {what}: site.yml failed at 'Download, verify and install uv' after 4 tries: "
            '"The SHA-256 of ... did not match ..."',
            left="no uv and no archive under its name (torchfleet.lab.uv_binary checks the download in a temporary "
            "file and removes it); the environment untouched",
            recovery=("the corrupt-archive case ran next (it failed the same way); " if key == "uv-truncated" else "")
            + "the next run downloaded and verified uv and found the environment complete; "
            + recovery,
            lost=lost(),
        )


# uv's message for each spoiled download (uv 0.13.9, seen in this scenario): a short body leaves the zip without
# its central directory, at the end of the file; flipped bytes break the archive as uv unpacks it; a server
# that stops mid-body leaves uv with a connection that closed early, and its retries find nothing listening
# ("Request failed after 4 retries ... Connection refused (os error 111)").
WHEEL_FAULTS = [
    ("wheel-truncated", {"fault": "truncate", "at": 0.5},
     "The structure of `torch` (v2.13.0+cpu) was invalid: Failed to read from zip file"),
    ("wheel-corrupt", {"fault": "corrupt", "at": 0.5}, "Failed to extract archive"),
    ("mirror-dies", {"fault": "die", "at": 0.5}, "Request failed after 4 retries"),
]  # fmt: skip


def test_a_bad_or_broken_torch_download_installs_nothing(host, mirror, back_to_converged, lost, record):
    """The three download faults in a row (each one leaves the same state: an environment with only what
    ``uv venv --seed`` put there), then one recovery run and one check-mode run."""
    remove_env_and_uv_cache(host)
    seen = {}
    for key, rule, message in WHEEL_FAULTS:
        failing = _wheel_fault(host, mirror, rule)
        assert message in failing.output, (key, failing.tail())
        seen[key] = failing
        if rule["fault"] == "die":
            assert "Connection refused" in failing.output, failing.tail()
            assert not mirror.answers(), "the mirror was meant to be gone"
            mirror.ensure_up()
    _recover(host)
    recovery = back_to_converged("site.yml", dry_run=False) + " (check-mode after the killed-install case: 0 changed)"
    assert lost() == "nothing"
    left = ("a new environment holding only what uv venv --seed installs (pip, setuptools, wheel, packaging); "
            "nothing of torch in the environment or in uv's cache")  # fmt: skip
    after = {
        "wheel-truncated": "the corrupt-wheel and dying-mirror cases ran next (each failed the same way); ",
        "wheel-corrupt": "the dying-mirror case ran next (it failed the same way); ",
        "mirror-dies": "with the mirror started again, ",
    }
    for key, _rule, message in WHEEL_FAULTS:
        what = {
            "wheel-truncated": "served cut at half its length",
            "wheel-corrupt": "served with 4 KiB flipped at half its length",
            "mirror-dies": "half sent, then the mirror process exited (nothing listened on its port any more)",
        }[key]
        record(
            key,
            saw=f"the torch wheel {what}: site.yml failed at 'Install torch into the environment'; uv: "
            f'"{message} ..."',
            left=left,
            recovery=after[key] + "the next run with a good mirror installed torch into that environment; " + recovery,
            lost=lost(),
        )


# ------------------------------------------------------------------------------------------- killed install
UV_INSTALL = "bin/uv pip install --no-config"  # the command line of the role's uv pip install (_pytorch_env.py)
KILLED = "/tmp/faults-uv-killed"
# Run on the host: wait for PATH, then SIGKILL every `uv pip install --no-config` and write MARKER.
KILL_UV_WATCHER = r"""
import os, signal, sys, time
path, marker = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 900
while not os.path.exists(path):
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.01)
killed = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
    except OSError:
        continue
    if argv[0].endswith(b'bin/uv') and argv[1:4] == [b'pip', b'install', b'--no-config']:
        os.kill(int(pid), signal.SIGKILL)
        killed.append(pid)
if killed:
    with open(marker, 'w') as out:
        out.write(' '.join(killed) + '\n')
"""


def test_the_environment_install_killed_half_way_is_finished_by_the_next_run(
    host, mirror, back_to_converged, lost, record
):
    mirror.clear()
    remove_env_and_uv_cache(host)
    # A watcher on the host kills uv (SIGKILL, as the OOM killer or a power cut would end it) as soon as uv has
    # begun to put torch's files into the environment: after the download, in the middle of the install. It
    # finds uv by its argv (not with pkill -f, whose pattern would match the watcher's own command line).
    host.run(f"rm -f {KILLED}")
    podman("exec", "-d", HOST, "python3", "-c", KILL_UV_WATCHER, SITE + "/torch", KILLED)
    failing = play("site.yml")
    assert failing.rc != 0, failing.tail()
    assert host.file(KILLED).exists, "the watcher did not kill uv"
    assert failed_task(failing) == "Install torch into the environment", failing.tail()
    assert "rc=-9" in failing.output or '"rc": -9' in failing.output or "rc: -9" in failing.output, failing.tail()
    # What was left: torch half in place. The .dist-info that pip and uv take as "installed" may be there.
    partial = sh(host, f"find {SITE}/torch -type f | wc -l").strip()
    record_there = sh(host, f"ls {SITE}/torch-*.dist-info/INSTALLER 2>/dev/null || true").strip()
    assert record_there == "", "uv finished installing torch before the kill"
    half = host.file(f"{ENV}/lib/python3.11/site-packages/torch/__init__.py").exists
    again = play("site.yml")
    assert again.rc == 0, again.tail()
    assert task_status(again, "Install torch into the environment") == "changed", again.tail()
    assert task_status(again, "Run torch_info in the environment") == "ok", again.tail()
    recovery = back_to_converged("site.yml")
    assert lost() == "nothing"
    record(
        "env-install-killed",
        saw="site.yml failed at 'Install torch into the environment': uv was killed (rc=-9)",
        left=f"a partial environment: {partial} of torch's files in site-packages"
        + (" (torch/__init__.py among them)" if half else "")
        + ", torch's install not finished (no INSTALLER, which uv writes last)",
        recovery="the next run found the half-made install (env_integrity reads each .dist-info's RECORD and "
        "INSTALLER) and had uv install torch again over it; " + recovery,
        lost=lost(),
    )


# ------------------------------------------------------------------------------------------- host gone
def test_the_host_disappears_during_the_install(host, mirror, back_to_converged, lost, record):
    mirror.clear()
    remove_env_and_uv_cache(host)
    proc = start_play("site.yml")
    try:
        wait_for_process(UV_INSTALL, timeout=600)
        time.sleep(2)  # uv is fetching and unpacking torch
        podman("stop", "--time=0", HOST)  # SIGKILL to everything in it at once: the machine is gone
        failing = finish(proc, timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        podman("start", HOST)
    assert failing.rc != 0, failing.tail()
    assert failing.recap.get("unreachable") == 1 or failing.recap.get("failed") == 1, failing.recap
    assert "UNREACHABLE" in failing.output or "fatal:" in failing.stdout, failing.tail()
    assert sh(host, f"ls -d {SITE}/torch-*.dist-info/INSTALLER 2>/dev/null || true").strip() == ""
    left = sh(host, f"ls {SITE} | grep -c dist-info || true").strip()
    again = play("site.yml")
    assert again.rc == 0, again.tail()
    assert task_status(again, "Install torch into the environment") == "changed", again.tail()
    recovery = back_to_converged("site.yml")
    assert lost() == "nothing"
    record(
        "host-gone-install",
        saw="site.yml stopped while uv fetched torch: the host UNREACHABLE (podman stop: every process killed at "
        "once), the play names it",
        left=f"the new environment with {left} distributions and no finished torch; whatever uv had unpacked into "
        "its cache",
        recovery="after podman start, the next run installed torch into that environment; " + recovery,
        lost=lost(),
    )
