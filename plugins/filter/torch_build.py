# Copyright: torchfleet.lab contributors
# Apache License 2.0 (see LICENSE)
"""Filter: choose the PyTorch build for a host (thin wrapper over module_utils/_torch_build)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_build import TorchBuildError, resolve
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_matrix import DEFAULT_INDEX_BASE


def torch_build(  # noqa: PLR0917 - filter arguments may be given positionally
    version,
    system=None,
    machine=None,
    python=None,
    compute="auto",
    nvidia_driver=None,
    index_base=DEFAULT_INDEX_BASE,
):
    try:
        return resolve(
            version,
            system,
            machine,
            python=python,
            compute=compute,
            nvidia_driver=nvidia_driver,
            index_base=index_base or DEFAULT_INDEX_BASE,
        )
    except TorchBuildError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"torch_build": torch_build}
