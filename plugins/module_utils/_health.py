# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The burn-in of playbooks/health.yml: each host's measured figures against its card's datasheet and the fleet.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, like the other module_utils.  The
``health_evaluate``, ``health_report`` and ``health_check_inputs`` filters are thin wrappers around
:func:`evaluate`, :func:`render` and :func:`check_inputs`.

roles/trainers/files/health_check.py writes one JSON per host (plain SI units: FLOP/s, bytes/s) and
health_allreduce.py one for the group.  :func:`evaluate` compares each host's figures with

- the fleet median of the hosts with the same kind and device (a slow card among its peers), and
- for NVIDIA GPUs that :func:`match_spec` finds in :data:`GPU_SPECS`, the card's published dense peak.

A host is *flagged* when a figure falls below ``median_fraction`` of its peers' median or ``spec_fraction`` of
its peak; *failed* when its run failed; *missing* when no result came back.  CPU and MPS hosts are compared with
the median only: no datasheet states what a CPU's matrix product or copy should reach.
"""

import math
import re
import statistics

from ansible.module_utils.parsing.convert_bool import boolean

# --- The datasheet table -------------------------------------------------------------------------------------
#
# One row per card.  Figures as NVIDIA publishes them: TFLOPS for the products, GB/s for the memory, and the host
# link's bandwidth in GB/s counted in both directions together, as the datasheets print it ("PCIe Gen5: 128GB/s").
# Dense figures only: where a datasheet prints a Tensor Core figure "with sparsity" (marked *), the row holds half
# of it, which is the dense rate (the H100 page's footnote: "Shown with sparsity. Specifications are one-half lower
# without sparsity.").  fp32 is the CUDA-core rate (no Tensor Cores; torch computes float32 products in float32
# under set_float32_matmul_precision("highest")); None where the card has no such unit (TF32 and BF16 arrived with
# Ampere).  fp16 on GeForce cards is the rate with FP32 accumulation, which is what cuBLAS uses for torch's
# float16 products (the Ada whitepaper lists both; with FP16 accumulation the GeForce rate doubles).
# ``names``: regular expressions matched in full against torch's device name (torch.cuda.get_device_name, the
# same string nvidia-smi prints) after :func:`normalize_name`; the unit tests hold each one against names seen in
# public logs (tests/unit/plugins/module_utils/test_health.py says where).

H100_URL = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"
H200_URL = "https://www.nvidia.com/en-us/data-center/h200/"
A100_URL = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
L40S_URL = "https://www.nvidia.com/en-us/data-center/l40s/"
L4_URL = "https://www.nvidia.com/en-us/data-center/l4/"
ADA_URL = "https://images.nvidia.com/aem-dam/Solutions/Data-Center/l4/nvidia-ada-gpu-architecture-whitepaper-v2.1.pdf"
A10_URL = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf"
V100_URL = "https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf"
T4_URL = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf"


def _row(model, names, tflops, bandwidth, source):
    """One card: TFLOPS as (fp32, tf32, bf16, fp16), bandwidth as (memory GB/s, host link GB/s both ways)."""
    fp32, tf32, bf16, fp16 = tflops
    memory, link = bandwidth
    return {
        "model": model,
        "names": tuple(names),
        "tflops": {"fp32": fp32, "tf32": tf32, "bf16": bf16, "fp16": fp16},
        "memory_gb_s": memory,
        "host_link_gb_s": link,
        "source": source,
    }


GPU_SPECS = (
    # Hopper.  H100 datasheet: SXM 67 / 989* / 1,979* / 1,979* TFLOPS, 3.35 TB/s, PCIe Gen5 128 GB/s;
    # PCIe 51 / 756* / 1,513* / 1,513*, 2 TB/s, Gen5 128 GB/s.
    _row("H100 SXM", [r"H100 80GB HBM3"], (67, 494.5, 989.5, 989.5), (3350, 128), H100_URL),
    _row("H100 PCIe", [r"H100 PCIE"], (51, 378, 756.5, 756.5), (2000, 128), H100_URL),
    # H200 page: the H100 SXM's compute (67 / 989* / 1,979* / 1,979*) with 141 GB at 4.8 TB/s; Gen5 128 GB/s.
    _row("H200 SXM", [r"H200"], (67, 494.5, 989.5, 989.5), (4800, 128), H200_URL),
    # The NVL cards (H100 NVL, H200 NVL) are left out: their figures could not be checked against a second copy
    # when the table was written, so they are compared with the median only.
    # Ampere.  A100 datasheet: FP32 19.5, TF32 156 (312*), BF16 312 (624*), FP16 312 (624*) on every form factor;
    # memory 1,555 GB/s (40GB PCIe and SXM), 1,935 GB/s (80GB PCIe), 2,039 GB/s (80GB SXM); PCIe Gen4 64 GB/s.
    _row("A100 SXM4 40GB", [r"A100-SXM4-40GB"], (19.5, 156, 312, 312), (1555, 64), A100_URL),
    # "A100-SXM-80GB" is how early drivers named the 80GB SXM part.
    _row("A100 SXM4 80GB", [r"A100-SXM4-80GB", r"A100-SXM-80GB"], (19.5, 156, 312, 312), (2039, 64), A100_URL),
    _row("A100 PCIe 40GB", [r"A100-PCIE-40GB"], (19.5, 156, 312, 312), (1555, 64), A100_URL),
    _row("A100 PCIe 80GB", [r"A100 80GB PCIE"], (19.5, 156, 312, 312), (1935, 64), A100_URL),
    # A10 datasheet: FP32 31.2, TF32 62.5 (125*), BF16 125 (250*), FP16 125 (250*), 600 GB/s, PCIe Gen4 64 GB/s.
    _row("A10", [r"A10"], (31.2, 62.5, 125, 125), (600, 64), A10_URL),
    # Ada.  L40S page: FP32 91.6, TF32 183 (366*), BF16 362.05 (733*), FP16 362.05 (733*), 864 GB/s, Gen4 64 GB/s.
    _row("L40S", [r"L40S"], (91.6, 183, 362.05, 362.05), (864, 64), L40S_URL),
    # L4 page: FP32 30.3, TF32 120*, BF16 242*, FP16 242*, 300 GB/s, PCIe Gen4 x16 64 GB/s.
    _row("L4", [r"L4"], (30.3, 60, 121, 121), (300, 64), L4_URL),
    # Ada whitepaper, appendix table of the GeForce RTX 4090: peak FP32 82.6 TFLOPS, TF32 Tensor 82.6 (165.2*),
    # BF16 and FP16 Tensor with FP32 accumulate 165.2 (330.4*), 1008 GB/s; PCIe Gen4 x16 (64 GB/s both ways).
    _row("GeForce RTX 4090", [r"GEFORCE RTX 4090"], (82.6, 82.6, 165.2, 165.2), (1008, 64), ADA_URL),
    # Volta.  V100 datasheet: SXM2 15.7 FP32, 125 Tensor; PCIe 14 / 112; 900 GB/s; PCIe Gen3 32 GB/s.  No TF32 or
    # BF16 units.  (The V100S is left out, unchecked: it is compared with the median only.)
    _row("V100 SXM2", [r"V100-SXM2-(16|32)GB"], (15.7, None, None, 125), (900, 32), V100_URL),
    _row("V100 PCIe", [r"V100-PCIE-(16|32)GB"], (14, None, None, 112), (900, 32), V100_URL),
    # Turing.  T4 datasheet: FP32 8.1, mixed precision (FP16/FP32) 65, 320 GB/s, PCIe Gen3 x16 (32 GB/s both ways).
    _row("T4", [r"T4"], (8.1, None, None, 65), (320, 32), T4_URL),
)

# --- Thresholds ----------------------------------------------------------------------------------------------
#
# median_fraction: a host below 80% of its peers' median is flagged (the issue's default).
# spec_fraction: what a healthy card reaches of its datasheet peak, times the same 80%.  The lowest
# achievable-to-peak ratio published for an NVIDIA data-centre card in the "Maximum Achievable Matmul FLOPS"
# table of Stas Bekman's Machine Learning Engineering book (H100 SXM, BF16: 794.5 of 989 TFLOPS, 80.3%; A100 SXM
# 86.9%, A100 PCIe 81.1%, GH200 83.6%) is the healthy reference:
# https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md#maximum-achievable-matmul-flops-comparison-table
# 0.8 x 0.803 = 0.64.  Copies and pinned transfers reach a similar or higher share of their peaks, so one fraction
# serves every measure; a mapping of measure -> fraction overrides it per measure (GeForce cards, whose doubled
# FP32 peak cuBLAS does not reach, may want a lower matmul_fp32 fraction).
DEFAULT_MEDIAN_FRACTION = 0.8
HEALTHY_PEAK_RATIO = 0.803
DEFAULT_SPEC_FRACTION = round(DEFAULT_MEDIAN_FRACTION * HEALTHY_PEAK_RATIO, 2)
SPEC_FRACTION_SOURCE = (
    "0.8 x 80.3% (lowest NVIDIA Maximum Achievable Matmul FLOPS efficiency, H100 SXM BF16, "
    "https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md"
    "#maximum-achievable-matmul-flops-comparison-table)"
)

# Measures in report order: name -> (label, unit, datasheet key).  The spec of h2d and d2h is half the host link
# (one direction of the figure the datasheets print for both).
MEASURES = {
    "matmul_fp32": ("Matmul FP32", "FLOP/s", "fp32"),
    "matmul_tf32": ("Matmul TF32", "FLOP/s", "tf32"),
    "matmul_bf16": ("Matmul BF16", "FLOP/s", "bf16"),
    "matmul_fp16": ("Matmul FP16", "FLOP/s", "fp16"),
    "sustained": ("Sustained matmul", "FLOP/s", None),
    "copy": ("Memory copy", "B/s", "memory"),
    "h2d": ("Host to device", "B/s", "link"),
    "d2h": ("Device to host", "B/s", "link"),
    "loopback_tcp": ("Loopback TCP", "B/s", None),
}
KINDS = ("cuda", "cpu", "mps")
STATUS_ORDER = {"failed": 0, "missing": 1, "flagged": 2, "ok": 3}


class HealthError(ValueError):
    """An input of the burn-in that cannot be used; the message says what to change."""


# --- Matching torch's device name to a row ---------------------------------------------------------------------

_PREFIXES = ("NVIDIA ", "TESLA ")


def normalize_name(name):
    """Upper case, single spaces, without the vendor words that some drivers print and others do not.

    'NVIDIA A100-SXM4-80GB' and the older 'A100-SXM4-80GB', 'Tesla T4' and 'NVIDIA T4' compare equal.
    """
    text = " ".join(str(name or "").upper().split())
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                stripped = True
    return text


_COMPILED = tuple((row, tuple(re.compile(pattern) for pattern in row["names"])) for row in GPU_SPECS)


def match_spec(device_name):
    """The GPU_SPECS row of a CUDA device name, or None when the table does not know the card."""
    text = normalize_name(device_name)
    for row, patterns in _COMPILED:
        if any(pattern.fullmatch(text) for pattern in patterns):
            return row
    return None


def spec_value(row, measure, sustained_measure=None):
    """The datasheet figure for MEASURE in SI units (FLOP/s, B/s), or None."""
    if row is None or measure not in MEASURES:
        return None
    key = MEASURES[measure][2]
    if measure == "sustained":
        return spec_value(row, sustained_measure) if sustained_measure in MEASURES else None
    if key in ("fp32", "tf32", "bf16", "fp16"):
        tflops = row["tflops"].get(key)
        return None if tflops is None else float(tflops) * 1e12
    if key == "memory":
        return float(row["memory_gb_s"]) * 1e9
    if key == "link":
        return float(row["host_link_gb_s"]) * 1e9 / 2
    return None


# --- Inputs --------------------------------------------------------------------------------------------------


# `-e name=value` on the command line gives every value as a string (https://docs.ansible.com/ansible/latest/
# playbook_guide/playbooks_variables.html#key-value-format), so numbers and booleans also come as their text.
# Booleans are read by Ansible's own parser (lib/ansible/module_utils/parsing/convert_bool.py), as
# plugins/action/validate_inputs.py reads them.
_NUMBER_TEXT = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_INTEGER_TEXT = re.compile(r"^\s*\d+\s*$")


def _number_from_text(value):
    """A number given as text on the command line, as its number; anything else unchanged."""
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        return float(value)
    return value


def _bool_from_text(value):
    if isinstance(value, str):
        try:
            return boolean(value, strict=True)
        except TypeError:
            return value
    return value


def _sizes_from_text(value):
    """``-e health_allreduce_sizes=1048576,16777216`` as a list of integers; anything else unchanged."""
    if isinstance(value, str) and value.strip():
        parts = [part.strip() for part in value.strip().strip("[]").split(",")]
        if all(_INTEGER_TEXT.match(part) for part in parts):
            return [int(part) for part in parts]
    if isinstance(value, (list, tuple)):
        return [int(item) if isinstance(item, str) and _INTEGER_TEXT.match(item) else item for item in value]
    return value


def _fraction(name, value):
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HealthError(f"{name} must be a number between 0 and 1 (a fraction, e.g. 0.8), not {value!r}.")
    if not 0 < value <= 1:
        raise HealthError(f"{name} must be above 0 and at most 1 (a fraction, e.g. 0.8), not {value!r}.")
    return float(value)


def check_thresholds(thresholds):
    """Validated thresholds: median_fraction and spec_fraction (a number, or a mapping of measure -> number)."""
    thresholds = {} if thresholds is None else thresholds
    if not isinstance(thresholds, dict):
        raise HealthError(
            f"the thresholds must be a mapping with median_fraction and spec_fraction, not {thresholds!r}."
        )
    unknown = sorted(set(map(str, thresholds)) - {"median_fraction", "spec_fraction"})
    if unknown:
        raise HealthError(
            f"unknown threshold {', '.join(unknown)}; the thresholds are median_fraction and spec_fraction."
        )
    median = thresholds.get("median_fraction")
    median = DEFAULT_MEDIAN_FRACTION if median is None else _fraction("health_median_fraction", median)
    spec = thresholds.get("spec_fraction")
    if spec is None:
        spec = DEFAULT_SPEC_FRACTION
    elif isinstance(spec, dict):
        bad = sorted(
            str(key) for key in spec if key not in MEASURES or (MEASURES[key][2] is None and key != "sustained")
        )
        if bad:
            with_spec = [m for m in MEASURES if MEASURES[m][2] is not None or m == "sustained"]
            raise HealthError(
                f"health_spec_fraction names {', '.join(bad)}, which has no datasheet figure; "
                f"use some of {', '.join(with_spec)}, or one number for all."
            )
        spec = {str(key): _fraction(f"health_spec_fraction[{key}]", value) for key, value in spec.items()}
    else:
        spec = _fraction("health_spec_fraction", spec)
    return {"median_fraction": median, "spec_fraction": spec}


def _spec_fraction_for(thresholds, measure):
    spec = thresholds["spec_fraction"]
    if isinstance(spec, dict):
        return spec.get(measure, DEFAULT_SPEC_FRACTION)
    return spec


_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:\-.\[\]*,!&]*$")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
MAX_SECONDS = 3600
MAX_ALLREDUCE_BYTES = 1 << 30


def _seconds(name, value, minimum):
    value = _number_from_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HealthError(f"{name} must be a number of seconds, not {value!r}.")
    if not minimum <= value <= MAX_SECONDS:
        raise HealthError(f"{name} must be between {minimum:g} and {MAX_SECONDS} seconds, not {value!r}.")
    return value


def check_inputs(inputs):
    """The playbook's variables, validated before anything runs on a host.

    INPUTS holds health_group, health_median_fraction, health_spec_fraction, health_fail_on_outlier,
    health_seconds_per_test, health_sustained_seconds, health_allreduce_sizes, health_device and
    health_report_dir (absolute, on the controller).  Returns the normalised values, or raises HealthError naming
    the variable and what to change.
    """
    if not isinstance(inputs, dict):
        raise HealthError(f"the burn-in's inputs must be a mapping of variable to value, not {inputs!r}.")
    group = inputs.get("health_group")
    if not isinstance(group, str) or not group.strip() or not _GROUP_NAME.match(group.strip()):
        raise HealthError(
            f"health_group must name an inventory group or host pattern (for example 'trainers'), not {group!r}."
        )
    thresholds = check_thresholds(
        {"median_fraction": inputs.get("health_median_fraction"), "spec_fraction": inputs.get("health_spec_fraction")}
    )
    fail = _bool_from_text(inputs.get("health_fail_on_outlier", True))
    if not isinstance(fail, bool):
        raise HealthError(f"health_fail_on_outlier must be true or false, not {fail!r}.")
    per_test = _seconds("health_seconds_per_test", inputs.get("health_seconds_per_test", 2.0), 0.05)
    sustained = _seconds("health_sustained_seconds", inputs.get("health_sustained_seconds", 10.0), 0)
    sizes = _sizes_from_text(inputs.get("health_allreduce_sizes", [1 << 20, 16 << 20, 64 << 20]))
    if not isinstance(sizes, (list, tuple)) or not sizes:
        raise HealthError(
            f"health_allreduce_sizes must be a non-empty list of sizes in bytes (on the command line, "
            f"comma-separated: -e health_allreduce_sizes=1048576,16777216), not {sizes!r}."
        )
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 4 or size % 4 or size > MAX_ALLREDUCE_BYTES:
            raise HealthError(
                f"health_allreduce_sizes holds {size!r}: each size must be a whole number of bytes, a multiple of 4 "
                f"(float32 elements), from 4 to {MAX_ALLREDUCE_BYTES} (1 GiB)."
            )
    device = inputs.get("health_device", "auto")
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise HealthError(f"health_device must be auto, cpu, cuda, cuda:N or mps, not {device!r}.")
    report_dir = inputs.get("health_report_dir")
    if not isinstance(report_dir, str) or not report_dir.startswith("/") or "\n" in report_dir:
        raise HealthError(f"health_report_dir must be an absolute directory on the controller, not {report_dir!r}.")
    return {
        "health_group": group.strip(),
        "health_median_fraction": thresholds["median_fraction"],
        "health_spec_fraction": thresholds["spec_fraction"],
        "health_fail_on_outlier": fail,
        "health_seconds_per_test": float(per_test),
        "health_sustained_seconds": float(sustained),
        "health_allreduce_sizes": sorted(set(sizes)),
        "health_device": device,
        "health_report_dir": report_dir.rstrip("/") or "/",
    }


# --- Evaluation ----------------------------------------------------------------------------------------------


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def _host_measures(result):
    """name -> (value, unit) from one host's JSON; the sustained run as the measure 'sustained'."""
    measures = {}
    for name, item in (result.get("measures") or {}).items():
        if name in MEASURES and isinstance(item, dict) and _number(item.get("value")) is not None:
            measures[name] = (_number(item["value"]), item.get("unit") or MEASURES[name][1])
    sustained = result.get("sustained")
    if isinstance(sustained, dict) and isinstance(sustained.get("matmul"), dict):
        value = _number(sustained["matmul"].get("value"))
        if value is not None:
            measures["sustained"] = (value, "FLOP/s")
    return measures


