#!/usr/bin/env python
"""Train a small CNN on MNIST-format IDX files and write its metrics as JSON.

Usage:
    mnist_cnn.py --data-dir DIR [--epochs N] [--limit N] [--device D] [--output JSON]
                 [--model PT] [--seed S] [--batch-size B] [--lr LR]

    torchrun --nnodes N --nproc-per-node P --rdzv-backend c10d --rdzv-endpoint HOST:PORT \\
        mnist_cnn.py --distributed --data-dir DIR --output JSON [...]

DIR holds the four MNIST files, each plain or gzip-compressed (NAME or NAME.gz):
train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
They are read directly (IDX: big-endian magic 0x00000803 for images or 0x00000801 for labels, one
big-endian uint32 per dimension, then uint8 data), so torchvision is not needed and nothing is
downloaded.  A missing or corrupt file is reported in one line naming the file, exit code 2.  A loss that
becomes NaN or infinite ends the run with exit code 3 and a one-line message, on every rank at the same epoch
(the check reads the loss summed over all ranks), and no metrics are written: JSON has no such numbers.

The network: two conv(3x3, padding 1) + ReLU + 2x2 max-pool blocks take 1x28x28 to 16x14x14 to
32x7x7, which is flattened (32*7*7 = 1568 features) into one linear layer with 10 outputs.

Progress lines go to stdout; without --output the metrics JSON is printed on stdout and the
progress goes to stderr.  --limit N trains on the first N training images and tests on the first N test images.

--distributed runs data-parallel under torchrun (which sets RANK, WORLD_SIZE, LOCAL_RANK and the
rendezvous): DistributedDataParallel with the nccl backend on CUDA (device cuda:LOCAL_RANK) and gloo
on CPU, a DistributedSampler shards the training set, test accuracy is summed over all ranks.  Every
rank writes its own result, OUTPUT_STEM.rankR.json (rank, world_size, hostname, final loss, samples
seen, seconds), beside --output; rank 0 alone writes the combined metrics to --output and the model.

Only torch and the standard library are needed.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import math
import os
import platform
import socket
import struct
import sys
import time
import zlib
from typing import NamedTuple, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

SCRIPT = "mnist_cnn"
IMAGE_SIZE = 28
CLASSES = 10
IMAGES_MAGIC = 0x00000803  # unsigned byte data, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte data, 1 dimension
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# The usual MNIST normalisation constants (mean and standard deviation of the training pixels).
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


class UsageError(Exception):
    """A problem with the user's input or machine: reported in one line, exit code 2."""


class DataError(UsageError):
    """A missing or malformed data file."""


class DivergedError(Exception):
    """The loss became NaN or infinite: reported in one line, exit code 3, and no metrics are written."""


# ---------------------------------------------------------------------------------------------
# IDX files


def find_idx(data_dir: str, name: str) -> str:
    """Return DIR/NAME, or DIR/NAME.gz when only the compressed file is there."""
    plain = os.path.join(data_dir, name)
    for candidate in (plain, plain + ".gz"):
        if os.path.isfile(candidate):
            return candidate
    if not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: data directory does not exist")
    raise DataError(f"{plain}: missing (neither {name} nor {name}.gz is in {data_dir})")


