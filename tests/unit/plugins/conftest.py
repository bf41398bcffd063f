"""What the plugin tests share about GPUs: the recorded tool outputs and host trees (fixtures/gpu, see its
README.md) and the keys of the ``torchfleet_gpu`` fact that gpu_facts returns on every OS."""

from __future__ import annotations

from pathlib import Path

GPU_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gpu"

FACT_KEYS = {
    "vendor",
    "vendors",
    "devices",
    "nvidia_driver",
    "cuda_driver_version",
    "kernel_module_loaded",
    "kernel_module_flavor",
    "nouveau_loaded",
    "secure_boot",
    "mps_available",
    "nvidia_smi",
    "nvidia_smi_rc",
    "source",
    "warnings",
}
DEVICE_KEYS = {"vendor", "name", "pci_id", "pci_slot", "class", "memory_mib", "compute_capability", "uuid"}