def _unusable(result):
    """Why a host's JSON cannot be evaluated, or None when it can."""
    if not isinstance(result, dict):
        return f"its result is not a JSON object ({type(result).__name__})"
    if result.get("error"):
        return str(result["error"])
    if result.get("schema") != 1:
        return f"its result has schema {result.get('schema')!r}; this collection reads schema 1"
    if result.get("kind") not in KINDS:
        return f"its result names kind {result.get('kind')!r}, not one of {', '.join(KINDS)}"
    if not _host_measures(result):
        return "its result holds no measures"
    return None


def _percent(value):
    return f"{value * 100:.0f}%"


def _clock_summary(sustained):
    if not isinstance(sustained, dict):
        return None
    clocks = [c for c in (sustained.get("clock_mhz") or []) if _number(c) is not None]
    temps = [t for t in (sustained.get("temperature_c") or []) if isinstance(t, (int, float)) and math.isfinite(t)]
    if not clocks and not temps:
        return None
    return {
        "clock_mhz_min": min(clocks) if clocks else None,
        "clock_mhz_max": max(clocks) if clocks else None,
        "temperature_c_max": max(temps) if temps else None,
        "samples": max(len(clocks), len(temps)),
    }


def _check_allreduce(allreduce):
    if allreduce is None:
        return None
    if not isinstance(allreduce, dict):
        raise HealthError(f"the all-reduce result must be health_allreduce.py's JSON object, not {allreduce!r}.")
    if allreduce.get("error"):
        return {"status": "failed", "reason": str(allreduce["error"])}
    results = allreduce.get("results")
    world = allreduce.get("world_size")
    if allreduce.get("schema") != 1 or not isinstance(results, list) or not isinstance(world, int) or world < 1:
        raise HealthError(
            "the all-reduce result is not health_allreduce.py's schema 1 JSON "
            "(schema, backend, world_size, results, busbw)."
        )
    return {"status": "ok", "reason": ""}


