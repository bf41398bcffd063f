"""The trainers_plan and trainers_single_run filters read the host's facts, wrap module_utils and turn its
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
