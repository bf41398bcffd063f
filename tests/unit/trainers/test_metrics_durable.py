"""The trainers' metrics reach the disk before they take their final name: the role skips a run whose metrics
file exists, so an empty file there after a power cut would pass for a finished run."""

from __future__ import annotations

import json
import os

import pytest


@pytest.mark.parametrize("module", ["cnn_mod", "linear_mod"])
def test_metrics_are_synced_before_and_after_the_rename(module, request, tmp_path, monkeypatch):
    trainer = request.getfixturevalue(module)
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "runs" / "metrics.json"
    trainer.write_json_atomic(str(path), {"final_loss": 0.5})
    # The file's data, then its name, then the directory that holds the name.
    assert events == [("fsync", False), ("replace", "metrics.json"), ("fsync", True)]
    assert json.loads(path.read_text()) == {"final_loss": 0.5}
    assert sorted(os.listdir(path.parent)) == ["metrics.json"]