def _split(results):
    """(usable results by host, entries of the hosts that failed or sent nothing)."""
    usable, broken = {}, []
    for host in sorted(results):
        result = results[host]
        base = {"host": host, "kind": None, "device_name": None, "spec_model": None, "spec_source": None}
        if result is None:
            broken.append(
                {**base, "status": "missing", "measures": {}, "reasons": ["no result came back from the host"]}
            )
            continue
        why = _unusable(result)
        if why:
            kind = result.get("kind") if isinstance(result, dict) else None
            broken.append({**base, "kind": kind, "status": "failed", "measures": {}, "reasons": [why]})
            continue
        usable[host] = result
    return usable, broken


def _peer_key(result):
    # The matrix size is part of it: a product of another size is another measurement.
    return (result["kind"], normalize_name(result.get("device_name")), result.get("size"))


def _peer_medians(usable):
    """Peers are hosts of the same kind, device model and matrix size: comparing a T4 with an H100, or two CPU
    models, says nothing.  Returns (hosts per peer group, median of each measure per peer group)."""
    groups = {}
    for host, result in usable.items():
        groups.setdefault(_peer_key(result), []).append(host)
    medians = {}
    for key, members in groups.items():
        per_measure = {}
        for host in members:
            for name, (value, _unit) in _host_measures(usable[host]).items():
                per_measure.setdefault(name, []).append(value)
        medians[key] = {name: statistics.median(values) for name, values in per_measure.items()}
    return groups, medians


