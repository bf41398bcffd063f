#!/usr/bin/env python
"""Fit a linear model with PyTorch and write what it learned as JSON.

Usage:
    linear_regression.py [--data CSV] [--epochs N] [--device D] [--output JSON]
                         [--model PT] [--seed S] [--lr LR] [--batch-size B]

Without --data it fits the classic recipe's three points (x = 1, 2, 3; y = 2x), with the
target shaped (N, 1) like the model's output.  The recipe shaped it (N,), which makes
MSELoss broadcast an (N, 1) prediction against it and quietly fit the wrong thing.

With --data the CSV has a header row and the columns x1..xn,y (any feature names; the
last column must be called y).

Training runs on standardised features and target so that one learning rate works for
any scale of data; the learned parameters are folded back into an ordinary nn.Linear in
the data's own units, so `weights`, `bias`, the saved state_dict and the reported losses
all refer to the raw inputs.

Progress lines go to stdout; without --output the metrics JSON is printed on stdout and the
progress goes to stderr.  Exit codes: 0 success, 2 bad input (unreadable CSV, unavailable device, bad arguments),
3 training diverged (a loss that is NaN or infinite: no metrics are written, since JSON has no such numbers).
Only torch and the standard library are needed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import socket
import sys
import time
from typing import NamedTuple

import torch
from torch import nn

SCRIPT = "linear_regression"
RECIPE_X = [[1.0], [2.0], [3.0]]
RECIPE_Y = [[2.0], [4.0], [6.0]]


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


class DivergedError(Exception):
    """The loss became NaN or infinite: reported in one line, exit code 3, and no metrics are written."""


# Progress goes to stdout, or to stderr when stdout carries the metrics JSON (no --output).
_log_stream = sys.stdout


def log(message: str) -> None:
    print(f"[{SCRIPT}] {message}", file=_log_stream, flush=True)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="linear_regression.py", description="Fit y = w.x + b with PyTorch and report the weights."
    )
    parser.add_argument(
        "--data", metavar="CSV", help="CSV with a header row x1..xn,y (default: the recipe's three points, y = 2x)"
    )
    parser.add_argument(
        "--epochs", metavar="N", type=positive_int, default=200, help="passes over the data (default 200)"
    )
    parser.add_argument(
        "--device", metavar="D", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
    )
    parser.add_argument("--output", metavar="JSON", help="metrics JSON to write (default: print it on stdout)")
    parser.add_argument(
        "--model", metavar="PT", help="where to save the state_dict (default: beside --output, suffix .pt)"
    )
    parser.add_argument("--seed", metavar="S", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--lr", metavar="LR", type=positive_float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--batch-size", metavar="B", type=positive_int, default=64, help="rows per step (default 64)")
    return parser.parse_args(argv)


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)  # absent before torch 1.12
    return bool(mps is not None and mps.is_available())


def select_device(requested: str) -> torch.device:
    """Pick cuda, then mps, then cpu; a requested device that is not there is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as exc:
        raise UsageError(f"--device {requested!r} is not a device name (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(
                f"--device {requested} requested but CUDA is not available "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'})"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {requested} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif device.type == "mps":
        if not mps_available():
            raise UsageError(f"--device {requested} requested but MPS is not available on this machine")
    elif device.type != "cpu":
        raise UsageError(f"--device {requested!r} is not supported (use auto, cpu, cuda, cuda:N or mps)")
    return device


def read_csv(path: str):
    """Return (feature names, x rows, y rows as [[y]]) from a CSV with a header row ending in y."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: not a text CSV file: {exc}") from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise UsageError(f"{path}: empty file; expected a header row x1..xn,y and data rows")
    header = [cell.strip() for cell in rows[0]]
    if len(header) < 2 or header[-1].lower() != "y":
        raise UsageError(f"{path}: header {','.join(header)!r} must name the features then y (x1,...,xn,y)")
    xs, ys = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UsageError(f"{path}: line {number} has {len(row)} columns, the header has {len(header)}")
        try:
            values = [float(cell) for cell in row]
        except ValueError as exc:
            raise UsageError(f"{path}: line {number}: {exc}") from exc
        if not all(math.isfinite(value) for value in values):
            raise UsageError(f"{path}: line {number}: values must be finite numbers")
        xs.append(values[:-1])
        ys.append([values[-1]])
    if not xs:
        raise UsageError(f"{path}: no data rows after the header")
    return header[:-1], xs, ys


class Fit(NamedTuple):
    """The settings of one fit, as --epochs, --lr, --batch-size and --seed give them."""

    epochs: int
    lr: float
    batch_size: int
    seed: int


def train(x: torch.Tensor, y: torch.Tensor, fit: Fit, device, progress=None):
    """Fit nn.Linear(x.shape[1], 1) to y (shape (N, 1)); return (model in raw units, per-epoch losses)."""
    epochs, lr, batch_size, seed = fit
    torch.manual_seed(seed)
    x = x.to(device=device, dtype=torch.float32)
    y = y.to(device=device, dtype=torch.float32)
    if y.dim() != 2 or y.shape[1] != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"target must have shape ({x.shape[0]}, 1) to match the model output, got {tuple(y.shape)}")
    x_mean, x_std = x.mean(dim=0), x.std(dim=0, unbiased=False)
    y_mean, y_std = y.mean(dim=0), y.std(dim=0, unbiased=False)
    # A constant column carries no information; leave it unscaled instead of dividing by zero.
    x_std = torch.where(x_std > 0, x_std, torch.ones_like(x_std))
    y_std = torch.where(y_std > 0, y_std, torch.ones_like(y_std))
    xs, ys = (x - x_mean) / x_std, (y - y_mean) / y_std

    inner = nn.Linear(x.shape[1], 1).to(device)
    optimiser = torch.optim.SGD(inner.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.MSELoss()
    order = torch.Generator().manual_seed(seed)
    rows = x.shape[0]
    losses = []
    for epoch in range(1, epochs + 1):
        permutation = torch.randperm(rows, generator=order).to(device)
        total = 0.0
        for start in range(0, rows, batch_size):
            index = permutation[start : start + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(inner(xs[index]), ys[index])
            loss.backward()
            optimiser.step()
            total += loss.item() * index.numel()
        # MSE scales with the square of the target's scale: report it in the data's units.
        losses.append(total / rows * float(y_std.item()) ** 2)
        if not math.isfinite(losses[-1]):
            raise DivergedError(
                f"the loss is {losses[-1]} at epoch {epoch}/{epochs}: training diverged; lower --lr (now {lr}) "
                "or check the data for extreme values"
            )
        if progress:
            progress(epoch, losses[-1])

    model = nn.Linear(x.shape[1], 1).to(device)
    with torch.no_grad():
        weight = inner.weight[0] * y_std / x_std
        model.weight.copy_(weight.unsqueeze(0))
        model.bias.copy_(y_mean + y_std * inner.bias - (weight * x_mean).sum())
    return model, losses


def write_json_atomic(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        # allow_nan=False: NaN and Infinity are not JSON (RFC 8259, section 6); a strict reader would refuse them.
        json.dump(payload, handle, indent=2, allow_nan=False)
        handle.write("\n")
        # On disk before it takes the final name: the role skips a run whose metrics exist, so a host that loses
        # power just after the rename must not come back with an empty file there. The directory is synced too:
        # "fsync() on a file descriptor for the directory is also needed" (man 2 fsync, NOTES).
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def model_path_for(args) -> str | None:
    if args.model:
        return args.model
    if args.output:
        return os.path.splitext(args.output)[0] + ".pt"
    return None


def load(args) -> tuple:
    """(feature names, x (N, features), y (N, 1), where they came from): --data's CSV, else the recipe."""
    if args.data:
        features, x_rows, y_rows = read_csv(args.data)
        source = os.path.abspath(args.data)
    else:
        features, x_rows, y_rows = ["x1"], RECIPE_X, RECIPE_Y
        source = "recipe"
    x = torch.tensor(x_rows, dtype=torch.float32)
    y = torch.tensor(y_rows, dtype=torch.float32)  # (N, 1), the shape the model predicts
    return features, x, y, source


def save_results(args, model: nn.Module, metrics: dict) -> None:
    """Save the weights (beside --output unless --model names a path) and write or print the metrics."""
    model_path = model_path_for(args)
    if model_path:
        os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
        torch.save({key: value.cpu() for key, value in model.state_dict().items()}, model_path)
        metrics["model"] = os.path.abspath(model_path)
    if args.output:
        write_json_atomic(args.output, metrics)
        log(f"final loss {metrics['final_loss']:.6g}; metrics written to {args.output}")
    else:
        print(json.dumps(metrics, indent=2, allow_nan=False), flush=True)


def run(args) -> dict:
    device = select_device(args.device)
    features, x, y, source = load(args)
    log(
        f"torch {torch.__version__} on {device}; {x.shape[0]} rows, {x.shape[1]} feature(s) from {source}; "
        f"{args.epochs} epochs"
    )
    width = len(str(args.epochs))
    every = max(1, args.epochs // 20)

    def progress(epoch, loss):
        if epoch in {1, args.epochs} or epoch % every == 0:
            log(f"epoch {epoch:>{width}}/{args.epochs} loss {loss:.6g}")

    started = time.perf_counter()
    model, losses = train(x, y, Fit(args.epochs, args.lr, args.batch_size, args.seed), device, progress=progress)
    seconds = time.perf_counter() - started
    weights = [float(value) for value in model.weight.detach().cpu()[0]]
    bias = float(model.bias.detach().cpu()[0])
    terms = " ".join(f"{w:+.4f}*{name}" for w, name in zip(weights, features))
    log(f"learned y = {terms} {bias:+.4f}")
    metrics = {
        "script": SCRIPT,
        "data": source,
        "rows": int(x.shape[0]),
        "features": features,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "losses": losses,
        "final_loss": losses[-1],
        "weights": weights,
        "bias": bias,
        "device": str(device),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "hostname": socket.gethostname(),
        "seconds": round(seconds, 4),
    }
    save_results(args, model, metrics)
    return metrics


def main(argv=None) -> int:
    global _log_stream  # noqa: PLW0603
    args = parse_args(argv)
    _log_stream = sys.stdout if args.output else sys.stderr
    try:
        run(args)
    except UsageError as exc:
        print(f"{SCRIPT}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except DivergedError as exc:
        print(f"{SCRIPT}: error: {exc}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
