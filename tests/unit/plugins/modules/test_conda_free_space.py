"""torchfleet.lab.conda_free_space measures the filesystem of the nearest existing directory and changes nothing."""

from __future__ import annotations

import os
from collections import namedtuple
from unittest import mock

from ansible_collections.torchfleet.lab.plugins.modules import conda_free_space

from .conftest import run_main

MB = 1024 * 1024
Vfs = namedtuple("Vfs", "f_bavail f_frsize")


def run(tmp_path, free_mb, **params):
    args = {"prefix": str(tmp_path / "new" / "conda"), "cache_dir": str(tmp_path / "cache"),
            "installer_path": str(tmp_path / "cache" / "Miniconda3-x.sh"), "min_free_mb": 450, **params}  # fmt: skip
    vfs = Vfs(free_mb * 256, 4096)
    with mock.patch.object(conda_free_space.os, "statvfs", return_value=vfs) as statvfs:
        outcome = run_main(conda_free_space.main, args)
    return outcome.kwargs, statvfs


def test_a_prefix_that_does_not_exist_is_measured_at_its_nearest_existing_parent(tmp_path):
    before = sorted(os.listdir(tmp_path))
    result, statvfs = run(tmp_path, 16)
    assert result["prefix_fs"]["path"] == str(tmp_path)
    assert result["prefix_fs"]["free_bytes"] == 16 * MB
    assert "has 16 MB free; Miniconda needs at least 450 MB" in result["refusal"]
    assert result["changed"] is False
    assert sorted(os.listdir(tmp_path)) == before  # nothing created
    assert statvfs.call_args_list[0].args == (str(tmp_path),)


def test_an_installer_already_downloaded_needs_no_room(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "Miniconda3-x.sh").write_text("#!/bin/sh\n")
    result = run(tmp_path, 460, installer_bytes=100 * MB)[0]
    assert result["refusal"] == ""
    result = run(tmp_path, 460, installer_path=str(tmp_path / "cache" / "other.sh"), installer_bytes=100 * MB)[0]
    assert "plus 100 MB for other.sh" in result["refusal"]
