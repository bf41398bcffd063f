"""Connection to the gpu_driver scenario's host through molecule's inventory (podman connection)."""

from __future__ import annotations

import os

import pytest
import testinfra


@pytest.fixture(scope="module")
def host():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://tf-gpu-driver?ansible_inventory={inventory}")
