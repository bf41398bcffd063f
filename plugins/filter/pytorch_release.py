# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``pytorch_release``: the exact PyTorch release ``pytorch_version`` names (thin wrapper over
module_utils/_torch_build.py).  Internal to the collection: the gpu_driver and pytorch_env roles publish its
answer as the ``torchfleet_pytorch_release`` fact, and it may change with them."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_torch_build = ModuleUtils("_torch_build")


def pytorch_release(version, known=None):
    # version: pytorch_version as it arrived (a float must still be a float here, to be refused).
    try:
        return _torch_build.pytorch_release(version, known)
    except _torch_build.TorchBuildError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters({"pytorch_release": pytorch_release})
