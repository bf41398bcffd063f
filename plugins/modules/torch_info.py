#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: torch_info
short_description: Report what PyTorch sees in an environment and check a matrix product on a device
version_added: 0.1.0
description:
  - Runs a short program with the given Python interpreter that imports C(torch) and reports its version, build
    (CUDA, HIP, cuDNN), the visible devices and Apple MPS support.
  - Multiplies two seeded random matrices on the chosen device and compares the product with a float64 reference
    computed on the CPU, so a broken driver or device shows up as RV(matmul.ok=false) rather than as a crash later.
  - Read-only; it never reports a change and also runs in check mode.
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  python:
    description:
      - Path of the Python interpreter of the environment to inspect.
      - For example C(/opt/miniforge3/envs/torch/bin/python).
    type: path
    required: true
  device:
    description:
      - Device for the matrix product check.
      - V(auto) picks C(cuda) when available, then C(mps), then C(cpu).
      - Requesting a device that is not available fails the task.
    type: str
    choices: [auto, cpu, cuda, mps]
    default: auto
  matmul_size:
    description:
      - Size N of the N x N matrices multiplied for the check; V(0) skips the check.
    type: int
    default: 256
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - ROCm builds of PyTorch expose AMD GPUs through the C(cuda) device; RV(hip) is then set.
seealso:
  - module: torchfleet.lab.conda_env
"""

EXAMPLES = r"""
- name: Check PyTorch in the environment
  torchfleet.lab.torch_info:
    python: /opt/miniforge3/envs/torch/bin/python
  register: __pytorch_env_info

- name: Require a working GPU
  ansible.builtin.assert:
    that:
      - __pytorch_env_info.cuda_available
      - __pytorch_env_info.matmul.ok
    fail_msg: PyTorch cannot compute on the GPU; see the torch_info result for details.

- name: Check the CPU path only, with a bigger product
  torchfleet.lab.torch_info:
    python: /opt/envs/lab/bin/python
    device: cpu
    matmul_size: 1024
"""

RETURN = r"""
version:
  description: C(torch.__version__).
  returned: success
  type: str
  sample: 2.13.0+cpu
git_version:
  description: C(torch.version.git_version).
  returned: success
  type: str
  sample: 0d4b2e5ad5c0e2f1b4c6a7c8d9e0f1a2b3c4d5e6
cuda:
  description: CUDA version torch was built with (C(torch.version.cuda)); null for CPU and ROCm builds.
  returned: success
  type: str
  sample: "12.6"
hip:
  description: HIP version of ROCm builds (C(torch.version.hip)); null otherwise.
  returned: success
  type: str
  sample: null
cudnn:
  description: cuDNN version (C(torch.backends.cudnn.version())); null when not available.
  returned: success
  type: int
  sample: 90501
cuda_available:
  description: C(torch.cuda.is_available()).
  returned: success
  type: bool
  sample: false
device_count:
  description: C(torch.cuda.device_count()).
  returned: success
  type: int
  sample: 0
devices:
  description: The CUDA (or ROCm) devices torch sees.
  returned: success
  type: list
  elements: dict
  contains:
    index:
      description: Device index.
      type: int
    name:
      description: Device name.
      type: str
    capability:
      description: Compute capability as C(major.minor).
      type: str
    total_memory:
      description: Device memory in bytes.
      type: int
  sample: [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "total_memory": 85045231616}]
mps_available:
  description: C(torch.backends.mps.is_available()).
  returned: success
  type: bool
  sample: false
mps_built:
  description: C(torch.backends.mps.is_built()).
  returned: success
  type: bool
  sample: false
python_version:
  description: Version of the interpreter.
  returned: success
  type: str
  sample: 3.11.9
executable:
  description: C(sys.executable) of the interpreter.
  returned: success
  type: str
  sample: /opt/miniforge3/envs/torch/bin/python
matmul:
  description: Result of the matrix product check; null when O(matmul_size=0).
  returned: success
  type: dict
  contains:
    device:
      description: Device the product ran on.
      type: str
    size:
      description: Matrix size N.
      type: int
    seconds:
      description: Wall time of one product on the device, after a warm-up run.
      type: float
    max_abs_error:
      description: Largest absolute difference from the float64 CPU reference.
      type: float
    tolerance:
      description: Largest accepted difference.
      type: float
    ok:
      description: Whether the product was finite and within tolerance of the reference.
      type: bool
  sample: {"device": "cpu", "size": 256, "seconds": 0.0008, "max_abs_error": 3.1e-05, "tolerance": 0.016, "ok": true}
"""

import json

from ansible.module_utils.basic import AnsibleModule

# Runs inside the target interpreter; prints one JSON document.  Exit codes: 0 ok, 3 torch not importable,
# 4 requested device unavailable.
SCRIPT = r"""
import json, platform, sys, time
args = json.loads(sys.argv[1])
out = {"python_version": platform.python_version(), "executable": sys.executable}
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
        "mps_available", "mps_built", "python_version", "executable", "matmul")  # fmt: skip


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


def main():
    module = AnsibleModule(
        argument_spec={
            "python": {"type": "path", "required": True},
            "device": {"type": "str", "default": "auto", "choices": ["auto", "cpu", "cuda", "mps"]},
            "matmul_size": {"type": "int", "default": 256},
        },
        supports_check_mode=True,
    )
    python = module.params["python"]
    size = module.params["matmul_size"]
    if size < 0:
        module.fail_json(msg=f"matmul_size must be 0 (skip) or a positive size, got {size}")
    cmd = [python, "-c", SCRIPT, json.dumps({"device": module.params["device"], "size": size})]
    try:
        rc, out, err = module.run_command(cmd)
    except OSError as exc:  # run_command raises on a missing interpreter in some versions
        module.fail_json(msg=f"cannot run {python}: {exc}", cmd=cmd)
    doc = parse_output(out)
    if doc is None:
        module.fail_json(
            msg=f"{python} printed no torch report (rc {rc}): {(err or out or '').strip()[-2000:]}",
            rc=rc, stdout=out, stderr=err,
        )  # fmt: skip
    if rc != 0 or doc.get("error"):
        module.fail_json(msg="{}: {}".format(python, doc.get("error") or "failed"), rc=rc, stdout=out, stderr=err,
                         python_version=doc.get("python_version"), executable=doc.get("executable"))  # fmt: skip
    result = {key: doc.get(key) for key in KEYS}
    matmul = result.get("matmul")
    if isinstance(matmul, dict) and not matmul.get("ok"):
        size = matmul.get("size")
        module.warn(
            f"The {size}x{size} matrix product on {matmul.get('device')} differs from the float64 reference by "
            f"{matmul.get('max_abs_error')} (tolerance {matmul.get('tolerance')})."
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
