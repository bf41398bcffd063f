"""health_allreduce.py under torchrun: real gloo processes on loopback, and nccl-tests' bus bandwidth formula."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .conftest import TRAINERS, _load

SCRIPT = TRAINERS / "health_allreduce.py"


@pytest.fixture(scope="module")
def allreduce():
    return _load(SCRIPT, "torchfleet_trainer_health_allreduce")


def _torchrun():
    beside = Path(sys.executable).with_name("torchrun")
    return str(beside) if beside.is_file() else shutil.which("torchrun")


@pytest.mark.parametrize(
    ("ranks", "factor"),
    # nccl-tests' PERFORMANCE.md: all-reduce busbw = algbw * 2(n-1)/n.
    [(1, 0.0), (2, 1.0), (3, 4 / 3), (4, 1.5), (8, 1.75)],
)
def test_bus_factor(allreduce, ranks, factor):
    assert allreduce.bus_factor(ranks) == pytest.approx(factor)
    entry = allreduce.bandwidths(1 << 20, 0.5, ranks)
    assert entry == {"bytes": 1 << 20, "seconds": 0.5, "algbw": 2.0 * (1 << 20), "busbw": 2.0 * (1 << 20) * factor}


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this torch build has no torch.distributed")
@pytest.mark.skipif(_torchrun() is None, reason="torchrun is not installed beside this Python nor on PATH")
@pytest.mark.parametrize("ranks", [2, 3])
def test_torchrun_gloo_on_loopback(tmp_path, ranks):
    output = tmp_path / "allreduce.json"
    result = subprocess.run(
        [
            _torchrun(),
            *("--standalone", "--nproc-per-node", str(ranks)),
            str(SCRIPT),
            *("--sizes", "4096,262144", "--iters", "3", "--warmup", "1", "--timeout", "120"),
            *("--output", str(output)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(output.read_text())
    assert data["schema"] == 1
    assert data["backend"] == "gloo"
    assert data["world_size"] == ranks
    assert len(data["hosts"]) == ranks
    assert [entry["bytes"] for entry in data["results"]] == [4096, 262144]
    for entry in data["results"]:
        assert entry["seconds"] > 0
        assert entry["algbw"] == pytest.approx(entry["bytes"] / entry["seconds"])
        assert entry["busbw"] == pytest.approx(entry["algbw"] * 2 * (ranks - 1) / ranks)
    assert data["busbw"] == data["results"][-1]["busbw"]
    assert "262144 B:" in result.stderr  # rank 0's progress line


def test_not_under_torchrun_is_exit_2(allreduce, monkeypatch, capsys):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert allreduce.main(["--sizes", "4096"]) == 2
    assert "not started by torchrun" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a host without CUDA")
def test_nccl_without_cuda_is_refused(allreduce):
    with pytest.raises(allreduce.UsageError, match="--backend nccl needs CUDA"):
        allreduce.choose_backend("nccl", 0)
    assert allreduce.choose_backend("auto", 0) == ("gloo", torch.device("cpu"))


@pytest.mark.parametrize(
    ("text", "message"),
    [("1000,abc", "'abc' is not a whole number"), ("6", "not a positive multiple of 4"), ("0", "positive multiple")],
)
def test_bad_sizes(allreduce, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        allreduce.sizes_list(text)
    assert allreduce.sizes_list("64,8,64") == [8, 64]
