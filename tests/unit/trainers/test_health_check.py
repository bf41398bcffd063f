"""health_check.py: the per-host burn-in, run for real on the CPU; its CUDA-only paths against named fakes.

No GPU is on the test machine, so what only CUDA can do (TF32/bf16/fp16 products, pinned host transfers,
nvidia-smi's samples) is driven with test doubles that say so; everything the CPU has runs for real.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import types

import pytest
import torch

from .conftest import TRAINERS, _load


@pytest.fixture(scope="module")
def health():
    return _load(TRAINERS / "health_check.py", "torchfleet_trainer_health_check")


def _finite_positive(measure, unit):
    return (
        measure["unit"] == unit
        and isinstance(measure["value"], float)
        and math.isfinite(measure["value"])
        and (measure["value"] > 0)
    )


def test_cpu_run_writes_the_agreed_json(run, tmp_path):
    output = tmp_path / "out" / "health.json"
    result = run(
        "health_check.py",
        *("--device", "cpu", "--seconds-per-test", "0.1", "--sustained-seconds", "0.5", "--size", "256"),
        *("--output", output),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(output.read_text())
    assert data["schema"] == 1
    assert data["kind"] == "cpu"
    assert data["device"] == "cpu"
    assert data["torch"] == torch.__version__
    assert data["threads"] == torch.get_num_threads()
    assert data["hostname"] == socket.gethostname()
    assert data["size"] == 256
    assert data["device_name"] and data["device_name"] != "unknown CPU"
    # The CPU has no TF32/bf16/fp16 tensor cores and no host link: those measures are absent, not zero.
    assert set(data["measures"]) == {"matmul_fp32", "copy", "loopback_tcp"}
    assert _finite_positive(data["measures"]["matmul_fp32"], "FLOP/s")
    assert _finite_positive(data["measures"]["copy"], "B/s")
    assert _finite_positive(data["measures"]["loopback_tcp"], "B/s")
    sustained = data["sustained"]
    assert sustained["seconds"] == 0.5
    assert sustained["measure"] == "matmul_fp32"
    assert _finite_positive(sustained["matmul"], "FLOP/s")
    assert sustained["windows"] >= 1
    assert sustained["clock_mhz"] is None and sustained["temperature_c"] is None  # no nvidia-smi for a CPU
    assert data["seconds"] > 0
    assert "matmul_fp32:" in result.stderr and "loopback_tcp:" in result.stderr


def test_no_sustained_run_and_json_on_stdout(run):
    result = run("health_check.py", "--device", "cpu", "--seconds-per-test", "0.05", "--sustained-seconds", "0")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sustained"] is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a host without CUDA")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", "cuda"], "CUDA is not available"),
        (["--device", "cuda:1"], "CUDA is not available"),
        (["--device", "tpu"], "is not a device name"),
        (["--seconds-per-test", "0"], "must be a number of seconds >= 0.05"),
        (["--sustained-seconds", "-1"], "must be a number of seconds >= 0"),
        (["--size", "0"], "must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(health, capsys, argv, message):
    try:
        code = health.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert captured.out == ""


class FakeClock:
    """A clock that advances by a set amount per step, so that rates are known exactly."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_timed_rate_warms_up_syncs_and_takes_the_median(health):
    clock = FakeClock()
    durations = iter([0.5, 0.5, 0.1] + [0.1] * 3 + [0.2] * 3 + [0.1] * 3 + [0.3] * 3 + [0.1] * 3)
    events = []

    def step():
        events.append("step")
        clock.now += next(durations)

    def sync():
        events.append("sync")

    # The sizing call took 0.1 s: 1.6 s over five repeats is 0.32 s each, so 3 calls per repeat.
    rate = health.timed_rate(step, 10.0, sync, 1.6, clock=clock)
    # Repeats of 3 calls: 0.3 s, 0.6 s, 0.3 s, 0.9 s, 0.3 s -> rates 100, 50, 100, 33.3, 100; median 100.
    assert rate == pytest.approx(100.0)
    # Warm-up (two steps, a sync), the sizing call (step, sync), then each repeat: sync, 3 steps, sync.
    assert events[:5] == ["step", "step", "sync", "step", "sync"]
    assert events[5:] == (["sync", "step", "step", "step", "sync"] * 5)


def test_timed_rate_runs_a_slow_step_at_least_once_per_repeat(health):
    clock = FakeClock()
    calls = []

    def step():
        calls.append(1)
        clock.now += 2.0

    rate = health.timed_rate(step, 4.0, lambda: None, 0.1, clock=clock)
    assert len(calls) == 3 + 5
    assert rate == pytest.approx(2.0)


