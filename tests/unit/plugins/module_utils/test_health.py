"""module_utils/_health.py: the datasheet table and the matching of torch's device names to it, the evaluation
(peer medians, datasheet fractions, failed and missing hosts first), the thresholds and inputs, and the report."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _health

FIXTURES = Path(__file__).resolve().parents[2] / "plugins" / "fixtures" / "health"
CPU = json.loads((FIXTURES / "cpu_debian12_epyc.json").read_text(encoding="utf-8"))
ALLREDUCE = json.loads((FIXTURES / "allreduce_gloo_3ranks.json").read_text(encoding="utf-8"))


def _scaled(result, factor):
    """A copy of RESULT with every figure multiplied by FACTOR (a host slowed on purpose, in the tests' terms)."""
    out = copy.deepcopy(result)
    for item in out["measures"].values():
        item["value"] *= factor
    out["sustained"]["matmul"]["value"] *= factor
    return out


def _cuda(name, fraction=0.75, **overrides):
    """A composed health_check.py result of a CUDA host (no GPU here): every figure FRACTION of the datasheet."""
    row = _health.match_spec(name)
    measures = {}
    for measure in ("matmul_fp32", "matmul_tf32", "matmul_bf16", "matmul_fp16", "copy", "h2d", "d2h"):
        spec = _health.spec_value(row, measure)
        if spec:
            measures[measure] = {"value": spec * overrides.get(measure, fraction), "unit": _health.MEASURES[measure][1]}
    measures["loopback_tcp"] = {"value": 9.0e9, "unit": "B/s"}
    return {
        "schema": 1,
        "kind": "cuda",
        "device": "cuda:0",
        "device_name": name,
        "torch": "2.13.0+cu130",
        "threads": 16,
        "measures": measures,
        "sustained": {
            "seconds": 10.0,
            "measure": "matmul_fp16",
            "matmul": {"value": measures["matmul_fp16"]["value"] * 0.97, "unit": "FLOP/s"},
            "clock_mhz": [1980.0, 1965.0, 1755.0],
            "temperature_c": [45.0, 58.0, 63.0],
        },
        "seconds": 60.0,
    }


# --- The table and the names ---------------------------------------------------------------------------------

# Device names as torch and nvidia-smi print them, each from a public log (the URL says where it was seen).
NAMES = [
    # vllm-project/vllm#11959, collect_env: "GPU 0: NVIDIA H100 80GB HBM3"
    ("NVIDIA H100 80GB HBM3", "H100 SXM"),
    # neuralinternet/SN27#291, a list of NVML names: NVIDIA H200, NVIDIA H100 80GB HBM3, NVIDIA H100 PCIe, ...
    ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA H200", "H200 SXM"),
    # NVIDIA/CUDALibrarySamples#104, nvidia-smi -a: "Product Name : NVIDIA A100-SXM4-80GB"
    ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
    # AUTOMATIC1111/stable-diffusion-webui#702, torch's own warning: "A100-SXM4-40GB with CUDA capability sm_80"
    ("A100-SXM4-40GB", "A100 SXM4 40GB"),
    # facebookresearch/d2go#103, torch's warning with an early driver: "A100-SXM-80GB with CUDA capability sm_80"
    ("A100-SXM-80GB", "A100 SXM4 80GB"),
    # Googolxx/STF#1, torch's warning: "NVIDIA A100-PCIE-40GB with CUDA capability sm_80"
    ("NVIDIA A100-PCIE-40GB", "A100 PCIe 40GB"),
    # vectorch-ai/ScaleLLM#288, collect_env: "GPU 0: NVIDIA A100 80GB PCIe"
    ("NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"),
    # mayooot/detect-gpu#3, NVML's name: "NVIDIA A10"
    ("NVIDIA A10", "A10"),
    # gpustack/gpustack#301, nvidia-smi: "0  NVIDIA L40S"
    ("NVIDIA L40S", "L40S"),
    # Composed: NVIDIA names the L4 as it names the L40S ("NVIDIA L40S"); no public log was found here.
    ("NVIDIA L4", "L4"),
    # LianjiaTech/BELLE#320: "Detected NVIDIA NVIDIA GeForce RTX 4090 GPU" (the container prefixes "NVIDIA ")
    ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    ("NVIDIA NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    # NVIDIA/nvidia-docker#914 and #1076, nvidia-smi -a: "Tesla V100-SXM2-16GB", "Tesla V100-SXM2-32GB"
    ("Tesla V100-SXM2-16GB", "V100 SXM2"),
    ("Tesla V100-SXM2-32GB", "V100 SXM2"),
    # NVIDIA/nvidia-docker#1285, nvidia-smi -a: "Tesla V100-PCIE-16GB"; karpathy/llm.c#621, mfu.h's device names:
    # "Tesla V100-PCIE-32GB"
    ("Tesla V100-PCIE-16GB", "V100 PCIe"),
    ("Tesla V100-PCIE-32GB", "V100 PCIe"),
    # NVIDIA/nvidia-docker#1628, nvidia-smi -q: "Product Name : Tesla T4"
    ("Tesla T4", "T4"),
]

# Names that must NOT take another card's row.
UNKNOWN = [
    # NVIDIA/k8s-device-plugin#344: "Product Name : NVIDIA A10G" (AWS's variant, other clocks than the A10)
    "NVIDIA A10G",
    # ollama/ollama#10393: "NVIDIA GeForce RTX 4090 Laptop GPU" (a different chip than the desktop card)
    "NVIDIA GeForce RTX 4090 Laptop GPU",
    # vllm-project/vllm#9293, collect_env: "NVIDIA GeForce RTX 4070 Laptop GPU"
    "NVIDIA GeForce RTX 4070 Laptop GPU",
    # akash-network/provider-configs#90, nvidia-smi: "Tesla PG500-216" (a V100 board the table does not list)
    "Tesla PG500-216",
    # NVIDIA/TensorRT-LLM#458 speaks of the L40, a card without the L40S's clocks
    "NVIDIA L40",
    # NVIDIA/gpu-admin-tools#4, nvidia-smi: "NVIDIA H100 NVL"; not in the table, and not an H100 PCIe
    "NVIDIA H100 NVL",
    # bigstack-oss/cubecos#312 ("Support Nvidia H200 NVL"): the PCIe H200, not the SXM part named "NVIDIA H200"
    "NVIDIA H200 NVL",
    "",
    None,
]


@pytest.mark.parametrize(("name", "model"), NAMES)
def test_device_names_find_their_row(name, model):
    row = _health.match_spec(name)
    assert row is not None and row["model"] == model


@pytest.mark.parametrize("name", UNKNOWN)
def test_other_cards_have_no_row(name):
    assert _health.match_spec(name) is None


def test_every_name_matches_exactly_one_row():
    for name, model in NAMES:
        text = _health.normalize_name(name)
        rows = [row["model"] for row in _health.GPU_SPECS if any(re.fullmatch(p, text) for p in row["names"])]
        assert rows == [model], name


@pytest.mark.parametrize("row", _health.GPU_SPECS, ids=lambda row: row["model"])
def test_rows_are_dense_cited_figures(row):
    assert row["source"].startswith("https://") and ("nvidia.com" in row["source"])
    tflops = row["tflops"]
    assert tflops["fp32"] > 0 and tflops["fp16"] > tflops["fp32"]
    if tflops["bf16"] is not None:
        # Dense: TF32 is half the 16-bit rate on every card listed (the datasheets' sparse figures double both).
        assert tflops["bf16"] == tflops["fp16"]
        assert tflops["tf32"] == pytest.approx(tflops["bf16"] / 2, rel=0.02)  # L40S: 183 vs 362.05 / 2
    else:
        assert tflops["tf32"] is None  # Volta and Turing: no TF32 or BF16 units
    assert row["memory_gb_s"] > 0 and row["host_link_gb_s"] in (32, 64, 128)


@pytest.mark.parametrize(
    ("name", "measure", "expected"),
    [
        # H100 page: BF16 1,979 TFLOPS with sparsity -> 989.5 dense; 3.35 TB/s; PCIe Gen5 128 GB/s both ways.
        ("NVIDIA H100 80GB HBM3", "matmul_bf16", 989.5e12),
        ("NVIDIA H100 80GB HBM3", "matmul_fp32", 67e12),
        ("NVIDIA H100 80GB HBM3", "copy", 3350e9),
        ("NVIDIA H100 80GB HBM3", "h2d", 64e9),
        ("NVIDIA H200", "copy", 4800e9),
        # A100 datasheet: TF32 156 dense; 80GB SXM 2,039 GB/s; PCIe Gen4 64 GB/s -> 32 one way.
        ("NVIDIA A100-SXM4-80GB", "matmul_tf32", 156e12),
        ("NVIDIA A100-SXM4-80GB", "copy", 2039e9),
        ("NVIDIA A100-SXM4-80GB", "d2h", 32e9),
        # T4 datasheet: mixed precision 65 TFLOPS, no TF32.
        ("Tesla T4", "matmul_fp16", 65e12),
        ("Tesla T4", "matmul_tf32", None),
        ("Tesla T4", "loopback_tcp", None),
    ],
)
def test_spec_values_in_si_units(name, measure, expected):
    value = _health.spec_value(_health.match_spec(name), measure)
    assert value == (pytest.approx(expected) if expected else None)


def test_default_spec_fraction_follows_the_cited_ratio():
    # docs/health.md and the filters' documentation state 0.64 (0.8 x 80.3%).
    assert _health.DEFAULT_SPEC_FRACTION == 0.64
    assert "stas00/ml-engineering" in _health.SPEC_FRACTION_SOURCE


# --- Evaluation ----------------------------------------------------------------------------------------------


def test_three_cpu_hosts_flag_exactly_the_slowed_one():
    results = {"lab-1": CPU, "lab-2": _scaled(CPU, 1.05), "lab-3": _scaled(CPU, 0.4)}
    out = _health.evaluate(results, ALLREDUCE, {})
    assert out["flagged"] == ["lab-3"]
    assert out["failed"] == []
    assert [h["host"] for h in out["hosts"]] == ["lab-3", "lab-1", "lab-2"]
    slow = out["hosts"][0]
    assert slow["status"] == "flagged" and slow["peers"] == 3
    matmul = slow["measures"]["matmul_fp32"]
    # The median of three is the middle host's figure: lab-1's.
    assert matmul["median"] == pytest.approx(CPU["measures"]["matmul_fp32"]["value"])
    assert matmul["of_median"] == pytest.approx(0.4)
    # CPU hosts: median only, no datasheet.
    assert slow["spec_model"] is None and matmul["spec"] is None and matmul["of_spec"] is None
    assert any("Matmul FP32 at 40% of the fleet median" in reason for reason in slow["reasons"])
    assert set(slow["measures"]) == {"matmul_fp32", "sustained", "copy", "loopback_tcp"}
    for entry in out["hosts"][1:]:
        assert entry["status"] == "ok" and entry["reasons"] == []


def test_a_host_just_above_the_median_threshold_is_not_flagged():
    results = {"a": CPU, "b": CPU, "c": _scaled(CPU, 0.81)}
    assert _health.evaluate(results, None, {"median_fraction": 0.8})["flagged"] == []
    assert _health.evaluate(results, None, {"median_fraction": 0.9})["flagged"] == ["c"]


def test_gpu_host_against_its_datasheet():
    # Composed results: both H100s at 75% of the datasheet, except one whose BF16 products reach 50%.
    results = {
        "gpu-a": _cuda("NVIDIA H100 80GB HBM3"),
        "gpu-b": _cuda("NVIDIA H100 80GB HBM3", matmul_bf16=0.5),
    }
    out = _health.evaluate(results, None, None)
    assert out["flagged"] == ["gpu-b"]
    entry = out["hosts"][0]
    assert entry["spec_model"] == "H100 SXM" and entry["spec_source"] == _health.H100_URL
    bf16 = entry["measures"]["matmul_bf16"]
    assert bf16["spec"] == pytest.approx(989.5e12) and bf16["of_spec"] == pytest.approx(0.5)
    # Against the median of two (0.625 of spec) the host is at 80%: not below the 0.8 threshold; the datasheet
    # threshold (0.64) is what flags it.
    assert bf16["of_median"] == pytest.approx(0.8)
    assert entry["reasons"] == ["Matmul BF16 at 50% of the H100 SXM datasheet (threshold 64%)"]
    assert entry["clocks"] == {
        "clock_mhz_min": 1755.0,
        "clock_mhz_max": 1980.0,
        "temperature_c_max": 63.0,
        "samples": 3,
    }
    assert entry["measures"]["sustained"]["spec"] == pytest.approx(989.5e12)  # the sustained run's dtype: fp16
    assert entry["measures"]["loopback_tcp"]["spec"] is None


def test_peers_are_hosts_of_the_same_device():
    # An A100 is slower than an H100 and must not be flagged for it; a T4 next to them has its own median.
    results = {
        "h100": _cuda("NVIDIA H100 80GB HBM3"),
        "a100": _cuda("NVIDIA A100-SXM4-80GB"),
        "t4": _cuda("Tesla T4"),
    }
    out = _health.evaluate(results, None, None)
    assert out["flagged"] == []
    assert {h["host"]: h["peers"] for h in out["hosts"]} == {"a100": 1, "h100": 1, "t4": 1}
    t4 = next(h for h in out["hosts"] if h["host"] == "t4")
    assert "matmul_tf32" not in t4["measures"] and t4["measures"]["matmul_fp16"]["spec"] == pytest.approx(65e12)


def test_hosts_run_at_another_matrix_size_are_not_peers():
    other = _scaled(CPU, 0.4)
    other["size"] = 512
    out = _health.evaluate({"a": CPU, "b": CPU, "c": other}, None, None)
    assert out["flagged"] == []
    assert {h["host"]: h["peers"] for h in out["hosts"]} == {"a": 2, "b": 2, "c": 1}


def test_unknown_gpu_is_compared_with_the_median_only():
    result = _cuda("NVIDIA H100 80GB HBM3")
    result["device_name"] = "NVIDIA A10G"
    out = _health.evaluate({"g5": result}, None, None)
    assert out["hosts"][0]["spec_model"] is None and out["hosts"][0]["status"] == "ok"
    assert "no datasheet row" in _health.render(out)


def test_per_measure_spec_fraction():
    results = {"gpu": _cuda("NVIDIA GeForce RTX 4090", matmul_fp32=0.55)}
    assert _health.evaluate(results, None, None)["flagged"] == ["gpu"]
    relaxed = _health.evaluate(results, None, {"spec_fraction": {"matmul_fp32": 0.5}})
    assert relaxed["flagged"] == []
    assert relaxed["thresholds"]["spec_fraction"] == {"matmul_fp32": 0.5}


def test_failed_and_missing_hosts_come_first_with_their_reason():
    results = {
        "a-ok": CPU,
        "b-slow": _scaled(CPU, 0.5),
        "c-ok": CPU,
        "d-unreachable": None,
        "e-failed": {"error": "health_check.py exited 2: --device cuda requested but CUDA is not available"},
        "f-old": {**CPU, "schema": 2},
        "g-garbage": "not json",
    }
    out = _health.evaluate(results, None, None)
    assert [(h["host"], h["status"]) for h in out["hosts"]] == [
        ("e-failed", "failed"),
        ("f-old", "failed"),
        ("g-garbage", "failed"),
        ("d-unreachable", "missing"),
        ("b-slow", "flagged"),
        ("a-ok", "ok"),
        ("c-ok", "ok"),
    ]
    reasons = {h["host"]: h["reasons"] for h in out["hosts"]}
    assert reasons["e-failed"] == ["health_check.py exited 2: --device cuda requested but CUDA is not available"]
    assert "schema 2" in reasons["f-old"][0]
    assert reasons["d-unreachable"] == ["no result came back from the host"]
    assert out["failed"] == ["e-failed", "f-old", "g-garbage", "d-unreachable"]
    assert out["flagged"] == ["b-slow"]


def test_allreduce_against_the_loopback_ceiling():
    out = _health.evaluate({"a": CPU, "b": CPU}, ALLREDUCE, None)["allreduce"]
    assert out["status"] == "ok" and out["below_loopback"] is True
    assert out["busbw"] == pytest.approx(ALLREDUCE["busbw"]) and out["world_size"] == 3
    assert out["loopback_min"] == pytest.approx(CPU["measures"]["loopback_tcp"]["value"])
    fast = {**ALLREDUCE, "busbw": CPU["measures"]["loopback_tcp"]["value"] * 2}
    assert _health.evaluate({"a": CPU}, fast, None)["allreduce"]["status"] == "suspect"
    failed = _health.evaluate({"a": CPU}, {"error": "torchrun exited 1"}, None)["allreduce"]
    assert failed == {"status": "failed", "reason": "torchrun exited 1", "busbw": None}
    assert _health.evaluate({"a": CPU}, None, None)["allreduce"] is None


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"median_fraction": 0}, "health_median_fraction must be above 0 and at most 1"),
        ({"median_fraction": 1.5}, "health_median_fraction must be above 0 and at most 1"),
        ({"median_fraction": "80%"}, "health_median_fraction must be a number between 0 and 1"),
        ({"median_fraction": True}, "health_median_fraction must be a number"),
        ({"median_fraction": float("nan")}, "health_median_fraction must be a number"),
        ({"spec_fraction": -0.1}, "health_spec_fraction must be above 0"),
        ({"spec_fraction": {"loopback_tcp": 0.5}}, "names loopback_tcp, which has no datasheet figure"),
        ({"spec_fraction": {"matmul_fp8": 0.5}}, "names matmul_fp8"),
        ({"spec_fraction": {"copy": 2}}, "health_spec_fraction[copy] must be above 0"),
        ({"median": 0.8}, "unknown threshold median"),
        ([0.8], "the thresholds must be a mapping"),
    ],
)
def test_bad_thresholds_are_refused(thresholds, message):
    with pytest.raises(_health.HealthError) as raised:
        _health.evaluate({"a": CPU}, None, thresholds)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("results", "allreduce", "message"),
    [
        ({}, None, "the results must map each host"),
        ([CPU], None, "the results must map each host"),
        ({"a": CPU}, "fast", "must be health_allreduce.py's JSON object"),
        ({"a": CPU}, {"schema": 1, "results": "x", "world_size": 2}, "not health_allreduce.py's schema 1 JSON"),
    ],
)
def test_bad_inputs_to_evaluate(results, allreduce, message):
    with pytest.raises(_health.HealthError, match=re.escape(message)):
        _health.evaluate(results, allreduce, None)