def _compare(name, measured, reference, limits):
    """One measure: MEASURED (value, unit) against REFERENCE (peer median, datasheet figure, card model)."""
    value, unit = measured
    median, spec, model = reference
    of_median = value / median if median else None
    of_spec = value / spec if spec else None
    flags = []
    if of_median is not None and of_median < limits["median_fraction"]:
        flags.append(
            f"{MEASURES[name][0]} at {_percent(of_median)} of the fleet median "
            f"(threshold {_percent(limits['median_fraction'])})"
        )
    fraction = _spec_fraction_for(limits, name)
    if of_spec is not None and of_spec < fraction:
        flags.append(
            f"{MEASURES[name][0]} at {_percent(of_spec)} of the {model} datasheet (threshold {_percent(fraction)})"
        )
    return {
        "value": value,
        "unit": unit,
        "median": median,
        "of_median": of_median,
        "spec": spec,
        "of_spec": of_spec,
        "flags": flags,
    }


def _evaluate_host(host, result, peers, medians, limits):
    row = match_spec(result.get("device_name")) if result["kind"] == "cuda" else None
    sustained = result.get("sustained") if isinstance(result.get("sustained"), dict) else {}
    entry = {
        "host": host,
        "kind": result["kind"],
        "device": result.get("device"),
        "device_name": result.get("device_name"),
        "torch": result.get("torch"),
        "threads": result.get("threads"),
        "size": result.get("size"),
        "peers": peers,
        "spec_model": row["model"] if row else None,
        "spec_source": row["source"] if row else None,
        "clocks": _clock_summary(sustained),
        "measures": {},
        "reasons": [],
    }
    measures = _host_measures(result)
    for name in MEASURES:
        if name in measures:
            spec = spec_value(row, name, sustained.get("measure"))
            reference = (medians.get(name), spec, row["model"] if row else None)
            item = _compare(name, measures[name], reference, limits)
            entry["measures"][name] = item
            entry["reasons"].extend(item["flags"])
    entry["status"] = "flagged" if entry["reasons"] else "ok"
    return entry


