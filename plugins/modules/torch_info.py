#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: torch_info
short_description: Report what PyTorch sees in an environment and check a matrix product on a device
version_added: 1.0.0
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
      - On Windows give an absolute path, C(C:\ProgramData\miniconda3\envs\torch\python.exe) for a conda
        environment or C(C:\ProgramData\torchfleet\envs\torch\Scripts\python.exe) for a venv.
    type: path
    required: true
  device:
    description:
      - Device for the matrix product check.
      - V(auto) picks C(cuda) when available, then C(mps), then C(cpu).
      - Requesting a device that is not available fails the task; for V(mps) the message says what MPS needs
        (a Metal GPU, macOS 12.3 or newer, a Python that is not running under Rosetta) and reports RV(mps_built).
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
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details:
      - On hosts whose shell is PowerShell the action plugin runs the same program with
        M(ansible.windows.win_command), calling the environment's C(python.exe) directly, and reads its report on the
        controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: linux, darwin, windows
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
machine:
  description: C(platform.machine()) of the interpreter; C(x86_64) on an Apple silicon Mac means it runs under Rosetta.
  returned: success
  type: str
  sample: arm64
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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_info

# The script, its output keys and the parser live in module_utils, shared with the action for Windows hosts.
SCRIPT = _torch_info.SCRIPT
KEYS = _torch_info.KEYS
parse_output = _torch_info.parse_output


def main():
    module = AnsibleModule(argument_spec=_torch_info.ARGUMENT_SPEC, supports_check_mode=True)
    python = module.params["python"]
    device = module.params["device"]
    try:
        cmd = _torch_info.command(python, device, _torch_info.check_size(module.params["matmul_size"]))
        try:
            rc, out, err = module.run_command(cmd)
        except OSError as exc:  # run_command raises on a missing interpreter in some versions
            module.fail_json(msg=f"cannot run {python}: {exc}", cmd=cmd)
        result, warnings = _torch_info.evaluate(python, device, rc, out, err)
    except _torch_info.TorchInfoError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
