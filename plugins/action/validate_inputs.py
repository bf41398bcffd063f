# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a role's variables on the controller before the role changes anything (``torchfleet.lab.validate_inputs``).

No module runs on the host: the rules are in ``plugins/module_utils/_validate.py`` and this action applies
the table for ``role`` to the variables as the play holds them.  It reads ``task_vars`` itself rather than
the values Ansible's role argument validation checked, because that validation converts a copy (a float 2.1
passes ``type: str`` as '2.1') and never writes it back (ansible-core 2.19 plugins/action/
validate_argument_spec.py, ``run``: it returns only ``failed``/``msg``, no facts), so the raw value is what
the role would use.

The known variable names (for "did you mean ...?") are read from the collection's own roles every run: each
role's ``meta/argument_specs.yml`` options, ``defaults/main.yml`` and ``vars/main.yml`` keys, and the
``set_fact`` and ``register`` names of its tasks and handlers, plus ``_validate.EXTRA_KNOWN_NAMES``.  Reading
them here, on the controller, keeps the list current without a generated file.
"""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate

display = Display()

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SET_FACT = ("set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact")
_NOT_FACTS = ("cacheable",)
_KNOWN_CACHE = {}


# libyaml's loader where PyYAML was built with it: the roles' files are read about ten times faster.
class _TagTolerantLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that reads Ansible's ``!unsafe`` / ``!vault`` tags as plain values."""


_TagTolerantLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
)


def _load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_TagTolerantLoader)
    except (OSError, yaml.YAMLError):
        return None


def _task_names(tasks, names):
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            _task_names(task.get(key), names)
        if isinstance(task.get("register"), str):
            names.add(task["register"])
        for action in _SET_FACT:
            if isinstance(task.get(action), dict):
                names.update(k for k in task[action] if k not in _NOT_FACTS)


def known_names(root=COLLECTION_ROOT):
    """Every variable name the collection's roles declare, default, set or register (cached per root)."""
    if root in _KNOWN_CACHE:
        return _KNOWN_CACHE[root]
    names = set(_validate.EXTRA_KNOWN_NAMES)
    roles_dir = os.path.join(root, "roles")
    for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        base = os.path.join(roles_dir, role)
        specs = _load(os.path.join(base, "meta", "argument_specs.yml")) or {}
        for entry in (specs.get("argument_specs") or {}).values():
            names.update((entry or {}).get("options") or {})
        for sub in ("defaults", "vars"):
            data = _load(os.path.join(base, sub, "main.yml"))
            if isinstance(data, dict):
                names.update(data)
        for sub in ("tasks", "handlers"):
            folder = os.path.join(base, sub)
            for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                if name.endswith((".yml", ".yaml")):
                    _task_names(_load(os.path.join(folder, name)), names)
    _KNOWN_CACHE[root] = frozenset(names)
    return _KNOWN_CACHE[root]


def preload():
    """Read the known names in ansible-playbook's main process (the torchfleet.lab.preload callback calls this), so
    that the worker processes forked for each task and host inherit them instead of reading the roles again."""
    known_names()


def check(role, values, names, windows=False, strict=False):
    """``(problems, unknown names, warnings)`` for ``role`` given its variables' ``values`` (templated) and the
    ``names`` of every variable the host has; unknown prefixed names are problems when ``strict``."""
    problems = _validate.validate_role(role, values, windows=windows)
    unknown = _validate.unknown_variables(names, known_names())
    lines = [_validate.unknown_variable_message(name, close) for name, close in unknown]
    if strict:
        return problems + [line + " (torchfleet_strict_vars is true)" for line in lines], unknown, []
    return problems, unknown, [line + " Set torchfleet_strict_vars: true to make this an error." for line in lines]


def failure_message(role, host, problems):
    """The task's message: a count, the host, then one line per refused input."""
    plural = "" if len(problems) == 1 else "s"
    lines = "\n".join("- " + line for line in problems)
    return f"{len(problems)} input{plural} of the {role} role refused; nothing was changed on {host}:\n{lines}"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def _is_windows(self, task_vars):
        facts = task_vars.get("ansible_facts") or {}
        if isinstance(facts, dict) and facts.get("os_family"):
            return facts.get("os_family") == "Windows"
        return getattr(getattr(self._connection, "_shell", None), "SHELL_FAMILY", "") == "powershell"

    def _value(self, name, task_vars):
        return self._templar.template(task_vars[name])

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        task_vars = task_vars or {}
        role = self._task.args.get("role")
        unexpected = sorted(set(self._task.args) - {"role"})
        if unexpected or role not in _validate.ROLE_RULES:
            raise AnsibleError(
                "torchfleet.lab.validate_inputs takes one option, role, one of {}; got {}".format(
                    ", ".join(sorted(_validate.ROLE_RULES)), _validate.show(dict(self._task.args))
                )
            )

        windows = self._is_windows(task_vars)
        values, problems = {}, []
        for name in _validate.role_rules(role):
            if name not in task_vars:
                continue
            try:
                values[name] = self._value(name, task_vars)
            except Exception as exc:
                problems.append(f"{name} cannot be evaluated ({str(exc).splitlines()[0]}); fix its template.")
        strict = False
        if "torchfleet_strict_vars" in task_vars:
            try:
                strict = boolean(self._value("torchfleet_strict_vars", task_vars), strict=False)
            except Exception:  # the rule of torchfleet_strict_vars reports it
                strict = False
        found, unknown, warnings = check(role, values, task_vars.keys(), windows=windows, strict=strict)
        problems.extend(found)
        for line in warnings:
            display.warning(line)

        result["changed"] = False
        result["problems"] = problems
        result["unknown_variables"] = [name for name, _close in unknown]
        if problems:
            result["failed"] = True
            result["msg"] = failure_message(role, task_vars.get("inventory_hostname", "this host"), problems)
        else:
            result["msg"] = f"Every {role} input passed its rule"
        return result
