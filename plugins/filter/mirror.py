# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``mirror_plan`` and ``mirror_release``: what the mirror role fetches for a fleet, and the release it
publishes (thin wrappers).  Internal to the collection: the mirror role calls them, and they may change with it.

The decisions live in module_utils/_mirror_plan.py, where they are unit-tested.
"""

from __future__ import annotations

import base64

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

mp = ModuleUtils("_mirror_plan")


def _host_settings(host_vars, defaults):
    return {name: host_vars.get(name, value) for name, value in defaults.items()}


def _glibc(host_vars):
    # playbooks/mirror.yml registers getconf GNU_LIBC_VERSION as __mirror_libc on Linux hosts.
    registered = host_vars.get("__mirror_libc", {})
    return str((registered or {}).get("stdout") or "") if isinstance(registered, dict) else ""


# More than five arguments (ruff PLR0913): the filter's options, each a role variable.
def mirror_plan(  # noqa: PLR0913
    hosts, hostvars=None, defaults=None, local_files=None, mnist=True, pypi_requirements=None,
    torch_index=None, pypi_index=None, nvidia=False,
):  # fmt: skip
    # hosts: the fleet's inventory names; hostvars: Ansible's hostvars; defaults: the client roles' defaults.
    if not isinstance(hosts, (list, tuple)) or hostvars is None or not isinstance(defaults, dict):
        raise AnsibleFilterError("mirror_plan expects a list of host names, hostvars= and defaults=")
    resolved = []
    try:
        for name in hosts:
            host_vars = hostvars[name]
            facts = host_vars.get("ansible_facts", {})
            gpu = facts.get("torchfleet_gpu") or {}
            system = str(facts.get("system") or "")
            os_version = _glibc(host_vars) if system == "Linux" else str(facts.get("distribution_version") or "")
            settings = _host_settings(host_vars, defaults)
            resolved.append(mp.resolve_host(name, facts, gpu, os_version, settings, nvidia=bool(nvidia)))
        return mp.plan(resolved, local_files or {}, mnist=mnist, pypi_requirements=list(pypi_requirements or []),
                       torch_index=mp.TORCH_INDEX if torch_index is None else torch_index,
                       pypi_index=mp.PYPI_SIMPLE if pypi_index is None else pypi_index)  # fmt: skip
    except mp.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def mirror_sources(plan, cache, set_lists):
    # set_lists: the results of the role's slurp loop over each wheel set's .complete file (one name a line).
    lists = {}
    for result in set_lists or []:
        text = base64.b64decode(result.get("content") or "").decode("utf-8")
        lists[result["item"]["key"]] = [line for line in text.splitlines() if line.strip()]
    try:
        return mp.sources(plan, str(cache), lists)
    except mp.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def mirror_release(plan, sources, sums):
    # sources: mirror_sources' list; sums: {src: sha256 or None} from the role's roles/mirror/files/sha256_files.py.
    files = []
    for entry in sources or []:
        digest = (sums or {}).get(entry["src"])
        if not digest:
            raise AnsibleFilterError(f"{entry['src']} (for {entry['path']}) is not a regular file on the controller")
        files.append({"path": entry["path"], "sha256": digest})
    try:
        return mp.release(plan, files)
    except mp.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters(
            {"mirror_plan": mirror_plan, "mirror_sources": mirror_sources, "mirror_release": mirror_release}
        )
