#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the code is win_gpu_facts.ps1.

DOCUMENTATION = r"""
---
module: win_gpu_facts
short_description: Gather facts about the GPUs, the NVIDIA driver and Secure Boot of a Windows host
version_added: 1.0.0
description:
  - Windows implementation of M(torchfleet.lab.gpu_facts), which runs it on hosts whose shell is PowerShell; call
    M(torchfleet.lab.gpu_facts) in plays so the same task serves every OS.
  - Sets the fact C(torchfleet_gpu) with the same keys as M(torchfleet.lab.gpu_facts).
  - Reads C(Win32_VideoController) through CIM (C(Name), C(PNPDeviceID), C(AdapterRAM), C(DriverVersion)),
    C(nvidia-smi.exe) when present (C(System32) for DCH drivers, C(NVIDIA Corporation\NVSMI) for older ones),
    and C(Confirm-SecureBootUEFI).
  - Without C(nvidia-smi.exe) the NVIDIA driver version is derived from the Windows C(DriverVersion), for
    example C(31.0.15.7652) is NVIDIA C(576.52).
  - Read-only; never fails because a GPU or driver is missing or broken.
options:
  nvidia_smi:
    description:
      - Path to C(nvidia-smi.exe). By default it is searched in E(PATH), C(%SystemRoot%\System32) and
        C(%ProgramFiles%\NVIDIA Corporation\NVSMI).
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: windows
notes:
  - C(AdapterRAM) is a 32-bit value that saturates on cards with 4 GiB or more; such sizes are left null unless
    C(nvidia-smi.exe) reports them.
  - C(kernel_module_loaded), C(kernel_module_flavor), C(nouveau_loaded) and C(mps_available) are always null on
    Windows, and C(class) of each device is null.
  - C(secure_boot) is null on BIOS firmware and when the task is not elevated (C(Confirm-SecureBootUEFI) needs
    administrator rights).
seealso:
  - module: torchfleet.lab.gpu_facts
author:
  - torchfleet.lab contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Gather GPU facts (runs this module on Windows hosts)
  torchfleet.lab.gpu_facts:

- name: Gather GPU facts with nvidia-smi in a custom place
  torchfleet.lab.win_gpu_facts:
    nvidia_smi: D:\Tools\NVSMI\nvidia-smi.exe
"""

RETURN = r"""
ansible_facts:
  description: The facts gathered.
  returned: always
  type: dict
  contains:
    torchfleet_gpu:
      description:
        - GPUs and driver state of the host, with the keys documented for M(torchfleet.lab.gpu_facts)
          (C(vendor), C(vendors), C(devices), C(nvidia_driver), C(cuda_driver_version), C(kernel_module_loaded),
          C(kernel_module_flavor), C(nouveau_loaded), C(secure_boot), C(mps_available), C(nvidia_smi),
          C(nvidia_smi_rc), C(source), C(warnings)).
      returned: always
      type: dict
      sample:
        vendor: nvidia
        vendors: [nvidia, intel]
        devices:
          - vendor: nvidia
            name: NVIDIA GeForce RTX 3090
            pci_id: "10de:2204"
            pci_slot: "0000:01:00.0"
            class: null
            memory_mib: 24576
            compute_capability: "8.6"
            uuid: GPU-5c0d3f1e-8a2b-4c7d-9e10-2f3a4b5c6d7e
          - vendor: intel
            name: Intel(R) UHD Graphics 770
            pci_id: "8086:4680"
            pci_slot: null
            class: null
            memory_mib: 1024
            compute_capability: null
            uuid: null
        nvidia_driver: "576.52"
        cuda_driver_version: "12.9"
        kernel_module_loaded: null
        kernel_module_flavor: null
        nouveau_loaded: null
        secure_boot: true
        mps_available: null
        nvidia_smi: C:\Windows\System32\nvidia-smi.exe
        nvidia_smi_rc: 0
        source: [cim, nvidia-smi, secure_boot_uefi]
        warnings: []
"""