# --- Inputs of the playbook ----------------------------------------------------------------------------------

GOOD = {
    "health_group": "trainers",
    "health_median_fraction": None,
    "health_spec_fraction": None,
    "health_fail_on_outlier": True,
    "health_seconds_per_test": 2,
    "health_sustained_seconds": 0,
    "health_allreduce_sizes": [16777216, 1048576, 1048576],
    "health_device": "auto",
    "health_report_dir": "/srv/reports/",
}


def test_good_inputs_are_normalised():
    assert _health.check_inputs(GOOD) == {
        "health_group": "trainers",
        "health_median_fraction": 0.8,
        "health_spec_fraction": _health.DEFAULT_SPEC_FRACTION,
        "health_fail_on_outlier": True,
        "health_seconds_per_test": 2.0,
        "health_sustained_seconds": 0.0,
        "health_allreduce_sizes": [1048576, 16777216],
        "health_device": "auto",
        "health_report_dir": "/srv/reports",
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("health_group", "", "health_group must name an inventory group"),
        ("health_group", 3, "health_group must name an inventory group"),
        ("health_group", "trainers; rm -rf /", "health_group must name an inventory group"),
        ("health_median_fraction", 80, "health_median_fraction must be above 0 and at most 1"),
        ("health_spec_fraction", "high", "health_spec_fraction must be a number"),
        ("health_fail_on_outlier", "maybe", "health_fail_on_outlier must be true or false"),
        ("health_fail_on_outlier", 2, "health_fail_on_outlier must be true or false"),
        ("health_seconds_per_test", 0.01, "health_seconds_per_test must be between 0.05 and 3600"),
        ("health_seconds_per_test", "two", "health_seconds_per_test must be a number of seconds"),
        ("health_seconds_per_test", "nan", "health_seconds_per_test must be a number of seconds"),
        ("health_median_fraction", "0.8x", "health_median_fraction must be a number"),
        ("health_allreduce_sizes", "1048576,abc", "health_allreduce_sizes must be a non-empty list"),
        ("health_sustained_seconds", -1, "health_sustained_seconds must be between 0 and 3600"),
        ("health_allreduce_sizes", [], "health_allreduce_sizes must be a non-empty list"),
        ("health_allreduce_sizes", [1000001], "each size must be a whole number of bytes, a multiple of 4"),
        ("health_allreduce_sizes", [2 << 30], "from 4 to 1073741824"),
        ("health_allreduce_sizes", [True], "each size must be a whole number"),
        ("health_device", "gpu", "health_device must be auto, cpu, cuda, cuda:N or mps"),
        ("health_report_dir", "reports", "health_report_dir must be an absolute directory"),
        ("health_report_dir", None, "health_report_dir must be an absolute directory"),
    ],
)
def test_bad_inputs_name_the_variable(key, value, message):
    with pytest.raises(_health.HealthError) as raised:
        _health.check_inputs({**GOOD, key: value})
    assert message in str(raised.value)


