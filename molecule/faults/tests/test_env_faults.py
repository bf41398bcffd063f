"""Faults met while the PyTorch environment is installed with uv (system scope), injected for real.

The lab mirror serves a truncated torch wheel (tests/harness/fault_mirror.py). To make the fault matter, the
test first removes what the role itself made and would otherwise reuse: the environment
(/opt/torchfleet/envs/pytorch_env) and uv's cache (/var/cache/torchfleet/uv-cache). Nothing of the person's
(/srv/work) or of the trainers is touched. The test runs site.yml into the fault, looks at what it left, runs
site.yml again without it, and ends with back_to_converged('site.yml') (the environment is site.yml's: train.yml
only reads it) and the "lost" comparison.
"""

from __future__ import annotations

import re

from conftest import ENV, play

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


def test_torch_wheel_truncated(host, mirror, back_to_converged, lost, record):
    failing = _wheel_fault(host, mirror, {"fault": "truncate", "at": 0.5})
    # uv reads the wheel's METADATA from the zip's central directory, at the end of the file that is missing.
    assert "The structure of `torch` (v2.13.0+cpu) was invalid: Failed to read from zip file" in failing.output
    _recover(host)
    recovery = back_to_converged("site.yml")
    assert lost() == "nothing"
    record(
        "wheel-truncated",
        saw="'Install torch into the environment' failed; uv: \"The structure of `torch` (v2.13.0+cpu) was "
        'invalid: Failed to read from zip file"',
        left="a new environment holding only what uv venv --seed installs "
        "(pip, setuptools, wheel, packaging); nothing of torch in the "
        "environment or in uv's cache",
        recovery="the next run installed torch into that environment; " + recovery,
        lost=lost(),
    )
