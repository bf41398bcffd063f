"""Faults of a run against the converged conda host stop before the host changes, with a message that says why.

Inputs refused before anything reaches the host (input validation, the installer and build resolvers) are
cases of the molecule scenario bad_inputs (molecule/bad_inputs/cases/live_cases.yml), all in one run against one
container. What stays here needs the converged host: a download that fails beside an existing installation and
a directory that is not conda. Each case runs the miniconda role alone (what fails is that role's download or
prefix check) through the scenario's inventory. A prefix left half-made by an installer killed for real is the
faults scenario's (molecule/faults/tests/test_installer_faults.py).
"""

from __future__ import annotations

import os
import subprocess

import pytest

FRESH = "/opt/fresh-conda"
# Plain output, so messages and the recap can be matched as text.
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # A cache directory of its own: ansible-core 2.16 and 2.17's get_url, asked for a file that exists with
        # another checksum, downloads it again over the file and removes it when the download does not match
        # (v2.16.19 lib/ansible/modules/get_url.py, lines 684-688), where 2.18 and later check the download before
        # it replaces anything (ansible/ansible commit c2c60058429, PR 64092). Either way nothing is installed.
        (
            ["miniconda_installer_sha256=" + "0" * 64, "miniconda_cache_dir=/var/cache/torchfleet-bad-checksum"],
            "Checksum mismatch",
        ),
        (
            ["torchfleet_mirror_url=http://127.0.0.1:9", "miniconda_download_retries=2", "miniconda_download_delay=1"],
            "Connection refused",
        ),
    ],
    ids=["wrong-checksum", "mirror-down"],
)
def test_a_failed_download_changes_nothing(conda_host, tmp_path, extra, message):
    result = _run_miniconda(tmp_path, FRESH, *extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
    assert not conda_host.file(FRESH).exists
    # The converged installation and its environment are untouched.
    assert conda_host.run("/opt/miniconda3/envs/pytorch_env/bin/python -c 'import torch'").rc == 0


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
