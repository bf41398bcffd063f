# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback: load the collection's filter and action plugins once, in ansible-playbook's main process, so that the
worker process Ansible forks for each host and task finds them loaded instead of importing them again."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load the collection's filter and action plugins once per run instead of once per task and host
version_added: 1.1.0
description:
  - Ansible runs each task for each host in a worker process forked from C(ansible-playbook)'s main process
    (ansible-core C(lib/ansible/executor/process/worker.py)). A plugin the main process never loaded is imported
    again in every worker, and the collection's filters import their shared code with them. On the 2-core lab
    machine each task that used one of them took about 0.25 s longer than a task that did not (a play of 2 hosts
    and 7 tasks, measured with C(ansible.posix.profile_tasks)).
  - At the start of a playbook this callback loads every filter plugin and action plugin of C(torchfleet.lab)
    in the main process, imports the shared code the filters import on their first call, and runs the work an
    action plugin would repeat in each worker (C(validate_inputs) reads the roles' variable names once); every
    worker forked after that inherits them. The tasks' results and output are the same with it and without it.
  - Without this callback a task compiles only the shared code of the filters it uses (the filters import it on
    first call), but it does so in every worker, since ansible-core compiles collection code from source each time
    (C(lib/ansible/utils/collection_loader/_collection_finder.py), C(get_code)).
  - Enable it with C(callbacks_enabled = torchfleet.lab.fleet_summary, torchfleet.lab.preload) in C(ansible.cfg)
    (the collection's C(docs/ansible.cfg) does), or C(ANSIBLE_CALLBACKS_ENABLED).
  - A plugin that cannot be loaded is skipped with a message at C(-vvv); the task that uses it reports the error as
    it would without this callback.
author: torchfleet.lab contributors (!UNKNOWN)
"""

import os
import sys

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import action_loader, filter_loader
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils

COLLECTION = "torchfleet.lab"
FILTER_PACKAGE = "ansible_collections.torchfleet.lab.plugins.filter."
PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugin_names(kind):
    """The names of the collection's plugins of ``kind``: one per documentation file (filters, each documented in
    a .yml of its own) or per Python file (actions)."""
    directory = os.path.join(PLUGINS, kind)
    suffix = ".yml" if kind == "filter" else ".py"
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return []
    return [entry[: -len(suffix)] for entry in entries if entry.endswith(suffix) and not entry.startswith("_")]


def _load_action(fqcn):
    """Load an action plugin and run its module's ``preload()`` where it has one (work it would otherwise repeat in
    every worker, such as validate_inputs reading the roles' variable names)."""
    action = action_loader.get(fqcn, class_only=True)
    hook = getattr(sys.modules.get(getattr(action, "__module__", ""), None), "preload", None)
    if callable(hook):
        hook()
    return action


def import_filter_module_utils():
    """Import the module_utils that the loaded filter files name (their ModuleUtils), as each filter's first call
    would in every worker; the sorted module names."""
    names = set()
    for name, module in list(sys.modules.items()):
        if name.startswith(FILTER_PACKAGE) and module is not None:
            for value in list(vars(module).values()):
                if isinstance(value, ModuleUtils):
                    names.add(value.load().__name__)
    return sorted(names)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "torchfleet.lab.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        loaded = 0
        for kind, load in (
            ("filter", filter_loader.get),
            ("action", _load_action),
        ):
            for name in plugin_names(kind):
                fqcn = f"{COLLECTION}.{name}"
                try:
                    if load(fqcn) is not None:
                        loaded += 1
                except Exception as error:
                    self._display.vvv(f"torchfleet.lab.preload: {kind} {fqcn}: {error}")
        self._display.vvv(f"torchfleet.lab.preload: {loaded} plugins loaded")
        try:
            imported = import_filter_module_utils()
        except Exception as error:
            self._display.vvv(f"torchfleet.lab.preload: module_utils: {error}")
        else:
            self._display.vvv(f"torchfleet.lab.preload: {len(imported)} module_utils imported")
