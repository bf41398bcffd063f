# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``driver_*``: the NVIDIA driver plan for a host, and the decisions taken on what the host answered
(thin wrappers over module_utils._driver).  Internal to the collection: the gpu_driver role calls them, and they
may change with it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_driver = ModuleUtils("_driver")


def driver_plan(facts, **options):
    try:
        return _driver.plan(facts, **options)
    except (_driver.DriverPlanError, TypeError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


def driver_holds(plan, dpkg_lines, pending=False):
    """The installed packages of the driver to hold, from ``dpkg-query`` lines in ``HOLD_QUERY_FORMAT``; with
    ``pending``, those the role installs that are not installed yet."""
    return _driver.hold_selection(plan, dpkg_lines, pending=bool(pending))


def driver_mok_state(stdout, stderr="", cert=""):
    """What ``mokutil --test-key`` said: absent, pending, enrolled or firmware (an error otherwise)."""
    try:
        return _driver.mok_state(stdout, stderr, cert)
    except _driver.DriverPlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters(
            {"driver_plan": driver_plan, "driver_holds": driver_holds, "driver_mok_state": driver_mok_state},
            forwards={"driver_plan": lambda: ((_driver.plan, _driver.PlanInputs), ("options",))},
        )
