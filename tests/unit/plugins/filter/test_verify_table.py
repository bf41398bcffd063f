"""torchfleet.lab.verify_table: every host the verification play targeted gets a row, failed ones first
(issue 16: verify.yml's table used to leave out a host whose check had failed)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.verify_table import verify_table

FACTS = {"distribution": "Debian", "distribution_version": "12.11"}
TORCH = {
    "manager": "uv",
    "version": "2.13.0+cpu",
    "compute": "cpu",
    "python_version": "3.11.7",
    "matmul": {"device": "cpu", "size": 256, "max_abs_error": 4.1e-05, "ok": True},
}


def _rows(text):
    lines = text.splitlines()
    assert lines[0].startswith("| Host | OS |") and lines[1].startswith("|---")
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def test_every_targeted_host_has_a_row_failed_and_unreachable_first():
    hostvars = {
        "a-good": {"ansible_facts": FACTS, "torchfleet_torch": TORCH},
        "b-failed": {"ansible_facts": FACTS, "torchfleet_verify_failure": "cannot import torch"},
        "c-unreachable": {},
        "d-no-env": {"ansible_facts": FACTS},
        "e-bad-matmul": {"ansible_facts": FACTS, "torchfleet_torch": {**TORCH, "matmul": {**TORCH["matmul"], "ok": 0}}},
        "not-targeted": {"ansible_facts": FACTS, "torchfleet_torch": TORCH},
    }
    rows = _rows(verify_table(["a-good", "b-failed", "c-unreachable", "d-no-env", "e-bad-matmul"], hostvars))
    assert [r[0] for r in rows] == ["b-failed", "e-bad-matmul", "c-unreachable", "d-no-env", "a-good"]
    assert rows[0][-1] == "FAILED: cannot import torch"
    assert rows[1][-1] == "FAILED"
    assert rows[2][1] == "-" and rows[2][-1].startswith("UNREACHABLE")
    assert rows[3][-1].startswith("NOT VERIFIED")
    assert rows[4] == [
        "a-good",
        "Debian 12.11",
        "uv",
        "2.13.0+cpu",
        "cpu",
        "3.11.7",
        "cpu 256x256, max error 4.1e-05",
        "verified",
    ]


def test_a_host_missing_from_hostvars_is_a_row_not_an_error():
    rows = _rows(verify_table(["gone"], {}))
    assert rows == [["gone", "-", "-", "-", "-", "-", "-", "UNREACHABLE: no facts were read from the host"]]


def test_a_failure_message_stays_in_its_cell():
    hostvars = {"h": {"ansible_facts": FACTS, "torchfleet_verify_failure": "line one\nline | two"}}
    text = verify_table(["h", "h"], hostvars)
    assert text.count("\n") == 3  # header, rule, one row for the host named twice
    assert text.splitlines()[2].endswith("| FAILED: line one line \\| two |")


@pytest.mark.parametrize(
    ("hosts", "hostvars", "message"),
    [("h", {}, "list of host names"), ([1], {}, "list of host names"), (["h"], [], "hostvars must be a mapping")],
)
def test_bad_arguments_are_refused(hosts, hostvars, message):
    with pytest.raises(AnsibleFilterError, match=message):
        verify_table(hosts, hostvars)
