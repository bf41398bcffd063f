# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``trainers_*``: check a trainers request and decide its paths and runs for a host (thin wrappers over
module_utils._trainers).  Internal to the collection: the trainers role calls them, and they may change with it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_trainers = ModuleUtils("_trainers")


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


def trainers_health_run(host_plan, args):
    try:
        return _trainers.health_run(host_plan, list(args))
    except (_trainers.TrainersPlanError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"trainers_health_run: {exc}") from exc


def _mapping(name, value):
    if not isinstance(value, dict):
        raise AnsibleFilterError(f"{name} takes a mapping of host to result, not {type(value).__name__}")
    return value


def trainers_ddp_run(host_plan, inputs, script_sha1, hosts, nproc):
    try:
        return _trainers.ddp_run(host_plan, inputs, script_sha1, list(hosts), nproc)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"trainers_ddp_run: {exc}") from exc


def trainers_ddp_needed(found_by_host, hosts, nproc, force=False):
    found = _mapping("trainers_ddp_needed", found_by_host)
    try:
        return _trainers.ddp_needed(found, list(hosts), int(nproc), force)
    except (TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError(f"trainers_ddp_needed: {exc}") from exc


def trainers_ddp_argv(host_plan, ddp, endpoint, job, args=None, host=None):  # noqa: PLR0913 -- the launch's identity
    try:
        return _trainers.ddp_argv(host_plan, ddp, endpoint, job, args, host)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"trainers_ddp_argv: {exc}") from exc


def trainers_ddp_outcome(status, timeout, logfile):
    return _trainers.ddp_outcome(_mapping("trainers_ddp_outcome", status), timeout, logfile)


def trainers_ddp_failures(parts, hosts):
    return _trainers.ddp_failures(list(hosts), _mapping("trainers_ddp_failures", parts))


def trainers_ddp_unreached(reach_by_host, hosts):
    return _trainers.ddp_unreached(list(hosts), _mapping("trainers_ddp_unreached", reach_by_host))


class FilterModule:
    def filters(self):
        return checked_filters(
            {
                "trainers_plan": trainers_plan,
                "trainers_single_run": trainers_single_run,
                "trainers_health_run": trainers_health_run,
                "trainers_ddp_run": trainers_ddp_run,
                "trainers_ddp_needed": trainers_ddp_needed,
                "trainers_ddp_argv": trainers_ddp_argv,
                "trainers_ddp_outcome": trainers_ddp_outcome,
                "trainers_ddp_failures": trainers_ddp_failures,
                "trainers_ddp_unreached": trainers_ddp_unreached,
            },
            forwards={"trainers_plan": lambda: ((_trainers.Request,), ("home",))},
        )