def read_bytes(path: str) -> bytes:
    """The bytes of a file, ungzipped when its name ends in .gz.  Errors name the file."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: missing") from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def check_magic(path: str, data: bytes, magic: int, kind: str) -> None:
    """The IDX header starts with ``magic``; otherwise say what the file looks like instead."""
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header")
    found = struct.unpack(">I", data[:4])[0]
    if found == magic:
        return
    if data[:2] == b"\x1f\x8b" and not path.endswith(".gz"):
        hint = "; the file is gzip-compressed, name it with a .gz suffix"
    elif data[:3] == b"\x00\x00\x08":
        hint = f"; that is IDX unsigned-byte data with {data[3]} dimension(s)"
    else:
        hint = "; not an IDX unsigned-byte file"
    raise DataError(f"{path}: wrong magic number 0x{found:08X}, expected 0x{magic:08X} for MNIST {kind}{hint}")


def read_idx(path: str, magic: int) -> tuple:
    """Read an unsigned-byte IDX file; return (dimensions, payload bytes).  Errors name the file."""
    data = read_bytes(path)
    expected_ndim = magic & 0xFF
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    check_magic(path, data, magic, kind)
    header = 4 + 4 * expected_ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header ({len(data)} bytes, an IDX {kind} header has {header})")
    dims = struct.unpack(f">{expected_ndim}I", data[4:header])
    expected = 1
    for size in dims:
        expected *= size
    payload = len(data) - header
    shape = "x".join(str(size) for size in dims)
    if payload < expected:
        raise DataError(
            f"{path}: truncated payload, the header promises {shape} = {expected} bytes but only {payload} follow"
        )
    if payload > expected:
        raise DataError(f"{path}: {payload - expected} unexpected bytes after the {shape} data the header describes")
    if dims[0] == 0:
        raise DataError(f"{path}: holds no {kind}")
    return dims, memoryview(data)[header:]


def load_split(data_dir: str, split: str, limit: int | None = None) -> tuple:
    """Return (uint8 images N x 28 x 28, int64 labels N) of one split, checked against each other."""
    images_name, labels_name = SPLITS[split]
    images_path = find_idx(data_dir, images_name)
    labels_path = find_idx(data_dir, labels_name)
    image_dims, image_bytes = read_idx(images_path, IMAGES_MAGIC)
    label_dims, label_bytes = read_idx(labels_path, LABELS_MAGIC)
    if tuple(image_dims[1:]) != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"{images_path}: images are {image_dims[1]}x{image_dims[2]}, this network needs {IMAGE_SIZE}x{IMAGE_SIZE}"
        )
    if image_dims[0] != label_dims[0]:
        raise DataError(
            f"count mismatch: {images_path} holds {image_dims[0]} images but {labels_path} holds {label_dims[0]} labels"
        )
    count = image_dims[0] if limit is None else min(limit, image_dims[0])
    pixels = IMAGE_SIZE * IMAGE_SIZE
    images = torch.frombuffer(bytearray(image_bytes[: count * pixels]), dtype=torch.uint8)
    labels = torch.frombuffer(bytearray(label_bytes[:count]), dtype=torch.uint8).long()
    highest = int(labels.max())
    if highest >= CLASSES:
        raise DataError(f"{labels_path}: label {highest} found, MNIST labels are 0..{CLASSES - 1}")
    return images.view(count, IMAGE_SIZE, IMAGE_SIZE), labels


def to_inputs(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x 28 x 28 -> normalised float N x 1 x 28 x 28."""
    return ((images.float() / 255.0 - PIXEL_MEAN) / PIXEL_STD).unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# Model and training


class MnistCNN(nn.Module):
    """Two conv blocks (1x28x28 -> 16x14x14 -> 32x7x7), flatten, one linear layer to 10 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(32 * 7 * 7, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class Context:
    """Where this process runs: device, and for --distributed its rank and process group."""

    def __init__(self, device: torch.device, rank: int = 0, local_rank: int = 0, world_size: int = 1, backend=None):
        self.device = device
        self.rank = rank
        self.local_rank = local_rank
        self.world_size = world_size
        self.backend = backend
        # Progress goes to stdout, or to stderr when stdout carries the metrics JSON (no --output).
        self.stream = sys.stdout

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    @property
    def tag(self) -> str:
        return f"{SCRIPT} rank {self.rank}/{self.world_size}" if self.distributed else SCRIPT

    def log(self, message: str) -> None:
        print(f"[{self.tag}] {message}", file=self.stream, flush=True)

    def all_sum(self, values: list) -> list:
        """Sum a few numbers over all ranks (identity when not distributed)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


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


def distributed_env() -> tuple:
    """(rank, local_rank, world_size) from the variables torchrun sets."""
    missing = [
        name for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ
    ]
    if missing:
        raise UsageError(
            f"--distributed must be launched by torchrun ({', '.join(missing)} not set), e.g. "
            "torchrun --standalone --nproc-per-node 2 mnist_cnn.py --distributed ..."
        )
    return int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])


