"""Bad input and faults stop before the host changes, with a message that says what to change.

Each case runs the collection's site playbook again against the converged hosts with one bad
setting, through the same molecule inventory, and then checks that nothing new appeared.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

PLAYBOOK = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3])) / "playbooks" / "site.yml"
FRESH = "/opt/fresh-conda"
# Plain output, so messages and the recap can be matched as text.
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


def _run(limit: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit, str(PLAYBOOK)]
    for item in extra:
        cmd += ["-e", item]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["miniconda_distribution=anaconda"], "miniconda_distribution"),
        (["miniconda_version=25.11"], "Malformed miniconda version"),
        (["miniconda_installer_sha256=" + "0" * 64], "Checksum mismatch"),
        (["miniconda_accept_anaconda_tos=false"], "miniconda_distribution: miniforge"),
        (["miniconda_prefix=relative/conda"], "must be an absolute path"),
        (
            ["torchfleet_mirror_url=http://127.0.0.1:9", "miniconda_download_retries=2", "miniconda_download_delay=1"],
            "Connection refused",
        ),
    ],
    ids=[
        "unknown-distribution",
        "malformed-version",
        "wrong-checksum",
        "terms-not-accepted",
        "relative-prefix",
        "mirror-down",
    ],
)
def test_bad_miniconda_input_changes_nothing(conda_host, extra, message):
    result = (
        _run("tf-conda", f"miniconda_prefix={FRESH}", *extra)
        if "miniconda_prefix=relative/conda" not in extra
        else _run("tf-conda", *extra)
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
    assert not conda_host.file(FRESH).exists
    # The converged installation and its environment are untouched.
    assert conda_host.run("/opt/miniconda3/envs/pytorch_env/bin/python -c 'import torch'").rc == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["pytorch_env_name=bad/name"], "pytorch_env_name"),
        (["pytorch_python_version=3.8"], "Python 3.8"),
        (["pytorch_version=1.13.1"], "2.0.0"),
        (["pytorch_compute=mps"], "Apple silicon"),
    ],
    ids=["invalid-env-name", "python-outside-range", "pre-2.0-version", "mps-on-linux"],
)
def test_bad_pytorch_env_input_changes_nothing(conda_host, extra, message):
    before = conda_host.run("ls /opt/miniconda3/envs").stdout.split()
    result = _run("tf-conda", *extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
    assert conda_host.run("ls /opt/miniconda3/envs").stdout.split() == before


def _run_miniconda(tmp_path, prefix: str, *extra: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "miniconda.yml"
    playbook.write_text(
        "- name: Install conda only\n"
        "  hosts: tf-conda\n"
        "  tasks:\n"
        "    - name: Install Miniconda\n"
        "      ansible.builtin.include_role:\n"
        "        name: torchfleet.lab.miniconda\n"
    )
    cmd = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(playbook),
        "-e",
        f"miniconda_prefix={prefix}",
    ]
    for item in extra:
        cmd += ["-e", item]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)


def test_interrupted_install_is_detected_and_repaired(conda_host, tmp_path):
    prefix = "/opt/halfmade-conda"
    marker = json.loads(conda_host.file("/opt/miniconda3/conda-meta/torchfleet-install.json").content_string)
    installer = f"/var/cache/torchfleet/{marker['installer']}"
    # The stand-in stops after unpacking, as an installer killed half-way leaves a prefix.
    half = conda_host.run(f"TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK=1 bash {installer} -b -p {prefix}")
    assert half.rc != 0
    assert conda_host.file(f"{prefix}/install_tmp").exists
    try:
        result = _run_miniconda(tmp_path, prefix)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "was left half-made" in output
        assert not conda_host.file(f"{prefix}/install_tmp").exists
        info = json.loads(conda_host.check_output(f"{prefix}/bin/conda info --json"))
        assert info["root_prefix"] == prefix
        assert conda_host.file(f"{prefix}/conda-meta/torchfleet-install.json").exists
        # A second run trusts the repaired prefix and changes nothing.
        again = _run_miniconda(tmp_path, prefix)
        assert again.returncode == 0
        assert "changed=0" in again.stdout
    finally:
        conda_host.run(f"rm -rf {prefix}")


def test_a_directory_that_is_not_conda_is_never_touched(conda_host, tmp_path):
    prefix = "/opt/lab-data"
    conda_host.run(f"mkdir -p {prefix} && echo results > {prefix}/experiment.csv")
    try:
        result = _run_miniconda(tmp_path, prefix)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "is not a conda installation" in output
        assert conda_host.file(f"{prefix}/experiment.csv").content_string.strip() == "results"
        assert conda_host.run(f"ls -A {prefix}").stdout.split() == ["experiment.csv"]
    finally:
        conda_host.run(f"rm -rf {prefix}")
