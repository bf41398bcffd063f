"""Fixtures for the sample trainers (roles/trainers/files) and their data harness.

The trainers are stand-alone scripts, not a package: tests load them by path, and the
end-to-end tests run them as a user would, in a subprocess.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
TRAINERS = REPO_ROOT / "roles" / "trainers" / "files"
HARNESS = REPO_ROOT / "tests" / "harness"
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: trains for several seconds; deselect with -m 'not slow'")


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def linear_mod():
    return _load(TRAINERS / "linear_regression.py", "torchfleet_trainer_linear_regression")


@pytest.fixture(scope="session")
def cnn_mod():
    return _load(TRAINERS / "mnist_cnn.py", "torchfleet_trainer_mnist_cnn")


@pytest.fixture(scope="session")
def digits_mod():
    pytest.importorskip("sklearn", reason="tests/harness/make_digits_idx.py needs scikit-learn (requirements-dev.txt)")
    return _load(HARNESS / "make_digits_idx.py", "torchfleet_harness_make_digits_idx")


def idx_bytes(values, dims, magic=None) -> bytes:
    """Encode uint8 VALUES with the given DIMS as IDX (magic from the number of dims unless given)."""
    if magic is None:
        magic = 0x00000800 | len(dims)
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + bytes(values)


def write_mnist(directory: Path, *, train: int = 12, test: int = 6, compress: bool = False) -> dict:
    """Write four small, valid MNIST IDX files; return {key: path}.  Pixel and label values are predictable."""
    directory.mkdir(parents=True, exist_ok=True)
    contents = {}
    for split, count in (("train", train), ("test", test)):
        pixels = [(i * 7 + j) % 256 for i in range(count) for j in range(28 * 28)]
        contents[f"{split}_images"] = idx_bytes(pixels, (count, 28, 28))
        contents[f"{split}_labels"] = idx_bytes([i % 10 for i in range(count)], (count,))
    paths = {}
    for key, data in contents.items():
        path = directory / (MNIST_NAMES[key] + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        paths[key] = path
    return paths


@pytest.fixture
def mnist_files(tmp_path):
    """Factory: write_mnist into a fresh directory under tmp_path."""

    def make(name="mnist", **kwargs):
        return write_mnist(tmp_path / name, **kwargs)

    return make


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory, digits_mod):
    """The scikit-learn digits as plain MNIST IDX files (1437 train / 360 test)."""
    out = tmp_path_factory.mktemp("digits")
    digits_mod.write_digits(str(out))
    return out


@pytest.fixture(scope="session")
def digits_gz_dir(tmp_path_factory, digits_mod):
    out = tmp_path_factory.mktemp("digits-gz")
    digits_mod.write_digits(str(out), compress=True)
    return out


def run_script(script, *args, cwd=None, timeout=300, env=None) -> subprocess.CompletedProcess:
    """Run a trainer or harness script with this interpreter, as the role would."""
    path = script if os.path.isabs(str(script)) else TRAINERS / script
    return subprocess.run(
        [sys.executable, str(path), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.fixture
def run():
    return run_script


@pytest.fixture
def idx_encode():
    return idx_bytes


@pytest.fixture(scope="session")
def harness_dir():
    return HARNESS