def setup_context(args) -> Context:
    if not args.distributed:
        return Context(select_device(args.device))
    if not dist.is_available():
        raise UsageError(f"--distributed: this torch build ({torch.__version__}) has no torch.distributed")
    local_rank = distributed_env()[1]
    if args.device == "auto":
        use_cuda = torch.cuda.is_available()
    else:
        use_cuda = select_device(args.device).type == "cuda"
        if select_device(args.device).type == "mps":
            raise UsageError("--distributed runs on cuda (nccl) or cpu (gloo); MPS has no collective backend")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise UsageError(
                f"local rank {local_rank} has no GPU: {torch.cuda.device_count()} CUDA device(s) here; "
                "start at most that many processes per node (--nproc-per-node)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        # Windows builds ship without NCCL; gloo also reduces CUDA tensors, only slower.
        backend = "nccl" if dist.is_nccl_available() else "gloo"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=args.timeout))
    return Context(
        device, rank=dist.get_rank(), local_rank=local_rank, world_size=dist.get_world_size(), backend=backend
    )


class Training(NamedTuple):
    """The model, the wrapper the optimiser steps (DistributedDataParallel when distributed) and the data order."""

    model: nn.Module
    train_model: nn.Module
    loader: DataLoader
    sampler: Optional[DistributedSampler]
    optimiser: torch.optim.Optimizer


def train_epoch(training: Training, ctx: Context, *, epoch: int, epochs: int) -> tuple:
    """One pass over this rank's shard; return (sum of losses, samples, correct predictions)."""
    model, loader, optimiser = training.train_model, training.loader, training.optimiser
    model.train()
    total_loss, samples, correct = 0.0, 0, 0
    steps = len(loader)
    report_every = steps // 4 if steps >= 100 else 0
    for step, (batch_inputs, batch_targets) in enumerate(loader, start=1):
        inputs, targets = batch_inputs.to(ctx.device), batch_targets.to(ctx.device)
        optimiser.zero_grad()
        logits = model(inputs)
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        optimiser.step()
        batch = targets.numel()
        total_loss += loss.item() * batch
        samples += batch
        correct += int((logits.argmax(dim=1) == targets).sum())
        if report_every and step % report_every == 0 and step < steps:
            ctx.log(f"epoch {epoch}/{epochs} step {step}/{steps} loss {total_loss / samples:.4f}")
    return total_loss, samples, correct


def evaluate(model, images: torch.Tensor, labels: torch.Tensor, ctx: Context, batch_size: int = 1000) -> tuple:
    """Count correct predictions on this rank's share (every world_size-th test image); return (correct, total)."""
    model.eval()
    images, labels = images[ctx.rank :: ctx.world_size], labels[ctx.rank :: ctx.world_size]
    correct = 0
    with torch.no_grad():
        for start in range(0, labels.numel(), batch_size):
            inputs = to_inputs(images[start : start + batch_size]).to(ctx.device)
            predicted = model(inputs).argmax(dim=1).cpu()
            correct += int((predicted == labels[start : start + batch_size]).sum())
    return correct, labels.numel()


def write_json_atomic(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
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


def gather_json(ctx: Context, payload: dict) -> list:
    """Every rank's JSON-serialisable payload, in rank order, on every rank.

    dist.all_gather_object would do this, but it decodes through tensor.numpy() and so needs NumPy,
    which a torch-only environment lacks ("RuntimeError: Numpy is not available"); bytes in uint8
    tensors need nothing but torch.
    """
    data = json.dumps(payload, allow_nan=False).encode("utf-8")
    size = torch.tensor([len(data)], dtype=torch.int64, device=ctx.device)
    sizes = [torch.zeros_like(size) for _rank in range(ctx.world_size)]
    dist.all_gather(sizes, size)
    lengths = [int(item.item()) for item in sizes]
    buffer = torch.zeros(max(lengths), dtype=torch.uint8)
    buffer[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    buffer = buffer.to(ctx.device)
    buffers = [torch.zeros_like(buffer) for _rank in range(ctx.world_size)]
    dist.all_gather(buffers, buffer)
    return [json.loads(bytes(item[:length].cpu().tolist()).decode("utf-8")) for item, length in zip(buffers, lengths)]


def rank_output_path(output: str, rank: int) -> str:
    return f"{os.path.splitext(output)[0]}.rank{rank}.json"


def load_data(args) -> dict:
    started = time.perf_counter()
    train_images, train_labels = load_split(args.data_dir, "train", args.limit)
    test_images, test_labels = load_split(args.data_dir, "test", args.limit)
    return {
        "train": (train_images, train_labels),
        "test": (test_images, test_labels),
        "seconds": time.perf_counter() - started,
    }


def prepare(args, ctx: Context, train_images: torch.Tensor, train_labels: torch.Tensor) -> Training:
    """Seed everything, then build the loader (this rank's shard when distributed), the model and its optimiser."""
    torch.manual_seed(args.seed)
    if ctx.device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    dataset = TensorDataset(to_inputs(train_images), train_labels)
    if ctx.distributed:
        sampler = DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=args.seed, drop_last=False
        )
        loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    else:
        sampler = None
        generator = torch.Generator().manual_seed(args.seed)
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, generator=generator)
    model = MnistCNN().to(ctx.device)
    if ctx.distributed:
        ddp_device = [ctx.device.index] if ctx.device.type == "cuda" else None
        train_model = DistributedDataParallel(model, device_ids=ddp_device)
    else:
        train_model = model
    optimiser = torch.optim.Adam(train_model.parameters(), lr=args.lr)
    return Training(model, train_model, loader, sampler, optimiser)


