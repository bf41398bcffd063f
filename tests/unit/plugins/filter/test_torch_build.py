"""The torch_build filter wraps the resolver; its errors become filter errors with the same message."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.torch_build import FilterModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_matrix as tm
from ansible_collections.torchfleet.lab.plugins.module_utils._torch_build import TorchBuildError, resolve

REPO_ROOT = Path(__file__).resolve().parents[4]
torch_build = FilterModule().filters()["torch_build"]


def test_filter_returns_the_resolver_result():
    got = torch_build("2.7.1", system="Linux", machine="x86_64", nvidia_driver="560.35.03")
    assert got == resolve("2.7.1", "Linux", "x86_64", nvidia_driver="560.35.03")
    assert got["compute"] == "cu126"
    assert got["index_url"] is None


def test_filter_passes_gpu_compute_capabilities_to_the_driver_rule():
    # Issue 10 item 14: R535 runs 2.8's CUDA 12.x builds under minor-version compatibility when they carry SASS.
    pascal = torch_build(
        "2.8.0", system="Linux", machine="x86_64", nvidia_driver="535.104.05", gpu_compute_capabilities=["6.1"]
    )
    assert (pascal["compute"], pascal["driver_rule"], pascal["full_driver"]) == ("cu126", "minor_version", "560.28.03")
    with pytest.raises(AnsibleFilterError, match=r"no machine code for compute capability 3\.5"):
        torch_build(
            "2.8.0", system="Linux", machine="x86_64", nvidia_driver="535.104.05", gpu_compute_capabilities=["3.5"]
        )


def test_filter_accepts_index_base_and_treats_empty_as_default():
    mirrored = torch_build("2.0.1", system="Linux", machine="x86_64", compute="cu118", index_base="http://m/whl")
    assert mirrored["index_url"] == "http://m/whl/cu118"
    default = torch_build("2.0.1", system="Linux", machine="x86_64", compute="cu118", index_base="")
    assert default["index_url"] == "https://download.pytorch.org/whl/cu118"


def test_filter_treats_empty_python_and_driver_as_absent():
    got = torch_build("2.4", system="linux", machine="AMD64", python="", nvidia_driver="", compute="auto")
    assert (got["torch"], got["python"], got["compute"], got["index_url"]) == (
        "2.4.1",
        "3.12",
        "cpu",
        "https://download.pytorch.org/whl/cpu",
    )


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("2.0.1",), {"system": "Linux", "machine": "x86_64", "python": "3.12"}),
        (("2.7.1",), {"system": "Linux", "machine": "x86_64", "compute": "cuda"}),
        (("2.3.0",), {"system": "Darwin", "machine": "x86_64"}),
        (("2.7.1",), {"system": "Linux", "machine": "x86_64", "nvidia_driver": "five"}),
        (("2.7.1",), {}),
    ],
)
def test_errors_become_filter_errors_with_the_same_message(args, kwargs):
    with pytest.raises(TorchBuildError) as direct:
        resolve(*args, **{"system": None, "machine": None, **kwargs})
    with pytest.raises(AnsibleFilterError) as wrapped:
        torch_build(*args, **kwargs)
    assert wrapped.value.message == str(direct.value)
    assert isinstance(wrapped.value.__cause__, TorchBuildError)


# --- docs/compatibility.md is generated from the data ------------------------------------------------------


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_compatibility_doc", REPO_ROOT / "tools" / "gen_compatibility_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_doc_matches_the_data(capsys):
    gen = _load_generator()
    assert gen.main(["--check"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_check_fails_after_a_change_to_the_data(monkeypatch, capsys):
    gen = _load_generator()
    real = gen.load_matrix()
    monkeypatch.setitem(real.RELEASES["2.7.1"], "torchvision", "0.22.9")
    monkeypatch.setattr(gen, "load_matrix", lambda: real)
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "out of date with plugins/module_utils/_torch_matrix.py" in err
    assert "python tools/gen_compatibility_doc.py" in err


def test_generated_doc_shows_the_data(tmp_path):
    gen = _load_generator()
    out = tmp_path / "compat.md"
    assert gen.main(["--check", "--output", str(out)]) == 1  # missing file
    assert gen.main(["--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| 2.0.1 | 3.8-3.11 | cu117, cu118 | - | cu117, cu118 | rocm5.4.2 | 0.15.2 | 2.0.2 |" in text
    assert "| 12.8 | cu128 | >= 570.26 | >= 570.65 |" in text
    assert gen.main(["--check", "--output", str(out)]) == 0
    assert text.count("\n| 2.") == len(tm.RELEASES)