def evaluate(results, allreduce=None, thresholds=None):
    """Compare every host with its peers' median and its card's datasheet; see the module docstring.

    RESULTS maps each host the play targeted to its health_check.py JSON, to None when no result came back, or to
    {"error": "why"} when the run failed.  ALLREDUCE is health_allreduce.py's JSON (or None, or {"error": ...}).
    """
    limits = check_thresholds(thresholds)
    if not isinstance(results, dict) or not results:
        raise HealthError("the results must map each host of health_group to its health_check.py JSON (or None).")
    if not all(isinstance(host, str) and host for host in results):
        raise HealthError("the results' keys must be host names.")
    reduce_state = _check_allreduce(allreduce)
    usable, hosts = _split(results)
    groups, medians = _peer_medians(usable)
    for host, result in usable.items():
        key = _peer_key(result)
        hosts.append(_evaluate_host(host, result, len(groups[key]), medians[key], limits))
    hosts.sort(key=lambda item: (STATUS_ORDER[item["status"]], item["host"]))
    return {
        "hosts": hosts,
        "allreduce": _allreduce_summary(allreduce, reduce_state, usable),
        "thresholds": {**limits, "spec_fraction_source": SPEC_FRACTION_SOURCE},
        "flagged": [item["host"] for item in hosts if item["status"] == "flagged"],
        "failed": [item["host"] for item in hosts if item["status"] in ("failed", "missing")],
    }


