#!/usr/bin/env python
"""Measure all-reduce bandwidth across the ranks torchrun started, the way nccl-tests' all_reduce_perf does.

Usage (every host of the group, same arguments):
    torchrun --nnodes N --nproc-per-node 1 --rdzv-backend c10d --rdzv-endpoint HOST:PORT --rdzv-id ID \\
        health_allreduce.py [--backend auto|gloo|nccl] [--sizes BYTES,...] [--iters N] [--warmup N]
                            [--timeout S] [--output JSON]

For each size S (bytes of a float32 tensor) every rank runs --warmup all-reduces, then --iters timed ones
between barriers, the device synchronised before the clock is read.  The time t of one all-reduce is the mean
over the timed ones, taken on the slowest rank (the collective is done when its last rank is).  As in
nccl-tests (https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md):
    algbw = S / t,    busbw = algbw * 2 (n - 1) / n    for n ranks,
busbw being the figure to compare with a link's bandwidth whatever the number of ranks.

Backend auto: nccl where CUDA and NCCL are there (device cuda:LOCAL_RANK), else gloo on the CPU.
Rank 0 writes the JSON (--output, or stdout without it); progress goes to stderr.
Exit codes: 0 done, 2 bad input (bad arguments, not started by torchrun, a backend that is not there).
Only torch and the standard library are needed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import socket
import sys
import time

import torch

SCRIPT = "health_allreduce"
SCHEMA = 1
DEFAULT_SIZES = (1 << 20, 16 << 20, 64 << 20)
ELEMENT_BYTES = 4  # float32
# Room for a host name in the gather below: Linux's HOST_NAME_MAX is 64 bytes (gethostname(2)).
HOSTNAME_BYTES = 256


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


def bus_factor(world_size: int) -> float:
    """busbw / algbw of an all-reduce over WORLD_SIZE ranks: 2 (n - 1) / n (nccl-tests, PERFORMANCE.md)."""
    return 2.0 * (world_size - 1) / world_size


def bandwidths(size: int, seconds: float, world_size: int) -> dict:
    algbw = size / seconds
    return {"bytes": size, "seconds": seconds, "algbw": algbw, "busbw": algbw * bus_factor(world_size)}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def sizes_list(text: str) -> list:
    sizes = []
    for part in text.split(","):
        try:
            value = int(part.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a whole number of bytes") from exc
        if value < ELEMENT_BYTES or value % ELEMENT_BYTES:
            raise argparse.ArgumentTypeError(
                f"{value} bytes is not a positive multiple of {ELEMENT_BYTES} (the size of a float32)"
            )
        sizes.append(value)
    return sorted(set(sizes))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="health_allreduce.py", description="All-reduce bandwidth under torchrun.")
    parser.add_argument("--backend", default="auto", choices=("auto", "gloo", "nccl"), help="default auto")
    parser.add_argument(
        "--sizes",
        type=sizes_list,
        default=list(DEFAULT_SIZES),
        help="comma-separated tensor sizes in bytes, multiples of 4 (default 1 MiB, 16 MiB, 64 MiB)",
    )
    parser.add_argument("--iters", type=positive_int, default=20, help="timed all-reduces per size (default 20)")
    parser.add_argument("--warmup", type=positive_int, default=5, help="untimed all-reduces first (default 5)")
    parser.add_argument(
        "--timeout", type=positive_int, default=300, help="seconds a collective may wait for its peers (default 300)"
    )
    parser.add_argument("--output", metavar="JSON", help="JSON to write on rank 0 (default: print it on stdout)")
    return parser.parse_args(argv)


def launch_environment() -> tuple:
    missing = [
        name for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ
    ]
    if missing:
        raise UsageError(f"not started by torchrun: {', '.join(missing)} not set (run it under torchrun)")
    return int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])


def choose_backend(requested: str, local_rank: int):
    """(backend, device) for REQUESTED: nccl runs on cuda:LOCAL_RANK, gloo on the CPU."""
    dist = torch.distributed
    cuda = torch.cuda.is_available() and dist.is_nccl_available()
    if requested == "auto":
        requested = "nccl" if cuda else "gloo"
    if requested == "nccl":
        if not cuda:
            raise UsageError("--backend nccl needs CUDA and a torch built with NCCL; use --backend gloo")
        if local_rank >= torch.cuda.device_count():
            raise UsageError(f"local rank {local_rank} has no GPU: {torch.cuda.device_count()} CUDA device(s)")
        return "nccl", torch.device("cuda", local_rank)
    if not dist.is_gloo_available():
        raise UsageError("this torch build has no gloo backend")
    return "gloo", torch.device("cpu")


def log(rank: int, world_size: int, message: str) -> None:
    print(f"[{SCRIPT} rank {rank}/{world_size}] {message}", file=sys.stderr, flush=True)


def gather_hostnames(world_size: int, device: torch.device) -> list:
    """Every rank's host name, in rank order, gathered as fixed-size byte tensors.

    Not all_gather_object: it turns the gathered bytes back through tensor.numpy() (torch/distributed/
    distributed_c10d.py, _tensor_to_object), and a torch-only environment has no numpy ("Numpy is not available").
    """
    dist = torch.distributed
    name = socket.gethostname().encode("utf-8")[:HOSTNAME_BYTES]
    mine = torch.zeros(HOSTNAME_BYTES, dtype=torch.uint8, device=device)
    if name:
        mine[: len(name)] = torch.tensor(list(name), dtype=torch.uint8, device=device)
    gathered = [torch.zeros_like(mine) for _rank in range(world_size)]
    dist.all_gather(gathered, mine)
    return [bytes(part.cpu().tolist()).rstrip(b"\0").decode("utf-8", "replace") for part in gathered]


def measure(size: int, args, device: torch.device, clock=time.perf_counter) -> float:
    """Mean seconds of one all-reduce of SIZE bytes on the slowest rank."""
    dist = torch.distributed
    tensor = torch.ones(size // ELEMENT_BYTES, dtype=torch.float32, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _warm in range(args.warmup):
        dist.all_reduce(tensor)
    sync()
    dist.barrier()
    start = clock()
    for _timed in range(args.iters):
        dist.all_reduce(tensor)
    sync()
    elapsed = (clock() - start) / args.iters
    slowest = torch.tensor([elapsed], dtype=torch.float64, device=device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    return float(slowest.item())


def run(args) -> dict | None:
    dist = torch.distributed
    if not dist.is_available():
        raise UsageError("this torch build has no torch.distributed")
    rank, local_rank, world_size = launch_environment()
    backend, device = choose_backend(args.backend, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=args.timeout))
    try:
        hostnames = gather_hostnames(world_size, device)
        results = []
        for size in args.sizes:
            seconds = measure(size, args, device)
            if not (math.isfinite(seconds) and seconds > 0):
                raise RuntimeError(f"all-reduce of {size} bytes timed {seconds} s")
            results.append(bandwidths(size, seconds, world_size))
            if rank == 0:
                entry = results[-1]
                log(
                    rank,
                    world_size,
                    f"{size} B: {entry['seconds'] * 1e3:.3f} ms, algbw {entry['algbw'] / 1e9:.3f} GB/s, "
                    f"busbw {entry['busbw'] / 1e9:.3f} GB/s",
                )
    finally:
        dist.destroy_process_group()
    if rank != 0:
        return None
    return {
        "schema": SCHEMA,
        "backend": backend,
        "world_size": world_size,
        "hosts": hostnames,
        "iters": args.iters,
        "warmup": args.warmup,
        "results": results,
        "busbw": results[-1]["busbw"],
    }


def write_json_atomic(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, allow_nan=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except UsageError as exc:
        print(f"{SCRIPT}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    if result is not None:
        if args.output:
            write_json_atomic(args.output, result)
        else:
            print(json.dumps(result, indent=2, allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
