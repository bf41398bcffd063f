"""What the scenarios' testinfra tests share: a connection to a host of the scenario through molecule's inventory.

molecule's testinfra verifier runs pytest on ``molecule/<scenario>/tests``; pyproject.toml sets the rootdir to the
repository, so pytest loads this file for every scenario as a conftest of a parent directory.
"""

from __future__ import annotations

import os

import pytest
import testinfra


@pytest.fixture(scope="session")
def molecule_host():
    """A function: the testinfra host NAME, reached through molecule's inventory (the podman connection)."""

    def connect(name):
        inventory = os.environ["MOLECULE_INVENTORY_FILE"]
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")

    return connect