def _allreduce_summary(allreduce, state, usable):
    if state is None:
        return None
    if state["status"] == "failed":
        return {"status": "failed", "reason": state["reason"], "busbw": None}
    loopbacks = [
        _host_measures(result)["loopback_tcp"][0]
        for result in usable.values()
        if "loopback_tcp" in _host_measures(result)
    ]
    busbw = _number(allreduce.get("busbw"))
    ceiling = min(loopbacks) if loopbacks else None
    below = None if busbw is None or ceiling is None else busbw < ceiling
    reasons = []
    if busbw is None:
        reasons.append("the all-reduce reported no positive bus bandwidth")
    if below is False:
        reasons.append("the all-reduce bus bandwidth is above the slowest host's loopback TCP bandwidth")
    return {
        "status": "ok" if not reasons else "suspect",
        "reason": "; ".join(reasons),
        "backend": allreduce.get("backend"),
        "world_size": allreduce.get("world_size"),
        "hosts": allreduce.get("hosts"),
        "busbw": busbw,
        "results": allreduce.get("results"),
        "loopback_min": ceiling,
        "below_loopback": below,
    }


# --- The report ----------------------------------------------------------------------------------------------

FORMATS = ("markdown", "html")
COLUMNS = ("Measure", "Value", "Fleet median", "Of median", "Datasheet", "Of datasheet", "Flags")
STATUS_LABEL = {"failed": "FAILED", "missing": "MISSING", "flagged": "FLAGGED", "ok": "ok"}


def _scale(unit, kind):
    """(divisor, unit label): TFLOPS for GPUs, GFLOPS for CPU and MPS, GB/s for bandwidths."""
    if unit == "FLOP/s":
        return (1e12, "TFLOPS") if kind == "cuda" else (1e9, "GFLOPS")
    return 1e9, "GB/s"


