#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Gather facts about the GPUs, the NVIDIA driver and Secure Boot of a host
version_added: 1.0.0
description:
  - Sets the fact C(torchfleet_gpu), which the other parts of the collection use to pick the PyTorch build
    (CUDA, ROCm, MPS or CPU) and to decide whether the NVIDIA driver needs work.
  - On Linux it reads the PCI devices from sysfs (no pciutils needed), names them with C(nvidia-smi) or C(lspci)
    when present, and reads the driver state from C(/proc/driver/nvidia/version), C(/sys/module/nvidia) and the
    C(SecureBoot) EFI variable.
  - On macOS it reads C(system_profiler SPDisplaysDataType -json), C(sysctl), C(uname) and C(sw_vers) and reports
    whether the Metal (MPS) backend can work.
  - On Windows the action plugin reads C(Win32_VideoController) through CIM (C(Name), C(PNPDeviceID), C(AdapterRAM),
    C(DriverVersion)), C(nvidia-smi.exe) when present and C(Confirm-SecureBootUEFI), with read-only commands run by
    M(ansible.windows.win_command), and sets the same fact from them.
  - Without C(nvidia-smi.exe) the NVIDIA driver version on Windows is derived from the Windows C(DriverVersion), for
    example C(31.0.15.7652) is NVIDIA C(576.52).
  - Read-only. A host without a GPU, without a driver or with a broken driver is reported, never failed;
    problems such as C(nvidia-smi) failing after a driver update without a reboot come back as warnings.
options:
  sysfs_root:
    description:
      - Directory under which C(sys/) and C(proc/) are read instead of C(/). Meant for tests against a recorded
        tree; commands such as C(nvidia-smi) still run on the host.
      - Linux only; ignored on Windows hosts.
    type: path
    default: /
  nvidia_smi:
    description:
      - Path to C(nvidia-smi). By default it is searched in E(PATH), C(/usr/local/nvidia/bin) and
        C(/usr/lib/wsl/lib).
      - On Windows, the path to C(nvidia-smi.exe), with C(%VARIABLES%) expanded on the host. By default it is
        searched in E(PATH), C(%SystemRoot%\System32) and C(%ProgramFiles%\NVIDIA Corporation\NVSMI).
      - A path that does not exist gives a warning and the facts that need no C(nvidia-smi).
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: On hosts whose shell is PowerShell the action plugin runs read-only commands with
      M(ansible.windows.win_command) and interprets their output on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: linux, darwin, windows
notes:
  - Only NVIDIA, AMD, Intel and Apple GPUs are listed. Other display controllers, such as a server's BMC VGA or a
    virtual machine's display adapter, and NVIDIA NVSwitch bridges are left out.
  - The CUDA version comes from the C(nvidia-smi) header (C(CUDA Version) or, from R610, C(CUDA UMD Version));
    C(nvidia-smi --query-gpu) has no field for it.
  - On Windows C(AdapterRAM) is a 32-bit value that saturates on cards with 4 GiB or more; such sizes are left null
    unless C(nvidia-smi.exe) reports them. C(kernel_module_loaded), C(kernel_module_flavor), C(nouveau_loaded) and
    C(mps_available) are always null there, and C(class) of each device is null.
  - On Windows C(secure_boot) is null on BIOS firmware and when the task is not elevated
    (C(Confirm-SecureBootUEFI) needs administrator rights).
  - On Windows the task fails only when C(powershell.exe) cannot run the probe or prints no answer.
author:
  - torchfleet.lab contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Gather GPU facts
  torchfleet.lab.gpu_facts:

- name: Show the primary GPU vendor and the NVIDIA driver
  ansible.builtin.debug:
    msg: "{{ ansible_facts['torchfleet_gpu']['vendor'] }} {{ ansible_facts['torchfleet_gpu']['nvidia_driver'] }}"

- name: Reboot when nvidia-smi reports a driver/library version mismatch
  ansible.builtin.reboot:
  when: ansible_facts['torchfleet_gpu']['nvidia_smi_rc'] == 18

