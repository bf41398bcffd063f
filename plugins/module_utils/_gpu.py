# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and decisions behind ``torchfleet.lab.gpu_facts`` on Linux, macOS and Windows.

Private to the collection.  Everything here works on text and plain values that the
module or its action plugin have already read (sysfs files, ``nvidia-smi`` output, CIM
JSON, ...), so the logic for all three operating systems is unit-tested on recorded
outputs.  On Windows the action plugin (plugins/action/gpu_facts.py) hands
``windows_facts`` a function that runs commands on the host; everything the commands
print is interpreted here.

Standard library only; runs on the managed host's Python (3.8 or later).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from typing import Any, Dict, Iterable, List, Optional, Tuple

# The module's options; the action plugin validates them on the controller for Windows hosts.
ARGUMENT_SPEC = {
    "sysfs_root": {"type": "path", "default": "/"},
    "nvidia_smi": {"type": "path"},
}

# PCI vendor ids of the GPU makers the collection knows (lower-case hex, no 0x).
PCI_VENDORS = {"10de": "nvidia", "1002": "amd", "8086": "intel", "106b": "apple"}
PCI_VENDOR_IDS = {name: vid for vid, name in PCI_VENDORS.items()}

# Which vendor decides the build when a host has several (a laptop's Intel iGPU
# never outranks its NVIDIA dGPU).
VENDOR_PRIORITY = ("nvidia", "amd", "apple", "intel")

VENDOR_LABELS = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel", "apple": "Apple"}

# PCI base class 0x03 (display), subclasses VGA (00), 3D controller (02, A100/H100)
# and other display controller (80, AMD Instinct).  NVSwitch is a bridge (0x0680):
# not listed, so never counted as a GPU.
GPU_CLASS_PREFIXES = ("0300", "0302", "0380")

# nvidia-smi --query-gpu fields, in the order the CSV comes back (NVIDIA's nvidia-smi
# documentation, https://docs.nvidia.com/deploy/nvidia-smi/index.html, and
# `nvidia-smi --help-query-gpu`).  compute_cap is
# unknown to drivers before ~510 (470.x answers 'Field "compute_cap" is not a valid
# field to query.'), so a legacy query without it is the fallback.
SMI_FIELDS = (
    "index",
    "name",
    "pci.bus_id",
    "pci.device_id",
    "memory.total",
    "driver_version",
    "uuid",
    "compute_cap",
)
SMI_FIELDS_LEGACY = tuple(f for f in SMI_FIELDS if f != "compute_cap")

# Values nvidia-smi prints when it has no answer for a field.
_SMI_MISSING = {"", "n/a", "[n/a]", "not supported", "[not supported]", "unknown", "[unknown error]"}

# The CUDA version the driver supports, from the plain nvidia-smi header.  R610 and
# later print "CUDA UMD Version"; very old drivers (396) print no CUDA field at all.
_CUDA_HEADER_RE = re.compile(r"CUDA (?:UMD )?Version:\s*([0-9]+(?:\.[0-9]+)*)", re.IGNORECASE)

# /proc/driver/nvidia/version first line, proprietary and open flavours:
#   NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.173.02  Tue Jun 23 ...
#   NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build ...
_PROC_VERSION_RE = re.compile(r"Kernel Module(?: for \S+)?\s+([0-9]+\.[0-9.]+[0-9])")
_NVML_LIB_RE = re.compile(r"NVML library version:\s*([0-9][0-9.]*[0-9])", re.IGNORECASE)

_EFI_SECURE_BOOT_ATTR_LEN = 4  # efivarfs prefixes each variable with 4 attribute bytes

_MPS_MIN_MACOS = (12, 3)


# ---------------------------------------------------------------------------
# Devices


