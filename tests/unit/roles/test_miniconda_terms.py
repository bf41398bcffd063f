"""The miniconda role's reading of `conda tos` (roles/miniconda/tasks/accept-tos*.yml, vars/main.yml).

The role's own expressions are evaluated with Ansible's templar against command results written from the sources
named beside each fixture:
- anaconda/conda-anaconda-tos 0.2.2 (commit 06c5dfa): `conda tos --json` without a subcommand prints, per channel,
  the newest local record (or the served terms when none is recorded) plus "outdated" and "path"
  (conda_anaconda_tos/console/render.py:94-148); records hold version, text, support, base_url, tos_accepted,
  acceptance_timestamp (models.py:17-40).
- conda 24.9 (>= 23.7, no terms plugin): argparse's own "invalid choice" error, rc 2 (conda/conda 24.11.3
  conda/cli/conda_argparse.py, subcommands under metavar COMMAND; CPython argparse's message format).
- conda 23.5 (< 23.7): CommandNotFoundError on stderr, rc 1 (conda/conda 23.5.2 conda/cli/conda_argparse.py:176-213,
  conda/exceptions.py:331-342 and 1239-1259).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles" / "miniconda"
MAIN = "https://repo.anaconda.com/pkgs/main"
R = "https://repo.anaconda.com/pkgs/r"
OLD = "2025-05-12T00:00:00Z"


def _record(url, accepted=True, outdated=False, version=OLD):
    return {
        "version": version, "text": "terms", "support": "anaconda.com/legal", "base_url": url,
        "tos_accepted": accepted, "acceptance_timestamp": "2025-07-01T10:00:00.000000Z",
        "outdated": outdated, "path": f"/opt/miniconda3/conda-meta/tos/x/{version}.json",
    }  # fmt: skip


def _served(url):  # no local record: the served metadata (a RemotePair, path None)
    return {"version": OLD, "text": "terms", "support": "anaconda.com/legal", "outdated": False, "path": "None"}


def _ok(doc):
    return {"rc": 0, "stdout": json.dumps(doc, indent=2), "stderr": "", "changed": False}


ARGPARSE = {
    "rc": 2,
    "stdout": "",
    "stderr": "usage: conda [-h] [-v] [--no-plugins] [-V] COMMAND ...\n"
    "conda: error: argument COMMAND: invalid choice: 'tos' (choose from 'clean', 'compare', 'config', 'create', "
    "'info', 'init', 'install', 'list', 'notices', 'package', 'remove', 'uninstall', 'rename', 'run', 'search', "
    "'update', 'upgrade', 'env')\n",
}
COMMAND_NOT_FOUND = {"rc": 1, "stdout": "", "stderr": "\nCommandNotFoundError: No command 'conda tos'.\n\n"}
HTTP_ERROR = {
    "rc": 1,
    "stdout": json.dumps({"exception_name": "CondaHTTPError", "error": "CondaHTTPError: HTTP 000 CONNECTION FAILED"}),
    "stderr": "",
}


def _tasks(name):
    return yaml.safe_load((ROLE / "tasks" / name).read_text())


def _templar(state):
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in role_vars.items()}
    variables.update(
        __miniconda={"tos_channels": [MAIN, R], "conda": "/opt/miniconda3/bin/conda", "become": True},
        __miniconda_tos_state=state,
        __miniconda_action="none",
        ansible_check_mode=False,
    )
    return Templar(loader=DataLoader(), variables=variables)


def _cond(templar, expr):
    exprs = expr if isinstance(expr, list) else [expr]
    return all(templar.evaluate_conditional(trust_as_template(str(e))) for e in exprs)


@pytest.mark.parametrize("tasks_file", ["accept-tos.yml", "accept-tos-windows.yml"])
@pytest.mark.parametrize(
    ("state", "failed", "note", "accept", "pending"),
    [
        (_ok({MAIN: _record(MAIN), R: _record(R)}), False, False, False, []),
        # A revised version is served: the record still says accepted, the listing says outdated.
        (_ok({MAIN: _record(MAIN, outdated=True), R: _record(R, outdated=True)}), False, False, True, [MAIN, R]),
        (_ok({MAIN: _served(MAIN), R: _record(R)}), False, False, True, [MAIN]),
        (_ok({MAIN: _record(MAIN, accepted=False), R: _record(R)}), False, False, True, [MAIN]),
        (ARGPARSE, False, True, False, None),
        (COMMAND_NOT_FOUND, False, True, False, None),
        (HTTP_ERROR, True, None, None, None),
    ],
    ids=["current", "revised", "never-accepted", "rejected", "conda-24.9", "conda-23.5", "other-error"],
)
def test_terms_state_is_read_from_the_listing(tasks_file, state, failed, note, accept, pending):
    read, report, accept_task = _tasks(tasks_file)
    module = next(k for k in read if k.startswith("ansible."))
    argv = read[module]["argv"]
    assert "'tos', '--json', '--ignore-cache'" in argv and "view" not in argv
    templar = _templar(state)
    assert _cond(templar, read["failed_when"]) is failed
    if failed:
        return
    assert _cond(templar, report["when"]) is note
    assert _cond(templar, accept_task["when"]) is accept
    accept_module = next(k for k in accept_task if k.startswith("ansible."))
    assert "'accept', '--system', '--ignore-cache'" in accept_task[accept_module]["argv"]
    if pending is not None:
        assert templar.template(trust_as_template("{{ __miniconda_tos_pending }}")) == pending