- name: Read a recorded sysfs tree (tests)
  torchfleet.lab.gpu_facts:
    sysfs_root: /srv/recorded/a100-host
"""

RETURN = r"""
ansible_facts:
  description: The facts gathered.
  returned: always
  type: dict
  contains:
    torchfleet_gpu:
      description: GPUs and driver state of the host. Every key is present on every OS; unknown values are null.
      returned: always
      type: dict
      contains:
        vendor:
          description:
            - The vendor that decides the PyTorch build, by priority C(nvidia) > C(amd) > C(apple) > C(intel);
              C(none) without a GPU. A laptop with an Intel iGPU and an NVIDIA dGPU reports C(nvidia).
          type: str
          sample: nvidia
        vendors:
          description: Every vendor present, in the same priority order.
          type: list
          elements: str
          sample: [nvidia, intel]
        devices:
          description: The GPUs, in PCI order on Linux.
          type: list
          elements: dict
          contains:
            vendor:
              description: C(nvidia), C(amd), C(intel) or C(apple).
              type: str
              sample: nvidia
            name:
              description: Product name from nvidia-smi, lspci, system_profiler or CIM; else built from the PCI id.
              type: str
              sample: NVIDIA A100-SXM4-80GB
            pci_id:
              description: PCI vendor and device id. Null for Apple silicon.
              type: str
              sample: "10de:20b2"
            pci_slot:
              description:
                - PCI address C(domain:bus:device.function).
                - Null where unknown (macOS, Windows without nvidia-smi).
              type: str
              sample: "0000:07:00.0"
            class:
              description: PCI class code from sysfs (Linux only).
              type: str
              sample: "0x030200"
            memory_mib:
              description: Dedicated memory in MiB where known (nvidia-smi, macOS VRAM, Windows AdapterRAM below 4 GiB).
              type: int
              sample: 81920
            compute_capability:
              description: CUDA compute capability (NVIDIA, drivers that know C(compute_cap)).
              type: str
              sample: "8.0"
            uuid:
              description: GPU UUID from nvidia-smi.
              type: str
              sample: GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708
        nvidia_driver:
          description:
            - NVIDIA driver version, from nvidia-smi, else from the loaded kernel module (Linux), else from the
              Windows DriverVersion. Null without an NVIDIA driver.
          type: str
          sample: 535.104.05
        cuda_driver_version:
          description: Highest CUDA version the driver supports, from the nvidia-smi header.
          type: str
          sample: "12.2"
        kernel_module_loaded:
          description: Whether the nvidia kernel module is loaded. Linux only, null elsewhere.
          type: bool
          sample: true
        kernel_module_flavor:
          description:
            - C(open) or C(proprietary), from C(/proc/driver/nvidia/version).
            - Null when the module is not loaded, or not on Linux.
          type: str
          sample: open
        nouveau_loaded:
          description: Whether the nouveau module is loaded (it keeps the NVIDIA driver off the GPU). Linux only.
          type: bool
          sample: false
        secure_boot:
          description:
            - Secure Boot state. Linux reads the SecureBoot EFI variable, Windows asks C(Confirm-SecureBootUEFI).
            - Null on legacy BIOS, on macOS, or where the state cannot be read.
          type: bool
          sample: false
        mps_available:
          description:
            - macOS only, null elsewhere. True on Apple silicon with macOS 12.3 or later, which PyTorch's MPS backend
              needs; false on Intel Macs and older macOS.
          type: bool
          sample: true
        nvidia_smi:
          description: Path of the nvidia-smi used, or null.
          type: str
          sample: /usr/bin/nvidia-smi
        nvidia_smi_rc:
          description:
            - Exit status of the nvidia-smi query, null when it was not run. 9 means the driver is not loaded,
              18 a driver/library version mismatch (reboot after a driver update).
          type: int
          sample: 0
        source:
          description: What was read, in order.
          type: list
          elements: str
          sample: [sysfs, nvidia-smi, proc, efivars]
        warnings:
          description: Problems found, also shown as task warnings.
          type: list
          elements: str
          sample: []
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _gpu

