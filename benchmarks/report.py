"""Write benchmarks/RESULTS.md and its SVG charts from the raw measurements of one `make bench` run.

    python benchmarks/report.py RAW.json [OUTDIR]   (OUTDIR defaults to the directory of this file)

Everything shown comes from RAW.json (benchmarks/run.py writes it); the ratios and the verdicts against the
issue's targets are worked out here, so they are tested apart from the lab (tests/unit/benchmarks).
Charts are plain SVG written with the standard library.
"""

import json
import sys
from datetime import datetime
from html import escape
from pathlib import Path

# The targets of issue 14, as (row key, limit): each ratio must be at most the limit.
TARGETS = {"rerun": 2.0, "first": 1.3, "bytes": 1.05}
CONNECTIONS = {
    "ssh-pipelining": "SSH, pipelining on (docs/ansible.cfg)",
    "ssh-no-pipelining": "SSH, pipelining off",
    "podman": "podman connection (root)",
}


def ratio(numerator, denominator):
    """numerator / denominator, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def verdict(value, limit):
    if value is None:
        return "not measured"
    return "met" if value <= limit else "not met"


def _by_hosts(rows, key):
    return {row["hosts"]: row.get(key) for row in rows or [] if row.get(key) is not None}


def rerun_ratio(raw):
    for run in (raw.get("rerun") or {}).get("runs", []):
        if run.get("connection") == "ssh-pipelining":
            return ratio(run.get("site_s"), run.get("floor_s"))
    return None


def first_ratio(raw):
    first = raw.get("first_provision") or {}
    return ratio(first.get("role_s"), first.get("baseline_s"))


def bytes_ratio(raw):
    counted = _by_hosts(raw.get("upstream_bytes"), "bytes")
    if not counted:
        return None
    return ratio(counted.get(max(counted)), counted.get(1))


def summary(raw):
    """The three rows with targets: (measure, value, limit, verdict)."""
    rows = [
        ("site.yml re-run / Ansible floor, 2 hosts, SSH with pipelining", rerun_ratio(raw), TARGETS["rerun"]),
        ("first provision of 1 host: site.yml / plain shell script", first_ratio(raw), TARGETS["first"]),
        (f"bytes from upstream: {_largest_fleet(raw)} hosts / 1 host", bytes_ratio(raw), TARGETS["bytes"]),
    ]
    return [(name, value, limit, verdict(value, limit)) for name, value, limit in rows]


def _largest_fleet(raw):
    counted = _by_hosts(raw.get("upstream_bytes"), "bytes")
    return max(counted) if counted else 8


def _fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}x"


def _fmt_s(value):
    return "—" if value is None else f"{value:.1f}"


def _fmt_bytes(value):
    return "—" if value is None else f"{value:,} ({value / 2**20:.1f} MiB)"


def _cell(text):
    """Text for a Markdown table cell: a | would end the cell."""
    return str(text).replace("|", "\\|")


def phases(raw):
    """The phases of the first run, longest first: [(name, seconds)]."""
    return sorted(((p["name"], p["seconds"]) for p in raw.get("phases") or []), key=lambda p: -p[1])


# --------------------------------------------------------------------------- charts


def bar_chart(title, bars, unit, limit_line=None):
    """A horizontal bar chart as SVG text. bars: [(label, value or None)]; None draws no bar and says so."""
    width, left, row, top = 720, 300, 28, 40
    height = top + row * len(bars) + 30
    values = [v for _label, v in bars if v is not None] + ([limit_line[1]] if limit_line else [])
    scale = (width - left - 90) / (max(values) if values and max(values) > 0 else 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        out.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            out.append(f'<text x="{left + 4}" y="{y + 17}" fill="#888">not measured</text>')
            continue
        length = max(value * scale, 1)
        out.append(f'<rect x="{left}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="#4878a8"/>')
        out.append(f'<text x="{left + length + 6:.1f}" y="{y + 17}">{value:,.1f} {escape(unit)}</text>')
    if limit_line:
        x = left + limit_line[1] * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#c03030" '
            'stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{height - 8}" fill="#c03030" text-anchor="middle">{escape(limit_line[0])}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def first_floor_note(first):
    """What the floor says about the first-provision target: the ratio even if every task of site.yml cost nothing
    beyond the script's own steps."""
    floor, base, role = first.get("floor_s"), first.get("baseline_s"), first.get("role_s")
    if floor is None or not base or role is None:
        return ""
    return (
        f"The floor is what Ansible costs on that host before its first task: start-up, the SSH connection and fact "
        f"gathering. Were site.yml's tasks exactly as fast as the script's steps, the run would take about "
        f"{_fmt_s(floor + base)} s, {_fmt_ratio(ratio(floor + base, base))} the script; what site.yml spent beyond "
        f"the floor is {_fmt_s(role - floor)} s, {_fmt_ratio(ratio(role - floor, base))} the script."
    )


