#!/usr/bin/env python
"""Write scikit-learn's handwritten digits as the four MNIST IDX files.

    make_digits_idx.py --out DIR [--gzip] [--test-size 360] [--seed 0]

`sklearn.datasets.load_digits` ships 1797 real 8x8 handwritten digits (pixel values 0..16)
inside the package, so no download is involved.  Each image is resized to 28x28 with
bilinear interpolation, scaled to 0..255 and stored as uint8; a stratified split with a fixed
seed gives 1437 training and 360 test images by default.  The files are the ones mnist_cnn.py
and torchvision read: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte (with --gzip: the same names + .gz, written with a zero timestamp so the
bytes and their checksums are the same on every run).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import struct
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

IMAGE_SIZE = 28
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize N x h x w images to N x size x size (pixel centres aligned, edges clamped)."""
    height, width = images.shape[1:]

    def axis(source: int):
        position = (np.arange(size) + 0.5) * source / size - 0.5
        position = np.clip(position, 0, source - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, source - 1)
        return low, high, position - low

    row_low, row_high, row_frac = axis(height)
    col_low, col_high, col_frac = axis(width)
    rows = images[:, row_low, :] * (1 - row_frac)[None, :, None] + images[:, row_high, :] * row_frac[None, :, None]
    return rows[:, :, col_low] * (1 - col_frac)[None, None, :] + rows[:, :, col_high] * col_frac[None, None, :]


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic 0x0000 08 <ndim>, big-endian uint32 dims, then the data."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer handles uint8 only, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path: str, array: np.ndarray, *, compress: bool = False) -> str:
    """Write one IDX file (PATH or PATH.gz); return the path written."""
    data = idx_bytes(array)
    if compress:
        path += ".gz"
        with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(data)
    else:
        with open(path, "wb") as handle:
            handle.write(data)
    return path


def digits_as_mnist(test_size: int = 360, seed: int = 0) -> dict:
    """Return {"train": (images, labels), "test": (images, labels)} as uint8 arrays."""
    digits = load_digits()
    images = resize_bilinear(digits.images.astype(np.float64), IMAGE_SIZE)
    images = np.clip(np.rint(images * 255.0 / 16.0), 0, 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return {"train": (train_x, train_y), "test": (test_x, test_y)}


def write_digits(out_dir: str, *, compress: bool = False, test_size: int = 360, seed: int = 0) -> list:
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for split, (images, labels) in digits_as_mnist(test_size, seed).items():
        images_name, labels_name = FILES[split]
        written.append(write_idx(os.path.join(out_dir, images_name), images, compress=compress))
        written.append(write_idx(os.path.join(out_dir, labels_name), labels, compress=compress))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write scikit-learn's digits as 28x28 MNIST IDX files.")
    parser.add_argument("--out", required=True, help="directory to write the four files into")
    parser.add_argument("--gzip", action="store_true", help="write NAME.gz files instead of plain ones")
    parser.add_argument("--test-size", type=int, default=360, help="images held out for testing (default 360)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stratified split (default 0)")
    args = parser.parse_args(argv)
    for path in write_digits(args.out, compress=args.gzip, test_size=args.test_size, seed=args.seed):
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        print(f"{digest}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
