# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the NVIDIA driver plan for a host (thin wrapper over module_utils._driver)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver


def driver_plan(facts, **options):
    try:
        return _driver.plan(facts, **options)
    except (_driver.DriverPlanError, TypeError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"driver_plan": driver_plan}