def bare_note(first):
    """What the script's steps cost as plain Ansible tasks, against the script and against site.yml."""
    bare, base, role = first.get("bare_s"), first.get("baseline_s"), first.get("role_s")
    if bare is None or not base or role is None:
        return ""
    every = ", ".join(_fmt_ratio(r) for r in first.get("bare_ratios") or [])
    return (
        f" The script's steps as plain Ansible tasks (benchmarks/bare_provision.yml), on a third fresh host of the "
        f"same pair, took {_fmt_s(bare)} s: {_fmt_ratio(ratio(bare, base))} the script"
        + (f" (every pair: {every})" if every else "")
        + f", so Ansible alone, doing nothing the script does not, costs that much; site.yml, with everything the "
        f"role adds, took {_fmt_s(abs(role - bare))} s {'more' if role >= bare else 'less'} than those tasks "
        f"({_fmt_ratio(ratio(role, bare))} of them)."
    )


def charts(raw):
    """{file name: SVG text}."""
    out = {}
    runs = (raw.get("rerun") or {}).get("runs", [])
    bars = []
    for run in runs:
        name = run["connection"]
        bars += [(f"{name}: site.yml re-run", run.get("site_s")), (f"{name}: floor", run.get("floor_s"))]
    out["rerun.svg"] = bar_chart("Re-run on 2 provisioned hosts: site.yml against the Ansible floor", bars, "s")
    first = raw.get("first_provision") or {}
    out["first-provision.svg"] = bar_chart(
        "First provision of 1 host",
        [
            ("site.yml", first.get("role_s")),
            ("plain shell script", first.get("baseline_s")),
            ("1.3x the script (target)", None if first.get("baseline_s") is None else first["baseline_s"] * 1.3),
            ("the script's steps as plain Ansible tasks", first.get("bare_s")),
            ("Ansible floor on the fresh host", first.get("floor_s")),
        ],
        "s",
    )
    out["upstream-bytes.svg"] = bar_chart(
        "MiB fetched from upstream to build the mirror",
        [
            (f"{row['hosts']} hosts", None if row.get("bytes") is None else row["bytes"] / 2**20)
            for row in raw.get("upstream_bytes") or []
        ],
        "MiB",
    )
    out["wall-time.svg"] = bar_chart(
        "Wall time of a first provision by fleet size",
        [(f"{row['hosts']} hosts", row.get("seconds")) for row in raw.get("wall") or []],
        "s",
    )
    out["phases.svg"] = bar_chart("Phases of a first run (1 host)", phases(raw), "s")
    return out


# --------------------------------------------------------------------------- RESULTS.md


