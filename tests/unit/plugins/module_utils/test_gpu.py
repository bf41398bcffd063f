"""Unit tests for plugins/module_utils/_gpu.py on recorded tool outputs (fixtures/gpu)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _gpu

from ..conftest import DEVICE_KEYS, FACT_KEYS, GPU_FIXTURES


def fixture(name):
    return (GPU_FIXTURES / name).read_text(encoding="utf-8")


# --- PCI -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pci_class", "expected"),
    [
        pytest.param("0x030000", True, id="vga"),
        pytest.param("0x030200", True, id="3d-controller-a100"),
        pytest.param("0x038000", True, id="display-other-instinct"),
        pytest.param("030000", True, id="no-0x-prefix"),
        pytest.param("0x068000", False, id="nvswitch-bridge"),
        pytest.param("0x040300", False, id="hdmi-audio"),
        pytest.param("0x0300", False, id="truncated"),
        pytest.param(None, False, id="missing"),
    ],
)
def test_is_gpu_class(pci_class, expected):
    assert _gpu.is_gpu_class(pci_class) is expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        pytest.param(
            ("0000:07:00.0", "0x10de", "0x20b2", "0x030200"),
            _gpu.new_device("nvidia", pci_id="10de:20b2", pci_slot="0000:07:00.0", pci_class="0x030200"),
            id="a100-3d-controller",
        ),
        pytest.param(
            ("0000:83:00.0", "0x1002", "0x740f", "0x038000"),
            _gpu.new_device("amd", pci_id="1002:740f", pci_slot="0000:83:00.0", pci_class="0x038000"),
            id="amd-instinct",
        ),
        pytest.param(("0000:c1:00.0", "0x10de", "0x1af1", "0x068000"), None, id="nvswitch-ignored"),
        pytest.param(("0000:03:00.0", "0x1a03", "0x2000", "0x030000"), None, id="aspeed-bmc-ignored"),
        pytest.param(("0000:00:01.0", "0x1af4", "0x1050", "0x030000"), None, id="virtio-gpu-ignored"),
    ],
)
def test_pci_device(attrs, expected):
    assert _gpu.pci_device(*attrs) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00000000:0F:00.0", "0000:0f:00.0"),
        ("0000:01:00.0", "0000:01:00.0"),
        ("01:00.1", "0000:01:00.1"),
        ("00000001:3B:1F.7", "0001:3b:1f.7"),
        ("not a slot", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_pci_slot(text, expected):
    assert _gpu.normalize_pci_slot(text) == expected


def test_parse_lspci_mm_names_by_slot_and_skips_unknown_ids():
    names = _gpu.parse_lspci_mm(fixture("lspci_laptop.txt"))
    assert names["0000:00:02.0"] == "Raptor Lake-P [Iris Xe Graphics]"
    assert names["0000:01:00.0"] == "AD107M [GeForce RTX 4060 Max-Q / Mobile]"
    assert "0000:01:00.1" not in names  # "Device [22be]": pci.ids does not know it


# --- nvidia-smi -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        pytest.param(
            "smi_workstation.csv",
            _gpu.SMI_FIELDS,
            [
                {
                    "index": 0,
                    "name": "NVIDIA GeForce RTX 3090",
                    "pci_slot": "0000:01:00.0",
                    "pci_id": "10de:2204",
                    "memory_mib": 24576,
                    "driver_version": "535.104.05",
                    "uuid": "GPU-5c0d3f1e-8a2b-4c7d-9e10-2f3a4b5c6d7e",
                    "compute_capability": "8.6",
                }
            ],
            id="single-gpu",
        ),
        pytest.param(
            "smi_legacy_470.csv",
            _gpu.SMI_FIELDS_LEGACY,
            [
                {
                    "index": 0,
                    "name": "Tesla T4",
                    "pci_slot": "0000:00:1e.0",
                    "pci_id": "10de:1eb8",
                    "memory_mib": 15360,
                    "driver_version": "470.239.06",
                    "uuid": "GPU-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                    "compute_capability": None,
                }
            ],
            id="legacy-without-compute-cap",
        ),
        pytest.param(
            "smi_na_values.csv",
            _gpu.SMI_FIELDS,
            [
                {
                    "index": 0,
                    "name": "GRID A100X-4C",
                    "pci_slot": "0000:02:00.0",
                    "pci_id": "10de:20b5",
                    "memory_mib": None,
                    "driver_version": "535.104.05",
                    "uuid": None,
                    "compute_capability": None,
                }
            ],
            id="n-a-and-not-supported",
        ),
    ],
)
def test_parse_smi_csv(name, fields, expected):
    assert _gpu.parse_smi_csv(fixture(name), fields) == expected


def test_parse_smi_csv_multi_gpu_keeps_order_and_normalises_bus_ids():
    rows = _gpu.parse_smi_csv(fixture("smi_a100_x2.csv"))
    assert [(r["index"], r["pci_slot"], r["memory_mib"]) for r in rows] == [
        (0, "0000:07:00.0", 81920),
        (1, "0000:0f:00.0", 81920),
    ]
    assert {r["name"] for r in rows} == {"NVIDIA A100-SXM4-80GB"}


def test_parse_smi_csv_gives_surplus_commas_back_to_the_name():
    line = "0, Vendor GPU, rev 2, 00000000:01:00.0, 0x220410DE, 1024, 550.54.14, GPU-x, 8.6\n"
    (row,) = _gpu.parse_smi_csv(line)
    assert row["name"] == "Vendor GPU, rev 2"
    assert row["pci_slot"] == "0000:01:00.0"
    assert row["compute_capability"] == "8.6"


def test_parse_smi_csv_numbers_that_are_no_integer_give_none():
    # float() reads 'inf', int() then overflows; PowerShell's [int64] threw on it in the former Windows module.
    (row,) = _gpu.parse_smi_csv("inf, GPU, 00000000:01:00.0, 0x220410DE, x, 550.54.14, GPU-x, 8.6\n")
    assert (row["index"], row["memory_mib"]) == (None, None)


def test_smi_query_command_asks_for_csv_without_units():
    assert _gpu.smi_query_command("/usr/bin/nvidia-smi") == [
        "/usr/bin/nvidia-smi",
        "--query-gpu=index,name,pci.bus_id,pci.device_id,memory.total,driver_version,uuid,compute_cap",
        "--format=csv,noheader,nounits",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0x220410DE", "10de:2204"), ("0x20B210DE", "10de:20b2"), ("0x2204", None), ("[N/A]", None), (None, None)],
)
def test_pci_id_from_smi_device_id(value, expected):
    assert _gpu.pci_id_from_smi_device_id(value) == expected


@pytest.mark.parametrize(
    ("rc", "stdout", "expected"),
    [
        pytest.param(2, fixture("smi_err_rc2_compute_cap.txt"), True, id="470-rejects-compute-cap"),
        pytest.param(18, fixture("smi_err_rc18_mismatch.txt"), False, id="mismatch-is-no-field-problem"),
        pytest.param(9, fixture("smi_err_rc9_not_loaded.txt"), False, id="not-loaded"),
        pytest.param(0, fixture("smi_workstation.csv"), False, id="success"),
    ],
)
def test_smi_should_retry_legacy(rc, stdout, expected):
    assert _gpu.smi_should_retry_legacy(rc, stdout, "") is expected


@pytest.mark.parametrize(
    ("rc", "stdout", "loaded", "must_contain"),
    [
        pytest.param(
            18,
            fixture("smi_err_rc18_mismatch.txt"),
            "535.104.05",
            ["rc 18", "do not match", "loaded kernel module 535.104.05", "user-space NVML 535.161", "reboot"],
            id="rc18-mismatch",
        ),
        pytest.param(9, fixture("smi_err_rc9_not_loaded.txt"), None, ["rc 9", "not loaded", "Secure Boot"], id="rc9"),
        pytest.param(6, "No devices were found\n", None, ["no NVIDIA GPU", "rc 6"], id="rc6-no-devices"),
        pytest.param(255, "\nUnknown Error\n", None, ["rc 255: Unknown Error"], id="other"),
    ],
)
def test_smi_failure_warning(rc, stdout, loaded, must_contain):
    warning = _gpu.smi_failure_warning(rc, stdout, "", loaded)
    for part in must_contain:
        assert part in warning


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("smi_header_535.txt", "12.2", id="r535"),
        pytest.param("smi_header_565.txt", "12.7", id="r565"),
        pytest.param("smi_header_550.txt", "12.4", id="r550"),
        pytest.param("smi_header_470.txt", "11.4", id="r470"),
        pytest.param("smi_header_610.txt", "13.3", id="r610-cuda-umd-version"),
        pytest.param("smi_header_396.txt", None, id="r396-no-cuda-field"),
    ],
)
def test_parse_cuda_version(name, expected):
    assert _gpu.parse_cuda_version(fixture(name)) == expected


# --- kernel module, Secure Boot ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(fixture("proc_version_proprietary.txt"), ("535.104.05", "proprietary"), id="proprietary"),
        pytest.param(fixture("proc_version_open.txt"), ("565.57.01", "open"), id="open"),
        pytest.param(
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.173.02  Tue Jun 23 08:38:17 UTC 2026\n",
            ("580.173.02", "proprietary"),
            id="reference-example",
        ),
        pytest.param("", (None, None), id="empty"),
        pytest.param(None, (None, None), id="missing"),
    ],
)
def test_parse_proc_version(text, expected):
    assert _gpu.parse_proc_version(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("535.146.02\n", "535.146.02"), ("", None), ("garbage", None)])
def test_parse_module_version(text, expected):
    assert _gpu.parse_module_version(text) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(bytes([6, 0, 0, 0, 1]), True, id="enabled"),
        pytest.param(bytes([6, 0, 0, 0, 0]), False, id="disabled"),
        pytest.param(bytes([6, 0, 0, 0]), None, id="attributes-only"),
        pytest.param(None, None, id="unreadable"),
    ],
)
def test_secure_boot_from_efivar(data, expected):
    assert _gpu.secure_boot_from_efivar(data) is expected


# --- merging, vendor priority --------------------------------------------------


def test_merge_smi_on_linux_matches_by_slot_and_leaves_other_vendors():
    intel = _gpu.new_device("intel", pci_id="8086:a7a0", pci_slot="0000:00:02.0", pci_class="0x030000")
    nvidia = _gpu.new_device("nvidia", pci_id="10de:28e0", pci_slot="0000:01:00.0", pci_class="0x030000")
    merged = _gpu.merge_smi([intel, nvidia], _gpu.parse_smi_csv(fixture("smi_laptop.csv")))
    assert merged[0] == intel
    assert merged[1]["name"] == "NVIDIA GeForce RTX 4060 Laptop GPU"
    assert merged[1]["class"] == "0x030000"
    assert merged[1]["memory_mib"] == 8188
    assert merged[1]["compute_capability"] == "8.9"


def test_merge_smi_without_sysfs_adds_the_gpus_nvidia_smi_reports():
    merged = _gpu.merge_smi([], _gpu.parse_smi_csv(fixture("smi_a100_x2.csv")))
    assert [(d["vendor"], d["pci_slot"], d["pci_id"], d["class"]) for d in merged] == [
        ("nvidia", "0000:07:00.0", "10de:20b2", None),
        ("nvidia", "0000:0f:00.0", "10de:20b2", None),
    ]


def test_merge_smi_gives_identical_gpus_one_row_each():
    # Windows: CIM has no slots, so two A100s can only be told apart by order.
    cim = [_gpu.new_device("nvidia", name="NVIDIA A100-SXM4-80GB", pci_id="10de:20b2") for _index in range(2)]
    merged = _gpu.merge_smi(cim, _gpu.parse_smi_csv(fixture("smi_a100_x2.csv")))
    assert len(merged) == 2
    assert [d["pci_slot"] for d in merged] == ["0000:07:00.0", "0000:0f:00.0"]
    assert merged[0]["uuid"] != merged[1]["uuid"]


@pytest.mark.parametrize(
    ("vendors", "primary", "ordered"),
    [
        pytest.param(["intel", "nvidia"], "nvidia", ["nvidia", "intel"], id="hybrid-intel-nvidia"),
        pytest.param(["amd", "nvidia"], "nvidia", ["nvidia", "amd"], id="amd-apu-nvidia"),
        pytest.param(["intel", "amd"], "amd", ["amd", "intel"], id="intel-mac-amd"),
        pytest.param(["apple"], "apple", ["apple"], id="apple-silicon"),
        pytest.param(["intel"], "intel", ["intel"], id="intel-only"),
        pytest.param([], "none", [], id="no-gpu"),
    ],
)
def test_vendor_priority(vendors, primary, ordered):
    devices = [_gpu.new_device(v) for v in vendors]
    assert _gpu.primary_vendor(devices) == primary
    assert _gpu.vendors_of(devices) == ordered


def test_fill_names_uses_lspci_then_the_pci_id():
    devices = [
        _gpu.new_device("intel", pci_id="8086:a7a0", pci_slot="0000:00:02.0"),
        _gpu.new_device("amd", pci_id="1002:740f", pci_slot="0000:83:00.0"),
    ]
    named = _gpu.fill_names(devices, _gpu.parse_lspci_mm(fixture("lspci_laptop.txt")))
    assert [d["name"] for d in named] == ["Raptor Lake-P [Iris Xe Graphics]", "AMD GPU [1002:740f]"]


def test_build_facts_has_every_key_even_without_gpus():
    facts = _gpu.build_facts([])
    assert set(facts) == FACT_KEYS
    assert facts["vendor"] == "none"
    assert facts["devices"] == []
    assert facts["source"] == []
    assert set(_gpu.new_device("nvidia")) == DEVICE_KEYS


# --- macOS ----------------------------------------------------------------------


def test_parse_system_profiler_apple_silicon():
    assert _gpu.parse_system_profiler(fixture("sp_apple_m2pro.json")) == [_gpu.new_device("apple", name="Apple M2 Pro")]


def test_parse_system_profiler_intel_mac_with_amd():
    devices = _gpu.parse_system_profiler(fixture("sp_intel_amd.json"))
    assert devices == [
        _gpu.new_device("intel", name="Intel UHD Graphics 630", pci_id="8086:3e9b"),
        _gpu.new_device("amd", name="AMD Radeon Pro 5500M", pci_id="1002:7340", memory_mib=8192),
    ]
    assert _gpu.primary_vendor(devices) == "amd"


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_parse_system_profiler_rejects_other_text(text):
    with pytest.raises(ValueError):
        _gpu.parse_system_profiler(text)


@pytest.mark.parametrize(
    ("machine", "brand", "version", "expected"),
    [
        pytest.param("arm64", "Apple M2 Pro", "14.5", True, id="m2-sonoma"),
        pytest.param("arm64", "Apple M1", "12.3", True, id="m1-exactly-12.3"),
        pytest.param("arm64", "Apple M1", "12.2.1", False, id="m1-too-old"),
        pytest.param("x86_64", "Apple M1", "13.0", True, id="rosetta-still-apple-silicon"),
        pytest.param("x86_64", "Intel(R) Core(TM) i9-9980HK CPU @ 2.40GHz", "13.6.7", False, id="intel-mac"),
        pytest.param("arm64", "Apple M1", None, False, id="unknown-version"),
    ],
)
def test_mps_available(machine, brand, version, expected):
    assert _gpu.mps_available(machine, brand, version) is expected


# --- Windows ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver_version", "expected"),
    [
        ("31.0.15.7652", "576.52"),
        ("32.0.16.1047", "610.47"),
        ("31.0.15.5186", "551.86"),
        ("32.0.15.7652", "576.52"),
        ("27.21.14.5671", "456.71"),
        ("31.0.15.521", "505.21"),  # fourth part without its leading zero
        ("31.0.101.4502", None),  # an Intel adapter's version
        ("31.0.15.765\u00b2", None),  # str.isdigit() takes '²', int() does not
        ("31.0.15.\u0667\u0666\u0665\u0662", None),  # Arabic-Indic digits: PowerShell's [0-9] took none
        ("31.0.9.1234", None),
        ("576.52", None),
        ("", None),
        (None, None),
    ],
)
def test_windows_driver_to_nvidia(driver_version, expected):
    assert _gpu.windows_driver_to_nvidia(driver_version) == expected


@pytest.mark.parametrize(
    ("pnp", "expected"),
    [
        ("PCI\\VEN_10DE&DEV_2204&SUBSYS_38801028&REV_A1\\4&2F4F1F5&0&0008", ("10de", "2204")),
        ("pci\\ven_8086&dev_46a6&subsys_0b281028", ("8086", "46a6")),
        ("SWD\\REMOTEDISPLAYENUM\\RDPIDD_INDIRECTDISPLAY&SESSIONID_0002", None),
        ("ROOT\\BASICDISPLAY\\0000", None),
        (None, None),
    ],
)
def test_parse_pnp_device_id(pnp, expected):
    assert _gpu.parse_pnp_device_id(pnp) == expected


@pytest.mark.parametrize(
    ("adapter_ram", "expected"),
    [(1073741824, 1024), (4293918720, None), (4294967295, None), (0, None), (None, None), ("x", None), (True, None)],
)
def test_memory_from_adapter_ram(adapter_ram, expected):
    assert _gpu.memory_from_adapter_ram(adapter_ram) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "cim_desktop_single.json",
            [_gpu.new_device("nvidia", name="NVIDIA GeForce RTX 3090", pci_id="10de:2204")],
            id="single-object",
        ),
        pytest.param(
            "cim_laptop_array.json",
            [
                _gpu.new_device("intel", name="Intel(R) Iris(R) Xe Graphics", pci_id="8086:46a6", memory_mib=1024),
                _gpu.new_device("nvidia", name="NVIDIA GeForce RTX 3050 Ti Laptop GPU", pci_id="10de:25a0"),
            ],
            id="array-skips-remote-display",
        ),
        pytest.param("cim_hyperv_vm.json", [], id="vm-without-gpu"),
    ],
)
def test_devices_from_cim(name, expected):
    assert _gpu.devices_from_cim(fixture(name)) == expected


def test_devices_from_cim_without_adapters():
    # ConvertTo-Json of nothing prints nothing.
    assert _gpu.devices_from_cim("") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cim_desktop_single.json", "576.52"), ("cim_laptop_array.json", "551.86"), ("cim_hyperv_vm.json", None)],
)
def test_nvidia_driver_from_cim(name, expected):
    assert _gpu.nvidia_driver_from_cim(json.loads(fixture(name))) == expected


def test_windows_laptop_end_to_end():
    """The steps windows_facts takes, on a hybrid laptop with nvidia-smi.exe."""
    devices = _gpu.devices_from_cim(fixture("cim_laptop_array.json"))
    devices = _gpu.merge_smi(devices, _gpu.parse_smi_csv(fixture("smi_windows_laptop.csv")))
    facts = _gpu.build_facts(
        _gpu.fill_names(devices),
        nvidia_driver="551.86",
        cuda_driver_version=_gpu.parse_cuda_version(fixture("smi_header_550.txt")),
    )
    assert facts["vendor"] == "nvidia"
    assert facts["vendors"] == ["nvidia", "intel"]
    nvidia = facts["devices"][1]
    assert nvidia["pci_slot"] == "0000:01:00.0"
    assert nvidia["memory_mib"] == 4096  # AdapterRAM saturated; nvidia-smi knows
    assert nvidia["compute_capability"] == "8.6"
    assert facts["devices"][0]["pci_slot"] is None


def test_cuda_version_and_nvml_version_are_read_in_any_case():
    # As PowerShell's case-insensitive -match read them in the former Windows module.
    assert _gpu.parse_cuda_version("| cuda version: 12.4 |") == "12.4"
    warning = _gpu.smi_failure_warning(18, "", "Failed to initialize NVML\nnvml library version: 535.161")
    assert "(loaded kernel module unknown, user-space NVML 535.161)" in warning


def _probe_override(argv):
    """The nvidia_smi option as the probe script decodes it."""
    match = re.search(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)", argv[-1])
    return base64.b64decode(match.group(1)).decode("utf-8")


@pytest.mark.parametrize("override", [None, "", "D:\\Tools\\nvidia-smi.exe", 'C:\\It\'s "odd"\\%X%\\\u00e9.exe'])
def test_windows_probe_command(override):
    argv = _gpu.windows_probe_command(override)
    assert argv[:6] == ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command"]
    assert len(argv) == 7
    assert _probe_override(argv) == (override or "")
    # No double quote for powershell.exe's command line parsing to take, and plain ASCII.
    assert '"' not in argv[-1] and argv[-1].isascii()
    for prop in ("Name", "PNPDeviceID", "AdapterRAM", "DriverVersion"):
        assert prop in argv[-1]


@pytest.mark.parametrize(
    ("rc", "stdout", "stderr", "msg"),
    [
        pytest.param(1, "", "Get-CimInstance : Access denied\r\n", "(rc 1): Get-CimInstance : Access denied", id="rc"),
        pytest.param(0, "WARNING: x\r\n", "", "(rc 0): WARNING: x", id="not-json"),
        pytest.param(0, "[]", "", "(rc 0): []", id="not-an-object"),
        pytest.param(255, "", "", "(rc 255): no output", id="nothing"),
    ],
)
def test_windows_probe_without_json_is_an_error(rc, stdout, stderr, msg):
    with pytest.raises(_gpu.WindowsProbeError) as caught:
        _gpu.windows_facts(lambda argv: (rc, stdout, stderr))
    assert caught.value.msg == f"powershell.exe could not read the GPUs {msg}"
    assert caught.value.result == {"rc": rc, "stdout": stdout, "stderr": stderr}


def test_windows_facts_laptop_with_nvidia_smi():
    """windows_facts with a fake ``run``; the action tests drive it through WindowsHost and win_command."""
    controllers = json.loads(fixture("cim_laptop_array.json"))
    probe = {"cim_ok": True, "cim_error": None, "controllers": controllers, "override": None,
             "nvidia_smi": "C:\\Windows\\System32\\nvidia-smi.exe", "secure_boot": False}  # fmt: skip
    smi = probe["nvidia_smi"]
    answers = {
        "powershell.exe": (0, json.dumps(probe), ""),
        "--query-gpu=" + ",".join(_gpu.SMI_FIELDS): (0, fixture("smi_windows_laptop.csv"), ""),
        None: (0, fixture("smi_header_550.txt"), ""),
    }
    calls = []

    def run(argv):
        calls.append(argv)
        return answers[argv[0] if argv[0] == "powershell.exe" else (argv[1] if len(argv) > 1 else None)]

    facts = _gpu.windows_facts(run)
    assert calls[1:] == [_gpu.smi_query_command(smi), [smi]]
    assert set(facts) == FACT_KEYS
    assert all(set(d) == DEVICE_KEYS for d in facts["devices"])
    assert facts["devices"][1]["pci_slot"] == "0000:01:00.0" and facts["devices"][1]["memory_mib"] == 4096
    assert facts["nvidia_driver"] == "551.86" and facts["cuda_driver_version"] == "12.4"
    assert facts["secure_boot"] is False
    assert facts["source"] == ["cim", "nvidia-smi", "secure_boot_uefi"]
    assert facts["warnings"] == []
