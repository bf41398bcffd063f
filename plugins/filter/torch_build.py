# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: choose the PyTorch build for a host (thin wrapper over module_utils/_torch_build)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_torch_build = ModuleUtils("_torch_build")
_torch_matrix = ModuleUtils("_torch_matrix")


# More than five arguments (ruff PLR0913): a filter's documented options, which playbooks may pass by position.
def torch_build(  # noqa: PLR0913
    version,
    system=None,
    machine=None,
    python=None,
    compute="auto",
    nvidia_driver=None,
    index_base=None,
    gpu_compute_capabilities=None,
):
    try:
        return _torch_build.resolve(
            version,
            system,
            machine,
            python=python,
            compute=compute,
            nvidia_driver=nvidia_driver,
            index_base=index_base or _torch_matrix.DEFAULT_INDEX_BASE,
            gpu_compute_capabilities=gpu_compute_capabilities,
        )
    except _torch_build.TorchBuildError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return checked_filters({"torch_build": torch_build})