NVIDIA_SMI_DIRS = ["/usr/local/nvidia/bin", "/usr/lib/wsl/lib"]
EFI_SECURE_BOOT = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def _under(root, relative):
    return os.path.join(root, relative)


def _read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def read_sysfs_devices(root):
    """GPUs among ``<root>/sys/bus/pci/devices/*``; None when that directory is missing."""
    base = _under(root, "sys/bus/pci/devices")
    try:
        slots = sorted(os.listdir(base))
    except OSError:
        return None
    devices = []
    for slot in slots:
        attrs = [_read_text(os.path.join(base, slot, name)) for name in ("vendor", "device", "class")]
        if None in attrs:
            continue
        device = _gpu.pci_device(slot, *[a.strip() for a in attrs])
        if device:
            devices.append(device)
    return devices


def read_secure_boot(root):
    """True/False from the SecureBoot EFI variable; None on BIOS or where efivarfs hides it."""
    if not os.path.isdir(_under(root, "sys/firmware/efi")):
        return None
    return _gpu.secure_boot_from_efivar(_read_bytes(_under(root, EFI_SECURE_BOOT)))


def find_nvidia_smi(module, warnings):
    wanted = module.params["nvidia_smi"]
    if wanted:
        if os.path.isfile(wanted) and os.access(wanted, os.X_OK):
            return wanted
        warnings.append(f"nvidia_smi={wanted} is not an executable file; facts that need nvidia-smi are missing.")
        return None
    return module.get_bin_path("nvidia-smi", opt_dirs=NVIDIA_SMI_DIRS)


def _linux_devices(root, source, warnings):
    """The PCI display devices sysfs lists (none when sysfs is missing: then only nvidia-smi knows them)."""
    devices = read_sysfs_devices(root)
    if devices is None:
        missing = _under(root, "sys/bus/pci/devices")
        warnings.append(f"{missing} is missing; GPUs are known only from nvidia-smi.")
        return []
    source.append("sysfs")
    return devices


def _kernel_module(root, source):
    """The loaded NVIDIA kernel module: its version and flavour, whether it (or nouveau) is loaded."""
    proc_text = _read_text(_under(root, "proc/driver/nvidia/version"))
    loaded_version, flavor = _gpu.parse_proc_version(proc_text)
    module_dir = os.path.isdir(_under(root, "sys/module/nvidia"))
    if proc_text is not None:
        source.append("proc")
    if loaded_version is None and module_dir:
        loaded_version = _gpu.parse_module_version(_read_text(_under(root, "sys/module/nvidia/version")))
        if loaded_version:
            source.append("sys_module")
    return {
        "loaded_version": loaded_version,
        "kernel_module_flavor": flavor,
        "kernel_module_loaded": proc_text is not None or module_dir,
        "nouveau_loaded": os.path.isdir(_under(root, "sys/module/nouveau")),
    }


def _smi_readings(module, devices, kernel, source, warnings):
    """What nvidia-smi adds: the devices merged with its rows, and the keys of the fact it alone knows."""
    smi = find_nvidia_smi(module, warnings)
    found = {"nvidia_smi": smi, "nvidia_smi_rc": None, "nvidia_driver": None, "cuda_driver_version": None}
    if smi:
        devices, found["nvidia_driver"], found["cuda_driver_version"], found["nvidia_smi_rc"] = (
            _gpu.nvidia_smi_readings(module.run_command, smi, devices, source, warnings, kernel["loaded_version"])
        )
    elif any(d["vendor"] == "nvidia" for d in devices):
        if kernel["kernel_module_loaded"]:
            warnings.append(
                "The NVIDIA kernel module is loaded but nvidia-smi was not found (Debian ships it in the separate "
                "nvidia-smi package); GPU names, memory and the CUDA version are unknown."
            )
        else:
            warnings.append("An NVIDIA GPU is present but no NVIDIA driver is installed or loaded.")
    if found["nvidia_driver"] is None:
        found["nvidia_driver"] = kernel["loaded_version"]
    return devices, found


