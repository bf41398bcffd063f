"""The few ansible-core test APIs that changed in 2.19, so the unit tests run on every release of the matrix.

ansible-core 2.19 added data tagging: a string from a variable file is templated only when it is trusted, and
``trust_as_template`` marks it so (porting guide 2.19, "Data Tagging" and "Untrusted templates":
https://docs.ansible.com/ansible/latest/porting_guides/porting_guide_core_2.19.html). Before 2.19 every string was
templated, so there the mark is the string itself. 2.19 also added ``Templar.evaluate_conditional`` and
``ansible.module_utils.testing.patch_module_args``; before it, a ``when`` went through
``ansible.playbook.conditional.Conditional`` and a module read its arguments from ``basic._ANSIBLE_ARGS``
(ansible-core 2.16 lib/ansible/module_utils/basic.py, ``_load_params``).
"""

from __future__ import annotations

import contextlib
import json

from ansible.module_utils import basic
from ansible.parsing.dataloader import DataLoader
from ansible.release import __version__

__all__ = ["CORE_2_19", "evaluate_conditional", "patch_module_args", "trust_as_template"]

# True from ansible-core 2.19 on: lazy templating and data tagging (the porting guide above).
CORE_2_19 = tuple(int(part) for part in __version__.split(".")[:2]) >= (2, 19)

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: no trust, every string is a template

    def trust_as_template(value):
        return value


try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def evaluate_conditional(templar, expr):
    """What ``when: EXPR`` gives with the templar's variables, on every ansible-core."""
    if hasattr(templar, "evaluate_conditional"):
        return templar.evaluate_conditional(trust_as_template(expr))
    from ansible.playbook.conditional import Conditional  # noqa: PLC0415 (only before 2.19)

    cond = Conditional(loader=DataLoader())
    cond.when = [expr]
    return cond.evaluate_conditional(templar, templar.available_variables)