def test_tcp_stream_delivers_every_byte(health):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(30)
        received, seconds = health.tcp_stream(server, 3 * health.TCP_CHUNK + 17)
    assert received == 3 * health.TCP_CHUNK + 17
    assert seconds > 0


def test_cpu_name_is_read_from_proc_cpuinfo(health):
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        names = {line.partition(":")[2].strip() for line in handle if line.startswith("model name")}
    if not names:
        pytest.skip("this kernel's /proc/cpuinfo has no 'model name' line")
    assert health.cpu_name() in names


# --- CUDA-only paths, with fakes (no GPU here) ---


@pytest.mark.parametrize(
    ("bf16", "expected"),
    [
        (True, ["matmul_fp32", "matmul_tf32", "matmul_bf16", "matmul_fp16"]),
        (False, ["matmul_fp32", "matmul_fp16"]),  # Volta/Turing: neither TF32 nor BF16 units
    ],
)
def test_cuda_measures_tf32_bf16_fp16(health, monkeypatch, bf16, expected):
    # Fake: torch.cuda.is_bf16_supported answers as a card with (Ampere and later) or without the units would; the
    # script must ask without emulation, which answers True on a V100 too.
    asked = []

    def is_bf16_supported(including_emulation=True):
        asked.append(including_emulation)
        return bf16 if not including_emulation else True

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    dtypes = health.matmul_dtypes(torch.device("cuda", 0))
    assert asked == [False]
    assert list(dtypes) == expected
    assert dtypes["matmul_fp32"] == (torch.float32, "highest")
    assert dtypes["matmul_fp16"] == (torch.float16, "highest")
    if bf16:
        assert dtypes["matmul_tf32"] == (torch.float32, "high")
        assert dtypes["matmul_bf16"] == (torch.bfloat16, "highest")
    assert health.matmul_dtypes(torch.device("cpu")) == {"matmul_fp32": (torch.float32, "highest")}


def test_fp32_precision_is_set_for_the_measure_and_restored(health):
    before = torch.get_float32_matmul_precision()
    with health.Float32Precision("high"):
        assert torch.get_float32_matmul_precision() == "high"
    assert torch.get_float32_matmul_precision() == before


def test_matmul_measures_under_each_precision(health, monkeypatch):
    # Fake: a device whose dtype list is CUDA's, run on the CPU with fp32 standing in for every dtype, to show
    # each product is timed under its own float32 precision and named as the interface says.
    seen = []
    fake = {"matmul_fp32": (torch.float32, "highest"), "matmul_tf32": (torch.float32, "high")}
    monkeypatch.setattr(health, "matmul_dtypes", lambda device: fake)
    real_step = health.matmul_step

    def step(device, dtype, size):
        seen.append(torch.get_float32_matmul_precision())
        return real_step(device, dtype, size)

    monkeypatch.setattr(health, "matmul_step", step)
    results = health.measure_matmul(torch.device("cpu"), 64, 0.05)
    assert seen == ["highest", "high"]
    assert set(results) == {"matmul_fp32", "matmul_tf32"}
    assert all(_finite_positive(value, "FLOP/s") for value in results.values())


def test_transfers_use_pinned_host_memory(health, monkeypatch):
    # Fake: pin_memory on a CPU-only torch (which has nothing to pin for); the copies then run between two CPU
    # tensors, which shows the two directions and the byte count, not a GPU's speed.
    pinned = []

    def pin_memory(self, *args, **kwargs):
        pinned.append(self.numel())
        return self

    monkeypatch.setattr(torch.Tensor, "pin_memory", pin_memory)
    monkeypatch.setattr(health, "TRANSFER_BYTES", 1 << 20)
    results = health.measure_transfers(torch.device("cpu"), 0.05)
    assert pinned == [1 << 20]
    assert set(results) == {"h2d", "d2h"}
    assert all(_finite_positive(value, "B/s") for value in results.values())


# nvidia-smi --query-gpu=clocks.sm,temperature.gpu --format=csv,noheader,nounits prints one line per GPU,
# "1980, 45" (values without units: https://docs.nvidia.com/deploy/nvidia-smi/index.html); a value the GPU
# does not report reads "[N/A]".  These outputs are composed in that format, not recorded.
@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("1980, 45\n", (1980.0, 45.0)),
        ("1410, 71\n", (1410.0, 71.0)),
        ("[N/A], 40\n", (None, 40.0)),
        ("1755, [N/A]\n", (1755.0, None)),
        ("", (None, None)),
        ("795\n", (795.0, None)),
    ],
)
def test_smi_sample_parsing(health, stdout, expected):
    assert health.parse_smi_sample(stdout) == expected


