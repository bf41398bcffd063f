"""mnist_cnn.py --distributed under torchrun: two CPU processes (gloo) on the digits data."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TRAINER = Path(__file__).resolve().parents[3] / "roles" / "trainers" / "files" / "mnist_cnn.py"


def _torchrun():
    beside = Path(sys.executable).with_name("torchrun")
    if beside.is_file():
        return str(beside)
    return shutil.which("torchrun")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this torch build has no torch.distributed")
@pytest.mark.skipif(_torchrun() is None, reason="torchrun is not installed beside this Python nor on PATH")
def test_two_process_torchrun(digits_dir, tmp_path):
    output = tmp_path / "ddp" / "metrics.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            _torchrun(),
            *("--standalone", "--nproc-per-node", "2"),
            str(TRAINER),
            "--distributed",
            *("--data-dir", str(digits_dir), "--epochs", "2", "--limit", "256", "--device", "cpu"),
            *("--output", str(output), "--timeout", "120"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[mnist_cnn rank 0/2] epoch 2/2" in result.stdout
    assert "[mnist_cnn rank 1/2] epoch 2/2" in result.stdout

    ranks = [json.loads((tmp_path / "ddp" / f"metrics.rank{rank}.json").read_text()) for rank in (0, 1)]
    for rank, result_file in enumerate(ranks):
        assert result_file["status"] == "finished"
        assert result_file["rank"] == rank
        assert result_file["world_size"] == 2
        assert result_file["backend"] == "gloo"
        assert result_file["hostname"] == socket.gethostname()
        assert result_file["samples_seen"] == 2 * 128  # 2 epochs of half of 256 images
        assert len(result_file["losses"]) == 2
        assert result_file["seconds"] > 0
    # The sampler gave each rank different images, so their losses differ.
    assert ranks[0]["losses"] != ranks[1]["losses"]

    metrics = json.loads(output.read_text())
    assert metrics["distributed"] is True
    assert metrics["world_size"] == 2
    assert metrics["backend"] == "gloo"
    assert metrics["train_samples"] == 256
    assert metrics["test_samples"] == 256
    assert [entry["rank"] for entry in metrics["ranks"]] == [0, 1]
    # The combined loss of an epoch is the sample-weighted mean of the ranks' losses (equal shards here).
    for epoch in range(2):
        mean = (ranks[0]["losses"][epoch] + ranks[1]["losses"][epoch]) / 2
        assert metrics["losses"][epoch] == pytest.approx(mean, rel=1e-9)
    assert metrics["losses"][1] < metrics["losses"][0]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert (tmp_path / "ddp" / "metrics.pt").is_file()
