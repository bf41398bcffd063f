"""A loss that becomes NaN or infinite ends a trainer with exit code 3 and one line, and no metrics JSON.

A learning rate of 1e30 makes both models overflow within two epochs (recorded by running the scripts:
linear_regression reaches ``inf`` at epoch 2, mnist_cnn ``nan`` at epoch 2).  Before this check the
trainers exited 0 and wrote ``NaN`` into the metrics, which strict JSON readers refuse.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TRAINERS = Path(__file__).resolve().parents[3] / "roles" / "trainers" / "files"


def _assert_diverged(result, output: Path, where: str):
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{where}: error: the loss is " in result.stderr, result.stderr
    assert "training diverged; lower --lr" in result.stderr, result.stderr
    # Nothing that looks like a finished run is left for the role to read (or to skip the next run for).
    assert not output.exists()
    assert not output.with_suffix(".pt").exists()


def test_linear_divergence_exits_3_without_metrics(run, tmp_path):
    output = tmp_path / "linear.json"
    result = run("linear_regression.py", "--lr", "1e30", "--epochs", 20, "--device", "cpu", "--output", output)
    _assert_diverged(result, output, "linear_regression")


def test_cnn_divergence_exits_3_without_metrics(run, tmp_path, mnist_files):
    data = mnist_files(train=64, test=8)["train_images"].parent
    output = tmp_path / "cnn.json"
    result = run(
        "mnist_cnn.py",
        *("--data-dir", data, "--lr", "1e30", "--epochs", 3, "--device", "cpu", "--output", output),
    )
    _assert_diverged(result, output, "mnist_cnn")


@pytest.mark.parametrize("module", ["linear_mod", "cnn_mod"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_metrics_json_refuses_non_finite_numbers(module, value, request, tmp_path):
    trainer = request.getfixturevalue(module)
    path = tmp_path / "metrics.json"
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        trainer.write_json_atomic(str(path), {"final_loss": value})
    assert not path.exists()


def test_finite_metrics_are_strict_json(run, tmp_path):
    output = tmp_path / "linear.json"
    result = run("linear_regression.py", "--epochs", 5, "--device", "cpu", "--output", output)
    assert result.returncode == 0, result.stderr

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    metrics = json.loads(output.read_text(), parse_constant=refuse)
    assert all(math.isfinite(loss) for loss in metrics["losses"])


def _torchrun():
    beside = Path(sys.executable).with_name("torchrun")
    return str(beside) if beside.is_file() else shutil.which("torchrun")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this torch build has no torch.distributed")
@pytest.mark.skipif(_torchrun() is None, reason="torchrun is not installed beside this Python nor on PATH")
def test_distributed_divergence_stops_every_rank_at_once(mnist_files, tmp_path):
    data = mnist_files(train=64, test=8)["train_images"].parent
    output = tmp_path / "ddp" / "metrics.json"
    result = subprocess.run(
        [
            _torchrun(),
            *("--standalone", "--nproc-per-node", "2"),
            str(TRAINERS / "mnist_cnn.py"),
            "--distributed",
            *("--data-dir", str(data), "--epochs", "3", "--lr", "1e30", "--device", "cpu"),
            # A rank left waiting for a peer would hang for this long; the test's own timeout is far below it.
            *("--output", str(output), "--timeout", "600"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    for rank in (0, 1):
        assert f"mnist_cnn rank {rank}: error: the loss is nan at epoch" in log, log
        assert not (tmp_path / "ddp" / f"metrics.rank{rank}.json").exists()
    assert not output.exists()
