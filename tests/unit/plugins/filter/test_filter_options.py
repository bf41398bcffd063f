"""Every filter of the collection answers a call with an unknown option, or a value given twice, with its own name
and its options (issue 12: "An unknown filter option gives a raw TypeError")."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[4]
FILTER_DIR = REPO / "plugins" / "filter"
MODULES = sorted(p.stem for p in FILTER_DIR.glob("*.py") if not p.name.startswith("_"))


def _filters():
    for stem in MODULES:
        module = importlib.import_module(f"ansible_collections.torchfleet.lab.plugins.filter.{stem}")
        yield from module.FilterModule().filters().items()


FILTERS = dict(_filters())


def test_every_filter_module_is_seen():
    assert {"torch_build", "conda_installer", "pytorch_env_layout", "trainers_plan", "driver_plan"} <= set(FILTERS)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_an_unknown_option_names_the_filter_and_its_options(name):
    func = FILTERS[name]
    with pytest.raises(AnsibleFilterError) as err:
        func("value", no_such_option_here=1)
    assert f"{name}: unknown option 'no_such_option_here'" in str(err.value)
    assert "its options are:" in str(err.value)


def test_a_misspelt_option_gets_the_closest_name():
    with pytest.raises(AnsibleFilterError, match=r"unknown option 'sytem' \(did you mean system\?\).*machine"):
        FILTERS["torch_build"]("2.7", sytem="Linux", machine="x86_64")


def test_a_value_given_twice_is_explained():
    with pytest.raises(AnsibleFilterError, match=r"^torch_build: .*multiple values.*its options are: system"):
        FILTERS["torch_build"]("2.7", "Linux", system="Linux")


def test_a_filter_called_without_a_value_says_how_to_apply_it():
    with pytest.raises(AnsibleFilterError, match=r"torch_build must be applied to a value"):
        FILTERS["torch_build"]()


def test_a_good_call_is_passed_through():
    assert FILTERS["torch_build"]("2.7.1", system="Linux", machine="x86_64", compute="cpu")["torch"] == "2.7.1"


@pytest.mark.parametrize(
    ("name", "option", "closest"),
    [
        ("driver_plan", "brnach", "branch"),
        ("trainers_plan", "epoch", "epochs"),
        ("pytorch_env_layout", "manger", "manager"),
        ("pytorch_env_install_plan", "extra_pakages", "extra_packages"),
    ],
)
def test_filters_that_hand_on_their_options_check_them_against_their_target(name, option, closest):
    with pytest.raises(AnsibleFilterError, match=rf"unknown option '{option}' \(did you mean {closest}\?\)"):
        FILTERS[name]({}, **{option: 1})


def _keyword_names(text, start):
    """The keyword names of the call whose '(' is at ``start`` in ``text`` (only at the call's own depth)."""
    depth, names, i = 0, [], start
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return names
        elif depth == 1:
            match = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*=(?!=)").match(text, i)
            if match:
                names.append(match.group(1))
                i = match.end()
                continue
        i += 1
    raise AssertionError(f"unbalanced call at {start}")


def _role_calls():
    for path in sorted(list((REPO / "roles").rglob("*.yml")) + list((REPO / "playbooks").glob("*.yml"))):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"torchfleet\.lab\.(\w+)\(", text):
            yield path.relative_to(REPO), match.group(1), _keyword_names(text, match.end() - 1)


ROLE_CALLS = list(_role_calls())


def test_the_roles_call_filters():
    assert {call[1] for call in ROLE_CALLS} >= {"torch_build", "pytorch_env_layout", "driver_plan", "trainers_plan"}


@pytest.mark.parametrize(("path", "name", "keywords"), ROLE_CALLS, ids=[f"{call[0]}:{call[1]}" for call in ROLE_CALLS])
def test_every_option_the_roles_pass_is_one_the_filter_accepts(path, name, keywords):
    options = FILTERS[name].accepted_options()
    assert options is not None, f"{name} takes any option: give it forwards= in its FilterModule"
    assert set(keywords) <= options, f"{path} passes {sorted(set(keywords) - options)} to {name}"