def _fmt(value, unit, kind):
    if value is None:
        return "-"
    divisor, label = _scale(unit, kind)
    return f"{value / divisor:.3g} {label}"


def _ratio(value):
    return "-" if value is None else _percent(value)


def _cell(value):
    return " ".join(str(value).split()).replace("|", "\\|")


def _host_heading(entry):
    detail = [entry.get("device_name") or entry.get("kind") or "no device reported"]
    if entry.get("spec_model"):
        detail.append(f"datasheet: {entry['spec_model']}")
    elif entry.get("kind") == "cuda":
        detail.append("no datasheet row: compared with the median only")
    if entry.get("peers"):
        detail.append(f"{entry['peers']} host(s) of this device")
    return f"{entry['host']}: {STATUS_LABEL[entry['status']]} ({'; '.join(detail)})"


def _rows(entry):
    rows = []
    for name, item in entry["measures"].items():
        kind = entry.get("kind")
        rows.append(
            [
                MEASURES[name][0],
                _fmt(item["value"], item["unit"], kind),
                _fmt(item["median"], item["unit"], kind),
                _ratio(item["of_median"]),
                _fmt(item["spec"], item["unit"], kind),
                _ratio(item["of_spec"]),
                "; ".join(item["flags"]) or "-",
            ]
        )
    return rows


def _allreduce_line(summary):
    if summary is None:
        return "All-reduce: not run."
    if summary["status"] == "failed":
        return f"All-reduce: FAILED: {summary['reason']}"
    busbw = _fmt(summary["busbw"], "B/s", None)
    ceiling = _fmt(summary["loopback_min"], "B/s", None)
    text = (
        f"All-reduce ({summary.get('backend')}, {summary.get('world_size')} ranks): bus bandwidth {busbw} "
        f"(busbw = algbw x 2(n-1)/n, nccl-tests' formula); slowest host's loopback TCP {ceiling}."
    )
    if summary["status"] != "ok":
        text += f" SUSPECT: {summary['reason']}."
    return text


def _thresholds_line(thresholds):
    spec = thresholds["spec_fraction"]
    if isinstance(spec, dict):
        spec_text = ", ".join(f"{name} {_percent(value)}" for name, value in sorted(spec.items()))
        spec_text += f", others {_percent(DEFAULT_SPEC_FRACTION)}"
    else:
        spec_text = _percent(spec)
    return (
        f"A host is flagged below {_percent(thresholds['median_fraction'])} of the median of the hosts with the same "
        f"device, or below {spec_text} of its card's datasheet peak (dense figures)."
    )


def _markdown(evaluated, title):
    hosts = evaluated["hosts"]
    lines = [f"# {title}", "", _thresholds_line(evaluated["thresholds"]), "", _allreduce_line(evaluated["allreduce"])]
    lines += ["", "| Host | Status | Device | Datasheet | Reasons |", "|---|---|---|---|---|"]
    for entry in hosts:
        cells = [
            entry["host"],
            STATUS_LABEL[entry["status"]],
            entry.get("device_name") or "-",
            entry.get("spec_model") or "-",
            "; ".join(entry["reasons"]) or "-",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for entry in hosts:
        lines += ["", f"## {_host_heading(entry)}", ""]
        if not entry["measures"]:
            lines.append(f"No figures: {'; '.join(entry['reasons'])}.")
            continue
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for row in _rows(entry):
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
        clocks = entry.get("clocks")
        if clocks:
            lines += ["", _clock_line(clocks)]
    return "\n".join(lines) + "\n"


def _clock_line(clocks):
    parts = []
    if clocks.get("clock_mhz_min") is not None:
        parts.append(f"SM clock {clocks['clock_mhz_min']:.0f}-{clocks['clock_mhz_max']:.0f} MHz")
    if clocks.get("temperature_c_max") is not None:
        parts.append(f"up to {clocks['temperature_c_max']:.0f} C")
    return f"During the sustained run (nvidia-smi, {clocks['samples']} samples): {', '.join(parts)}."


def _esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


BAR_WIDTH = 360
LABEL_WIDTH = 170
ROW_HEIGHT = 22


def measure_chart_svg(name, entries):
    """One measure across a group of peers: a bar per host (flagged hosts red), a dashed tick at the peers' median
    and a solid tick at the card's datasheet figure, all on one scale."""
    label, unit = MEASURES[name][0], MEASURES[name][1]
    rows = [(e, e["measures"][name]) for e in entries if name in e["measures"]]
    top = max(max(m["value"], m["median"] or 0, m["spec"] or 0) for _e, m in rows)
    height = ROW_HEIGHT * len(rows) + 30
    width = LABEL_WIDTH + BAR_WIDTH + 120
    out = [
        f'<svg class="health-chart" data-measure="{_esc(name)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(label)} per host">',
        f"<title>{_esc(label)} per host: bars are the measured value, dashed ticks the fleet median of the "
        "host's peers, solid ticks the datasheet peak</title>",
    ]
    for index, (entry, item) in enumerate(rows):
        y = 8 + index * ROW_HEIGHT
        length = item["value"] / top * BAR_WIDTH
        colour = "#d62728" if item["flags"] else "#1f77b4"
        out.append(f'<text x="4" y="{y + 14}" font-size="12">{_esc(entry["host"])}</text>')
        out.append(
            f'<rect class="bar" data-host="{_esc(entry["host"])}" x="{LABEL_WIDTH}" y="{y + 3}" '
            f'width="{length:.1f}" height="{ROW_HEIGHT - 8}" fill="{colour}"/>'
        )
        if item["median"]:
            x = LABEL_WIDTH + item["median"] / top * BAR_WIDTH
            out.append(
                f'<line class="median" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + ROW_HEIGHT - 2}" '
                'stroke="#000" stroke-dasharray="3,2"/>'
            )
        if item["spec"]:
            x = LABEL_WIDTH + item["spec"] / top * BAR_WIDTH
            out.append(
                f'<line class="spec" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + ROW_HEIGHT - 2}" '
                'stroke="#2ca02c" stroke-width="2"/>'
            )
        text = _fmt(item["value"], unit, entry.get("kind"))
        out.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 14}" font-size="11">{_esc(text)}</text>')
    legend_y = height - 6
    out.append(
        f'<text x="4" y="{legend_y}" font-size="10">bar: measured (red: flagged); dashed: fleet median; '
        "green: datasheet</text></svg>"
    )
    return "".join(out)


