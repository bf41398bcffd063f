"""Unit tests of the fleet_report filter (plugins/filter/fleet_report.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter import fleet_report as fr


def _linear(losses=(4.0, 1.0, 0.25)):
    return {
        "script": "linear_regression",
        "losses": list(losses),
        "final_loss": losses[-1],
        "device": "cpu",
        "torch_version": "2.13.0+cpu",
        "epochs": len(losses),
    }


def _rank(rank, host, losses=(2.3, 1.1)):
    return {
        "script": "mnist_cnn",
        "status": "finished",
        "rank": rank,
        "world_size": 3,
        "hostname": host,
        "losses": list(losses),
        "final_loss": losses[-1],
        "device": "cpu",
        "torch_version": "2.13.0+cpu",
        "epochs": len(losses),
    }


def _fleet():
    ranks = [_rank(0, "h1"), _rank(1, "h2"), _rank(2, "h3")]
    combined = {
        "script": "mnist_cnn",
        "distributed": True,
        "world_size": 3,
        "backend": "gloo",
        "losses": [2.3, 1.0],
        "final_loss": 1.0,
        "test_accuracy": 0.875,
        "ranks": ranks,
        "seconds": 4.2,
        "epochs": 2,
        "device": "cpu",
        "torch_version": "2.13.0+cpu",
    }
    return [
        {"host": "h1", "runs": {"linear_regression": _linear()}, "ranks": [ranks[0]], "combined": combined},
        {"host": "h2", "runs": {"linear_regression": _linear()}, "ranks": [ranks[1]], "combined": {}},
        {"host": "h3", "runs": {"linear_regression": _linear((1.0, 2.0))}, "ranks": [ranks[2]], "combined": {}},
    ]


def test_markdown_has_a_table_per_host_with_a_row_per_run():
    text = fr.fleet_report(_fleet(), "markdown")
    for host in ("h1", "h2", "h3"):
        section = text.split(f"## {host}\n", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
        assert rows[0].startswith("| Trainer | Mode |")
        assert any(r.startswith("| linear_regression | single host | cpu | 2.13.0+cpu | ") for r in rows)
        assert any(re.match(r"\| mnist_cnn \| rank \d of 3 \|", r) for r in rows)
    h1 = text.split("## h1\n", 1)[1].split("\n## ", 1)[0]
    assert "| mnist_cnn | all 3 ranks | cpu | 2.13.0+cpu | 2 | 2.3 | 1 | yes | 87.50% |" in h1


def test_markdown_summarises_the_distributed_run():
    text = fr.fleet_report(_fleet(), "markdown")
    assert "Distributed mnist_cnn: world size 3 (gloo), 3 of 3 ranks finished on h1, h2, h3" in text


def test_a_loss_that_rose_is_flagged():
    text = fr.fleet_report(_fleet(), "markdown")
    h3 = text.split("## h3\n", 1)[1]
    assert "| linear_regression | single host | cpu | 2.13.0+cpu | 2 | 1 | 2 | NO | - |" in h3


def test_html_is_well_formed_with_a_curve_per_run_and_host():
    page = fr.fleet_report(_fleet(), "html")
    assert page.startswith("<!DOCTYPE html>")
    root = ET.fromstring(page.split("\n", 1)[1].replace('<meta charset="utf-8">', '<meta charset="utf-8"/>'))
    sections = [s for s in root.iter("section") if s.get("class") == "host"]
    assert [s.get("data-host") for s in sections] == ["h1", "h2", "h3"]
    svg = "{http://www.w3.org/2000/svg}"
    for section in sections:
        curves = list(section.iter(f"{svg}svg"))
        assert len(curves) >= 2
        assert all(len(c.find(f"{svg}polyline").get("points").split()) >= 2 for c in curves)


def test_curve_points_go_down_when_the_loss_falls():
    svg = fr.loss_curve_svg([3.0, 2.0, 1.0], "x")
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys)  # SVG y grows downwards: a falling loss is drawn lower each epoch


def test_text_is_escaped_in_html():
    fleet = [{"host": "<h&1>", "runs": {"linear_regression": _linear()}}]
    page = fr.fleet_report(fleet, "html")
    assert "<h&1>" not in page and "&lt;h&amp;1&gt;" in page


def test_a_host_without_results_says_so():
    assert "## h9\n\nNo results." in fr.fleet_report([{"host": "h9"}], "markdown")


def test_every_targeted_host_has_a_section_the_missing_ones_first():
    # issue 16: a host that failed before its results were gathered used to be left out of the report.
    fleet = [{"host": "h1", "runs": {"linear_regression": _linear()}}]
    text = fr.fleet_report(fleet, "markdown", hosts=["h1", "h2", "h2"])
    assert [line for line in text.splitlines() if line.startswith("## ")] == ["## h2", "## h1"]
    assert f"## h2\n\n{fr.MISSING}\n" in text
    page = fr.fleet_report(fleet, "html", hosts=["h1", "h2"])
    assert page.index('data-host="h2"') < page.index('data-host="h1"')
    assert '<p class="missing">No results: the host failed' in page
    # Without hosts, only the entries' hosts are reported, as before.
    assert "## h2" not in fr.fleet_report(fleet, "markdown")


@pytest.mark.parametrize("hosts", ["h1", [1], {"h1": 1}])
def test_bad_hosts_raise_a_filter_error(hosts):
    with pytest.raises(AnsibleFilterError, match="hosts must be a list of host names"):
        fr.fleet_report([], "markdown", hosts=hosts)


@pytest.mark.parametrize(("entries", "fmt"), [(_fleet(), "pdf"), ("nope", "markdown"), ([{"x": 1}], "html")])
def test_bad_input_raises_a_filter_error(entries, fmt):
    with pytest.raises(AnsibleFilterError):
        fr.fleet_report(entries, fmt)


def test_filter_is_registered():
    # Wrapped by plugin_utils._filter_options, which only adds the check of its options.
    assert fr.FilterModule().filters()["fleet_report"].__wrapped__ is fr.fleet_report
