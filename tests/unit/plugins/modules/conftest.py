"""Helpers for the module tests: run a module's ``main()`` in-process and catch what it returns.

``AnsibleModule.exit_json`` and ``fail_json`` print the result and call ``sys.exit``; here they raise
``ExitJson``/``FailJson`` carrying the result instead. ``fail_json`` adds ``failed: true`` and ``msg`` as ansible-core
2.19 does (lib/ansible/module_utils/basic.py, ``AnsibleModule.fail_json``). ``changed`` is not filled in: the controller
would default it to false, but a test that reads ``result["changed"]`` should see what the module itself returned.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from ansible.module_utils import basic

from ...ansible_compat import patch_module_args

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name):
    return (FIXTURES / name).read_text()


class ExitJson(Exception):
    """The module called exit_json; ``kwargs`` is its result."""

    def __init__(self, kwargs):
        super().__init__(kwargs)
        self.kwargs = kwargs


class FailJson(ExitJson):
    """The module called fail_json; ``kwargs`` is its result, with ``failed: true``."""


def exit_json(self, **kwargs):
    raise ExitJson(kwargs)


def fail_json(self, msg, **kwargs):
    kwargs.update(failed=True, msg=str(msg))
    raise FailJson(kwargs)


def run_main(main, params, check_mode=False, **methods):
    """Run MAIN with module PARAMS and the AnsibleModule METHODS replaced; return the ExitJson or FailJson."""
    params = dict(params)
    if check_mode:
        params["_ansible_check_mode"] = True
    patches = mock.patch.multiple(basic.AnsibleModule, exit_json=exit_json, fail_json=fail_json, **methods)
    with patch_module_args(params), patches, pytest.raises(ExitJson) as info:
        main()
    return info.value