def _html(evaluated, title):
    hosts = evaluated["hosts"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.flagged,.failed,.missing{color:#b00}"
        "</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="thresholds">{_esc(_thresholds_line(evaluated["thresholds"]))}</p>',
        f'<p class="allreduce">{_esc(_allreduce_line(evaluated["allreduce"]))}</p>',
        '<table class="summary"><tr><th>Host</th><th>Status</th><th>Device</th><th>Datasheet</th><th>Reasons</th></tr>',
    ]
    for entry in hosts:
        out.append(
            f'<tr class="{entry["status"]}" data-host="{_esc(entry["host"])}"><td>{_esc(entry["host"])}</td>'
            f"<td>{STATUS_LABEL[entry['status']]}</td><td>{_esc(entry.get('device_name') or '-')}</td>"
            f"<td>{_esc(entry.get('spec_model') or '-')}</td><td>{_esc('; '.join(entry['reasons']) or '-')}</td></tr>"
        )
    out.append("</table>")
    # One chart per measure and group of peers: a CPU's GFLOPS next to a GPU's TFLOPS on one scale shows nothing.
    groups = {}
    for entry in hosts:
        if entry["measures"]:
            groups.setdefault((entry["kind"], normalize_name(entry.get("device_name")), entry.get("size")), []).append(
                entry
            )
    for name in MEASURES:
        for members in groups.values():
            if any(name in e["measures"] for e in members):
                device = members[0].get("device_name") or members[0]["kind"]
                caption = f"{MEASURES[name][0]}: {device} ({len(members)} host(s))"
                out.append(
                    f"<figure><figcaption>{_esc(caption)}</figcaption>{measure_chart_svg(name, members)}</figure>"
                )
    for entry in hosts:
        out.append(
            f'<section class="host {entry["status"]}" data-host="{_esc(entry["host"])}">'
            f"<h2>{_esc(_host_heading(entry))}</h2>"
        )
        if not entry["measures"]:
            out.append(f"<p>No figures: {_esc('; '.join(entry['reasons']))}.</p></section>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in COLUMNS) + "</tr>")
        for row in _rows(entry):
            out.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
        out.append("</table>")
        if entry.get("clocks"):
            out.append(f"<p>{_esc(_clock_line(entry['clocks']))}</p>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(evaluated, report_format="markdown", title="Fleet health report"):
    """EVALUATED (what :func:`evaluate` returns) as Markdown or as an HTML page with inline SVG bar charts."""
    if report_format not in FORMATS:
        raise HealthError(f"the report format must be one of {', '.join(FORMATS)}, not {report_format!r}.")
    if not isinstance(evaluated, dict) or not isinstance(evaluated.get("hosts"), list) or "thresholds" not in evaluated:
        raise HealthError("the report needs what health_evaluate returns (hosts, allreduce, thresholds).")
    return _markdown(evaluated, title) if report_format == "markdown" else _html(evaluated, title)
