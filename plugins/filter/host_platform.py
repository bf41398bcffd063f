# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: name a host's OS and architecture the same way on Linux, macOS and Windows (thin wrapper over
module_utils/_pytorch_env.py, where it is unit-tested for the three systems)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

pe = ModuleUtils("_pytorch_env")


def host_platform(facts):
    try:
        return pe.host_platform(facts)
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters({"host_platform": host_platform})