def markdown(raw, chart_names):
    m = raw.get("machine") or {}
    lines = [
        "# `make bench` results",
        "",
        raw.get("note", "").strip(),
        "",
        f"Run {raw.get('started', '?')} to {raw.get('finished', '?')} ({_fmt_s(raw.get('elapsed_s'))} s), "
        f"command: `{raw.get('command', 'make bench')}`.",
        "",
        f"Machine: {m.get('cpus', '?')} CPUs, {m.get('memory_gib', '?')} GiB memory, kernel {m.get('kernel', '?')}, "
        f"podman {m.get('podman', '?')}, ansible-core {m.get('ansible_core', '?')}, Python {m.get('python', '?')}; "
        f"load average {m.get('load_before', '?')} when the run began. Hosts: {m.get('hosts', '?')}.",
        "",
        "## Against the targets",
        "",
        "| Measure | Ratio | Target | Verdict |",
        "|---|---|---|---|",
    ]
    for name, value, limit, result in summary(raw):
        lines.append(f"| {name} | {_fmt_ratio(value)} | at most {limit:g}x | {result} |")
    lines += [
        "",
        "## Re-run on 2 provisioned hosts, by connection",
        "",
        "![re-run](rerun.svg)",
        "",
        "| Connection | site.yml re-run (s) | changed | floor (s) | ratio | pairs run: every ratio |",
        "|---|---|---|---|---|---|",
    ]
    for run in (raw.get("rerun") or {}).get("runs", []):
        ratios = run.get("ratios") or []
        every = f"{run.get('pairs', len(ratios))}: {', '.join(_fmt_ratio(r) for r in ratios)}" if ratios else "1"
        lines.append(
            f"| {CONNECTIONS.get(run['connection'], run['connection'])} | {_fmt_s(run.get('site_s'))} | "
            f"{run.get('site_changed', '—')} | {_fmt_s(run.get('floor_s'))} | "
            f"{_fmt_ratio(ratio(run.get('site_s'), run.get('floor_s')))} | {every} |"
        )
    if any(run.get("pairs", 1) > 1 for run in (raw.get("rerun") or {}).get("runs", [])):
        lines += [
            "",
            "Where a connection ran several pairs (the floor, then the re-run, each time), the row is the pair whose "
            "ratio is the median, and the last column gives every pair's ratio from lowest to highest.",
        ]
    first = raw.get("first_provision") or {}
    lines += [
        "",
        "## First provision of one host",
        "",
        "![first provision](first-provision.svg)",
        "",
        "| Way | Wall time (s) |",
        "|---|---|",
        f"| site.yml (fresh host) | {_fmt_s(first.get('role_s'))} |",
        f"| benchmarks/baseline_provision.sh (another fresh host) | {_fmt_s(first.get('baseline_s'))} |",
    ]
    if first.get("bare_s") is not None:
        lines.append(
            f"| benchmarks/bare_provision.yml: the script's steps as plain Ansible tasks (a third fresh host) | "
            f"{_fmt_s(first['bare_s'])} |"
        )
    if first.get("floor_s") is not None:
        lines.append(
            f"| Ansible floor on site.yml's fresh host, just before it (benchmarks/floor.yml) | "
            f"{_fmt_s(first['floor_s'])} |"
        )
    if first.get("ratios"):
        lines += [
            "",
            f"{first.get('pairs', len(first['ratios']))} pairs ran, one after the other, each on fresh hosts (the "
            f"floor, site.yml, the script, then the plain Ansible tasks); the table gives the pair whose ratio is "
            f"the median. Every pair's "
            f"ratio, lowest to highest: {', '.join(_fmt_ratio(r) for r in first['ratios'])}.",
        ]
    lines += ["", first.get("note", "").strip()]
    floor_note = (first_floor_note(first) + bare_note(first)).strip()
    if floor_note:
        lines += ["", floor_note]
    lines += [
        "",
        "## Bytes fetched from upstream, by fleet size",
        "",
        "![upstream bytes](upstream-bytes.svg)",
        "",
        "| Fleet hosts | Bytes from upstream | Requests | Controller files used (bytes) |",
        "|---|---|---|---|",
    ]
    for row in raw.get("upstream_bytes") or []:
        lines.append(
            f"| {row['hosts']} | {_fmt_bytes(row.get('bytes'))} | {row.get('requests', '—')} | "
            f"{_fmt_bytes(row.get('local_bytes'))} |"
        )
    lines += ["", (raw.get("upstream_method") or "").strip()]
    lines += [
        "",
        "## Wall time by fleet size",
        "",
        "![wall time](wall-time.svg)",
        "",
        "| Hosts | First provision (s) | Bytes the lab mirror served to the hosts | Note |",
        "|---|---|---|---|",
    ]
    for row in raw.get("wall") or []:
        lines.append(
            f"| {row['hosts']} | {_fmt_s(row.get('seconds'))} | {_fmt_bytes(row.get('served_bytes'))} | "
            f"{row.get('note', '')} |"
        )
    lines += ["", (raw.get("served_method") or "").strip()]
    lines += [
        "",
        "## Phases of a first run (1 host)",
        "",
        "![phases](phases.svg)",
        "",
        "| Phase | Seconds |",
        "|---|---|",
    ]
    lines += [f"| {_cell(name)} | {seconds:.1f} |" for name, seconds in phases(raw)]
    if raw.get("slowest_tasks"):
        lines += ["", "The slowest tasks of that run:", "", "| Task | Seconds |", "|---|---|"]
        lines += [f"| {_cell(t['name'])} | {t['seconds']:.1f} |" for t in raw["slowest_tasks"]]
    lines += ["", (raw.get("phases_method") or "").strip(), "", "## Charts", ""]
    lines += [f"- [{name}]({name})" for name in sorted(chart_names)]
    return "\n".join(lines).replace("\n\n\n", "\n\n").rstrip() + "\n"


def write(raw, outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    svgs = charts(raw)
    for name, text in svgs.items():
        (outdir / name).write_text(text, encoding="utf-8")
    (outdir / "RESULTS.md").write_text(markdown(raw, svgs), encoding="utf-8")
    return sorted([*svgs, "RESULTS.md"])


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: python benchmarks/report.py RAW.json [OUTDIR]")
    raw = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    written = write(raw, argv[2] if len(argv) == 3 else Path(__file__).parent)
    print(f"report: wrote {', '.join(written)} ({datetime.now().astimezone():%H:%M})")


if __name__ == "__main__":
    main(sys.argv)