def test_smi_sampler_queries_the_gpu_by_uuid(health):
    # Fake: subprocess.run standing in for nvidia-smi, answering three samples, one failed call, one [N/A].
    answers = iter(
        [
            (0, "1980, 45\n"),
            (0, "1965, 52\n"),
            (6, "No devices were found\n"),
            (0, "[N/A], 58\n"),
        ]
    )
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        rc, out = next(answers)
        return subprocess.CompletedProcess(command, rc, out, "")

    sampler = health.SmiSampler("/usr/bin/nvidia-smi", "GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708", run=fake_run)
    for _sample in range(4):
        sampler.sample()
    assert commands[0] == [
        "/usr/bin/nvidia-smi",
        "--query-gpu=clocks.sm,temperature.gpu",
        "--format=csv,noheader,nounits",
        "-i",
        "GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708",
    ]
    assert sampler.clocks == [1980.0, 1965.0]
    assert sampler.temperatures == [45.0, 52.0, 58.0]


def test_smi_sampler_survives_a_missing_binary(health):
    def fake_run(command, **kwargs):
        raise FileNotFoundError(command[0])

    sampler = health.SmiSampler("/nonexistent/nvidia-smi", "0", run=fake_run)
    sampler.sample()
    assert sampler.clocks == [] and sampler.temperatures == []


@pytest.mark.parametrize(
    ("uuid", "expected"),
    [
        # torch's _CUuuid prints the bare UUID; nvidia-smi -i wants NVIDIA's "GPU-" form.
        ("0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708", "GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708"),
        ("GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708", "GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708"),
        ("MIG-9e8d7c6b-5a49-4837-a261-50f4e3d2c1b0", "MIG-9e8d7c6b-5a49-4837-a261-50f4e3d2c1b0"),
        (None, "3"),
    ],
)
def test_smi_id_from_torch_properties(health, monkeypatch, uuid, expected):
    # Fake: torch.cuda.get_device_properties of a CPU-only torch, with or without a uuid attribute.
    properties = types.SimpleNamespace(name="NVIDIA A100-SXM4-80GB")
    if uuid is not None:
        properties.uuid = uuid
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: properties)
    assert health.smi_id(torch.device("cuda", 3)) == expected


def test_sustained_run_on_cuda_reports_smi_samples(health, monkeypatch):
    # Fake: a "cuda" device whose products run on the CPU, and a sampler fed by a fake nvidia-smi, to show that
    # the sustained block carries the clock and temperature lists when nvidia-smi answers.
    monkeypatch.setattr(health, "matmul_dtypes", lambda device: {"matmul_fp16": (torch.float32, "highest")})
    monkeypatch.setattr(health, "synchronizer", lambda device: lambda: None)
    real_step = health.matmul_step
    monkeypatch.setattr(health, "matmul_step", lambda device, dtype, size: real_step(torch.device("cpu"), dtype, size))
    monkeypatch.setattr(health, "smi_id", lambda device: "GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708")

    def fake_run(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, "1980, 61\n", "")

    original = health.SmiSampler

    def sampler(path, gpu_id):
        return original(path, gpu_id, run=fake_run, interval=0.05)

    monkeypatch.setattr(health, "SmiSampler", sampler)
    sustained = health.measure_sustained(
        torch.device("cuda", 0), 64, 0.3, {"matmul_fp16": {"value": 1.0}}, smi_path="/usr/bin/nvidia-smi"
    )
    assert sustained["measure"] == "matmul_fp16"
    assert _finite_positive(sustained["matmul"], "FLOP/s")
    assert sustained["clock_mhz"] and set(sustained["clock_mhz"]) == {1980.0}
    assert sustained["temperature_c"] and set(sustained["temperature_c"]) == {61.0}


def test_sustained_run_picks_the_fastest_product(health, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    measures = {
        "matmul_fp32": {"value": 5.0e13},
        "matmul_tf32": {"value": 3.0e14},
        "matmul_bf16": {"value": 7.0e14},
        "matmul_fp16": {"value": 6.9e14},
    }
    name, (dtype, _precision) = health.sustained_dtype(torch.device("cuda", 0), measures)
    assert (name, dtype) == ("matmul_bf16", torch.bfloat16)