# More than five arguments (ruff PLR0913): keyword-only, one per key of a device record.
def new_device(  # noqa: PLR0913
    vendor: str,
    *,
    name: Optional[str] = None,
    pci_id: Optional[str] = None,
    pci_slot: Optional[str] = None,
    pci_class: Optional[str] = None,
    memory_mib: Optional[int] = None,
    compute_capability: Optional[str] = None,
    uuid: Optional[str] = None,
) -> Dict[str, Any]:
    """One entry of ``torchfleet_gpu.devices``; every key is always present."""
    return {
        "vendor": vendor,
        "name": name,
        "pci_id": pci_id,
        "pci_slot": pci_slot,
        "class": pci_class,
        "memory_mib": memory_mib,
        "compute_capability": compute_capability,
        "uuid": uuid,
    }


def _hex4(value: Any) -> Optional[str]:
    """'0x10DE', '10de', 4318 -> '10de'; None when it is no 16-bit id."""
    if value is None:
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if not text or not re.fullmatch(r"[0-9a-f]+", text):
            return None
        number = int(text, 16)
    if not 0 <= number <= 0xFFFF:
        return None
    return f"{number:04x}"


def vendor_from_pci(vendor_id: Any) -> Optional[str]:
    """PCI vendor id -> 'nvidia' | 'amd' | 'intel' | 'apple' | None."""
    vid = _hex4(vendor_id)
    return PCI_VENDORS.get(vid) if vid else None


def is_gpu_class(pci_class: Any) -> bool:
    """True for display controllers (0x0300xx VGA, 0x0302xx 3D, 0x0380xx other)."""
    if pci_class is None:
        return False
    text = str(pci_class).strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    return len(text) == 6 and text[:4] in GPU_CLASS_PREFIXES


def normalize_pci_slot(text: Any) -> Optional[str]:
    """Bus ids in any spelling -> sysfs form ``dddd:bb:dd.f`` (lower case).

    nvidia-smi prints an 8-digit domain in upper case (``00000000:3B:00.0``), lspci
    without ``-D`` omits the domain (``3b:00.0``).
    """
    if not text:
        return None
    match = re.fullmatch(
        r"(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])",
        str(text).strip(),
    )
    if not match:
        return None
    domain, bus, dev, func = match.groups()
    return f"{int(domain or '0', 16):04x}:{int(bus, 16):02x}:{int(dev, 16):02x}.{int(func, 16):x}"


def fallback_name(vendor: str, pci_id: Optional[str]) -> str:
    """A name when neither nvidia-smi nor lspci could give one."""
    label = VENDOR_LABELS.get(vendor, vendor)
    return f"{label} GPU [{pci_id}]" if pci_id else f"{label} GPU"


def pci_device(slot: str, vendor_id: Any, device_id: Any, pci_class: Any) -> Optional[Dict[str, Any]]:
    """A device from the three sysfs attributes, or None when it is no GPU we know.

    Display controllers of other vendors (a server's ASPEED or Matrox BMC VGA, virtual
    adapters) are left out: they cannot run PyTorch and would only inflate the count.
    """
    if not is_gpu_class(pci_class):
        return None
    vendor = vendor_from_pci(vendor_id)
    did = _hex4(device_id)
    if vendor is None or did is None:
        return None
    cls = str(pci_class).strip().lower()
    if not cls.startswith("0x"):
        cls = "0x" + cls
    return new_device(
        vendor,
        pci_id=f"{PCI_VENDOR_IDS[vendor]}:{did}",
        pci_slot=normalize_pci_slot(slot) or slot,
        pci_class=cls,
    )


def parse_lspci_mm(text: str) -> Dict[str, str]:
    """``lspci -D -mm -nn`` -> {slot: device name}.

    A line reads ``0000:01:00.0 "VGA compatible controller [0300]" "NVIDIA Corporation
    [10de]" "GA102 [GeForce RTX 3080] [2206]" -ra1 ...``; the trailing ``[2206]`` is
    dropped.  A bare ``Device`` (an id missing from pci.ids) gives no name.
    """
    names = {}
    for line in (text or "").splitlines():
        try:
            fields = shlex.split(line)
        except ValueError:
            continue
        if len(fields) < 4:
            continue
        slot = normalize_pci_slot(fields[0])
        name = re.sub(r"\s*\[[0-9a-fA-F]{4}\]$", "", fields[3]).strip()
        if slot and name and name != "Device":
            names[slot] = name
    return names


