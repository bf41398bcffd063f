"""Connections to the default scenario's hosts through molecule's inventory (podman connection)."""

from __future__ import annotations

import os

import pytest
import testinfra


def _host(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def conda_host():
    return _host("tf-conda")


@pytest.fixture(scope="module")
def uv_host():
    return _host("tf-uv")


@pytest.fixture(scope="module")
def uv_root():
    # The user-scope host's login cannot read the whole filesystem; look at it as root through podman.
    return testinfra.get_host("podman://tf-uv")
