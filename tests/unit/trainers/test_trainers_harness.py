"""The data harness: the digits as MNIST IDX, and the known-function CSV."""

from __future__ import annotations

import gzip
import hashlib

import pytest


def test_digits_split_and_format(digits_dir, cnn_mod):
    images, labels = cnn_mod.load_split(str(digits_dir), "train")
    test_images, test_labels = cnn_mod.load_split(str(digits_dir), "test")
    assert tuple(images.shape) == (1437, 28, 28)
    assert tuple(test_images.shape) == (360, 28, 28)
    # Stratified: every digit is in the test set 35 or 37 times (the classes hold 174..183 images).
    counts = [int((test_labels == digit).sum()) for digit in range(10)]
    assert sum(counts) == 360
    assert min(counts) >= 34
    assert max(counts) <= 38
    assert int(images.max()) == 255
    assert int(images.min()) == 0
    assert labels.tolist()[:1] != []


def test_digits_gzip_holds_the_same_data(digits_dir, digits_gz_dir):
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        plain = (digits_dir / name).read_bytes()
        assert gzip.decompress((digits_gz_dir / f"{name}.gz").read_bytes()) == plain


def test_digits_files_are_reproducible(digits_mod, digits_dir, tmp_path):
    digits_mod.write_digits(str(tmp_path), compress=True)
    again = tmp_path / "train-labels-idx1-ubyte.gz"
    first = gzip.compress((digits_dir / "train-labels-idx1-ubyte").read_bytes(), mtime=0)
    assert gzip.decompress(again.read_bytes()) == gzip.decompress(first)
    digits_mod.write_digits(str(tmp_path / "second"), compress=True)
    digest = hashlib.sha256(again.read_bytes()).hexdigest()
    assert hashlib.sha256((tmp_path / "second" / again.name).read_bytes()).hexdigest() == digest


def test_resize_keeps_corners_and_range(digits_mod):
    np = pytest.importorskip("numpy")
    image = np.zeros((1, 8, 8))
    image[0, 0, 0] = 16.0
    image[0, 7, 7] = 8.0
    resized = digits_mod.resize_bilinear(image, 28)
    assert resized.shape == (1, 28, 28)
    assert resized[0, 0, 0] == pytest.approx(16.0)
    assert resized[0, 27, 27] == pytest.approx(8.0)
    assert resized.min() >= 0.0
    assert resized.max() <= 16.0


def test_idx_header(digits_mod):
    np = pytest.importorskip("numpy")
    data = digits_mod.idx_bytes(np.arange(6, dtype=np.uint8).reshape(1, 2, 3))
    assert data == bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])


def test_linear_csv_is_deterministic_and_follows_the_function(run, harness_dir, tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        made = run(
            harness_dir / "make_linear_csv.py",
            *("--out", path, "--weights", "1,2,3", "--bias", -1, "--rows", 10, "--seed", 4),
        )
        assert made.returncode == 0, made.stderr
    assert paths[0].read_bytes() == paths[1].read_bytes()
    lines = paths[0].read_text().splitlines()
    assert lines[0] == "x1,x2,x3,y"
    assert len(lines) == 11
    for line in lines[1:]:
        x1, x2, x3, y = map(float, line.split(","))
        assert all(-2.0 <= value <= 2.0 for value in (x1, x2, x3))
        assert y == pytest.approx(x1 + 2 * x2 + 3 * x3 - 1, abs=1e-6)  # --noise defaults to 0
