"""health_allreduce.py in an environment with torch and no numpy, as pytorch_env builds one (pytorch_env_packages:
[torch]): the lab's first run failed there in all_gather_object ("RuntimeError: Numpy is not available")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "trainers" / "files" / "health_allreduce.py"


def _torchrun():
    beside = Path(sys.executable).with_name("torchrun")
    return str(beside) if beside.is_file() else shutil.which("torchrun")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this torch build has no torch.distributed")
@pytest.mark.skipif(_torchrun() is None, reason="torchrun is not installed beside this Python nor on PATH")
def test_the_ranks_gather_their_host_names_without_numpy(tmp_path):
    # A numpy that cannot be imported stands first on the path: torch then runs without it, as in the lab's env.
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "numpy.py").write_text('raise ModuleNotFoundError("numpy is hidden", name="numpy")\n', encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; torch.zeros(1).numpy()"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(hidden)}, check=False,
    )  # fmt: skip
    assert "Numpy is not available" in probe.stderr, probe.stderr  # the hiding works
    output = tmp_path / "allreduce.json"
    result = subprocess.run(
        [_torchrun(), "--standalone", "--nproc-per-node", "2", str(SCRIPT), "--sizes", "4096", "--iters", "2",
         "--warmup", "1", "--timeout", "120", "--output", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(hidden)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["hosts"] == [os.uname().nodename] * 2
    assert data["busbw"] > 0
