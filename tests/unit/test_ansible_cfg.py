"""docs/ansible.cfg is what the SSH lab runs with, Ansible accepts it, and the playbooks' fact subset holds the facts
the roles read."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT

ANSIBLE_CFG = REPO_ROOT / "docs" / "ansible.cfg"
BIN = Path(sys.executable).parent
# Paths differ by lab: the fleet scenario keeps its fact cache in its own directory (the demo in its own, through
# ANSIBLE_CACHE_PLUGIN_CONNECTION); both are still set.
PER_LAB = {("defaults", "fact_caching_connection")}
# The scenarios that reach their hosts over SSH, as users reach theirs (the others use the podman connection).
SSH_SCENARIOS = ("fleet", "airgap")
SUBSET = ["min", "network", "virtual"]
# The facts the roles, filters and playbooks read (docs/ansible-cfg.md's table), by subset.
READ_FACTS = {
    "min": ["system", "machine", "kernel", "os_family", "distribution", "distribution_major_version",
            "distribution_release", "distribution_version", "user_dir", "env", "python", "service_mgr"],
    "network": ["default_ipv4", "interfaces"],
    "virtual": ["virtualization_role", "virtualization_type"],
}  # fmt: skip


def docs_cfg():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ANSIBLE_CFG)
    return {(section, key): value for section in parser.sections() for key, value in parser.items(section)}


def scenario(name):
    return yaml.safe_load((REPO_ROOT / "molecule" / name / "molecule.yml").read_text())


def as_ini(value):
    """The text molecule writes into its ansible.cfg for a YAML value (Python's str: True, 20)."""
    return str(value)


def test_the_docs_cfg_sets_what_the_docs_page_explains():
    page = (REPO_ROOT / "docs" / "ansible-cfg.md").read_text()
    settings = docs_cfg()
    assert {key for _section, key in settings} >= {"forks", "gathering", "fact_caching", "pipelining", "ssh_args"}
    for (section, key), value in settings.items():
        assert f"`[{section}] {key}` | `{value}`" in page, (section, key)
    assert "ControlPersist" in settings["ssh_connection", "ssh_args"]
    assert settings["ssh_connection", "pipelining"] == "True"


@pytest.mark.parametrize("name", SSH_SCENARIOS)
def test_the_ssh_scenarios_run_with_the_docs_cfg_settings(name):
    options = scenario(name)["provisioner"]["config_options"]
    theirs = {(section, key): as_ini(value) for section, values in options.items() for key, value in values.items()}
    for setting, value in docs_cfg().items():
        assert setting in theirs, f"molecule/{name} lacks {setting}"
        if setting == ("defaults", "callbacks_enabled"):  # the scenario adds profile_tasks for its timings
            assert set(value.split(", ")) <= set(theirs[setting].split(", ")), setting
        elif setting not in PER_LAB:
            assert theirs[setting] == value, setting


def test_the_ssh_scenarios_and_the_demo_connect_over_ssh_with_the_lab_s_known_hosts():
    for name in SSH_SCENARIOS:
        options = scenario(name)["provisioner"]["connection_options"]
        assert options["ansible_connection"] == "ssh", name
        assert options["ansible_user"] not in ("root", "", None), name
        assert options["ansible_ssh_common_args"] == "-F ${MOLECULE_EPHEMERAL_DIRECTORY}/ssh/config", name
    demo = (REPO_ROOT / "tests" / "harness" / "demo.sh").read_text()
    assert "export ANSIBLE_CONFIG=$REPO/docs/ansible.cfg" in demo
    assert "ansible_connection: ssh" in demo
    assert "ansible_ssh_common_args: -F $SSH_DIR/config" in demo
    # The ssh_config lab_ssh.sh writes checks host keys against the lab's known_hosts, never turns checking off.
    lab_ssh = (REPO_ROOT / "tests" / "harness" / "lab_ssh.sh").read_text()
    assert "StrictHostKeyChecking yes" in lab_ssh
    assert "StrictHostKeyChecking no" not in lab_ssh


@pytest.mark.parametrize("name", SSH_SCENARIOS)
def test_the_ssh_scenarios_hosts_run_the_sshd_command_lab_ssh_prints(name):
    printed = subprocess.run(
        [str(REPO_ROOT / "tests" / "harness" / "lab_ssh.sh"), "sshd-command"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for platform in scenario(name)["platforms"]:
        assert platform["command"][:2] == ["bash", "-c"], platform["name"]
        assert " ".join(platform["command"][2].split()) == printed, platform["name"]


def test_ansible_accepts_every_key_of_the_docs_cfg():
    # ansible-config validate: "Found unknown key ..." for a key ansible-core does not know (gather_subset, for one).
    result = subprocess.run(
        [str(BIN / "ansible-config"), "validate", "-c", str(ANSIBLE_CFG)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unknown key" not in (result.stdout + result.stderr).lower()


def plays_that_gather():
    for path in sorted((REPO_ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(path.read_text()):
            if play.get("gather_facts", True) and "import_playbook" not in play:
                yield path.name, play


def test_every_play_that_gathers_facts_gathers_the_same_minimal_subset():
    plays = list(plays_that_gather())
    assert len(plays) >= 3, plays
    for name, play in plays:
        assert play.get("gather_subset") == SUBSET, f"{name}: {play['name']}"


@pytest.fixture(scope="module")
def gathered(tmp_path_factory):
    """The facts setup returns on this machine for the playbooks' subset (a local connection)."""
    tree = tmp_path_factory.mktemp("facts")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tree / "cache"),
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}  # fmt: skip
    result = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.setup",
         "-a", f"gather_subset={','.join(SUBSET)}", "--tree", str(tree / "out")],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((tree / "out" / "localhost").read_text())["ansible_facts"]


@pytest.mark.parametrize("subset", sorted(READ_FACTS))
def test_the_subset_holds_every_fact_the_roles_read(gathered, subset):
    names = {name.removeprefix("ansible_") for name in gathered}
    missing = [fact for fact in READ_FACTS[subset] if fact not in names]
    if subset == "network" and "default_ipv4" in missing and not gathered.get("ansible_interfaces"):
        pytest.skip("this machine has no network interface with an address")
    assert missing == [], shlex.join(missing)


def test_the_subset_leaves_out_the_hardware_facts(gathered):
    # memtotal_mb and mounts come with the hardware subset only (setup's gather_subset), which nothing reads.
    assert "ansible_memtotal_mb" not in gathered
    assert "ansible_mounts" not in gathered