def _named(module, devices, source):
    """Devices with their names: from lspci when a name is missing, else from the PCI id table."""
    if any(not d["name"] for d in devices):
        lspci = module.get_bin_path("lspci")
        if lspci:
            rc, out, _err = module.run_command([lspci, "-D", "-mm", "-nn"])
            if rc == 0:
                source.append("lspci")
                devices = _gpu.fill_names(devices, _gpu.parse_lspci_mm(out))
    return _gpu.fill_names(devices)


def gather_linux(module):
    root = module.params["sysfs_root"]
    warnings = []
    source = []
    devices = _linux_devices(root, source, warnings)
    kernel = _kernel_module(root, source)
    devices, smi = _smi_readings(module, devices, kernel, source, warnings)
    devices = _named(module, devices, source)
    has_nvidia = any(d["vendor"] == "nvidia" for d in devices)
    if kernel["nouveau_loaded"] and has_nvidia and not kernel["kernel_module_loaded"]:
        warnings.append("nouveau is loaded: blacklist it and reboot before the NVIDIA driver can use the GPU.")
    secure_boot = read_secure_boot(root)
    if secure_boot is not None:
        source.append("efivars")
    return _gpu.build_facts(
        devices,
        nvidia_driver=smi["nvidia_driver"],
        cuda_driver_version=smi["cuda_driver_version"],
        kernel_module_loaded=kernel["kernel_module_loaded"],
        kernel_module_flavor=kernel["kernel_module_flavor"],
        nouveau_loaded=kernel["nouveau_loaded"],
        secure_boot=secure_boot,
        nvidia_smi=smi["nvidia_smi"],
        nvidia_smi_rc=smi["nvidia_smi_rc"],
        source=source,
        warnings=warnings,
    )


def _first_line(module, args):
    """stdout's first line of a command, or None when it is missing or fails."""
    binary = module.get_bin_path(args[0], opt_dirs=["/usr/sbin", "/usr/bin"])
    if not binary:
        return None
    rc, out, _err = module.run_command([binary, *args[1:]])
    if rc != 0 or not out.strip():
        return None
    return out.strip().splitlines()[0].strip()


def gather_darwin(module):
    warnings = []
    source = []
    devices = []
    profiler = module.get_bin_path("system_profiler", opt_dirs=["/usr/sbin"])
    if profiler:
        rc, out, err = module.run_command([profiler, "SPDisplaysDataType", "-json"])
        try:
            if rc != 0:
                raise ValueError(err.strip() or f"rc {rc}")
            devices = _gpu.parse_system_profiler(out)
            source.append("system_profiler")
        except ValueError as exc:
            warnings.append(f"system_profiler SPDisplaysDataType failed: {exc}")
    else:
        warnings.append("system_profiler was not found; no GPU could be listed.")

    brand = _first_line(module, ["sysctl", "-n", "machdep.cpu.brand_string"])
    machine = _first_line(module, ["uname", "-m"])
    macos = _first_line(module, ["sw_vers", "-productVersion"])
    source.extend(name for name, value in (("sysctl", brand), ("uname", machine), ("sw_vers", macos)) if value)
    mps = _gpu.mps_available(machine, brand, macos)
    if _gpu.is_apple_silicon(machine, brand) and not mps:
        warnings.append(f"MPS needs macOS 12.3 or later; this host runs {macos or 'an unknown version'}.")

    return _gpu.build_facts(
        _gpu.fill_names(devices),
        mps_available=mps,
        source=source,
        warnings=warnings,
    )


def main():
    module = AnsibleModule(
        argument_spec=_gpu.ARGUMENT_SPEC,
        supports_check_mode=True,
    )
    system = platform.system()
    if system == "Darwin":
        facts = gather_darwin(module)
    elif system == "Linux":
        facts = gather_linux(module)
    else:
        facts = _gpu.build_facts([], warnings=[f"gpu_facts does not know how to read GPUs on {system}."])
    for warning in facts["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"torchfleet_gpu": facts})


if __name__ == "__main__":
    main()
