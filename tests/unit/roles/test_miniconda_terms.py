"""The miniconda role's reading of `conda tos` (roles/miniconda/tasks/accept-tos*.yml, vars/main.yml).

The role's own expressions are evaluated with Ansible's templar, and the collection's filters, against command
results that tests/unit/conftest.py writes from the conda and conda-anaconda-tos sources it names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.filter.conda import FilterModule

from ..ansible_compat import CORE_2_19, evaluate_conditional, trust_as_template
from ..conftest import TOS_ARGPARSE as ARGPARSE
from ..conftest import TOS_COMMAND_NOT_FOUND as COMMAND_NOT_FOUND
from ..conftest import TOS_HTTP_ERROR as HTTP_ERROR
from ..conftest import TOS_MAIN as MAIN
from ..conftest import TOS_R as R
from ..conftest import tos_ok as _ok
from ..conftest import tos_record as _record
from ..conftest import tos_served as _served

ROLE = Path(__file__).resolve().parents[3] / "roles" / "miniconda"
# The role calls the collection's own filters; the unit tests import the collection without Ansible's collection
# loader (conftest.py), so the templar is handed them under the names the role uses.
FILTERS = {"torchfleet.lab." + name: func for name, func in FilterModule().filters().items()}


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
    templar = Templar(loader=DataLoader(), variables=variables)
    templar.environment.filters.update(FILTERS)
    return templar


def _cond(templar, expr):
    exprs = expr if isinstance(expr, list) else [expr]
    return all(evaluate_conditional(templar, str(e)) for e in exprs)


@pytest.mark.parametrize("tasks_file", ["accept-tos.yml", "accept-tos-Windows.yml"])
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


@pytest.mark.parametrize("tasks_file", ["accept-tos.yml", "accept-tos-Windows.yml"])
def test_output_that_is_not_json_stops_the_role_with_the_command_named(tasks_file):
    read, report, accept_task = _tasks(tasks_file)
    templar = _templar({"rc": 0, "stdout": "Retrieving notices: done", "stderr": ""})
    if not CORE_2_19:
        # Before 2.19, Jinja resolved every name of an expression before evaluating it (no lazy templating), so
        # `rc != 0 and not __miniconda_tos_absent` already parses the output: the role stops one task earlier, with
        # the same message.
        with pytest.raises(Exception, match=r"`conda tos --json` printed something that is not JSON"):
            _cond(templar, read["failed_when"])
        return
    assert _cond(templar, read["failed_when"]) is False  # conda succeeded; its output is read by the next tasks
    for task in (report, accept_task):
        with pytest.raises(Exception, match=r"`conda tos --json` printed something that is not JSON"):
            _cond(templar, task["when"])
