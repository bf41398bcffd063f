"""module_utils/_torch_info.py: the one command vector for every OS and how its report is judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_info as ti

FIXTURES = Path(__file__).resolve().parents[1] / "modules" / "fixtures"


@pytest.mark.parametrize(
    "python",
    [
        "/opt/torchfleet/envs/pytorch_env/bin/python",  # Linux
        "/Users/ana/.local/share/torchfleet/envs/pytorch_env/bin/python",  # macOS
        "C:\\ProgramData\\miniconda3\\envs\\pytorch_env\\python.exe",  # Windows, conda
        "C:\\Users\\lab\\AppData\\Local\\torchfleet\\envs\\pytorch_env\\Scripts\\python.exe",  # Windows, venv
    ],
)
def test_command_calls_the_interpreter_directly(python):
    argv = ti.command(python, "mps", 32)
    assert argv == [python, "-c", ti.SCRIPT, '{"device": "mps", "size": 32}']


def test_script_is_one_ascii_program_without_shell_syntax():
    # win_command quotes each argument with the C runtime's rules; the script must survive that unchanged.
    assert ti.SCRIPT.isascii()
    compile(ti.SCRIPT, "<torch_info>", "exec")


def test_mps_unavailable_says_what_mps_needs():
    report = (FIXTURES / "torch_info_mps_unavailable_hand_written.json").read_text()
    with pytest.raises(ti.TorchInfoError) as info:
        ti.evaluate("/Users/ana/env/bin/python", "mps", 4, report, "")
    msg = info.value.msg
    assert msg.startswith("/Users/ana/env/bin/python: device mps requested but torch reports it unavailable.")
    assert "MPS built: True, available: False" in msg
    assert "macOS 12.3" in msg and "Apple silicon" in msg
    assert "runs as x86_64; on an Apple silicon Mac that means Rosetta" in msg
    assert "pytorch_env_verify_device: cpu" in msg
    assert info.value.result["rc"] == 4


def test_native_arm64_interpreter_gets_no_rosetta_hint():
    report = json.dumps({"error": "device mps requested but torch reports it unavailable", "machine": "arm64",
                         "mps_built": True, "mps_available": False, "version": "2.15.0"})  # fmt: skip
    with pytest.raises(ti.TorchInfoError) as info:
        ti.evaluate("/x/python", "mps", 4, report, "")
    assert "MPS built: True, available: False" in info.value.msg and "Rosetta" not in info.value.msg


def test_cuda_unavailable_has_no_mps_hint():
    report = json.dumps({"error": "device cuda requested but torch reports it unavailable", "mps_available": False})
    with pytest.raises(ti.TorchInfoError) as info:
        ti.evaluate("/x/python", "cuda", 4, report, "")
    assert "MPS" not in info.value.msg


def test_report_keys_and_warning():
    report = (FIXTURES / "torch_info_bad_matmul_hand_written.json").read_text()
    result, warnings = ti.evaluate("/x/python", "auto", 0, report, "")
    assert set(result) == set(ti.KEYS)
    assert len(warnings) == 1


def test_check_size():
    assert ti.check_size(0) == 0
    with pytest.raises(ti.TorchInfoError, match="matmul_size"):
        ti.check_size(-1)
