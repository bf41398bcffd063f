# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``health_*`` of playbooks/health.yml: check the burn-in's inputs, evaluate the hosts' figures against
the fleet median and the datasheets, and render the report (thin wrappers over module_utils._health)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_health = ModuleUtils("_health")


def health_check_inputs(inputs):
    try:
        return _health.check_inputs(inputs)
    except _health.HealthError as exc:
        raise AnsibleFilterError(f"health_check_inputs: {exc}") from exc


def health_evaluate(results, allreduce=None, thresholds=None):
    try:
        return _health.evaluate(results, allreduce, thresholds)
    except _health.HealthError as exc:
        raise AnsibleFilterError(f"health_evaluate: {exc}") from exc


def health_report(evaluated, report_format="markdown", title="Fleet health report"):
    try:
        return _health.render(evaluated, report_format, title)
    except _health.HealthError as exc:
        raise AnsibleFilterError(f"health_report: {exc}") from exc


class FilterModule:
    def filters(self):
        return checked_filters(
            {
                "health_check_inputs": health_check_inputs,
                "health_evaluate": health_evaluate,
                "health_report": health_report,
            }
        )
