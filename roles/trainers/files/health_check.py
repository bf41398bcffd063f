#!/usr/bin/env python
"""Measure what this host's device delivers, and write it as JSON: a burn-in for one host of the fleet.

Usage:
    health_check.py [--device auto|cpu|cuda|cuda:N|mps] [--seconds-per-test F] [--sustained-seconds F]
                    [--size N] [--output JSON]

Measures, each a timed loop after a warm-up, with the device synchronised before the clock is read, as the
median of five repeats:
- matmul_fp32: square matrix products, 2*N^3 floating-point operations each (TF32 off);
- matmul_tf32, matmul_bf16, matmul_fp16: the same on CUDA (TF32 and BF16 only from Ampere on);
- copy: device memory bandwidth from a large tensor copy, counted as bytes read plus bytes written;
- h2d, d2h (CUDA): host-to-device and device-to-host copies from and to pinned host memory;
- loopback_tcp: a TCP stream through 127.0.0.1 between two threads of this process, the most a collective
  over this host's own network stack could reach.
Then a sustained matmul run of --sustained-seconds (0 skips it) that samples the SM clock and the temperature
from nvidia-smi once a second where nvidia-smi exists.

Values are plain SI units (FLOP/s, bytes/s).  Progress goes to stderr; the JSON goes to --output, or to
stdout without it.  Exit codes: 0 done, 2 bad input (a device that is not there, bad arguments).
Only torch and the standard library are needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

import torch

SCRIPT = "health_check"
SCHEMA = 1
REPEATS = 5
# Default matrix sizes: big enough to keep the device's math units busy, small enough for a 16 GB card
# (three 8192^2 fp32 matrices are 0.8 GB) and for a CPU container limited to half a core to finish a product in a
# fraction of a second (2 x 1024^3 = 2.1 GFLOP); CPU hosts are compared with their peers only, at the same size.
DEFAULT_SIZE = {"cuda": 8192, "mps": 4096, "cpu": 1024}
# Copy buffers: well beyond a GPU's L2 cache (H100: 50 MB) and a usual CPU's last-level cache; on CPUs they
# stay at 256 MiB, so that a lab container slowed on purpose still finishes in seconds.
COPY_BYTES = {"cuda": 1 << 30, "mps": 256 << 20, "cpu": 256 << 20}
TRANSFER_BYTES = 256 << 20
TCP_CHUNK = 1 << 20
SAMPLE_SECONDS = 1.0


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


def log(message: str) -> None:
    print(f"[{SCRIPT}] {message}", file=sys.stderr, flush=True)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seconds_value(minimum: float):
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or value < minimum or (minimum == 0 and value < 0):
            raise argparse.ArgumentTypeError(f"must be a number of seconds >= {minimum}, got {text}")
        return value

    return parse


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="health_check.py", description="Measure this host's device (burn-in).")
    parser.add_argument(
        "--device", metavar="D", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
    )
    parser.add_argument(
        "--seconds-per-test",
        metavar="F",
        type=seconds_value(0.05),
        default=2.0,
        help="timed seconds per measure, split over five repeats (default 2)",
    )
    parser.add_argument(
        "--sustained-seconds",
        metavar="F",
        type=seconds_value(0),
        default=10.0,
        help="length of the sustained matmul run; 0 skips it (default 10)",
    )
    parser.add_argument(
        "--size", metavar="N", type=positive_int, help="matrix size N for the N x N products (default by device)"
    )
    parser.add_argument("--output", metavar="JSON", help="JSON to write (default: print it on stdout)")
    return parser.parse_args(argv)


def mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)  # absent before torch 1.12
    return bool(mps is not None and mps.is_available())


def select_device(requested: str) -> torch.device:
    """Pick cuda, then mps, then cpu; a requested device that is not there is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
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
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {requested} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        if not mps_available():
            raise UsageError(f"--device {requested} requested but MPS is not available on this machine")
        return device
    if device.type != "cpu":
        raise UsageError(f"--device {requested!r} is not supported (use auto, cpu, cuda, cuda:N or mps)")
    return device


