"""An unquoted version is refused before anything changes, on both hosts of the default scenario.

YAML reads ``pytorch_version: 2.10`` as the float 2.1 (and ``pytorch_python_version: 3.10`` as 3.1); before
the fix the role turned it back into the string "2.1" and installed torch 2.1.2 (issue 10, item 1).  Extra
vars given as JSON keep the number, exactly as a YAML inventory does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

PLAYBOOK = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[3])) / "playbooks" / "site.yml"
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
ENVS = {
    "tf-conda": "/opt/miniconda3/envs/pytorch_env",
    "tf-uv": "/home/student/.local/share/torchfleet/envs/pytorch_env",
}


def _snapshot(host, prefix):
    """What a run would change: the environment's packages and files, newest first."""
    listing = host.run(f"find {prefix} -newer {prefix}/bin/python -maxdepth 4 | sort").stdout
    torch = host.run(f"{prefix}/bin/python -c 'import torch; print(torch.__version__)'").stdout
    return listing, torch


@pytest.mark.parametrize("name", ["tf-conda", "tf-uv"])
@pytest.mark.parametrize(
    ("extra", "variable"),
    [({"pytorch_version": 2.10}, "pytorch_version"), ({"pytorch_python_version": 3.10}, "pytorch_python_version")],
    ids=["pytorch_version-2.10", "pytorch_python_version-3.10"],
)
def test_an_unquoted_version_is_refused_and_nothing_changes(name, extra, variable, conda_host, uv_root):
    host = conda_host if name == "tf-conda" else uv_root
    before = _snapshot(host, ENVS[name])
    assert before[1].strip().startswith("2.13.0")
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", name, str(PLAYBOOK),
           "-e", json.dumps(extra)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert variable in output and "quote it" in output, output[-3000:]
    # Refused in preflight: no install task ran, and the environment is as it was.
    assert "Install torch into the environment" not in output
    assert "Create the conda environment with torch" not in output
    assert _snapshot(host, ENVS[name]) == before