def parse_smi_value(value: Optional[str]) -> Optional[str]:
    """Strip a CSV field; the placeholders nvidia-smi uses for 'no value' become None."""
    if value is None:
        return None
    text = value.strip()
    return None if text.lower() in _SMI_MISSING else text


def _int_or_none(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # OverflowError: 'inf'
        return None


def pci_id_from_smi_device_id(value: Optional[str]) -> Optional[str]:
    """nvidia-smi ``pci.device_id`` ``0x220410DE`` (device << 16 | vendor) -> ``10de:2204``."""
    if not value:
        return None
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not re.fullmatch(r"[0-9a-f]{8}", text):
        return None
    return f"{text[4:]}:{text[:4]}"


def smi_query_command(smi_path: str, fields: Iterable[str] = SMI_FIELDS) -> List[str]:
    return [smi_path, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"]


def parse_smi_csv(text: str, fields: Iterable[str] = SMI_FIELDS) -> List[Dict[str, Any]]:
    """``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` -> one dict per GPU.

    Keys: index, name, pci_slot, pci_id, memory_mib, driver_version, uuid,
    compute_capability (None where the driver has no value or no such field).
    Fields are separated by commas; a name is never split on spaces, and should a
    name ever hold a comma, the surplus columns are given back to it.
    """
    fields = list(fields)
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) < len(fields):
            continue
        if len(parts) > len(fields) and "name" in fields:
            at = fields.index("name")
            extra = len(parts) - len(fields)
            parts = [*parts[:at], ",".join(parts[at : at + extra + 1]), *parts[at + extra + 1 :]]
        raw = {field: parse_smi_value(part) for field, part in zip(fields, parts)}
        rows.append(
            {
                "index": _int_or_none(raw.get("index")),
                "name": raw.get("name"),
                "pci_slot": normalize_pci_slot(raw.get("pci.bus_id")),
                "pci_id": pci_id_from_smi_device_id(raw.get("pci.device_id")),
                "memory_mib": _int_or_none(raw.get("memory.total")),
                "driver_version": raw.get("driver_version"),
                "uuid": raw.get("uuid"),
                "compute_capability": raw.get("compute_cap"),
            }
        )
    return rows


def smi_should_retry_legacy(rc: int, stdout: str, stderr: str) -> bool:
    """True when the query failed because the driver does not know ``compute_cap``."""
    if rc == 0:
        return False
    text = f"{stdout or ''}\n{stderr or ''}".lower()
    return rc == 2 or "compute_cap" in text or "not a valid field" in text


def smi_failure_warning(rc: int, stdout: str, stderr: str, loaded_version: Optional[str] = None) -> str:
    """A sentence for the user about a failed nvidia-smi, naming the likely fix."""
    text = f"{stdout or ''}\n{stderr or ''}"
    lowered = text.lower()
    if rc == 18 or "driver/library version mismatch" in lowered:
        nvml = _NVML_LIB_RE.search(text)
        detail = ""
        if loaded_version or nvml:
            nvml_version = nvml.group(1) if nvml else "unknown"
            detail = f" (loaded kernel module {loaded_version or 'unknown'}, user-space NVML {nvml_version})"
        return (
            f"nvidia-smi failed with rc {rc}: the NVIDIA driver/library versions do not match{detail}; "
            "the driver was updated without a reboot, so reboot the host to load the new kernel module."
        )
    if rc == 9 or "couldn't communicate with the nvidia driver" in lowered:
        return (
            f"nvidia-smi failed with rc {rc}: the NVIDIA kernel module is not loaded; "
            "reboot after installing the driver, and check Secure Boot (an unsigned module is refused)."
        )
    if rc == 6 and "no devices were found" in lowered:
        return "nvidia-smi found no NVIDIA GPU (rc 6) although the driver answered."
    first = next((line.strip() for line in text.splitlines() if line.strip()), "no output")
    return f"nvidia-smi failed with rc {rc}: {first}"


def parse_cuda_version(header_text: str) -> Optional[str]:
    """The driver's CUDA version from the plain ``nvidia-smi`` table header."""
    match = _CUDA_HEADER_RE.search(header_text or "")
    return match.group(1) if match else None


def parse_proc_version(text: str) -> Tuple[Optional[str], Optional[str]]:
    """``/proc/driver/nvidia/version`` -> (driver version, 'open' | 'proprietary')."""
    for line in (text or "").splitlines():
        match = _PROC_VERSION_RE.search(line)
        if match:
            flavor = "open" if re.search(r"\bOpen Kernel Module\b", line) else "proprietary"
            return match.group(1), flavor
    return None, None


def parse_module_version(text: str) -> Optional[str]:
    """``/sys/module/nvidia/version`` holds the bare version, e.g. ``535.146.02``."""
    value = (text or "").strip()
    return value if re.fullmatch(r"[0-9]+\.[0-9.]*[0-9]", value) else None


def secure_boot_from_efivar(data: Optional[bytes]) -> Optional[bool]:
    """SecureBoot EFI variable (4 attribute bytes, then 1 data byte) -> bool; None if unreadable."""
    if data is None or len(data) <= _EFI_SECURE_BOOT_ATTR_LEN:
        return None
    return data[_EFI_SECURE_BOOT_ATTR_LEN] == 1


def merge_smi(devices: List[Dict[str, Any]], rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Lay nvidia-smi's answers over the PCI view and return the new list.

    A row goes onto the device in the same PCI slot; failing that (Windows, where CIM
    gives no slot) onto the first NVIDIA device not yet matched with the same PCI id,
    then the first unmatched NVIDIA device without a slot; else it becomes a device of
    its own.
    """
    merged = [dict(d) for d in devices]
    taken = set()

    def pick(row):
        for i, dev in enumerate(merged):
            if i not in taken and row["pci_slot"] and dev["pci_slot"] == row["pci_slot"]:
                return i
        for i, dev in enumerate(merged):
            if i not in taken and dev["vendor"] == "nvidia" and row["pci_id"] and dev["pci_id"] == row["pci_id"]:
                return i
        for i, dev in enumerate(merged):
            if i not in taken and dev["vendor"] == "nvidia" and not dev["pci_slot"] and not row["pci_id"]:
                return i
        return None

    for row in rows:
        i = pick(row)
        if i is None:
            merged.append(new_device("nvidia"))
            i = len(merged) - 1
        taken.add(i)
        dev = merged[i]
        for key in ("name", "pci_id", "pci_slot", "memory_mib", "compute_capability", "uuid"):
            if row.get(key) is not None:
                dev[key] = row[key]
    return merged


def fill_names(devices: List[Dict[str, Any]], names: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    """Give every device a name: its own, lspci's for its slot, or one built from the PCI id."""
    out = []
    for original in devices:
        dev = dict(original)
        if not dev["name"]:
            dev["name"] = (names or {}).get(dev["pci_slot"] or "") or fallback_name(dev["vendor"], dev["pci_id"])
        out.append(dev)
    return out


def vendors_of(devices: Iterable[Dict[str, Any]]) -> List[str]:
    """Distinct vendors present, most important first."""
    present = {d["vendor"] for d in devices}
    return [v for v in VENDOR_PRIORITY if v in present]


def primary_vendor(devices: Iterable[Dict[str, Any]]) -> str:
    """nvidia > amd > apple > intel; 'none' without a GPU."""
    found = vendors_of(devices)
    return found[0] if found else "none"


# More than five arguments (ruff PLR0913): keyword-only, one per key of the fact.
def build_facts(  # noqa: PLR0913
    devices: List[Dict[str, Any]],
    *,
    nvidia_driver: Optional[str] = None,
    cuda_driver_version: Optional[str] = None,
    kernel_module_loaded: Optional[bool] = None,
    kernel_module_flavor: Optional[str] = None,
    nouveau_loaded: Optional[bool] = None,
    secure_boot: Optional[bool] = None,
    mps_available: Optional[bool] = None,
    nvidia_smi: Optional[str] = None,
    nvidia_smi_rc: Optional[int] = None,
    source: Optional[List[str]] = None,
    warnings: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """The ``torchfleet_gpu`` fact; the same keys on every OS."""
    return {
        "vendor": primary_vendor(devices),
        "vendors": vendors_of(devices),
        "devices": devices,
        "nvidia_driver": nvidia_driver,
        "cuda_driver_version": cuda_driver_version,
        "kernel_module_loaded": kernel_module_loaded,
        "kernel_module_flavor": kernel_module_flavor,
        "nouveau_loaded": nouveau_loaded,
        "secure_boot": secure_boot,
        "mps_available": mps_available,
        "nvidia_smi": nvidia_smi,
        "nvidia_smi_rc": nvidia_smi_rc,
        "source": list(source or []),
        "warnings": list(warnings or []),
    }


# ---------------------------------------------------------------------------
# macOS


def _size_mib(text: Any) -> Optional[int]:
    """'8 GB' -> 8192, '1536 MB' -> 1536."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT])B\s*", str(text or ""), re.IGNORECASE)
    if not match:
        return None
    scale = {"K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[match.group(2).upper()]
    return int(float(match.group(1)) * scale)


def _darwin_vendor(entry: Dict[str, Any]) -> Optional[str]:
    """Vendor of a system_profiler entry: its vendor key first, then its model name."""
    vendor_text = " ".join(str(entry.get(key) or "") for key in ("spdisplays_vendor", "sppci_vendor")).lower()
    for needle, vendor in (
        ("apple", "apple"),
        ("nvidia", "nvidia"),
        ("10de", "nvidia"),
        ("amd", "amd"),
        ("ati", "amd"),
        ("1002", "amd"),
        ("intel", "intel"),
        ("8086", "intel"),
    ):
        if needle in vendor_text:
            return vendor
    model = str(entry.get("sppci_model") or entry.get("_name") or "")
    for pattern, vendor in (
        (r"^Apple\b", "apple"),
        (r"\b(?:NVIDIA|GeForce|Quadro)\b", "nvidia"),
        (r"\b(?:AMD|Radeon|FirePro)\b", "amd"),
        (r"\b(?:Intel|Iris)\b", "intel"),
    ):
        if re.search(pattern, model, re.IGNORECASE):
            return vendor
    return None


def parse_system_profiler(text: str) -> List[Dict[str, Any]]:
    """``system_profiler SPDisplaysDataType -json`` -> devices.

    Keys read: ``sppci_model`` (name, ``_name`` as fallback), ``spdisplays_vendor`` or
    ``sppci_vendor`` (``sppci_vendor_Apple``, ``sppci_vendor_amd``, ...),
    ``spdisplays_device-id`` (``0x7340``), and dedicated VRAM from ``spdisplays_vram`` or
    ``_spdisplays_vram`` (``8 GB``).  Apple silicon has unified memory: no VRAM key, so
    memory_mib stays None.  Raises ValueError on text that is no such JSON.
    """
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("system_profiler JSON is not an object")
    devices = []
    for entry in data.get("SPDisplaysDataType") or []:
        if not isinstance(entry, dict):
            continue
        vendor = _darwin_vendor(entry)
        if vendor is None:
            continue
        did = _hex4(entry.get("spdisplays_device-id"))
        pci_id = f"{PCI_VENDOR_IDS[vendor]}:{did}" if did and vendor != "apple" else None
        memory = None
        if vendor != "apple":
            memory = _size_mib(entry.get("spdisplays_vram") or entry.get("_spdisplays_vram"))
        devices.append(
            new_device(
                vendor,
                name=entry.get("sppci_model") or entry.get("_name") or fallback_name(vendor, pci_id),
                pci_id=pci_id,
                memory_mib=memory,
            )
        )
    return devices


def parse_version_tuple(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """'14.5' -> (14, 5); '12.3.1' -> (12, 3, 1); None when unparsable."""
    match = re.match(r"\s*([0-9]+(?:\.[0-9]+)*)", text or "")
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def is_apple_silicon(machine: Optional[str], cpu_brand: Optional[str]) -> bool:
    """arm64 by ``uname -m``, or an ``Apple M...`` CPU brand (true even under Rosetta)."""
    return (machine or "").strip() == "arm64" or (cpu_brand or "").strip().startswith("Apple")


def mps_available(machine: Optional[str], cpu_brand: Optional[str], macos_version: Optional[str]) -> bool:
    """PyTorch's MPS backend needs Apple silicon and macOS 12.3 or later."""
    version = parse_version_tuple(macos_version)
    return bool(is_apple_silicon(machine, cpu_brand) and version and version >= _MPS_MIN_MACOS)


# ---------------------------------------------------------------------------
# Windows

# Win32_VideoController.AdapterRAM is a uint32: cards with 4 GiB or more report a
# saturated value, which says nothing about the real size.
_ADAPTER_RAM_SATURATED = 0xFFF00000


def windows_driver_to_nvidia(driver_version: Optional[str]) -> Optional[str]:
    """Windows DriverVersion -> NVIDIA's version: ``31.0.15.7652`` -> ``576.52``.

    NVIDIA's number is the last digit of the third part followed by the four-digit
    fourth part, with a dot before the last two digits.  Computed from the numbers,
    not the text, so a fourth part written without its leading zero still works.
    """
    parts = (driver_version or "").strip().split(".")
    # ASCII digits only: str.isdigit() also takes '²', which int() refuses.
    if len(parts) != 4 or not all(re.fullmatch(r"[0-9]+", p) for p in parts):
        return None
    third, fourth = int(parts[2]), int(parts[3])
    # NVIDIA's third part has been 1x so far (13 for 3xx drivers, 16 for 610); other
    # vendors' versions (Intel's 31.0.101.x) or a future scheme give no answer.
    if not 10 <= third <= 19 or fourth > 9999:
        return None
    merged = (third - 10) * 10000 + fourth
    return f"{merged // 100}.{merged % 100:02d}"


def parse_pnp_device_id(pnp_device_id: Optional[str]) -> Optional[Tuple[str, str]]:
    """``PCI\\VEN_10DE&DEV_2204&SUBSYS_...`` -> ('10de', '2204'); None for non-PCI ids (case-insensitive)."""
    match = re.match(r"PCI\\VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})", pnp_device_id or "", re.IGNORECASE)
    if not match:
        return None
    return match.group(1).lower(), match.group(2).lower()


def memory_from_adapter_ram(adapter_ram: Any) -> Optional[int]:
    """AdapterRAM bytes -> MiB, None when missing or saturated at the 32-bit limit."""
    if adapter_ram is None or isinstance(adapter_ram, bool):
        return None
    try:
        value = int(adapter_ram)
    except (TypeError, ValueError):
        return None
    if value <= 0 or value >= _ADAPTER_RAM_SATURATED:
        return None
    return value // (1024 * 1024)


def devices_from_cim(data: Any) -> List[Dict[str, Any]]:
    """``Get-CimInstance Win32_VideoController | ConvertTo-Json`` -> devices.

    Accepts the JSON text or the decoded value.  ConvertTo-Json writes a single
    object (not an array) for one adapter and nothing at all for none.  Non-PCI
    adapters (Microsoft Basic Display, remote display) and unknown vendors are left
    out.
    """
    if isinstance(data, (str, bytes)):
        data = json.loads(data) if data.strip() else []
    if isinstance(data, dict):
        data = [data]
    devices = []
    for item in data or []:
        if not isinstance(item, dict):
            continue
        ids = parse_pnp_device_id(item.get("PNPDeviceID"))
        if not ids:
            continue
        vendor = vendor_from_pci(ids[0])
        if vendor is None:
            continue
        devices.append(
            new_device(
                vendor,
                name=(item.get("Name") or "").strip() or None,
                pci_id=f"{ids[0]}:{ids[1]}",
                memory_mib=memory_from_adapter_ram(item.get("AdapterRAM")),
            )
        )
    return devices


def nvidia_driver_from_cim(data: Any) -> Optional[str]:
    """The NVIDIA driver version from the first NVIDIA adapter's DriverVersion."""
    if isinstance(data, (str, bytes)):
        data = json.loads(data) if data.strip() else []
    if isinstance(data, dict):
        data = [data]
    for item in data or []:
        ids = parse_pnp_device_id(item.get("PNPDeviceID")) if isinstance(item, dict) else None
        if ids and ids[0] == PCI_VENDOR_IDS["nvidia"]:
            version = windows_driver_to_nvidia(item.get("DriverVersion"))
            if version:
                return version
    return None


# What the Windows probe reads, and how nvidia-smi is run there.  The action plugin runs each command with
# ansible.windows.win_command and an argument vector, which win_command escapes with the C runtime's rules
# (https://docs.ansible.com/ansible/latest/collections/ansible/windows/win_command_module.html, option argv): no
# shell parses it.  powershell.exe runs the text after -Command as its command (about_PowerShell_exe,
# https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_powershell_exe); the
# script holds no double quotes, so that parsing takes nothing out of it.  It writes ASCII JSON only, so the
# console code page cannot garble a name.
#
# - Win32_VideoController: Name, PNPDeviceID, AdapterRAM (uint32), DriverVersion
#   (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-videocontroller).
# - nvidia-smi.exe: the nvidia_smi option (with %VARS% expanded, as the option's former `type: path` in a
#   PowerShell module did), else PATH, else %SystemRoot%\System32 (DCH drivers) and
#   %ProgramFiles%\NVIDIA Corporation\NVSMI (older drivers).  The option reaches the script base64-encoded, so
#   no character of it needs quoting.
# - Confirm-SecureBootUEFI throws on BIOS firmware ("Cmdlet not supported on this platform") and without
#   elevation; both leave the state unknown (null).
WINDOWS_PROBE_SCRIPT = r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$probe = @{
    cim_ok = $false; cim_error = $null; controllers = @(); override = $null; nvidia_smi = $null; secure_boot = $null
}
try {
    $probe.controllers = @(Get-CimInstance -ClassName Win32_VideoController -ErrorAction Stop |
        Select-Object -Property Name, PNPDeviceID, AdapterRAM, DriverVersion)
    $probe.cim_ok = $true
}
catch { $probe.cim_error = $_.Exception.Message }
$override = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('@OVERRIDE@'))
if ($override) {
    if (-not $override.StartsWith('\\?\')) { $override = [Environment]::ExpandEnvironmentVariables($override) }
    $probe.override = $override
    try { if (Test-Path -LiteralPath $override -PathType Leaf) { $probe.nvidia_smi = $override } } catch { }
}
else {
    $command = Get-Command -Name 'nvidia-smi.exe' -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if ($command) { $probe.nvidia_smi = $command.Path }
    else {
        $candidates = @(
            (Join-Path -Path $env:SystemRoot -ChildPath 'System32\nvidia-smi.exe'),
            (Join-Path -Path $env:ProgramFiles -ChildPath 'NVIDIA Corporation\NVSMI\nvidia-smi.exe'))
        foreach ($candidate in $candidates) {
            if (Test-Path -LiteralPath $candidate -PathType Leaf) { $probe.nvidia_smi = $candidate; break }
        }
    }
}
try { $probe.secure_boot = [bool](Confirm-SecureBootUEFI -ErrorAction Stop) } catch { $probe.secure_boot = $null }
$json = ConvertTo-Json -InputObject $probe -Depth 4 -Compress
[regex]::Replace($json, '[^\x00-\x7F]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
"""


class WindowsProbeError(Exception):
    """The probe script printed no JSON: powershell.exe missing, blocked or broken."""

    def __init__(self, msg: str, rc: int, stdout: str, stderr: str):
        super().__init__(msg)
        self.msg = msg
        self.result = {"rc": rc, "stdout": stdout, "stderr": stderr}


def windows_probe_command(nvidia_smi: Optional[str] = None) -> List[str]:
    """The read-only PowerShell command that prints what ``windows_facts`` interprets, as JSON."""
    encoded = base64.b64encode((nvidia_smi or "").encode("utf-8")).decode("ascii")
    return [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-Command",
        WINDOWS_PROBE_SCRIPT.replace("@OVERRIDE@", encoded),
    ]


def parse_windows_probe(rc: int, stdout: str, stderr: str) -> Dict[str, Any]:
    """The probe's JSON object; WindowsProbeError when it printed none."""
    data = None
    if rc == 0:
        try:
            data = json.loads(stdout or "")
        except ValueError:
            data = None
    if isinstance(data, dict):
        return data
    text = f"{stderr or ''}\n{stdout or ''}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "no output")
    raise WindowsProbeError(f"powershell.exe could not read the GPUs (rc {rc}): {first}", rc, stdout, stderr)


# More than five arguments (ruff PLR0913): the runner, nvidia-smi, the devices and the fact's lists it adds to.
def nvidia_smi_readings(run, smi, devices, source, warnings, loaded_version=None):  # noqa: PLR0913
    """What nvidia-smi adds, on Linux and Windows alike: the CSV query (the legacy field list on old drivers), the
    devices merged with its rows, the driver, and the CUDA version from its header.

    ``run(argv)`` returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command, or the Windows action's runner);
    ``loaded_version`` is the loaded kernel module's version, which Windows does not show. Returns (devices,
    nvidia driver, CUDA version, rc of the query); a failed query adds its warning and leaves the devices as given.
    """
    fields = SMI_FIELDS
    rc, out, err = run(smi_query_command(smi, fields))
    if smi_should_retry_legacy(rc, out, err):
        fields = SMI_FIELDS_LEGACY
        rc, out, err = run(smi_query_command(smi, fields))
    if rc != 0:
        warnings.append(smi_failure_warning(rc, out, err, loaded_version))
        return devices, None, None, rc
    source.append("nvidia-smi")
    rows = parse_smi_csv(out, fields)
    driver = next((row["driver_version"] for row in rows if row["driver_version"]), None)
    header_rc, header_out, _header_err = run([smi])
    cuda = parse_cuda_version(header_out) if header_rc == 0 else None
    return merge_smi(devices, rows), driver, cuda, rc


def windows_facts(run, nvidia_smi: Optional[str] = None) -> Dict[str, Any]:
    """The ``torchfleet_gpu`` fact of a Windows host.

    ``run(argv)`` runs a command on the host and returns ``(rc, stdout, stderr)``; a command that cannot start
    gives rc 255 and why in stderr.  Raises WindowsProbeError when the probe script printed no JSON.
    """
    probe = parse_windows_probe(*run(windows_probe_command(nvidia_smi)))
    warnings: List[str] = []
    source: List[str] = []
    controllers = probe.get("controllers") or []
    if probe.get("cim_ok"):
        source.append("cim")
    else:
        controllers = []
        warnings.append(f"Get-CimInstance Win32_VideoController failed: {probe.get('cim_error') or ''}")
    devices = devices_from_cim(controllers)
    smi = probe.get("nvidia_smi") or None
    if probe.get("override") and not smi:
        warnings.append(
            f"nvidia_smi={probe['override']} is not an executable file; facts that need nvidia-smi are missing."
        )
    nvidia_driver = cuda = smi_rc = None
    if smi:
        devices, nvidia_driver, cuda, smi_rc = nvidia_smi_readings(run, smi, devices, source, warnings)
    elif any(dev["vendor"] == "nvidia" for dev in devices):
        warnings.append(
            "An NVIDIA GPU is present but nvidia-smi.exe was not found: the NVIDIA driver is not installed."
        )
    secure_boot = probe.get("secure_boot")
    if secure_boot is not None:
        secure_boot = bool(secure_boot)
        source.append("secure_boot_uefi")
    return build_facts(
        fill_names(devices),
        nvidia_driver=nvidia_driver or nvidia_driver_from_cim(controllers),
        cuda_driver_version=cuda,
        secure_boot=secure_boot,
        nvidia_smi=smi,
        nvidia_smi_rc=smi_rc,
        source=source,
        warnings=warnings,
    )
