"""Unit tests of torchfleet.lab.torch_info.

run_command is mocked with recorded reports (fixtures/); the module's script itself is run against a real torch
when one is available: set TORCHFLEET_TEST_TORCH_PYTHON to an interpreter that imports torch (the CPU wheel in
/opt/wheels installs in ~20 s plus its dependencies, too slow to do inside the unit run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ansible_collections.torchfleet.lab.plugins.modules import torch_info

from .conftest import fixture, run_main

PYTHON = "/opt/envs/torch/bin/python"


def run(params, response, check_mode=False):
    calls = []
    warnings = []

    def run_command(module, args, **kwargs):
        calls.append(list(args))
        return response

    def warn(module, msg):
        warnings.append(msg)

    outcome = run_main(torch_info.main, params, check_mode, run_command=run_command, warn=warn)
    return outcome.kwargs, calls, warnings


@pytest.mark.parametrize(
    ("name", "cuda_available", "device"),
    [("torch_info_cpu_2.13.0_recorded.json", False, "cpu"), ("torch_info_cuda_hand_written.json", True, "cuda")],
)
def test_report(name, cuda_available, device):
    result, calls, warnings = run({"python": PYTHON}, (0, fixture(name), ""), check_mode=True)
    assert result["changed"] is False
    assert set(torch_info.KEYS) <= set(result)
    assert result["cuda_available"] is cuda_available
    assert result["matmul"]["device"] == device and result["matmul"]["ok"] is True
    assert len(result["devices"]) == result["device_count"]
    assert warnings == []
    (cmd,) = calls
    assert cmd[0] == PYTHON and cmd[1] == "-c" and cmd[2] == torch_info.SCRIPT
    assert json.loads(cmd[3]) == {"device": "auto", "size": 256}


def test_failed_matmul_is_reported_and_warned():
    result, _calls, warnings = run({"python": PYTHON}, (0, fixture("torch_info_bad_matmul_hand_written.json"), ""))
    assert result["matmul"]["ok"] is False
    assert "differs from the float64 reference" in warnings[0]


def test_report_after_noise_on_stdout():
    noisy = "UserWarning: something\n" + fixture("torch_info_cpu_2.13.0_recorded.json")
    result, _calls, _warnings = run({"python": PYTHON, "device": "cpu", "matmul_size": 0}, (0, noisy, "warn\n"))
    assert result["version"] == "2.13.0+cpu"


NO_TORCH_REPORT = (
    '{"python_version": "3.11.2", "executable": "/x", '
    '"error": "cannot import torch: ModuleNotFoundError: No module named \'torch\'"}\n'
)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ((3, NO_TORCH_REPORT, ""), "cannot import torch"),
        ((4, '{"error": "device cuda requested but torch reports it unavailable"}\n', ""), "device cuda requested"),
        ((1, "", "Traceback ...\nSegmentation fault\n"), "printed no torch report"),
    ],
)  # fmt: skip
def test_failures(response, expected):
    result, _calls, _warnings = run({"python": PYTHON, "device": "cuda"}, response)
    assert result["failed"] is True
    assert expected in result["msg"]
    assert result["stderr"] == response[2]
    assert result["rc"] == response[0]


def test_negative_size_rejected():
    result, calls, _warnings = run({"python": PYTHON, "matmul_size": -1}, (0, "", ""))
    assert result["failed"] is True and calls == []


# ------------------------------------------------------------------------------------------------ real torch
def _torch_python():
    candidate = os.environ.get("TORCHFLEET_TEST_TORCH_PYTHON") or sys.executable
    probe = subprocess.run([candidate, "-c", "import torch"], capture_output=True, check=False)
    return candidate if probe.returncode == 0 else None


TORCH_PYTHON = _torch_python()


@pytest.mark.skipif(
    TORCH_PYTHON is None,
    reason="no interpreter with torch: set TORCHFLEET_TEST_TORCH_PYTHON (e.g. a venv with "
    "/opt/wheels/torch-2.13.0+cpu-*.whl and its dependencies) to run the script against real torch",
)
@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_script_against_real_torch(device):
    proc = subprocess.run(
        [TORCH_PYTHON, "-c", torch_info.SCRIPT, json.dumps({"device": device, "size": 64})],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = torch_info.parse_output(proc.stdout)
    assert set(torch_info.KEYS) <= set(doc)
    assert doc["matmul"]["ok"] is True and doc["matmul"]["size"] == 64
    assert doc["matmul"]["max_abs_error"] < doc["matmul"]["tolerance"]


def test_mps_unavailable_fails_with_what_mps_needs():
    report = fixture("torch_info_mps_unavailable_hand_written.json")
    result, calls, _warnings = run({"python": PYTHON, "device": "mps"}, (4, report, ""), check_mode=True)
    assert result["failed"] is True and result["rc"] == 4
    assert "MPS built: True, available: False" in result["msg"] and "macOS 12.3" in result["msg"]
    assert json.loads(calls[0][3]) == {"device": "mps", "size": 256}