def synchronizer(device: torch.device):
    """A function that waits until the device has finished the work queued so far."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None  # CPU operations have finished when they return


def timed_rate(step, work: float, sync, seconds: float, clock=time.perf_counter) -> float:
    """Median rate (work per second) of REPEATS timed loops of STEP, after a warm-up.

    The warm-up runs STEP twice (kernel selection, allocator, library handles happen there), then one timed
    call sizes the loops so that each repeat lasts about SECONDS / REPEATS, and at least one call.
    """
    step()
    step()
    sync()
    start = clock()
    step()
    sync()
    once = max(clock() - start, 1e-9)
    calls = max(1, int(seconds / REPEATS / once))
    rates = []
    for _repeat in range(REPEATS):
        sync()
        start = clock()
        for _call in range(calls):
            step()
        sync()
        rates.append(work * calls / max(clock() - start, 1e-9))
    return statistics.median(rates)


class Float32Precision:
    """Context that sets torch.set_float32_matmul_precision and restores it.

    "highest" computes float32 products in float32; "high" lets CUDA use TF32 tensor cores
    (https://docs.pytorch.org/docs/stable/generated/torch.set_float32_matmul_precision.html).
    """

    def __init__(self, precision: str):
        self.precision = precision
        self.saved = None

    def __enter__(self):
        self.saved = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.precision)
        return self

    def __exit__(self, *exc_info):
        torch.set_float32_matmul_precision(self.saved)


def tensor_core_formats() -> bool:
    """Whether the current CUDA device has TF32 and BF16 in hardware (compute capability 8.0, Ampere, and later).

    torch's is_bf16_supported() takes including_emulation, default True, under which it answers True on Volta and
    Turing too, where bfloat16 is emulated; is_tf32_supported() is is_bf16_supported(including_emulation=False)
    on CUDA (torch 2.13, torch/cuda/__init__.py).  Releases without the argument have no emulation path.
    """
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:
        return bool(torch.cuda.is_bf16_supported())


def matmul_dtypes(device: torch.device) -> dict:
    """Measure name -> (dtype, float32 matmul precision) for the products that apply to DEVICE."""
    dtypes = {"matmul_fp32": (torch.float32, "highest")}
    if device.type == "cuda":
        if tensor_core_formats():  # before Ampere, "high" precision computes in float32: nothing new to time
            dtypes["matmul_tf32"] = (torch.float32, "high")
            dtypes["matmul_bf16"] = (torch.bfloat16, "highest")
        dtypes["matmul_fp16"] = (torch.float16, "highest")
    return dtypes


def matmul_step(device: torch.device, dtype, size: int):
    generator = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    return lambda: torch.matmul(a, b, out=out)


def measure_matmul(device: torch.device, size: int, seconds: float) -> dict:
    sync = synchronizer(device)
    flops = 2.0 * size**3
    results = {}
    for name, (dtype, precision) in matmul_dtypes(device).items():
        with Float32Precision(precision):
            rate = timed_rate(matmul_step(device, dtype, size), flops, sync, seconds)
        results[name] = {"value": rate, "unit": "FLOP/s"}
        log(f"{name}: {rate / 1e12:.3f} TFLOPS ({size}x{size})")
    return results


def copy_bytes_for(device: torch.device) -> int:
    wanted = COPY_BYTES[device.type]
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        wanted = min(wanted, free // 8)  # two buffers, with room to spare for the rest of the run
    return max(wanted, 1 << 20)


def measure_copy(device: torch.device, seconds: float) -> dict:
    """Device memory bandwidth: one buffer copied into another, bytes read plus bytes written.

    STREAM's Copy kernel counts both the load and the store the same way
    (https://www.cs.virginia.edu/stream/ref.html, "Copy: 16 bytes per iteration").
    """
    count = copy_bytes_for(device)
    source = torch.ones(count, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    rate = timed_rate(lambda: target.copy_(source), 2.0 * count, synchronizer(device), seconds)
    log(f"copy: {rate / 1e9:.2f} GB/s ({count >> 20} MiB buffers)")
    return {"copy": {"value": rate, "unit": "B/s"}}


def measure_transfers(device: torch.device, seconds: float) -> dict:
    """Host-to-device and device-to-host bandwidth with pinned (page-locked) host memory."""
    host = torch.ones(TRANSFER_BYTES, dtype=torch.uint8).pin_memory()
    on_device = torch.empty(TRANSFER_BYTES, dtype=torch.uint8, device=device)
    sync = synchronizer(device)
    h2d = timed_rate(lambda: on_device.copy_(host, non_blocking=True), TRANSFER_BYTES, sync, seconds)
    d2h = timed_rate(lambda: host.copy_(on_device, non_blocking=True), TRANSFER_BYTES, sync, seconds)
    log(f"h2d: {h2d / 1e9:.2f} GB/s, d2h: {d2h / 1e9:.2f} GB/s (pinned, {TRANSFER_BYTES >> 20} MiB)")
    return {"h2d": {"value": h2d, "unit": "B/s"}, "d2h": {"value": d2h, "unit": "B/s"}}


def _send(port: int, count: int, errors: list) -> None:
    payload = memoryview(bytes(TCP_CHUNK))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sender:
            left = count
            while left > 0:
                chunk = payload[: min(left, TCP_CHUNK)]
                sender.sendall(chunk)
                left -= len(chunk)
    except OSError as exc:
        errors.append(exc)


def tcp_stream(server: socket.socket, count: int, clock=time.perf_counter) -> tuple:
    """Send COUNT bytes through loopback to SERVER; return (bytes received, seconds from connect to EOF)."""
    errors: list = []
    sender = threading.Thread(target=_send, args=(server.getsockname()[1], count, errors), daemon=True)
    start = clock()
    sender.start()
    connection, _peer = server.accept()
    buffer = bytearray(TCP_CHUNK)
    received = 0
    with connection:
        connection.settimeout(60)
        while True:
            got = connection.recv_into(buffer)
            if not got:
                break
            received += got
    elapsed = clock() - start
    sender.join(60)
    if errors:
        raise OSError(f"loopback TCP stream failed: {errors[0]}")
    return received, elapsed


def measure_loopback(seconds: float) -> dict:
    """Bytes per second through a TCP connection on 127.0.0.1, median of REPEATS streams."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(60)
        received, elapsed = tcp_stream(server, 32 << 20)  # warm-up, and the first estimate of the rate
        per_stream = int(min(max(received / max(elapsed, 1e-9) * seconds / REPEATS, 8 << 20), 16 << 30))
        rates = []
        for _repeat in range(REPEATS):
            received, elapsed = tcp_stream(server, per_stream)
            if received != per_stream:
                raise OSError(f"loopback TCP stream delivered {received} of {per_stream} bytes")
            rates.append(received / max(elapsed, 1e-9))
    rate = statistics.median(rates)
    log(f"loopback_tcp: {rate / 1e9:.2f} GB/s")
    return {"loopback_tcp": {"value": rate, "unit": "B/s"}}


# nvidia-smi's CSV query (https://docs.nvidia.com/deploy/nvidia-smi/index.html, `nvidia-smi --help-query-gpu`):
# clocks.sm is the current SM clock in MHz and temperature.gpu the core temperature in degrees C; with
# "nounits" the values come without their units, and a value the GPU does not report reads "[N/A]" or
# "[Not Supported]".  -i takes an index, a PCI bus id or a UUID ("GPU-..."); the UUID is used because torch's
# index and nvidia-smi's index differ under CUDA_VISIBLE_DEVICES or CUDA_DEVICE_ORDER.
SMI_QUERY = ("--query-gpu=clocks.sm,temperature.gpu", "--format=csv,noheader,nounits")


def smi_id(device: torch.device):
    """nvidia-smi's -i argument for DEVICE: its UUID where torch knows it, else torch's index."""
    uuid = getattr(torch.cuda.get_device_properties(device), "uuid", None)
    if uuid is None:
        return str(device.index)
    # torch prints the UUID without NVIDIA's "GPU-" prefix (torch/csrc/cuda/Module.cpp, _CUuuid.__str__).
    text = str(uuid)
    return text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"


def parse_smi_sample(text: str):
    """One line 'clock, temperature' -> (clock MHz or None, temperature C or None)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None, None
    values = []
    for field in lines[0].split(",")[:2]:
        try:
            number = float(field.strip())
        except ValueError:
            number = None
        values.append(number if number is not None and math.isfinite(number) else None)
    while len(values) < 2:
        values.append(None)
    return values[0], values[1]


class SmiSampler:
    """Reads nvidia-smi once a second in a thread while the sustained run keeps the GPU busy."""

    def __init__(self, smi_path: str, gpu_id: str, run=subprocess.run, interval: float = SAMPLE_SECONDS):
        self.command = [smi_path, *SMI_QUERY, "-i", gpu_id]
        self.run = run
        self.interval = interval
        self.clocks: list = []
        self.temperatures: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        try:
            result = self.run(self.command, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return
        if result.returncode != 0:
            return
        clock, temperature = parse_smi_sample(result.stdout)
        if clock is not None:
            self.clocks.append(clock)
        if temperature is not None:
            self.temperatures.append(temperature)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(30)


def sustained_dtype(device: torch.device, measures: dict):
    """The fastest product measured on DEVICE: the sustained run loads the device as hard as it can."""
    dtypes = matmul_dtypes(device)
    best = max(dtypes, key=lambda name: measures.get(name, {}).get("value", 0.0))
    return best, dtypes[best]


def measure_sustained(device: torch.device, size: int, seconds: float, measures: dict, smi_path=None) -> dict:
    """Products back to back for SECONDS; the median rate of one-second windows, and nvidia-smi's samples."""
    name, (dtype, precision) = sustained_dtype(device, measures)
    sync = synchronizer(device)
    flops = 2.0 * size**3
    sampler = None
    if device.type == "cuda" and smi_path:
        sampler = SmiSampler(smi_path, smi_id(device))
    with Float32Precision(precision):
        step = matmul_step(device, dtype, size)
        step()
        sync()
        windows = []
        deadline = time.perf_counter() + seconds
        with sampler if sampler else _Nothing():
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                calls = 0
                while True:
                    step()
                    calls += 1
                    sync()
                    now = time.perf_counter()
                    if now - start >= min(SAMPLE_SECONDS, seconds) or now >= deadline:
                        break
                windows.append(flops * calls / max(now - start, 1e-9))
    rate = statistics.median(windows)
    log(f"sustained {name} for {seconds:g} s: {rate / 1e12:.3f} TFLOPS over {len(windows)} windows")
    return {
        "seconds": seconds,
        "measure": name,
        "matmul": {"value": rate, "unit": "FLOP/s"},
        "windows": len(windows),
        "clock_mhz": sampler.clocks if sampler and sampler.clocks else None,
        "temperature_c": sampler.temperatures if sampler and sampler.temperatures else None,
    }


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def cpu_name() -> str:
    """The CPU's model name: /proc/cpuinfo on Linux, sysctl on macOS, else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                # x86 writes "model name"; many Arm kernels write no name at all, some "Model" or "Hardware".
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            result = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=10, check=False
            )
            if result.returncode == 0 and result.stdout.strip():
                return result.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()  # MPS: the Apple chip's name ("Apple M2 Pro") is the CPU's brand string


def run(args) -> dict:
    device = select_device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # the capability checks and library handles follow the current device
    size = args.size or DEFAULT_SIZE[device.type]
    began = time.perf_counter()
    log(f"device {device} ({device_name(device)}), torch {torch.__version__}, {torch.get_num_threads()} threads")
    measures = {}
    measures.update(measure_matmul(device, size, args.seconds_per_test))
    measures.update(measure_copy(device, args.seconds_per_test))
    if device.type == "cuda":
        measures.update(measure_transfers(device, args.seconds_per_test))
    measures.update(measure_loopback(args.seconds_per_test))
    sustained = None
    if args.sustained_seconds > 0:
        smi_path = shutil.which("nvidia-smi") if device.type == "cuda" else None
        sustained = measure_sustained(device, size, args.sustained_seconds, measures, smi_path)
    return {
        "schema": SCHEMA,
        "kind": device.type,
        "device": str(device),
        "device_name": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "hostname": socket.gethostname(),
        "size": size,
        "measures": measures,
        "sustained": sustained,
        "seconds": time.perf_counter() - began,
    }


def write_json_atomic(path: str, payload: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        # allow_nan=False: NaN and Infinity are not JSON (RFC 8259, section 6).
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
    if args.output:
        write_json_atomic(args.output, result)
        log(f"wrote {args.output}")
    else:
        print(json.dumps(result, indent=2, allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