def test_command_line_strings_are_read_as_ansible_reads_them():
    """``-e name=value`` gives strings: Ansible's boolean words, numbers and comma-separated sizes are accepted."""
    given = {
        **GOOD,
        "health_median_fraction": "0.7",
        "health_fail_on_outlier": "false",
        "health_seconds_per_test": "0.5",
        "health_sustained_seconds": "0",
        "health_allreduce_sizes": "1048576,16777216",
    }
    checked = _health.check_inputs(given)
    assert checked["health_median_fraction"] == 0.7
    assert checked["health_fail_on_outlier"] is False
    assert checked["health_seconds_per_test"] == 0.5
    assert checked["health_sustained_seconds"] == 0.0
    assert checked["health_allreduce_sizes"] == [1048576, 16777216]
    assert _health.check_inputs({**GOOD, "health_fail_on_outlier": "Yes"})["health_fail_on_outlier"] is True
    assert _health.check_inputs({**GOOD, "health_allreduce_sizes": ["4096"]})["health_allreduce_sizes"] == [4096]


# --- The report ----------------------------------------------------------------------------------------------


def _evaluated():
    results = {
        "lab-1": CPU,
        "lab-2": CPU,
        "lab-3": _scaled(CPU, 0.4),
        "gpu-<1>": _cuda("NVIDIA H100 80GB HBM3", matmul_bf16=0.5),
        "gone": None,
    }
    return _health.evaluate(results, ALLREDUCE, None)