def train(args, ctx: Context, training: Training) -> dict:
    """Every epoch; return the mean loss per epoch over all ranks (``losses``) and over this rank's shard
    (``local_losses``), and the samples this rank saw."""
    losses, local_losses, samples_seen = [], [], 0
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        if training.sampler is not None:
            training.sampler.set_epoch(epoch)
        loss_sum, samples, correct = train_epoch(training, ctx, epoch=epoch, epochs=args.epochs)
        samples_seen += samples
        local_losses.append(loss_sum / samples)
        global_loss, global_samples, global_correct = ctx.all_sum([loss_sum, samples, correct])
        losses.append(global_loss / global_samples)
        # The summed loss is the same number on every rank, so all ranks stop together, none left waiting.
        if not math.isfinite(losses[-1]):
            raise DivergedError(
                f"the loss is {losses[-1]} at epoch {epoch}/{args.epochs}: training diverged; lower --lr "
                f"(now {args.lr}) or check the data"
            )
        ctx.log(
            f"epoch {epoch}/{args.epochs} loss {local_losses[-1]:.4f} train accuracy {correct / samples:.2%} "
            f"({samples} samples, {time.perf_counter() - epoch_started:.1f}s)"
        )
        if ctx.distributed and ctx.rank == 0:
            accuracy = global_correct / global_samples
            ctx.log(f"epoch {epoch}/{args.epochs} all ranks: loss {losses[-1]:.4f} train accuracy {accuracy:.2%}")
    return {"losses": losses, "local_losses": local_losses, "samples_seen": samples_seen}


def environment(ctx: Context) -> dict:
    """What every result records about where it ran."""
    return {
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "hostname": socket.gethostname(),
        "device": str(ctx.device),
    }


def rank_result(args, ctx: Context, history: dict, seconds: float) -> dict:
    """This rank's own result in a distributed run, written beside --output."""
    local_losses = history["local_losses"]
    result = {
        "script": SCRIPT,
        "status": "finished",
        "rank": ctx.rank,
        "local_rank": ctx.local_rank,
        "world_size": ctx.world_size,
        "backend": ctx.backend,
        **environment(ctx),
        "epochs": args.epochs,
        "losses": local_losses,
        "final_loss": local_losses[-1],
        "samples_seen": history["samples_seen"],
        "seconds": round(seconds, 4),
    }
    write_json_atomic(rank_output_path(args.output, ctx.rank), result)
    return result


def save_results(args, ctx: Context, model: nn.Module, metrics: dict) -> None:
    """Save the weights (beside --output unless --model names a path) and write or print the metrics."""
    model_path = args.model or (os.path.splitext(args.output)[0] + ".pt" if args.output else None)
    if model_path:
        os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
        torch.save({key: value.cpu() for key, value in model.state_dict().items()}, model_path)
        metrics["model"] = os.path.abspath(model_path)
    if args.output:
        write_json_atomic(args.output, metrics)
        ctx.log(
            f"final loss {metrics['final_loss']:.4f}, test accuracy {metrics['test_accuracy']:.2%}; metrics written "
            f"to {args.output}"
        )
    else:
        print(json.dumps(metrics, indent=2, allow_nan=False), flush=True)


