#!/usr/bin/env python
"""Write a CSV sampled from a known linear function, for linear_regression.py to recover.

    make_linear_csv.py --out FILE --weights 2,-3.5 --bias 0.5 --rows 256 --noise 0.01 --seed 0

Columns x1..xn,y with a header row; x is uniform in [-2, 2], y = w.x + b + N(0, noise^2).
The same arguments always give the same file (standard library only).
"""

from __future__ import annotations

import argparse
import os
import random
import sys


def parse_weights(text: str) -> list:
    try:
        weights = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"weights must be comma-separated numbers: {exc}") from exc
    if not weights:
        raise argparse.ArgumentTypeError("at least one weight is needed")
    return weights


def make_rows(weights, *, bias: float, rows: int, noise: float, seed: int):
    rng = random.Random(seed)
    for _row in range(rows):
        x = [rng.uniform(-2.0, 2.0) for _weight in weights]
        y = sum(w * v for w, v in zip(weights, x)) + bias + (rng.gauss(0.0, noise) if noise > 0 else 0.0)
        yield x, y


def write_csv(path: str, weights, *, bias: float, rows: int, noise: float, seed: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    header = [f"x{i}" for i in range(1, len(weights) + 1)] + ["y"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for x, y in make_rows(weights, bias=bias, rows=rows, noise=noise, seed=seed):
            handle.write(",".join(f"{value:.8f}" for value in [*x, y]) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write x1..xn,y rows of y = w.x + b + noise.")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--weights", type=parse_weights, default=[2.0], help="comma-separated, e.g. 2,-3.5")
    parser.add_argument("--bias", type=float, default=0.0)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--noise", type=float, default=0.0, help="standard deviation of Gaussian noise on y")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.noise < 0:
        parser.error("--noise must not be negative")
    write_csv(args.out, args.weights, bias=args.bias, rows=args.rows, noise=args.noise, seed=args.seed)
    print(f"wrote {args.rows} rows of y = {args.weights}.x + {args.bias} (noise {args.noise}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
