"""torchfleet.lab.health_* filters: thin wrappers over module_utils/_health.py whose errors name the filter and
what to change (the decisions themselves are tested in tests/unit/plugins/module_utils/test_health.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter import health

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "health"
CPU = json.loads((FIXTURES / "cpu_debian12_epyc.json").read_text(encoding="utf-8"))
ALLREDUCE = json.loads((FIXTURES / "allreduce_gloo_3ranks.json").read_text(encoding="utf-8"))
FILTERS = health.FilterModule().filters()


def test_the_three_filters_are_registered():
    assert set(FILTERS) == {"health_check_inputs", "health_evaluate", "health_report"}


def test_evaluate_then_report():
    evaluated = FILTERS["health_evaluate"]({"a": CPU, "b": CPU, "c": None}, ALLREDUCE, {"median_fraction": 0.8})
    assert evaluated["failed"] == ["c"] and evaluated["flagged"] == []
    markdown = FILTERS["health_report"](evaluated)
    assert markdown.startswith("# Fleet health report\n")
    page = FILTERS["health_report"](evaluated, "html", title="Lab")
    assert "<svg" in page and "<h1>Lab</h1>" in page


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("health_evaluate", ({"a": CPU}, None, {"median_fraction": 2}), "health_evaluate: health_median_fraction"),
        ("health_evaluate", ({}, None, None), "health_evaluate: the results must map each host"),
        ("health_report", ({"hosts": []}, "pdf"), "health_report: the report format must be one of"),
        ("health_check_inputs", ({"health_group": ""},), "health_check_inputs: health_group must name"),
    ],
)
def test_errors_name_the_filter(name, args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS[name](*args)
    assert message in str(raised.value)
