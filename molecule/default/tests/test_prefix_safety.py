"""The miniconda role never loses anyone's data (issue 11 items 1 and 2, issue 10 item 6).

Each case runs the miniconda role alone against the converged tf-conda host, through molecule's inventory, with
the lab mirror's conda stand-in (a TEST DOUBLE of the constructor .sh installer, tests/harness/conda_standin).
The two ways into the old "repair" (which removed the whole prefix) were reproduced on main before the fix:

- a finished Miniforge prefix holding ``envs/research``, whose ``conda info --json`` fails (a bad ``.condarc``);
- an existing conda environment given as ``miniconda_prefix`` (``conda-meta/history``, no ``bin/conda``).

After the role refuses, every file under them is still there, byte for byte. A system or home directory given
as the prefix or cache directory is refused by the input checks before the host is touched: those cases run in
the molecule scenario bad_inputs (molecule/bad_inputs/cases/live_cases.yml), where `podman diff` shows that no mode
changed.
"""

from __future__ import annotations

import os
import subprocess

import pytest

PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
FORGE = "/opt/forge-research"
CACHE = "/opt/tf-cache"
ENV = "/opt/research-env"
# The lab mirror's Miniforge stand-in (tests/harness/build_mirror.py MINIFORGE_VERSION).
MINIFORGE = ["miniconda_distribution=miniforge", "miniconda_version=25.11.0-1"]


def _run_miniconda(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "miniconda.yml"
    playbook.write_text(
        "- name: Install conda only\n"
        "  hosts: tf-conda\n"
        "  tasks:\n"
        "    - name: Install Miniconda\n"
        "      ansible.builtin.include_role:\n"
        "        name: torchfleet.lab.miniconda\n"
    )
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)]
    for item in extra:
        cmd += ["-e", item]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)


def _snapshot(host, path: str) -> str:
    """Every entry under ``path`` with its type, mode, size and link target, and every file's SHA-256."""
    listing = host.check_output(f"cd {path} && find . -printf '%p %y %m %s %l\\n' | LC_ALL=C sort")
    sums = host.check_output(f"cd {path} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum")
    return listing + "\n" + sums


def _recap_changed(output: str) -> str:
    return next((line for line in output.splitlines() if line.startswith("tf-conda") and "changed=" in line), "")


@pytest.fixture(scope="module")
def forge(conda_host, tmp_path_factory):
    """Miniforge installed by the role into an existing empty prefix, downloading into an existing cache
    directory with a mode of its own. Removed at the end."""
    conda_host.run(f"rm -rf {FORGE} {CACHE}")
    conda_host.check_output(f"mkdir {FORGE} && install -d -m 0750 {CACHE}")
    tmp = tmp_path_factory.mktemp("forge")
    first = _run_miniconda(tmp, f"miniconda_prefix={FORGE}", f"miniconda_cache_dir={CACHE}", *MINIFORGE)
    second = _run_miniconda(tmp, f"miniconda_prefix={FORGE}", f"miniconda_cache_dir={CACHE}", *MINIFORGE)
    yield {"first": first, "second": second, "tmp": tmp}
    conda_host.run(f"rm -rf {FORGE} {CACHE}")


def test_an_existing_empty_prefix_is_installed_and_a_second_run_changes_nothing(conda_host, forge):
    # constructor header.sh (lines 428-431) refuses any existing path without -u, an empty directory included;
    # so does the stand-in. The role passes -u for an existing empty directory only.
    first, second = forge["first"], forge["second"]
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    assert conda_host.file(f"{FORGE}/bin/conda").exists
    assert conda_host.file(f"{FORGE}/conda-meta/torchfleet-install.json").exists
    assert not conda_host.file(f"{FORGE}/install_tmp").exists
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    assert "changed=0" in _recap_changed(second.stdout), second.stdout[-3000:]


def test_an_existing_cache_directory_keeps_its_mode(conda_host, forge):
    assert forge["first"].returncode == 0
    cache = conda_host.file(CACHE)
    assert cache.mode == 0o750
    assert conda_host.file(f"{CACHE}/Miniforge3-25.11.0-1-Linux-x86_64.sh").exists


def test_a_finished_prefix_whose_conda_fails_is_refused_with_its_environment_kept(conda_host, forge):
    assert forge["first"].returncode == 0
    made = conda_host.run(f"{FORGE}/bin/conda create --json -y -p {FORGE}/envs/research python=3.11")
    assert made.rc == 0, made.stdout + made.stderr
    conda_host.check_output(f"printf 'epoch,loss\\n1,0.25\\n' > {FORGE}/envs/research/results.csv")
    # A .condarc conda cannot parse: conda info --json fails.
    conda_host.check_output(f"printf 'channels: [conda-forge\\n' >> {FORGE}/.condarc")
    assert conda_host.run(f"{FORGE}/bin/conda info --json").rc != 0
    before = _snapshot(conda_host, FORGE)

    result = _run_miniconda(forge["tmp"], f"miniconda_prefix={FORGE}", f"miniconda_cache_dir={CACHE}", *MINIFORGE)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "holds a finished installation, but its conda does not answer" in output, output[-3000:]
    assert "'conda info --json' failed (rc=1)" in output
    assert "Nothing was changed" in output
    assert _snapshot(conda_host, FORGE) == before


def test_a_conda_environment_given_as_the_prefix_is_refused_and_kept(conda_host, tmp_path):
    conda_host.run(f"rm -rf {ENV}")
    made = conda_host.run(f"/opt/miniconda3/bin/conda create --json -y -p {ENV} python=3.11")
    assert made.rc == 0, made.stdout + made.stderr
    try:
        conda_host.check_output(f"printf 'epoch,loss\\n1,0.25\\n' > {ENV}/results.csv")
        assert conda_host.file(f"{ENV}/conda-meta/history").exists
        assert not conda_host.file(f"{ENV}/bin/conda").exists
        before = _snapshot(conda_host, ENV)
        result = _run_miniconda(tmp_path, f"miniconda_prefix={ENV}")
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert "is a conda environment" in output and "installs nothing over an environment" in output
        assert _snapshot(conda_host, ENV) == before
    finally:
        conda_host.run(f"rm -rf {ENV}")
