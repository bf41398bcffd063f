# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: read the SHA-256 digest of a file from a ``.sha256`` or ``SHA256SUMS`` text (thin wrapper over
module_utils/_pytorch_env.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

pe = ModuleUtils("_pytorch_env")


def sha256sum_digest(text, filename=None):
    try:
        return pe.sha256_from_record(text, filename)
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters({"sha256sum_digest": sha256sum_digest})
