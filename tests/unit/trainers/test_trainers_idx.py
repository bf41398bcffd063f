"""The IDX reader inside mnist_cnn.py: good files load exactly, every kind of damage is named."""

from __future__ import annotations

import gzip

import pytest


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_split_reads_exact_values(cnn_mod, mnist_files, compress):
    paths = mnist_files(train=12, test=6, compress=compress)
    images, labels = cnn_mod.load_split(str(paths["train_images"].parent), "train")
    assert tuple(images.shape) == (12, 28, 28)
    assert labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert int(images[0, 0, 0]) == 0
    assert int(images[1, 0, 0]) == 7
    assert int(images[3, 1, 2]) == (3 * 7 + 28 + 2) % 256
    test_images, test_labels = cnn_mod.load_split(str(paths["train_images"].parent), "test")
    assert tuple(test_images.shape) == (6, 28, 28)
    assert test_labels.tolist() == [0, 1, 2, 3, 4, 5]


def test_limit_takes_the_first_images(cnn_mod, mnist_files):
    paths = mnist_files(train=12)
    images, labels = cnn_mod.load_split(str(paths["train_images"].parent), "train", limit=4)
    assert tuple(images.shape) == (4, 28, 28)
    assert labels.tolist() == [0, 1, 2, 3]


def test_plain_file_wins_over_gz(cnn_mod, mnist_files, idx_encode):
    paths = mnist_files(train=12)
    gz = paths["train_labels"].with_name(paths["train_labels"].name + ".gz")
    gz.write_bytes(gzip.compress(idx_encode([9] * 12, (12,))))
    assert cnn_mod.find_idx(str(paths["train_labels"].parent), "train-labels-idx1-ubyte") == str(paths["train_labels"])


def test_truncated_payload(cnn_mod, mnist_files):
    paths = mnist_files(train=12)
    data = paths["train_images"].read_bytes()
    paths["train_images"].write_bytes(data[:-100])
    with pytest.raises(cnn_mod.DataError, match=r"train-images-idx3-ubyte: truncated payload.*12x28x28 = 9408 bytes"):
        cnn_mod.load_split(str(paths["train_images"].parent), "train")


def test_truncated_header(cnn_mod, mnist_files):
    paths = mnist_files()
    paths["test_labels"].write_bytes(b"\x00\x00\x08\x01\x00")
    with pytest.raises(cnn_mod.DataError, match=r"t10k-labels-idx1-ubyte: truncated header"):
        cnn_mod.load_split(str(paths["test_labels"].parent), "test")


def test_trailing_bytes(cnn_mod, mnist_files):
    paths = mnist_files(train=12)
    paths["train_labels"].write_bytes(paths["train_labels"].read_bytes() + b"\x00\x01")
    with pytest.raises(cnn_mod.DataError, match=r"train-labels-idx1-ubyte: 2 unexpected bytes after"):
        cnn_mod.load_split(str(paths["train_labels"].parent), "train")


def test_wrong_magic(cnn_mod, mnist_files):
    paths = mnist_files(train=12)
    # A labels file where the images should be: the classic mix-up of the two files.
    paths["train_images"].write_bytes(paths["train_labels"].read_bytes())
    with pytest.raises(
        cnn_mod.DataError,
        match=r"train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803 for MNIST images",
    ):
        cnn_mod.load_split(str(paths["train_images"].parent), "train")


def test_not_idx_at_all(cnn_mod, mnist_files):
    paths = mnist_files()
    paths["test_images"].write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(cnn_mod.DataError, match=r"t10k-images-idx3-ubyte: wrong magic .* not an IDX"):
        cnn_mod.load_split(str(paths["test_images"].parent), "test")


def test_gzip_data_under_a_plain_name(cnn_mod, mnist_files):
    paths = mnist_files()
    paths["test_labels"].write_bytes(gzip.compress(paths["test_labels"].read_bytes()))
    with pytest.raises(cnn_mod.DataError, match=r"gzip-compressed, name it with a \.gz suffix"):
        cnn_mod.load_split(str(paths["test_labels"].parent), "test")


def test_count_mismatch(cnn_mod, mnist_files, idx_encode):
    paths = mnist_files(train=12)
    paths["train_labels"].write_bytes(idx_encode([1] * 11, (11,)))
    with pytest.raises(
        cnn_mod.DataError,
        match=r"count mismatch: .*train-images-idx3-ubyte holds 12 images but .*train-labels-idx1-ubyte holds 11",
    ):
        cnn_mod.load_split(str(paths["train_images"].parent), "train")


def test_missing_file(cnn_mod, mnist_files):
    paths = mnist_files()
    paths["test_labels"].unlink()
    with pytest.raises(cnn_mod.DataError, match=r"t10k-labels-idx1-ubyte: missing \(neither .* nor .*\.gz"):
        cnn_mod.load_split(str(paths["test_labels"].parent), "test")


def test_missing_directory(cnn_mod, tmp_path):
    with pytest.raises(cnn_mod.DataError, match=r"nowhere: data directory does not exist"):
        cnn_mod.load_split(str(tmp_path / "nowhere"), "train")


@pytest.mark.parametrize(
    "damage",
    [lambda data: b"this is not gzip at all", lambda data: data[: len(data) // 2]],
    ids=["not-gzip", "truncated-gzip"],
)
def test_bad_gzip(cnn_mod, mnist_files, damage):
    paths = mnist_files(compress=True)
    paths["train_images"].write_bytes(damage(paths["train_images"].read_bytes()))
    with pytest.raises(cnn_mod.DataError, match=r"train-images-idx3-ubyte\.gz: corrupt gzip data"):
        cnn_mod.load_split(str(paths["train_images"].parent), "train")


def test_wrong_image_size(cnn_mod, mnist_files, idx_encode):
    paths = mnist_files(train=12)
    paths["train_images"].write_bytes(idx_encode([0] * (12 * 64), (12, 8, 8)))
    with pytest.raises(cnn_mod.DataError, match=r"images are 8x8, this network needs 28x28"):
        cnn_mod.load_split(str(paths["train_images"].parent), "train")


def test_label_out_of_range(cnn_mod, mnist_files, idx_encode):
    paths = mnist_files(test=6)
    paths["test_labels"].write_bytes(idx_encode([0, 1, 2, 3, 4, 10], (6,)))
    with pytest.raises(cnn_mod.DataError, match=r"t10k-labels-idx1-ubyte: label 10 found"):
        cnn_mod.load_split(str(paths["test_labels"].parent), "test")


def test_empty_file_set(cnn_mod, mnist_files, idx_encode):
    paths = mnist_files()
    paths["test_images"].write_bytes(idx_encode([], (0, 28, 28)))
    with pytest.raises(cnn_mod.DataError, match=r"t10k-images-idx3-ubyte: holds no images"):
        cnn_mod.load_split(str(paths["test_images"].parent), "test")
