"""The torchfleet.lab.validate_inputs action: the role's variables as the play holds them, one line per refusal.

The task variables are written here as a play would hold them; the templar is Ansible's own where the test
is about templating (a float stays a float), a pass-through elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.action import validate_inputs
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate

from ...ansible_compat import CORE_2_19, trust_as_template
from .conftest import make_action

REPO_ROOT = Path(__file__).resolve().parents[4]


class PassThrough:
    def template(self, value):
        if isinstance(value, str) and "{{ undefined" in value:
            raise AnsibleError("'undefined_thing' is undefined\nmore")
        return value


def run(role, task_vars, shell_family="sh", templar=None):
    action = make_action(validate_inputs.ActionModule, {"role": role}, shell_family=shell_family,
                         name="torchfleet.lab.validate_inputs")  # fmt: skip
    action._templar = templar or PassThrough()
    with mock.patch.object(validate_inputs.display, "warning") as warning:
        result = action.run(task_vars=dict(task_vars, inventory_hostname="node1"))
    return result, [c.args[0] for c in warning.call_args_list]


def test_every_refusal_is_one_line_of_one_failure_naming_the_host():
    bad = {"trainers_dir": "/", "trainers_master_addr": "$(touch /tmp/x)", "trainers_master_port": 70000}
    result = run("trainers", bad)[0]
    assert result["failed"] is True
    lines = result["msg"].splitlines()
    assert lines[0] == "3 inputs of the trainers role refused; nothing was changed on node1:"
    assert [line.split("=")[0][2:] for line in lines[1:]] == list(bad)
    assert result["problems"] == [line[2:] for line in lines[1:]]
    assert result["changed"] is False


def test_the_defaults_pass():
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "pytorch_env" / "defaults" / "main.yml").read_text())
    result, warnings = run("pytorch_env", defaults)
    assert not result.get("failed") and result["problems"] == [] and warnings == []


def test_the_raw_float_is_refused_although_role_argument_validation_passes_it():
    # ansible-core's role argument validation converts a float to the string '2.1' and accepts it ...
    spec = {"pytorch_version": {"type": "str"}}
    checked = ArgumentSpecValidator(spec).validate({"pytorch_version": 2.1}, validate_role_argument_spec=True)
    assert checked.error_messages == [] and checked.validated_parameters["pytorch_version"] == "2.1"
    # ... while the play's variable, templated by Ansible's own templar, is still the float the action refuses.
    result = run("pytorch_env", {"pytorch_version": 2.1}, templar=Templar(loader=DataLoader(), variables={}))[0]
    assert result["problems"] == [
        "pytorch_version=2.1 is a number, not a string (YAML reads an unquoted 2.10 as the number 2.1); "
        'quote it: pytorch_version: "...".'
    ]


def test_templates_are_evaluated_before_the_rules():
    templar = Templar(loader=DataLoader(), variables={"base": "/opt/x/../../etc"})
    # Values read from inventory and vars files are trusted templates (ansible-core 2.19 data tagging).
    task_vars = {"trainers_dir": trust_as_template("{{ base }}"), "base": "/opt/x/../../etc"}
    result = run("trainers", task_vars, templar=templar)[0]
    assert "trainers_dir='/opt/x/../../etc' is not a normalised path" in result["msg"]


def test_a_template_that_cannot_be_evaluated_is_named():
    result = run("trainers", {"trainers_dir": "{{ undefined_thing }}"})[0]
    assert result["problems"] == [
        "trainers_dir cannot be evaluated ('undefined_thing' is undefined); fix its template."
    ]


def test_misspelled_variables_warn_with_the_closest_name():
    result, warnings = run("pytorch_env", {"pytorch_verison": "2.7", "trainers_epoch": 3, "my_var": 1})
    assert not result.get("failed")
    assert result["unknown_variables"] == ["pytorch_verison", "trainers_epoch"]
    assert warnings == [
        "pytorch_verison is not a variable of torchfleet.lab and is ignored: did you mean pytorch_version? "
        "Set torchfleet_strict_vars: true to make this an error.",
        "trainers_epoch is not a variable of torchfleet.lab and is ignored: did you mean trainers_epochs? "
        "Set torchfleet_strict_vars: true to make this an error.",
    ]


@pytest.mark.parametrize("strict", [True, "yes", "true"])
def test_misspelled_variables_are_errors_when_strict(strict):
    result, warnings = run("gpu_driver", {"gpu_driver_brnach": "580", "torchfleet_strict_vars": strict})
    assert result["failed"] is True and warnings == []
    assert result["problems"] == [
        "gpu_driver_brnach is not a variable of torchfleet.lab and is ignored: did you mean gpu_driver_branch? "
        "(torchfleet_strict_vars is true)"
    ]


def test_windows_paths_by_facts_or_by_shell():
    by_facts = run("miniconda", {"miniconda_prefix": "C:\\Users\\alice", "ansible_facts": {"os_family": "Windows"}})[0]
    by_shell = run("miniconda", {"miniconda_prefix": "C:\\Users\\alice"}, shell_family="powershell")[0]
    posix = run("miniconda", {"miniconda_prefix": "C:\\Users\\alice", "ansible_facts": {"os_family": "Debian"}})[0]
    assert "is a user profile folder itself" in by_facts["msg"]
    assert by_facts["problems"] == by_shell["problems"]
    assert "it must be an absolute path" in posix["msg"]


@pytest.mark.parametrize("args", [{"role": "nope"}, {"role": "trainers", "extra": 1}, {}])
def test_bad_task_options_are_refused(args):
    action = make_action(validate_inputs.ActionModule, args, shell_family="sh")
    action._templar = PassThrough()
    with pytest.raises(AnsibleError, match="takes one option, role"):
        action.run(task_vars={})


def test_known_names_hold_every_spec_option_and_the_published_facts():
    known = validate_inputs.known_names(str(REPO_ROOT))
    for role in _validate.ROLE_RULES:
        spec = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        assert set(spec["argument_specs"]["main"]["options"]) <= known
    # set_fact (torchfleet_conda, torchfleet_torch, torchfleet_gpu_driver, ...) and the names of EXTRA_KNOWN_NAMES.
    assert {"torchfleet_conda", "torchfleet_torch", "torchfleet_gpu_driver", "torchfleet_pytorch_release",
            "torchfleet_gpu", "torchfleet_hosts", "torchfleet_strict_vars"} <= known  # fmt: skip


def test_every_prefixed_name_the_repository_sets_or_reads_is_known():
    """Inventories, playbooks and docs use only names the scan knows: the list is current."""
    known = validate_inputs.known_names(str(REPO_ROOT))
    pattern = re.compile(r"(?<![\w.])((?:pytorch|miniconda|gpu_driver|trainers|torchfleet)_[a-z0-9_]+)\s*:")
    files = [*REPO_ROOT.glob("molecule/*/molecule.yml"), *REPO_ROOT.glob("docs/inventories/*.yml"),
             *REPO_ROOT.glob("playbooks/*.yml"), REPO_ROOT / "README.md"]  # fmt: skip
    texts = [path.read_text() for path in files]
    found = {m.group(1) for text in texts for m in pattern.finditer(text)}
    # Inventory group names (molecule's platforms[].groups, group_vars keys) are not variables.
    groups = {
        g.strip() for text in texts for m in re.finditer(r"groups:\s*\[([^\]]*)\]", text) for g in m.group(1).split(",")
    }
    assert len(found) > 20, found
    assert found - known - groups == set()


def test_a_real_role_spec_lists_the_strict_switch():
    for role in _validate.ROLE_RULES:
        spec = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        assert spec["argument_specs"]["main"]["options"]["torchfleet_strict_vars"]["type"] == "bool"


def test_the_action_is_the_first_task_of_every_preflight():
    for role in _validate.ROLE_RULES:
        tasks_dir = REPO_ROOT / "roles" / role / "tasks"
        tasks = yaml.safe_load((tasks_dir / "preflight.yml").read_text())
        # gpu_driver and miniconda begin with tasks/locate.yml, which playbooks/audit.yml includes alone.
        while "ansible.builtin.import_tasks" in tasks[0]:
            tasks = yaml.safe_load((tasks_dir / tasks[0]["ansible.builtin.import_tasks"]).read_text())
        assert tasks[0].get("torchfleet.lab.validate_inputs") == {"role": role}, role


def test_every_case_of_the_bad_input_catalogue_is_refused_with_its_message():
    """tests/bad_inputs.yml worked out without a container (the molecule scenario bad_inputs runs it for real)."""
    import sys  # noqa: PLC0415

    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import gen_bad_inputs_doc as catalogue  # noqa: PLC0415

    cases = catalogue.load_cases()
    assert len(cases) >= 120
    assert len({case["id"] for case in cases}) == len(cases)
    assert {case["role"] for case in cases} == set(_validate.ROLE_RULES)
    for case in cases:
        task, message = catalogue.expected_message(case)
        assert task is not None, case["id"]
        if not CORE_2_19 and task == "argument spec" and None in case["vars"].values():
            # 2.19 reads a null `type: str` as '' (lib/ansible/module_utils/common/validation.py, check_type_str),
            # so validate_inputs names the null; before 2.19 the role's argument validation already refuses it.
            name = next(name for name, value in case["vars"].items() if value is None)
            assert f"argument '{name}' is of type <class 'NoneType'>" in message, (case["id"], message)
            continue
        assert case["expect"] in message, (case["id"], message)
