"""Connections to the default scenario's hosts through molecule's inventory (podman connection)."""

from __future__ import annotations

import pytest
import testinfra


@pytest.fixture(scope="module")
def conda_host(molecule_host):
    return molecule_host("tf-conda")


@pytest.fixture(scope="module")
def uv_host(molecule_host):
    return molecule_host("tf-uv")


@pytest.fixture(scope="module")
def uv_root():
    # The user-scope host's login cannot read the whole filesystem; look at it as root through podman.
    return testinfra.get_host("podman://tf-uv")
