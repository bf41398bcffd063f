"""Rolling runs of site.yml and train.yml: torchfleet_serial and torchfleet_max_fail_percentage.

The rules (plugins/module_utils/_batches.py) are checked against ansible-core's own batch cutting, and the
playbooks' real check plays and play keywords run under ansible-playbook on a local inventory (no host is
touched: every host is ``ansible_connection=local`` and the work of the main play is replaced by a ``debug``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from ansible.executor.playbook_executor import PlaybookExecutor
from ansible_collections.torchfleet.lab.plugins.filter.batches import play_batches
from ansible_collections.torchfleet.lab.plugins.module_utils import _batches

from ..conftest import REPO_ROOT

HOSTS = [f"h{n}" for n in range(1, 8)]


def ansible_batches(serial, hosts):
    """What ansible-core itself cuts (PlaybookExecutor._get_serialized_batches), on the installed release."""
    inventory = SimpleNamespace(get_hosts=lambda pattern, order=None: list(hosts))
    executor = SimpleNamespace(_inventory=inventory)
    play = SimpleNamespace(hosts="all", order=None, serial=serial)
    return PlaybookExecutor._get_serialized_batches(executor, play)


@pytest.mark.parametrize(
    "serial",
    [None, 0, 1, 2, "3", 7, 9, "25%", "50%", "100%", "10%", [1], [1, 2], [1, "50%"], ["1", "40%", 3], [2, 0]],
)
def test_the_batches_are_the_ones_ansible_cuts(serial):
    planned = play_batches(serial, hosts=HOSTS)
    assert planned["problems"] == []
    # The play keyword holds a list (a scalar becomes a list of one); what the filter read is what Ansible reads.
    keyword = [] if serial is None else serial if isinstance(serial, list) else [serial]
    assert planned["batches"] == ansible_batches(keyword, HOSTS)
    assert planned["batches"] == ansible_batches(planned["sizes"], HOSTS)


@pytest.mark.parametrize(
    ("serial", "message"),
    [
        ("abc", "torchfleet_serial has 'abc', which is not a batch size; give a batch size (2)"),
        ("1.5", "torchfleet_serial has '1.5', which is not a batch size"),
        (True, "torchfleet_serial has True, which is not a batch size"),
        (-1, "torchfleet_serial has -1, which is not a batch size"),
        ("0%", "torchfleet_serial has '0%'"),
        ("150%", "torchfleet_serial has '150%'"),
        ([], "torchfleet_serial=[] names no batch size"),
        ([1, "x"], "torchfleet_serial has 'x'"),
        ('[1, "25%"]', '-e \'{"torchfleet_serial": [1, "25%"]}\''),
    ],
)
def test_a_serial_ansible_would_crash_on_or_misread_is_refused(serial, message):
    assert message in " ".join(play_batches(serial, hosts=HOSTS)["problems"])


def test_what_ansible_does_with_the_refused_values():
    # "abc" stops ansible-playbook with "Unexpected Exception, this is probably a bug"; true is one host a batch.
    with pytest.raises(ValueError, match="invalid literal"):
        ansible_batches(["abc"], HOSTS)
    assert len(ansible_batches([True], HOSTS)) == len(HOSTS)


@pytest.mark.parametrize(("value", "number"), [(None, None), ("", None), (0, 0.0), ("25", 25.0), (33.3, 33.3),
                                               ("20%", 20.0), (100, 100.0)])  # fmt: skip
def test_max_fail_percentage_is_a_share_of_the_batch(value, number):
    planned = play_batches(None, max_fail_percentage=value, hosts=HOSTS)
    assert planned["problems"] == [] and planned["max_fail_percentage"] == number


@pytest.mark.parametrize("value", [-1, 101, "x", True, [25]])
def test_a_max_fail_percentage_outside_0_to_100_is_refused(value):
    problems = play_batches(None, max_fail_percentage=value, hosts=HOSTS)["problems"]
    assert problems and problems[0].startswith(f"torchfleet_max_fail_percentage={value!r} is not a percentage")


def test_a_batch_that_splits_a_distributed_group_is_refused():
    gpu = ["g1", "g2", "g3"]
    problems = play_batches(2, hosts=gpu, together=dict.fromkeys(gpu, True), group="gpu")["problems"]
    assert problems == [
        "torchfleet_serial splits trainers_group (gpu) across 2 batches (2, 1 of its 3 hosts), but its torchrun job "
        "needs all of them at once. Leave torchfleet_serial unset for train.yml (or give at least 3), or set "
        "trainers_distributed: false to train host by host in batches."
    ]
    assert play_batches(3, hosts=gpu, together=gpu, group="gpu")["problems"] == []
    assert play_batches("34%", hosts=gpu, together={"g1": "false", "g2": False, "g3": True})["problems"] == []


def test_the_module_utils_cites_ansible():
    text = (REPO_ROOT / "plugins" / "module_utils" / "_batches.py").read_text()
    assert "_get_serialized_batches" in text and "pct_to_int" in text and _batches.SERIAL_HINT


# The playbooks themselves. Their check plays run as they are; the main play keeps its keywords (hosts, serial,
# max_fail_percentage) and its first task, and its work becomes a debug of the batch (and, on request, a failure).
INVENTORY = """\
[fleet]
h1
h2
h3
h4
h5
[gpu]
g1
g2
g3
[cpu]
c1
c2
c3
[all:vars]
ansible_connection=local
ansible_python_interpreter={python}
[cpu:vars]
trainers_distributed=false
"""


def _head(playbook, tmp_path, fail_on=None):
    plays = yaml.safe_load((REPO_ROOT / "playbooks" / playbook).read_text())
    main = plays[-1]
    head = {key: value for key, value in main.items() if key != "tasks"}
    head["gather_facts"] = False
    work = [{"name": "Fail on purpose", "ansible.builtin.fail": {"msg": "broken"},
             "when": f"inventory_hostname == '{fail_on}'"}] if fail_on else []  # fmt: skip
    work.append({"name": "Work", "ansible.builtin.debug": {"msg": "batch {{ ansible_play_batch | join(',') }}"}})
    head["tasks"] = [main["tasks"][0], *work]
    path = tmp_path / playbook
    path.write_text(yaml.safe_dump([*plays[:-1], head], sort_keys=False), encoding="utf-8")
    return path


def play(playbook, tmp_path, *extra, inventory_vars="", fail_on=None):
    if not shutil.which("ansible-playbook"):
        pytest.skip("ansible-playbook is not installed")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(INVENTORY.format(python=sys.executable) + inventory_vars, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_FORCE_COLOR="false")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT.parents[2]) if REPO_ROOT.parent.name == "torchfleet"
                   else str(REPO_ROOT / "build" / "collections"))  # fmt: skip
    run = subprocess.run(["ansible-playbook", "-i", str(inventory), str(_head(playbook, tmp_path, fail_on)), *extra],
                         capture_output=True, text=True, env=env, check=False, timeout=300)  # fmt: skip
    batches = re.findall(r'"msg": "batch ([\w,]+)"', run.stdout)
    return run, list(dict.fromkeys(batches))


def test_site_runs_in_the_batches_asked_for(tmp_path):
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", "-e", "torchfleet_serial=2")
    assert run.returncode == 0, run.stdout[-3000:]
    assert batches == ["h1,h2", "h3,h4", "h5"]
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", "-e", '{"torchfleet_serial": [1, "60%"]}')
    assert run.returncode == 0 and batches == ["h1", "h2,h3,h4", "h5"], run.stdout[-3000:]


def test_site_runs_every_host_at_once_by_default(tmp_path):
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet")
    assert run.returncode == 0 and batches == ["h1,h2,h3,h4,h5"], run.stdout[-3000:]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("torchfleet_serial=abc", "torchfleet_serial has 'abc', which is not a batch size"),
        ("torchfleet_max_fail_percentage=150", "torchfleet_max_fail_percentage='150' is not a percentage from 0"),
    ],
)
def test_site_refuses_bad_values_before_the_hosts_play(tmp_path, extra, message):
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", "-e", extra)
    assert run.returncode == 2 and message in run.stdout and "Nothing was changed on any host." in run.stdout
    assert "PLAY [Provision PyTorch hosts]" not in run.stdout and batches == []


def test_site_refuses_a_serial_from_the_inventory(tmp_path):
    run, batches = play(
        "site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", inventory_vars="[fleet:vars]\ntorchfleet_serial=2\n"
    )
    assert run.returncode == 2 and batches == []
    assert "torchfleet_serial=2 asks for the batch h1, h2, but Ansible runs h1, h2, h3, h4, h5" in run.stdout


def test_site_stops_at_the_max_fail_percentage(tmp_path):
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", fail_on="h1")
    assert batches == ["h2,h3,h4,h5"], run.stdout[-3000:]  # Ansible's default: the others go on
    run, batches = play("site.yml", tmp_path, "-e", "torchfleet_hosts=fleet", "-e", "torchfleet_max_fail_percentage=0",
                        fail_on="h1")  # fmt: skip
    assert run.returncode == 2 and batches == [], run.stdout[-3000:]


def test_train_refuses_a_batch_that_splits_the_torchrun_group(tmp_path):
    run, batches = play("train.yml", tmp_path, "-e", "trainers_group=gpu", "-e", "torchfleet_serial=2")
    assert run.returncode == 2 and batches == []
    assert "torchfleet_serial splits trainers_group (gpu) across 2 batches (2, 1 of its 3 hosts)" in run.stdout
    run, batches = play("train.yml", tmp_path, "-e", "trainers_group=gpu", "-e", "torchfleet_serial=3")
    assert run.returncode == 0 and batches == ["g1,g2,g3"], run.stdout[-3000:]


def test_train_takes_batches_where_hosts_train_one_by_one(tmp_path):
    run, batches = play("train.yml", tmp_path, "-e", "trainers_group=cpu", "-e", "torchfleet_serial=2")
    assert run.returncode == 0 and batches == ["c1,c2", "c3"], run.stdout[-3000:]
    run, batches = play("train.yml", tmp_path, "-e", "trainers_group=gpu", "-e", "trainers_distributed=false",
                        "-e", "torchfleet_serial=1")  # fmt: skip
    assert run.returncode == 0 and batches == ["g1", "g2", "g3"], run.stdout[-3000:]
