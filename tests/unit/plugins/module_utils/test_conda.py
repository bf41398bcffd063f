"""Unit tests of plugins/module_utils/_conda.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda

FIXTURES = Path(__file__).resolve().parents[1] / "modules" / "fixtures"


def fixture(name):
    return (FIXTURES / name).read_text()


# ------------------------------------------------------------------------------------------------ JSON parsing
def test_parse_progress_records_of_old_conda():
    text = fixture("ref_conda_22_9_create_progress.txt")
    assert "\0" in text
    doc = _conda.parse_conda_json(text)
    assert doc["success"] is True and doc["prefix"] == "/opt/miniforge3/envs/torch"


def test_parse_two_documents_takes_last():
    doc = _conda.parse_conda_json(fixture("ref_two_documents.txt"))
    assert doc["prefix"] == "/opt/miniforge3/envs/torch"


@pytest.mark.parametrize("text", ["", "\0\n\0", "not json at all", None])
def test_parse_rejects_garbage(text):
    with pytest.raises(ValueError):
        _conda.parse_conda_json(text)


def test_parse_bytes_and_list():
    assert _conda.parse_conda_json(b'[{"name": "x"}]\n') == [{"name": "x"}]


@pytest.mark.parametrize(
    ("name", "exception", "start"),
    [
        ("ref_error_tos.json", "CondaToSNonInteractiveError", "Terms of Service have not been accepted"),
        ("standin_error_tos.json", "CondaToSNonInteractiveError", "Terms of Service have not been accepted"),
        ("ref_error_env_not_found.json", "EnvironmentLocationNotFound", "Not a conda environment: /opt/mf/envs/nope"),
        ("standin_error_packages_not_found.json", "PackagesNotFoundError", "The following packages are not available"),
        ("ref_error_http.json", "CondaHTTPError", "HTTP 000 CONNECTION FAILED"),
        ("ref_error_multi.json", "CondaHTTPError", "HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge/noarch"),
    ],
)  # fmt: skip
def test_conda_error(name, exception, start):
    message, exc = _conda.conda_error(fixture(name), "")
    assert exc == exception
    assert message.startswith(start)


def test_conda_error_without_json():
    assert _conda.conda_error("", "Segmentation fault\n") == ("Segmentation fault", None)
    assert _conda.conda_error("", "")[0] == "conda failed without output"


@pytest.mark.parametrize("name", ["ref_env_list_25_5.json", "ref_env_list_25_11.json", "ref_info_25_11.json"])
def test_env_prefixes_both_shapes(name):
    assert _conda.env_prefixes(json.loads(fixture(name))) == ["/opt/miniforge3", "/opt/miniforge3/envs/torch"]


def test_packages_from_list():
    packages = _conda.packages_from_list(json.loads(fixture("ref_list_torch_env.json")))
    assert packages["torch"] == "2.13.0+cpu"
    assert packages["typing-extensions"] == "4.12.2"
    assert packages["python"] == "3.11.9"
    assert _conda.pypi_packages_from_list(json.loads(fixture("ref_list_torch_env.json"))) == {
        "filelock": "3.16.1", "torch": "2.13.0+cpu", "typing-extensions": "4.12.2"
    }  # fmt: skip


def test_installed_from_transaction():
    doc = json.loads(fixture("ref_create_25_11.json"))
    assert _conda.installed_from_transaction(doc) == ["zlib-1.3.1", "python-3.11.9", "pip-24.2"]
    assert _conda.installed_from_transaction(json.loads(fixture("standin_install_nothing.json"))) == []


@pytest.mark.parametrize(
    ("prefix", "system", "expected"),
    [
        ("/opt/mf/envs/torch", "Linux", "/opt/mf/envs/torch/bin/python"),
        ("/Users/lab/miniforge3/envs/t", "Darwin", "/Users/lab/miniforge3/envs/t/bin/python"),
        ("C:\\Users\\lab\\miniforge3\\envs\\torch", "Windows", "C:\\Users\\lab\\miniforge3\\envs\\torch\\python.exe"),
    ],
)
def test_env_python_path(prefix, system, expected):
    assert _conda.env_python_path(prefix, system) == expected


def test_pip_output():
    assert _conda.parse_pip_installed(fixture("pip_install_stdout.txt")) == ["demo-pkg-1.2.3"]
    assert _conda.parse_pip_installed("Requirement already satisfied: torch in ./lib\n") == []
    assert _conda.parse_pip_would_install("Collecting x\nWould install x-1.0 y-2\n") == ["x-1.0", "y-2"]


# ------------------------------------------------------------------------------------------------ versions
@pytest.mark.parametrize(
    ("installed", "op", "spec", "expected"),
    [
        ("2.13.0+cpu", "==", "2.13.0", True),
        ("2.13.0+cpu", "==", "2.13", True),
        ("2.13.0+cpu", "==", "2.13.0+cpu", True),
        ("2.13.0+cu126", "==", "2.13.0+cpu", False),
        ("2.13.0", "==", "2.13.1", False),
        ("2.13.1", "==", "2.13.*", True),
        ("2.14.0", "==", "2.13.*", False),
        ("2.13.0+cpu", "!=", "2.13.0", False),
        ("2.12.1", "!=", "2.13.*", True),
        ("2.13.0", ">=", "2.13", True),
        ("2.12.9", ">=", "2.13", False),
        ("2.13.0", ">", "2.12.99", True),
        ("2.13.0", "<", "2.13.0", False),
        ("2.13.0rc1", "<", "2.13.0", True),
        ("2.13.0.dev20250101", "<", "2.13.0rc1", True),
        ("2.13.0.post1", ">", "2.13.0", True),
        ("2.13.0", "<=", "2.13.0", True),
        ("1!1.0", ">", "2.0", True),
        ("2.2.5", "~=", "2.2", True),
        ("3.0", "~=", "2.2", False),
        ("2.2.5", "~=", "2.2.3", True),
        ("2.3.0", "~=", "2.2.3", False),
        ("1.0", "===", "1.0", True),
    ],
)
def test_compare(installed, op, spec, expected):
    assert _conda.compare(installed, op, spec) is expected


@pytest.mark.parametrize(("op", "spec"), [(">=", "2.*"), ("~=", "2"), ("==", "not-a-version"), ("<>", "1")])
def test_compare_refuses_what_it_cannot_judge(op, spec):
    with pytest.raises(ValueError):
        _conda.compare("2.0", op, spec)


INSTALLED = {"torch": "2.13.0+cpu", "typing-extensions": "4.12.2", "numpy": "2.1.0"}


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("torch==2.13.0", True),
        ("torch == 2.13.0", True),
        ("Torch>=2.0,<3", True),
        ("torch>=2.14", False),
        ("typing_extensions", True),
        ("Typing.Extensions~=4.12", True),
        ("numpy[extra]>=2", True),
        ("scipy", False),
        ("torch==2.13.0; python_version>='3.9'", False),  # markers: let pip decide
        ("torch @ https://download.pytorch.org/whl/cpu/torch-2.13.0.whl", False),
        ("./wheels/torch.whl", False),
        ("-r requirements.txt", False),
        ("torch===weird", False),
        ("torch>=", False),
    ],
)
def test_requirement_satisfied(requirement, expected):
    assert _conda.requirement_satisfied(requirement, INSTALLED) is expected


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("numpy", ("numpy", [])),
        ("numpy=2.1", ("numpy", [("==", "2.1.*")])),
        ("numpy==2.1.0", ("numpy", [("==", "2.1.0")])),
        ("numpy>=2,<3", ("numpy", [(">=", "2"), ("<", "3")])),
        ("conda-forge::numpy 2.1.*", ("numpy", [("==", "2.1.*")])),
        ("numpy 2.1", ("numpy", [("==", "2.1")])),
        ("numpy 2.1 py311h_0", None),
        ("numpy=2.1=py311h_0", None),
        ("numpy>=2|<1", None),
        ("conda-forge::numpy>=2", ("numpy", [(">=", "2")])),
    ],
)
def test_parse_conda_spec(spec, parsed):
    assert _conda.parse_conda_spec(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("python=3.11", True), ("python=3.1", False), ("python>=3.10", True), ("pip", True), ("zlib", False),
     ("python=3.11.9=h0_cpython", False)],
)  # fmt: skip
def test_conda_spec_satisfied(spec, expected):
    assert _conda.conda_spec_satisfied(spec, {"python": "3.11.9", "pip": "24.2"}) is expected


@pytest.mark.parametrize(
    ("installed", "wanted", "expected"),
    [("3.11.9", "3.11", True), ("3.11.9", "3.11.9", True), ("3.11.9", "3.1", False), ("3.12.0", "3.11", False),
     (None, "3.11", False), ("3.11.9", "3.11.*", True)],
)  # fmt: skip
def test_python_matches(installed, wanted, expected):
    assert _conda.python_matches(installed, wanted) is expected


def test_tos_hint_names_variable_and_miniforge():
    assert "miniconda_accept_anaconda_tos" in _conda.tos_hint()
    assert "Miniforge" in _conda.tos_hint()
