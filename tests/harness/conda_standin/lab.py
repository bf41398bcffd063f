"""Helpers for tests that need the conda stand-in (a TEST DOUBLE, not conda).

Builds and installs the stand-in the way conda/constructor's header.sh describes a batch install
(``bash <installer>.sh -b -p PREFIX``).

``install(tmp_dir, flavor)`` builds the stand-in installer and runs it in batch mode, returning the paths the
tests need.  ``clean_env(home)`` is the environment to run the stand-in's ``conda`` with: an isolated HOME (so
``~/.condarc``, ``~/.conda/tos`` and ``~/.conda/environments.txt`` belong to the test) and no CI variables (the
channel-terms simulation, like conda-anaconda-tos, auto-accepts in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSIONS = {"miniconda": "py311_25.11.1-1", "miniforge": "25.11.0-1"}
CI_VARS = (
    "APPVEYOR", "BITRISE_IO", "BUDDY", "BUILDKITE", "CI", "CIRCLECI", "CIRRUS_CI", "CONCOURSE_CI", "DRONE",
    "GITHUB_ACTIONS", "GITLAB_CI", "SAIL_CI", "SEMAPHORE", "TF_BUILD", "TRAVIS", "WERCKER", "WOODPECKER_CI",
    "BAMBOO_BUILDKEY", "CODEBUILD_BUILD_ID", "HEROKU_TEST_RUN_ID", "JENKINS_URL", "TEAMCITY_VERSION",
)  # fmt: skip


def clean_env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CI_VARS and not k.startswith(("CONDA", "PIP_"))}
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    env.update(extra)
    return env


def build(out: Path, flavor: str = "miniconda", version: str | None = None) -> Path:
    version = version or VERSIONS[flavor]
    subprocess.run(
        [sys.executable, str(HERE / "build_installer.py"), "--flavor", flavor, "--version", version,
         "--os", "Linux", "--arch", "x86_64", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    name = "Miniconda3" if flavor == "miniconda" else "Miniforge3"
    return out / (f"{name}-{version}-Linux-x86_64.sh")


def install(tmp: Path, flavor: str = "miniconda") -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    installer = build(tmp, flavor)
    prefix = tmp / flavor
    proc = subprocess.run(
        ["bash", str(installer), "-b", "-p", str(prefix)], env=clean_env(home), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"stand-in install failed: {proc.stdout} {proc.stderr}")
    return {"prefix": prefix, "conda": prefix / "bin" / "conda", "home": home, "installer": installer,
            "stdout": proc.stdout}  # fmt: skip