def test_markdown_lists_every_host_flagged_first_with_a_table_each():
    text = _health.render(_evaluated(), "markdown")
    summary = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:6]
    assert [row.split(" | ")[0].strip("| ") for row in summary] == ["gone", "gpu-<1>", "lab-3", "lab-1", "lab-2"]
    assert [row.split(" | ")[1] for row in summary] == ["MISSING", "FLAGGED", "FLAGGED", "ok", "ok"]
    headings = re.findall(r"^## (\S+): (\S+)", text, re.MULTILINE)
    assert headings == [
        ("gone", "MISSING"),
        ("gpu-<1>", "FLAGGED"),
        ("lab-3", "FLAGGED"),
        ("lab-1", "ok"),
        ("lab-2", "ok"),
    ]
    assert text.count("| Measure | Value | Fleet median |") == 4  # the missing host has no table
    assert "| Matmul BF16 | 495 TFLOPS | 495 TFLOPS | 100% | 990 TFLOPS | 50% |" in text
    assert "| Matmul FP32 | 11.1 GFLOPS |" in text  # CPU figures in GFLOPS
    assert "SM clock 1755-1980 MHz, up to 63 C" in text
    assert "bus bandwidth 0.472 GB/s" in text and "busbw = algbw x 2(n-1)/n" in text


