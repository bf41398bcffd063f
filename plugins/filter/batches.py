# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: check site.yml's and train.yml's batch settings and cut the batches Ansible will run (thin wrapper
over module_utils/_batches.py, where Ansible's rules are cited and unit-tested)."""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_batches = ModuleUtils("_batches")


def play_batches(serial, max_fail_percentage=None, hosts=None, together=None, group=""):
    if isinstance(together, dict):  # host: whether it takes part (trainers_distributed of each host)
        together = [host for host, takes_part in together.items() if boolean(takes_part, strict=False)]
    return _batches.plan(serial, max_fail_percentage, list(hosts or []), list(together or []), str(group or ""))


class FilterModule:
    def filters(self):
        return checked_filters({"play_batches": play_batches})
