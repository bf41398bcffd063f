# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: render the trainers' results of a fleet as Markdown or as HTML with inline SVG loss curves."""

from __future__ import annotations

import html
import math

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import checked_filters

FORMATS = ("markdown", "html")
COLUMNS = ("Trainer", "Mode", "Device", "torch", "Epochs", "First loss", "Final loss", "Loss fell", "Test accuracy")


def _number(value, digits=4):
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    return f"{number:.{digits}g}"


def _rows(entry):
    """One row per run on the host: (name, mode, metrics)."""
    rows = []
    for name, metrics in sorted((entry.get("runs") or {}).items()):
        rows.append((name, "single host", metrics))
    for rank in sorted(entry.get("ranks") or [], key=lambda r: r.get("rank", 0)):
        mode = f"rank {rank.get('rank')} of {rank.get('world_size')}"
        rows.append((rank.get("script", "mnist_cnn"), mode, rank))
    combined = entry.get("combined") or {}
    if combined:
        rows.append((combined.get("script", "mnist_cnn"), f"all {combined.get('world_size')} ranks", combined))
    return rows


def _cells(name, mode, metrics):
    losses = [float(x) for x in metrics.get("losses") or []]
    fell = "yes" if len(losses) > 1 and losses[-1] < losses[0] else ("n/a" if len(losses) < 2 else "NO")
    return [
        name,
        mode,
        str(metrics.get("device", "-")),
        str(metrics.get("torch_version", "-")),
        str(metrics.get("epochs", len(losses))),
        _number(losses[0] if losses else None),
        _number(metrics.get("final_loss", losses[-1] if losses else None)),
        fell,
        f"{float(metrics['test_accuracy']):.2%}" if metrics.get("test_accuracy") is not None else "-",
    ]


def _distributed_summary(entries):
    for entry in entries:
        combined = entry.get("combined") or {}
        if combined:
            ranks = combined.get("ranks") or []
            finished = sum(1 for r in ranks if r.get("status") == "finished")
            hosts = sorted({r.get("hostname", "?") for r in ranks})
            return (
                f"Distributed mnist_cnn: world size {combined.get('world_size')} ({combined.get('backend')}), "
                f"{finished} of {len(ranks)} ranks finished on {', '.join(hosts)}; loss "
                f"{_number((combined.get('losses') or [None])[0])} -> {_number(combined.get('final_loss'))}, "
                f"test accuracy {float(combined.get('test_accuracy', 0.0)):.2%}, "
                f"{_number(combined.get('seconds'), 3)} s of training on rank 0 (host {entry.get('host')})."
            )
    return None


def _markdown(entries, title):
    lines = [f"# {title}", ""]
    summary = _distributed_summary(entries)
    if summary:
        lines += [summary, ""]
    for entry in entries:
        lines += [f"## {entry.get('host')}", ""]
        rows = _rows(entry)
        if not rows:
            lines += [MISSING if entry.get("missing") else "No results.", ""]
            continue
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for row in rows:
            cells = [c.replace("|", "\\|") for c in _cells(*row)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def loss_curve_svg(losses, label, width=360, height=160, pad=32):
    """An inline SVG line chart of losses per epoch, with the first and last value written on it."""
    values = [float(x) for x in losses]
    esc = html.escape
    head = (
        f'<svg class="loss-curve" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}">'
    )
    parts = [head, f"<title>{esc(label)}</title>"]
    parts.append(
        f'<rect x="{pad}" y="8" width="{width - pad - 8}" height="{height - pad - 8}" fill="none" stroke="#999"/>'
    )
    if values:
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        step = (width - pad - 16) / max(len(values) - 1, 1)
        points = []
        for index, value in enumerate(values):
            x = pad + 4 + index * step
            y = 12 + (high - value) / span * (height - pad - 16)
            points.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{" ".join(points)}"/>')
        for point in points:
            x, y = point.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#1f77b4"/>')
        parts.append(f'<text x="2" y="16" font-size="10">{esc(_number(high, 3))}</text>')
        parts.append(f'<text x="2" y="{height - pad}" font-size="10">{esc(_number(low, 3))}</text>')
    parts.append(
        f'<text x="{pad}" y="{height - 10}" font-size="11">epoch 1..{len(values)}, loss {esc(label)}</text></svg>'
    )
    return "".join(parts)


def _html(entries, title):
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}figure{display:inline-block;margin:.5em}"
        "</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    summary = _distributed_summary(entries)
    if summary:
        out.append(f'<p class="distributed">{esc(summary)}</p>')
    for entry in entries:
        host = str(entry.get("host"))
        out.append(f'<section class="host" data-host="{esc(host)}"><h2>{esc(host)}</h2>')
        rows = _rows(entry)
        if not rows:
            missing = entry.get("missing")
            out.append(
                f'<p class="{"missing" if missing else "empty"}">{esc(MISSING if missing else "No results.")}</p>'
            )
            out.append("</section>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _cells(*row)) + "</tr>")
        out.append("</table>")
        for name, mode, metrics in rows:
            label = f"{name}, {mode}, {host}"
            out.append(f"<figure>{loss_curve_svg(metrics.get('losses') or [], label)}</figure>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


MISSING = (
    "No results: the host failed or could not be reached before its results were gathered (the run's output says "
    "why; so does the torchfleet.lab.fleet_summary callback)."
)


def _with_missing(entries, hosts):
    """Every host of ``hosts`` gets a section: those without an entry first, marked as missing."""
    if hosts is None:
        return list(entries)
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleFilterError(f"fleet_report: hosts must be a list of host names, not {hosts!r}")
    present = {str(e["host"]) for e in entries}
    missing = [{"host": h, "missing": True} for h in dict.fromkeys(hosts) if h not in present]
    return missing + list(entries)


def fleet_report(entries, report_format="markdown", title="Fleet training report", hosts=None):
    if report_format not in FORMATS:
        raise AnsibleFilterError(f"fleet_report: format must be one of {', '.join(FORMATS)}, not {report_format!r}")
    if not isinstance(entries, (list, tuple)) or not all(isinstance(e, dict) and "host" in e for e in entries):
        raise AnsibleFilterError("fleet_report: expects a list of dicts with at least a 'host' key")
    entries = _with_missing(entries, hosts)
    try:
        return _markdown(entries, title) if report_format == "markdown" else _html(entries, title)
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(f"fleet_report: malformed metrics ({exc})") from exc


class FilterModule:
    def filters(self):
        return checked_filters({"fleet_report": fleet_report})