def run(args, ctx: Context, data: dict) -> dict:
    train_images, train_labels = data["train"]
    test_images, test_labels = data["test"]
    ctx.log(
        f"torch {torch.__version__} on {ctx.device}"
        + (f" ({ctx.backend}, world size {ctx.world_size})" if ctx.distributed else "")
        + f"; {train_labels.numel()} training and {test_labels.numel()} test images from {args.data_dir}"
        + f"; {args.epochs} epoch(s)"
    )
    training = prepare(args, ctx, train_images, train_labels)
    train_started = time.perf_counter()
    history = train(args, ctx, training)
    right, total = ctx.all_sum(list(evaluate(training.model, test_images, test_labels, ctx)))
    test_accuracy = right / total
    seconds = time.perf_counter() - train_started
    ctx.log(f"test accuracy {test_accuracy:.2%} on {int(total)} images; {seconds:.1f}s training and evaluation")
    if ctx.distributed:
        result = rank_result(args, ctx, history, seconds)
        everyone = gather_json(ctx, result)
        if ctx.rank != 0:
            ctx.log(f"rank result written to {rank_output_path(args.output, ctx.rank)}")
            return result
    losses = history["losses"]
    metrics = {
        "script": SCRIPT,
        "data_dir": os.path.abspath(args.data_dir),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "limit": args.limit,
        "train_samples": int(train_labels.numel()),
        "test_samples": int(test_labels.numel()),
        "losses": losses,
        "final_loss": losses[-1],
        "test_accuracy": test_accuracy,
        **environment(ctx),
        "distributed": ctx.distributed,
        "world_size": ctx.world_size,
        "backend": ctx.backend,
        "seconds": round(seconds, 4),
        "load_seconds": round(data["seconds"], 4),
    }
    if ctx.distributed:
        metrics["ranks"] = sorted(everyone, key=lambda result: result["rank"])
    save_results(args, ctx, training.model, metrics)
    return metrics


# ---------------------------------------------------------------------------------------------
# Command line


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
        prog="mnist_cnn.py", description="Train a small CNN on MNIST IDX files (plain or .gz) and report accuracy."
    )
    parser.add_argument("--data-dir", metavar="DIR", required=True, help="directory holding the four MNIST IDX files")
    parser.add_argument(
        "--epochs", metavar="N", type=positive_int, default=5, help="passes over the training set (default 5)"
    )
    parser.add_argument(
        "--limit", metavar="N", type=positive_int, help="use only the first N training and N test images"
    )
    parser.add_argument(
        "--device", metavar="D", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
    )
    parser.add_argument("--output", metavar="JSON", help="metrics JSON to write (default: print it on stdout)")
    parser.add_argument(
        "--model", metavar="PT", help="where to save the state_dict (default: beside --output, suffix .pt)"
    )
    parser.add_argument(
        "--seed", metavar="S", type=int, default=0, help="random seed for weights and data order (default 0)"
    )
    parser.add_argument(
        "--batch-size", metavar="B", type=positive_int, default=64, help="images per step and rank (default 64)"
    )
    parser.add_argument(
        "--lr", metavar="LR", type=positive_float, default=1e-3, help="Adam learning rate (default 0.001)"
    )
    parser.add_argument(
        "--distributed", action="store_true", help="data-parallel training under torchrun (gloo on CPU, nccl on CUDA)"
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive_int,
        default=1800,
        help="seconds a rank waits for the others (default 1800)",
    )
    args = parser.parse_args(argv)
    if args.distributed and not args.output:
        parser.error("--distributed needs --output: every rank writes its result beside it")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ctx = None
    try:
        # Read and check the data before joining the process group, so a bad file stops every rank
        # at once instead of leaving the healthy ones waiting for a peer that already exited.
        data = load_data(args)
        ctx = setup_context(args)
        if not args.output:
            ctx.stream = sys.stderr
        run(args, ctx, data)
        if ctx.distributed:
            # Rank 0 still evaluates and saves after the others have their results. Tearing down gloo
            # while a peer still holds its connections aborts the process ("terminate called without an
            # active exception"), so every rank leaves the group together.
            dist.barrier()
    except UsageError as exc:
        where = f"{SCRIPT} rank {os.environ.get('RANK')}" if args.distributed and "RANK" in os.environ else SCRIPT
        print(f"{where}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except DivergedError as exc:
        where = f"{SCRIPT} rank {os.environ.get('RANK')}" if args.distributed and "RANK" in os.environ else SCRIPT
        print(f"{where}: error: {exc}", file=sys.stderr, flush=True)
        return 3
    finally:
        if ctx is not None and ctx.distributed:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
