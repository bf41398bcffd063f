"""Connection to the gpu_driver scenario's host through molecule's inventory (podman connection)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def host(molecule_host):
    return molecule_host("tf-gpu-driver")
