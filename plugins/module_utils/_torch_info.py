# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``torchfleet.lab.torch_info`` runs and how it reads the answer, shared by the module and its action.

The module runs :func:`command` with ``run_command`` on Linux and macOS; on Windows the ``torch_info`` action runs
the same argument vector with ``ansible.windows.win_command`` (the environment's ``python.exe`` called directly).
Both hand the output to :func:`evaluate`.  Standard library only, Python 3.8 syntax.
"""

from __future__ import annotations

import json

DEVICES = ("auto", "cpu", "cuda", "mps")
ARGUMENT_SPEC = {
    "python": {"type": "path", "required": True},
    "device": {"type": "str", "default": "auto", "choices": list(DEVICES)},
    "matmul_size": {"type": "int", "default": 256},
}

# Runs inside the target interpreter; prints one JSON document.  Exit codes: 0 ok, 3 torch not importable,
# 4 requested device unavailable.
SCRIPT = r"""
import json, platform, sys, time
args = json.loads(sys.argv[1])
out = {"python_version": platform.python_version(), "executable": sys.executable, "machine": platform.machine()}
try:
    import torch
except Exception as exc:
    out["error"] = "cannot import torch: %s: %s" % (type(exc).__name__, exc)
    print(json.dumps(out))
    raise SystemExit(3)
out["version"] = str(torch.__version__)
out["git_version"] = getattr(torch.version, "git_version", None)
out["cuda"] = getattr(torch.version, "cuda", None)
out["hip"] = getattr(torch.version, "hip", None)
try:
    out["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
except Exception:
    out["cudnn"] = None
out["cuda_available"] = bool(torch.cuda.is_available())
out["device_count"] = int(torch.cuda.device_count()) if out["cuda_available"] else 0
devices = []
for index in range(out["device_count"]):
    props = torch.cuda.get_device_properties(index)
    devices.append({"index": index, "name": props.name, "capability": "%d.%d" % (props.major, props.minor),
                    "total_memory": int(props.total_memory)})
out["devices"] = devices
mps = getattr(torch.backends, "mps", None)
out["mps_built"] = bool(mps is not None and mps.is_built())
out["mps_available"] = bool(mps is not None and mps.is_available())
device = args["device"]
if device == "auto":
    device = "cuda" if out["cuda_available"] else ("mps" if out["mps_available"] else "cpu")
elif (device == "cuda" and not out["cuda_available"]) or (device == "mps" and not out["mps_available"]):
    out["error"] = "device %s requested but torch reports it unavailable" % device
    print(json.dumps(out))
    raise SystemExit(4)
size = int(args["size"])
out["matmul"] = None
if size > 0:
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    gen = torch.Generator().manual_seed(1234)
    a = torch.randn(size, size, generator=gen, dtype=torch.float32)
    b = torch.randn(size, size, generator=gen, dtype=torch.float32)
    reference = a.double() @ b.double()
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
        elif device == "mps":
            torch.mps.synchronize()
    ad, bd = a.to(device), b.to(device)
    (ad @ bd).sum().item()
    sync()
    start = time.perf_counter()
    product = ad @ bd
    sync()
    seconds = time.perf_counter() - start
    result = product.to("cpu").double()
    error = (result - reference).abs().max().item()
    tolerance = 1e-3 * max(1.0, reference.abs().max().item())
    finite = bool(torch.isfinite(result).all().item())
    out["matmul"] = {"device": device, "size": size, "seconds": round(seconds, 6), "max_abs_error": error,
                     "tolerance": tolerance, "ok": bool(finite and error <= tolerance)}
print(json.dumps(out))
"""

KEYS = ("version", "git_version", "cuda", "hip", "cudnn", "cuda_available", "device_count", "devices",
        "mps_available", "mps_built", "python_version", "executable", "machine", "matmul")  # fmt: skip


class TorchInfoError(Exception):
    """A failed check; ``result`` holds the extra keys for ``fail_json``."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def check_size(size):
    if size < 0:
        raise TorchInfoError(f"matmul_size must be 0 (skip) or a positive size, got {size}")
    return size


def command(python, device="auto", size=256):
    """The argument vector, the same on every OS: the interpreter, ``-c``, the script, its JSON arguments."""
    return [python, "-c", SCRIPT, json.dumps({"device": device, "size": size})]


def parse_output(stdout):
    """The last line of stdout that is a JSON object (import-time warnings may come first)."""
    for raw in reversed((stdout or "").strip().splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                return doc
    return None


def _mps_hint(doc):
    machine = doc.get("machine")
    rosetta = (
        f" This interpreter runs as {machine}; on an Apple silicon Mac that means Rosetta, where MPS is not "
        "available: use an arm64 Python."
        if machine and machine != "arm64"
        else ""
    )
    return (
        f" torch {doc.get('version')} reports MPS built: {doc.get('mps_built')}, available: "
        f"{doc.get('mps_available')}. MPS needs a Metal GPU (Apple silicon; an AMD GPU in an Intel Mac only with "
        "torch 2.2.x or older) and macOS 12.3 or newer (14.0 for recent torch releases)."
        f"{rosetta} To verify on the CPU instead, set pytorch_env_verify_device: cpu (or pytorch_compute: cpu)."
    )


def evaluate(python, device, rc, stdout, stderr):
    """Return ``(result, warnings)`` for ``exit_json``; raise :class:`TorchInfoError` for a failed check."""
    doc = parse_output(stdout)
    if doc is None:
        raise TorchInfoError(
            f"{python} printed no torch report (rc {rc}): {(stderr or stdout or '').strip()[-2000:]}",
            rc=rc, stdout=stdout, stderr=stderr,
        )  # fmt: skip
    if rc != 0 or doc.get("error"):
        msg = "{}: {}".format(python, doc.get("error") or "failed")
        if device == "mps" and doc.get("mps_available") is False:
            msg += "." + _mps_hint(doc)
        raise TorchInfoError(msg, rc=rc, stdout=stdout, stderr=stderr, python_version=doc.get("python_version"),
                             executable=doc.get("executable"))  # fmt: skip
    result = {key: doc.get(key) for key in KEYS}
    warnings = []
    matmul = result.get("matmul")
    if isinstance(matmul, dict) and not matmul.get("ok"):
        size = matmul.get("size")
        warnings.append(
            f"The {size}x{size} matrix product on {matmul.get('device')} differs from the float64 reference by "
            f"{matmul.get('max_abs_error')} (tolerance {matmul.get('tolerance')})."
        )
    return result, warnings
