# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the verification table of playbooks/verify.yml, one row for every host the play targeted."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import checked_filters

HEADER = (
    "| Host | OS | Manager | torch | Build | Python | Matmul | Result |",
    "|---|---|---|---|---|---|---|---|",
)
# Rows are sorted by outcome so that what needs a person comes first.
ORDER = {"FAILED": 0, "UNREACHABLE": 1, "NOT VERIFIED": 2, "verified": 3}


def _cell(value):
    """Text fit for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _os(facts):
    if not facts.get("distribution"):
        return "-"
    return f"{facts['distribution']} {facts.get('distribution_version', '')}".strip()


def _matmul(matmul):
    try:
        error = f"{float(matmul.get('max_abs_error')):.1e}"
    except (TypeError, ValueError):
        error = "-"
    size = matmul.get("size", "-")
    return f"{matmul.get('device', '-')} {size}x{size}, max error {error}"


def _row(host, hostvars):
    values = hostvars.get(host) or {}
    facts = values.get("ansible_facts") or {}
    torch = values.get("torchfleet_torch")
    failure = values.get("torchfleet_verify_failure")
    if failure:
        result = "FAILED"
        detail = f"FAILED: {failure}"
    elif isinstance(torch, Mapping):
        result = "verified" if (torch.get("matmul") or {}).get("ok") else "FAILED"
        detail = result
    elif not facts:
        result = "UNREACHABLE"
        detail = "UNREACHABLE: no facts were read from the host"
    else:
        result = "NOT VERIFIED"
        detail = "NOT VERIFIED: no environment was found, or pytorch_env_verify is false"
    if isinstance(torch, Mapping):
        cells = [
            torch.get("manager", "-"),
            torch.get("version", "-"),
            torch.get("compute", "-"),
            torch.get("python_version", "-"),
            _matmul(torch.get("matmul") or {}),
        ]
    else:
        cells = ["-"] * 5
    return ORDER[result], host, [host, _os(facts), *cells, detail]


def verify_table(hosts, hostvars):
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleFilterError(f"verify_table: the input must be a list of host names, not {hosts!r}")
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("verify_table: hostvars must be a mapping of host name to its variables")
    rows = sorted((_row(host, hostvars) for host in dict.fromkeys(hosts)), key=lambda row: row[:2])
    return "\n".join([*HEADER, *("| " + " | ".join(_cell(c) for c in cells) + " |" for *_k, cells in rows)]) + "\n"


class FilterModule:
    def filters(self):
        return checked_filters({"verify_table": verify_table})
