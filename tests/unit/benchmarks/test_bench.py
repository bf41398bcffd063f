"""Unit tests of `make bench`'s report generator (benchmarks/report.py), its counting server and the log readers of
benchmarks/run.py. The lab run itself is not part of the tests (it takes about 20 minutes)."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import urllib.request
import xml.etree.ElementTree as ET
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

_BENCH = Path(__file__).resolve().parents[3] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _load("report")
server = _load("counting_server")
run = _load("run")


def raw(**changes):
    """A complete set of measurements, the shape benchmarks/run.py writes; figures made up for the tests."""
    data = {
        "schema": 1,
        "command": "make bench",
        "started": "2026-12-02 15:00 UTC",
        "finished": "2026-12-02 15:18 UTC",
        "elapsed_s": 1080.0,
        "machine": {"cpus": 2, "memory_gib": 7.8, "kernel": "6.1.0", "podman": "4.3.1", "ansible_core": "2.19.14"},
        "rerun": {
            "hosts": 2,
            "runs": [
                {"connection": "ssh-pipelining", "floor_s": 4.0, "site_s": 10.0, "site_changed": 0},
                {"connection": "ssh-no-pipelining", "floor_s": 6.0, "site_s": 20.0, "site_changed": 0},
                {"connection": "podman", "floor_s": 8.0, "site_s": 30.0, "site_changed": 0},
            ],
        },
        "first_provision": {"role_s": 78.0, "baseline_s": 60.0},
        "upstream_bytes": [
            {"hosts": 1, "bytes": 1000, "requests": 3, "local_bytes": 10},
            {"hosts": 4, "bytes": 1000, "requests": 3, "local_bytes": 10},
            {"hosts": 8, "bytes": 1040, "requests": 3, "local_bytes": 10},
        ],
        "wall": [{"hosts": 1, "seconds": 78.0, "served_bytes": 500}, {"hosts": 4, "seconds": 200.0}],
        "phases": [
            {"name": "torchfleet.lab.pytorch_env", "seconds": 60.0},
            {"name": "gathering facts", "seconds": 5.0},
        ],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [(2.0, 2.0, "met"), (2.01, 2.0, "not met"), (0.5, 1.3, "met"), (None, 1.05, "not measured")],
)
def test_verdict_is_at_most_the_limit(value, limit, expected):
    assert report.verdict(value, limit) == expected


@pytest.mark.parametrize(("num", "den", "expected"), [(10, 4, 2.5), (None, 4, None), (10, None, None), (10, 0, None)])
def test_ratio(num, den, expected):
    assert report.ratio(num, den) == expected


def test_summary_ratios_and_verdicts():
    rows = report.summary(raw())
    assert [(round(value, 3), verdict) for _name, value, _limit, verdict in rows] == [
        (2.5, "not met"),  # 10 s / 4 s, the SSH-with-pipelining pair only
        (1.3, "met"),  # 78 / 60, on the limit
        (1.04, "met"),  # 1040 / 1000: the largest fleet against one host
    ]
    assert "8 hosts / 1 host" in rows[2][0]


def test_bytes_ratio_uses_the_largest_fleet_measured():
    data = raw(upstream_bytes=[{"hosts": 1, "bytes": 100}, {"hosts": 4, "bytes": 200}])
    assert report.bytes_ratio(data) == 2.0
    assert "4 hosts / 1 host" in report.summary(data)[2][0]


def test_missing_measures_are_not_measured():
    data = raw(rerun={"hosts": 2, "runs": []}, first_provision={"role_s": 78.0}, upstream_bytes=[])
    assert [row[3] for row in report.summary(data)] == ["not measured"] * 3


def test_markdown_shows_every_section_and_figure():
    text = report.markdown(
        raw(note="Before the speed-ups.", served_method="Served: the access log."), report.charts(raw())
    )
    assert "Before the speed-ups." in text and "Served: the access log." in text
    assert "| site.yml re-run / Ansible floor, 2 hosts, SSH with pipelining | 2.50x | at most 2x | not met |" in text
    assert "| first provision of 1 host: site.yml / plain shell script | 1.30x | at most 1.3x | met |" in text
    assert "| SSH, pipelining off | 20.0 | 0 | 6.0 | 3.33x | 1 |" in text
    assert "| 8 | 1,040 (0.0 MiB) | 3 | 10 (0.0 MiB) |" in text
    assert "| 4 | 200.0 | — |  |" in text
    for chart in report.charts(raw()):
        assert f"]({chart})" in text
    assert "Machine: 2 CPUs, 7.8 GiB memory, kernel 6.1.0, podman 4.3.1, ansible-core 2.19.14" in text


def test_charts_are_svg_with_one_bar_per_value():
    svgs = report.charts(raw())
    for text in svgs.values():
        assert ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"
    bars = ET.fromstring(svgs["rerun.svg"]).findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 1 + 6  # the background, then site.yml and the floor for three connections


def test_chart_without_a_value_says_so_and_escapes_labels():
    text = report.bar_chart("a <title>", [("x & y", None), ("z", 2.0)], "s")
    root = ET.fromstring(text)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "a <title>" in texts and "x & y" in texts and "not measured" in texts


def test_write_creates_results_and_charts(tmp_path):
    written = report.write(raw(), tmp_path)
    assert "RESULTS.md" in written and "phases.svg" in written
    assert sorted(p.name for p in tmp_path.iterdir()) == written


# --------------------------------------------------------------------------- counting server


def test_upstream_layout(tmp_path):
    for rel in ("pypi/simple/pip/index.html", "whl/cpu/sympy/index.html", "pypi/simple/index.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    up = partial(server.upstream_path, str(tmp_path))
    assert up("/pypi/simple/") == str(tmp_path / "pypi/simple/index.html")
    assert up("/pypi/simple/pip/") == str(tmp_path / "pypi/simple/pip/index.html")
    assert up("/pypi/simple/sympy/") == str(tmp_path / "whl/cpu/sympy/index.html")
    # A whl/cpu project page links ../<file>: seen from /pypi/simple/sympy/, that is /pypi/simple/<file>.
    assert up("/pypi/simple/sympy-1.whl") == str(tmp_path / "whl/cpu/sympy-1.whl")
    assert up("/pypi/simple/absent/") is None
    assert up("/whl/../../etc/passwd") is None


@pytest.mark.parametrize("upstream", [False, True])
def test_server_logs_the_bytes_it_sends(tmp_path, upstream):
    (tmp_path / "root/whl/cpu").mkdir(parents=True)
    (tmp_path / "root/whl/cpu/a.whl").write_bytes(b"w" * 70000)
    log = tmp_path / "log.jsonl"
    handler = type("H", (server.CountingHandler,), {"upstream": upstream, "log_path": str(log)})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(tmp_path / "root")))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        assert len(urllib.request.urlopen(f"{base}/whl/cpu/a.whl").read()) == 70000
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/whl/cpu/missing.whl")
    finally:
        httpd.shutdown()
        httpd.server_close()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["path"], r["status"], r["bytes"]) for r in records] == [
        ("/whl/cpu/a.whl", 200, 70000),
        ("/whl/cpu/missing.whl", 404, 0),
    ]
    counter = run.Counter(log)
    assert counter.since() == {"bytes": 70000, "requests": 1, "failed": 1}
    counter.start()
    assert counter.since() == {"bytes": 0, "requests": 0, "failed": 0}


# --------------------------------------------------------------------------- run.py's log readers


def test_recap_changed_sums_the_hosts(tmp_path):
    log = tmp_path / "site.log"
    log.write_text(
        "TASK [x] ***\nchanged: [a]\n\nPLAY RECAP ***\n"
        "a : ok=10   changed=2    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0\n"
        "b : ok=10   changed=0    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0\n"
    )
    assert run.recap_changed(log) == 2


def test_json_phases_groups_tasks_by_role(tmp_path):
    # The shape of ansible.posix.json's output (ansible.posix plugins/callback/json.py: play and task name and
    # duration start/end; task names are Task.get_name(), "<role> : <name>" for a role's tasks), followed by the
    # text the fleet_summary callback prints after it.
    def task(name, start, end):
        return {
            "task": {
                "name": name,
                "duration": {
                    "start": f"2026-12-02T15:00:{start:02d}.000000Z",
                    "end": f"2026-12-02T15:00:{end:02d}.000000Z",
                },
            },
            "hosts": {},
        }

    document = {
        "plays": [
            {
                "play": {"name": "Provision"},
                "tasks": [
                    task("Gathering Facts", 0, 5),
                    task("Read the host's GPUs", 5, 7),
                    task("torchfleet.lab.pytorch_env : Install torch", 7, 37),
                    task("torchfleet.lab.pytorch_env : Check", 37, 40),
                ],
            }
        ],
        "stats": {"h1": {"changed": 3}, "h2": {"changed": 1}},
    }
    log = tmp_path / "first.log"
    log.write_text(json.dumps(document, indent=4) + "\n\nTORCHFLEET FLEET SUMMARY ***\n1 of 1 hosts completed\n")
    phases, slowest, changed = run.json_phases(log)
    assert phases == [
        {"name": "gathering facts", "seconds": 5.0},
        {"name": "play: Provision", "seconds": 2.0},
        {"name": "torchfleet.lab.pytorch_env", "seconds": 33.0},
    ]
    assert slowest[0] == {"name": "torchfleet.lab.pytorch_env : Install torch", "seconds": 30.0}
    assert changed == 4


def test_table_cells_keep_their_pipes_and_quotes():
    text = report.markdown(raw(slowest_tasks=[{"name": "role : Read the host's a|b", "seconds": 1.0}]), {})
    assert "| role : Read the host's a\\|b | 1.0 |" in text


def test_the_first_provision_shows_the_floor_of_its_fresh_host_and_what_it_implies():
    data = raw(first_provision={"role_s": 30.0, "baseline_s": 10.0, "floor_s": 4.0})
    text = report.markdown(data, report.charts(data))
    assert "| Ansible floor on site.yml's fresh host, just before it (benchmarks/floor.yml) | 4.0 |" in text
    # Floor plus the script's own time, against the script; and what site.yml spent beyond the floor.
    assert "about 14.0 s, 1.40x the script" in text and "beyond the floor is 26.0 s, 2.60x the script" in text
    bars = ET.fromstring(report.charts(data)["first-provision.svg"]).findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 1 + 4
    # Without the floor (results of an older run), neither the row nor the sentence.
    assert "Ansible floor on site.yml" not in report.markdown(raw(), report.charts(raw()))


def test_the_first_provision_shows_the_script_as_plain_ansible_tasks():
    first = {"role_s": 15.0, "baseline_s": 10.0, "floor_s": 2.0, "bare_s": 13.0, "bare_ratios": [1.2, 1.3, 1.4]}
    data = raw(first_provision=first)
    text = report.markdown(data, report.charts(data))
    row = "| benchmarks/bare_provision.yml: the script's steps as plain Ansible tasks (a third fresh host) | 13.0 |"
    assert row in text
    assert "took 13.0 s: 1.30x the script (every pair: 1.20x, 1.30x, 1.40x)" in text
    assert "site.yml, with everything the role adds, took 2.0 s more than those tasks (1.15x of them)" in text
    faster = raw(first_provision=dict(first, bare_s=16.0))
    assert "took 1.0 s less than those tasks (0.94x of them)" in report.markdown(faster, report.charts(faster))
    bars = ET.fromstring(report.charts(data)["first-provision.svg"]).findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 1 + 5
    # Results of an older run, without it: neither the row nor the sentence.
    older = raw(first_provision={"role_s": 15.0, "baseline_s": 10.0, "floor_s": 2.0})
    assert "bare_provision.yml" not in report.markdown(older, report.charts(older))


def test_the_bare_playbook_does_the_scripts_steps():
    # The same steps and URLs as baseline_provision.sh, from the inventory site.yml gets.
    play = yaml.safe_load((_BENCH / "bare_provision.yml").read_text())[0]
    text = (_BENCH / "bare_provision.yml").read_text()
    modules = [next(k for k in task if k.startswith("ansible.builtin.")) for task in play["tasks"]]
    expected = ("file", "get_url", "unarchive", "command", "command", "command")
    assert modules == ["ansible.builtin." + m for m in expected]
    for fragment in ("/uv/{{ pytorch_env_uv_version }}/", "sha256:{{ bare_uv_url }}.sha256", "--seed", "/whl/cpu",
                     "/pypi/simple", "torch=={{ pytorch_version }}+cpu", "import torch"):  # fmt: skip
        assert fragment in text
    script = (_BENCH / "baseline_provision.sh").read_text()
    for fragment in ("--seed", "/whl/cpu", "/pypi/simple", "import torch", "--index-strategy first-index"):
        assert fragment in script


def test_repeated_pairs_report_the_median_pair_and_every_ratio():
    samples = [
        {"floor_s": 3.0, "site_s": 6.3, "site_changed": 0},  # 2.1x
        {"floor_s": 3.0, "site_s": 5.4, "site_changed": 0},  # 1.8x
        {"floor_s": 2.0, "site_s": 3.8, "site_changed": 1},  # 1.9x
    ]
    pair = run.median_pair("ssh-pipelining", samples)
    assert (pair["floor_s"], pair["site_s"], pair["site_changed"]) == (2.0, 3.8, 1)  # the median pair; the most changed
    assert pair["pairs"] == 3 and pair["ratios"] == [1.8, 1.9, 2.1]
    data = raw(rerun={"hosts": 2, "runs": [pair]})
    assert report.rerun_ratio(data) == 1.9
    text = report.markdown(data, report.charts(data))
    assert "| SSH, pipelining on (docs/ansible.cfg) | 3.8 | 1 | 2.0 | 1.90x | 3: 1.80x, 1.90x, 2.10x |" in text
    assert "the row is the pair whose ratio is the median" in text


def test_repeated_first_provisions_list_every_ratio():
    first = {"role_s": 20.0, "baseline_s": 8.0, "floor_s": 2.5, "pairs": 3, "ratios": [1.9, 2.5, 2.9]}
    text = report.markdown(raw(first_provision=first), report.charts(raw(first_provision=first)))
    assert "3 pairs ran, one after the other" in text and "lowest to highest: 1.90x, 2.50x, 2.90x." in text
    assert "| first provision of 1 host: site.yml / plain shell script | 2.50x | at most 1.3x | not met |" in text


def test_the_first_provision_pairs_take_the_same_median_as_the_re_runs():
    pairs = [
        {"role_s": 20.0, "baseline_s": 10.0, "floor_s": 2.4},  # 2.0x
        {"role_s": 30.0, "baseline_s": 10.0, "floor_s": 2.5},  # 3.0x
        {"role_s": 18.0, "baseline_s": 12.0, "floor_s": 2.3},  # 1.5x
        {"role_s": 22.0, "baseline_s": 10.0, "floor_s": 2.6},  # 2.2x
    ]
    middle, ratios = run.median_of(pairs, "role_s", "baseline_s")
    assert middle == pairs[3]  # the upper of the two middle ones of an even count
    assert ratios == [1.5, 2.0, 2.2, 3.0]