def test_html_has_an_svg_chart_per_measure_and_peer_group_with_median_and_datasheet_ticks():
    page = _health.render(_evaluated(), "html", title="Lab <health>")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Lab &lt;health&gt;</title>" in page and "<h1>Lab &lt;health&gt;</h1>" in page
    charts = re.findall(r'<figcaption>([^<]+)</figcaption><svg class="health-chart" data-measure="([a-z0-9_]+)"', page)
    # The H100 and the CPU hosts are not peers: each measure gets a chart per group, the flagged group's first.
    assert [measure for _caption, measure in charts] == [
        "matmul_fp32",
        "matmul_fp32",
        "matmul_tf32",
        "matmul_bf16",
        "matmul_fp16",
        "sustained",
        "sustained",
        "copy",
        "copy",
        "h2d",
        "d2h",
        "loopback_tcp",
        "loopback_tcp",
    ]
    assert charts[0][0] == "Matmul FP32: NVIDIA H100 80GB HBM3 (1 host(s))"
    assert charts[1][0] == "Matmul FP32: AMD EPYC (3 host(s))"
    cpu = page.split('data-measure="matmul_fp32"')[2].split("</svg>")[0]
    bars = re.findall(
        r'<rect class="bar" data-host="([^"]+)" x="\d+" y="[\d.]+" width="([\d.]+)"[^>]*fill="(#[0-9a-f]+)"', cpu
    )
    # Flagged host first and red; on the group's scale the slowed host's bar is 40% of the others'.
    assert [(host, colour) for host, _width, colour in bars] == [
        ("lab-3", "#d62728"),
        ("lab-1", "#1f77b4"),
        ("lab-2", "#1f77b4"),
    ]
    widths = [float(width) for _host, width, _colour in bars]
    assert widths[0] == pytest.approx(0.4 * widths[1], rel=0.01) and widths[1] == pytest.approx(_health.BAR_WIDTH)
    assert cpu.count('class="median"') == 3 and 'class="spec"' not in cpu  # CPUs: no datasheet
    gpu = page.split('data-measure="matmul_bf16"')[1].split("</svg>")[0]
    assert 'data-host="gpu-&lt;1&gt;"' in gpu and gpu.count('class="spec"') == 1 and "#d62728" in gpu
    summary = page[page.index('<table class="summary">') : page.index("</table>")]
    assert re.findall(r'<tr class="(\w+)" data-host="([^"]+)"', summary) == [
        ("missing", "gone"),
        ("flagged", "gpu-&lt;1&gt;"),
        ("flagged", "lab-3"),
        ("ok", "lab-1"),
        ("ok", "lab-2"),
    ]
    assert "<script" not in page


def test_render_refuses_other_formats_and_inputs():
    with pytest.raises(_health.HealthError, match="format must be one of markdown, html"):
        _health.render(_evaluated(), "pdf")
    with pytest.raises(_health.HealthError, match="needs what health_evaluate returns"):
        _health.render({"hosts": "x"})


def test_docs_table_matches_the_data():
    # docs/health.md shows the table users read; it must say what the code compares with.
    docs = (Path(__file__).resolve().parents[4] / "docs" / "health.md").read_text(encoding="utf-8")
    rows = {}
    for line in docs.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 10 and cells[0] in {r["model"] for r in _health.GPU_SPECS}:
            rows[cells[0]] = cells
    assert set(rows) == {r["model"] for r in _health.GPU_SPECS}

    def shown(value):
        return "-" if value is None else f"{value:g}"

    for row in _health.GPU_SPECS:
        cells = rows[row["model"]]
        t = row["tflops"]
        expected = [shown(t["fp32"]), shown(t["tf32"]), shown(t["bf16"]), shown(t["fp16"])]
        assert cells[2:6] == expected, row["model"]
        assert cells[6:8] == [shown(row["memory_gb_s"]), shown(row["host_link_gb_s"])], row["model"]
        assert row["source"] in docs
