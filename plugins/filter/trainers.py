# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``trainers_*``: check a trainers request and decide its paths and runs for a host (thin wrappers over
module_utils._trainers).  Internal to the collection: the trainers role calls them, and they may change with it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.module_utils import _trainers
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import checked_filters


def trainers_plan(facts, **options):
    if not isinstance(facts, dict):
        raise AnsibleFilterError(f"trainers_plan takes the host's ansible_facts, not {type(facts).__name__}")
    try:
        plan = _trainers.plan(facts.get("system"), home=facts.get("user_dir") or "", **options)
    except (_trainers.TrainersPlanError, TypeError) as exc:
        raise AnsibleFilterError(str(exc)) from exc
    # A real Ansible warning (shown once per message), not a debug line.
    for warning in plan.get("warnings", []):
        Display().warning(warning)
    return plan


def trainers_single_run(host_plan, script, inputs, script_sha1):
    try:
        return _trainers.single_run(host_plan, script, inputs, script_sha1)
    except (_trainers.TrainersPlanError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"trainers_single_run: {exc}") from exc


def trainers_ddp_done(found_by_host, hosts, nproc, combined_name):
    if not isinstance(found_by_host, dict):
        raise AnsibleFilterError(
            f"trainers_ddp_done takes a mapping of host to find results, not {type(found_by_host).__name__}"
        )
    try:
        return _trainers.ddp_run_done(found_by_host, list(hosts), int(nproc), str(combined_name))
    except (TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError(f"trainers_ddp_done: {exc}") from exc


class FilterModule:
    def filters(self):
        return checked_filters(
            {
                "trainers_plan": trainers_plan,
                "trainers_single_run": trainers_single_run,
                "trainers_ddp_done": trainers_ddp_done,
            },
            forwards={"trainers_plan": ((_trainers.Request,), ("home",))},
        )
