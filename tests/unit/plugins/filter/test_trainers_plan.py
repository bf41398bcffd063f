"""The trainers filters read the host's facts and results, wrap module_utils and turn its
errors into filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.filter.trainers import FilterModule

FILTERS = FilterModule().filters()
trainers_plan = FILTERS["trainers_plan"]
trainers_single_run = FILTERS["trainers_single_run"]

WINDOWS_FACTS = {"system": "Win32NT", "os_family": "Windows", "user_dir": "C:\\Users\\ana"}
MAC_FACTS = {"system": "Darwin", "os_family": "Darwin", "user_dir": "/Users/ana"}


def test_windows_facts_give_a_windows_plan_for_the_user():
    plan = trainers_plan(WINDOWS_FACTS, scope="user", python="C:\\envs\\torch\\python.exe")
    assert plan["family"] == "windows"
    assert plan["dir"] == "C:\\Users\\ana\\AppData\\Local\\torchfleet\\trainers"
    assert plan["become"] is False


def test_macos_facts_give_a_user_plan_without_become_by_default():
    plan = trainers_plan(MAC_FACTS, python="/Users/ana/miniforge3/envs/pytorch_env/bin/python")
    assert (plan["scope"], plan["become"]) == ("user", False)
    assert plan["dir"] == "/Users/ana/.local/share/torchfleet/trainers"


def test_the_single_run_filter_builds_on_the_plan():
    plan = trainers_plan(WINDOWS_FACTS, python="C:\\envs\\torch\\python.exe")
    inputs = {"data": [], "python": plan["python"], "epochs": 2, "limit": 512, "device": "auto", "seed": 0}
    run = trainers_single_run(plan, "linear_regression", inputs, "0" * 40)
    assert run["argv"][:2] == [
        "C:\\envs\\torch\\python.exe",
        "C:\\ProgramData\\torchfleet\\trainers\\scripts\\linear_regression.py",
    ]
    assert run["output"].startswith("C:\\ProgramData\\torchfleet\\trainers\\runs\\linear_regression-")


def test_errors_become_filter_errors_with_the_same_message():
    with pytest.raises(AnsibleFilterError, match=r"trainers_dir=.*is not a full Windows path"):
        trainers_plan(WINDOWS_FACTS, trainers_dir="trainers")
    with pytest.raises(AnsibleFilterError, match=r"runs macOS.*trainers_distributed: false"):
        trainers_plan(MAC_FACTS, host="mac1", distributed=True)
    with pytest.raises(AnsibleFilterError, match="ansible_facts"):
        trainers_plan("Linux")
    with pytest.raises(AnsibleFilterError, match="trainers_plan: unknown option 'colour'; its options are: host"):
        trainers_plan(MAC_FACTS, colour="blue")
    with pytest.raises(AnsibleFilterError, match="trainers_single_run: 'resnet' is not a trainer"):
        trainers_single_run(trainers_plan(MAC_FACTS, python="/x/python"), "resnet", {}, "0")


def test_unpinned_data_over_plain_http_raises_an_ansible_warning(monkeypatch):
    # Issue 11, item 3: a real warning (Display.warning), not a debug line.
    seen = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *args, **kwargs: seen.append(msg))
    trainers_plan(MAC_FACTS, data_url="http://data.lab/mnist/", python="/opt/env/bin/python")
    assert len(seen) == 1 and "trainers_data_sha256" in seen[0]
    seen.clear()
    trainers_plan(MAC_FACTS, mirror_url="http://mirror.lab:8765", python="/opt/env/bin/python")
    assert seen == []  # the mirror's copy is checked by the public files' sums


LINUX_FACTS = {"system": "Linux", "os_family": "Debian", "user_dir": "/home/ana"}
HOSTS = ["tf-fleet-1", "tf-fleet-2"]


def test_the_distributed_filters_carry_a_run_from_its_name_to_its_failures():
    plan = trainers_plan(LINUX_FACTS, python="/opt/env/bin/python", limit=0)
    inputs = {"data": [], "python": plan["python"], "epochs": 2, "limit": 0, "device": "cpu", "seed": 0}
    ddp = FILTERS["trainers_ddp_run"](plan, inputs, "2" * 40, HOSTS, "2")
    assert ddp["output"] == f"{plan['dir']}/runs/mnist_cnn-ddp-{ddp['key']}.json"
    found = {"tf-fleet-1": {"files": [{"path": ddp["output"]}]}}
    assert FILTERS["trainers_ddp_needed"](found, HOSTS, "2") is True
    assert FILTERS["trainers_ddp_needed"](found, HOSTS, 2, force=False) is True
    argv = FILTERS["trainers_ddp_argv"](plan, ddp, "10.0.0.1:29400", {"tag": "T", "value": "job", "stale": 60})
    assert argv[-1] == f"--output={ddp['output']}"
    part = FILTERS["trainers_ddp_outcome"]({"finished": 1, "rc": 124}, "600", ddp["logfile"])
    assert part == {"ok": False, "outcome": "still running after 600 s", "culprit": True}
    failures = FILTERS["trainers_ddp_failures"]({"tf-fleet-1": part, "tf-fleet-2": None}, HOSTS)
    assert failures["culprits"] == ["tf-fleet-2"]
    assert FILTERS["trainers_ddp_unreached"]({"tf-fleet-1": {"state": "started"}}, HOSTS) == ["tf-fleet-2"]


def test_the_distributed_filters_refuse_what_is_no_mapping_naming_themselves():
    with pytest.raises(AnsibleFilterError, match="trainers_ddp_needed takes a mapping of host to result, not list"):
        FILTERS["trainers_ddp_needed"]([], HOSTS, 1)
    with pytest.raises(AnsibleFilterError, match="trainers_ddp_outcome takes a mapping"):
        FILTERS["trainers_ddp_outcome"]("failed", 600, "/x.log")
    with pytest.raises(AnsibleFilterError, match="trainers_ddp_argv: 'timeout'"):
        FILTERS["trainers_ddp_argv"]({}, {}, "h:1", {})
    with pytest.raises(AnsibleFilterError, match="trainers_ddp_failures: unknown option 'host'"):
        FILTERS["trainers_ddp_failures"]({}, host=HOSTS)
