"""The gpu_facts action: POSIX hosts run the module; Windows hosts answer a PowerShell probe and nvidia-smi.exe.

Every command goes through WindowsHost and ``ansible.windows.win_command`` (faked in conftest.py with that
module's result shape).  The probe's answer is the JSON the script in ``_gpu.WINDOWS_PROBE_SCRIPT`` prints, built
here around the recorded ``Get-CimInstance Win32_VideoController | ConvertTo-Json`` fixtures (fixtures/gpu); the
nvidia-smi answers are the fixtures/gpu ``smi_*`` files.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.torchfleet.lab.plugins.action.gpu_facts import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _gpu

from ..conftest import DEVICE_KEYS, FACT_KEYS, GPU_FIXTURES
from .conftest import FakeExecute, cannot_start, make_action, win_command_result

SYSTEM32_SMI = "C:\\Windows\\System32\\nvidia-smi.exe"
QUERY = "--query-gpu=" + ",".join(_gpu.SMI_FIELDS)
LEGACY = "--query-gpu=" + ",".join(_gpu.SMI_FIELDS_LEGACY)
# An AMD workstation card beside an Intel iGPU; PNPDeviceID, AdapterRAM and DriverVersion as CIM gives them.
AMD_INTEL = [
    {"Name": "AMD Radeon PRO W7800", "PNPDeviceID": "PCI\\VEN_1002&DEV_7448&SUBSYS_0E0C1002&REV_00\\6&1B2C3D4E&0&0",
     "AdapterRAM": 4293918720, "DriverVersion": "31.0.24027.1012"},
    {"Name": "Intel(R) UHD Graphics 770", "PNPDeviceID": "PCI\\VEN_8086&DEV_4680&SUBSYS_0B281028&REV_0C\\3&1&0&10",
     "AdapterRAM": 2147483648, "DriverVersion": "31.0.101.4502"},
]  # fmt: skip
# A Tesla T4 under a driver older than compute_cap (Windows R470: DriverVersion 30.0.14.7247 is 472.47).
T4 = [{"Name": "NVIDIA Tesla T4", "PNPDeviceID": "PCI\\VEN_10DE&DEV_1EB8&SUBSYS_12A210DE&REV_A1\\4&2&0&0008",
       "AdapterRAM": 4293918720, "DriverVersion": "30.0.14.7247"}]  # fmt: skip
# The desktop's GPU once nvidia-smi (smi_windows_desktop.csv) is laid over CIM (cim_desktop_single.json).
RTX_3090 = {"vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "pci_id": "10de:2204", "pci_slot": "0000:01:00.0",
            "class": None, "memory_mib": 24576, "compute_capability": "8.6",
            "uuid": "GPU-5c0d3f1e-8a2b-4c7d-9e10-2f3a4b5c6d7e"}  # fmt: skip
T4_LEGACY_CSV = "0, Tesla T4, 00000000:00:1E.0, 0x1EB810DE, 15360, 472.47, GPU-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d\r\n"


def gpu_fixture(name):
    return (GPU_FIXTURES / name).read_text(encoding="utf-8")


def cim(name):
    """A CIM fixture as the probe reports it: always a list, of the four properties it selects."""
    data = json.loads(gpu_fixture(name))
    items = data if isinstance(data, list) else [data]
    return [{key: item.get(key) for key in ("Name", "PNPDeviceID", "AdapterRAM", "DriverVersion")} for item in items]


def probe(controllers=(), cim_error=None, nvidia_smi=None, override=None, secure_boot=None):
    return {"cim_ok": cim_error is None, "cim_error": cim_error, "controllers": list(controllers),
            "override": override, "nvidia_smi": nvidia_smi, "secure_boot": secure_boot}  # fmt: skip


class FakeWindowsHost:
    """Answers win_command: the probe with ``report``, nvidia-smi by its arguments from ``smi``."""

    def __init__(self, report, smi=None):
        self.report = report
        self.smi = dict(smi or {})

    def __call__(self, module, args):
        assert module == "ansible.windows.win_command", module
        argv = args["argv"]
        if argv[0] == "powershell.exe":
            return win_command_result(argv, 0, json.dumps(self.report) + "\r\n", "")
        key = argv[1] if len(argv) > 1 else "header"
        answer = self.smi[key]
        if answer == "cannot-start":
            return cannot_start(argv)
        return win_command_result(argv, *answer)


def run(args, host, check_mode=False, shell_family="powershell"):
    action = make_action(ActionModule, args, check_mode=check_mode, shell_family=shell_family,
                         name="torchfleet.lab.gpu_facts")  # fmt: skip
    fake = FakeExecute(action, host)
    action._execute_module = fake
    result = action.run(task_vars={})
    assert action._task.check_mode is check_mode
    assert action._task.args == args  # the task itself is left alone
    return result, fake


def smi_calls(fake):
    return [argv[1:] for argv in fake.commands() if argv[0] != "powershell.exe"]


def facts_of(result):
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert set(facts) == FACT_KEYS
    assert all(set(d) == DEVICE_KEYS for d in facts["devices"])
    assert result["changed"] is False and "failed" not in result
    assert result.get("warnings", []) == facts["warnings"]
    return facts


@pytest.mark.parametrize("check_mode", [False, True])
def test_nvidia_gpu_with_nvidia_smi(check_mode):
    host = FakeWindowsHost(
        probe(cim("cim_desktop_single.json"), nvidia_smi=SYSTEM32_SMI, secure_boot=True),
        {QUERY: (0, gpu_fixture("smi_windows_desktop.csv"), ""), "header": (0, gpu_fixture("smi_header_565.txt"), "")},
    )
    result, fake = run({}, host, check_mode=check_mode)
    # The probe is read-only: every command runs in check mode too (win_command itself would skip).
    assert [c["check_mode"] for c in fake.calls] == [False, False, False]
    probe_argv = fake.commands()[0]
    assert probe_argv == _gpu.windows_probe_command(None)
    assert fake.commands()[1:] == [_gpu.smi_query_command(SYSTEM32_SMI), [SYSTEM32_SMI]]
    assert facts_of(result) == {
        "vendor": "nvidia",
        "vendors": ["nvidia"],
        "devices": [RTX_3090],
        "nvidia_driver": "576.52",
        "cuda_driver_version": "12.7",
        "kernel_module_loaded": None,
        "kernel_module_flavor": None,
        "nouveau_loaded": None,
        "secure_boot": True,
        "mps_available": None,
        "nvidia_smi": SYSTEM32_SMI,
        "nvidia_smi_rc": 0,
        "source": ["cim", "nvidia-smi", "secure_boot_uefi"],
        "warnings": [],
    }
    assert "warnings" not in result


def test_hybrid_laptop_keeps_the_intel_igpu():
    host = FakeWindowsHost(
        probe(cim("cim_laptop_array.json"), nvidia_smi=SYSTEM32_SMI),
        {QUERY: (0, gpu_fixture("smi_windows_laptop.csv"), ""), "header": (0, gpu_fixture("smi_header_550.txt"), "")},
    )
    facts = facts_of(run({}, host)[0])
    assert facts["vendors"] == ["nvidia", "intel"]
    assert [(d["name"], d["pci_slot"], d["memory_mib"]) for d in facts["devices"]] == [
        ("Intel(R) Iris(R) Xe Graphics", None, 1024),
        ("NVIDIA GeForce RTX 3050 Ti Laptop GPU", "0000:01:00.0", 4096),
    ]
    assert facts["nvidia_driver"] == "551.86" and facts["cuda_driver_version"] == "12.4"
    assert facts["secure_boot"] is None and facts["source"] == ["cim", "nvidia-smi"]


def test_no_nvidia_gpu():
    result, fake = run({}, FakeWindowsHost(probe(AMD_INTEL, secure_boot=False)))
    facts = facts_of(result)
    assert len(fake.calls) == 1  # the probe only
    assert (facts["vendor"], facts["vendors"]) == ("amd", ["amd", "intel"])
    assert [(d["pci_id"], d["memory_mib"]) for d in facts["devices"]] == [("1002:7448", None), ("8086:4680", 2048)]
    assert facts["nvidia_driver"] is None and facts["nvidia_smi"] is None and facts["nvidia_smi_rc"] is None
    assert facts["warnings"] == []
    assert facts["source"] == ["cim", "secure_boot_uefi"]


def test_no_gpu_at_all():
    facts = facts_of(run({}, FakeWindowsHost(probe(cim("cim_hyperv_vm.json"))))[0])
    assert (facts["vendor"], facts["vendors"], facts["devices"]) == ("none", [], [])


def test_legacy_driver_is_asked_again_without_compute_cap():
    host = FakeWindowsHost(
        probe(T4, nvidia_smi=SYSTEM32_SMI),
        {QUERY: (2, gpu_fixture("smi_err_rc2_compute_cap.txt"), ""), LEGACY: (0, T4_LEGACY_CSV, ""),
         "header": (0, gpu_fixture("smi_header_470.txt"), "")},
    )  # fmt: skip
    result, fake = run({}, host)
    facts = facts_of(result)
    assert smi_calls(fake) == [[QUERY, "--format=csv,noheader,nounits"], [LEGACY, "--format=csv,noheader,nounits"], []]
    (dev,) = facts["devices"]
    assert (dev["name"], dev["memory_mib"], dev["compute_capability"]) == ("Tesla T4", 15360, None)
    assert facts["nvidia_driver"] == "472.47" and facts["nvidia_smi_rc"] == 0
    assert facts["cuda_driver_version"] == _gpu.parse_cuda_version(gpu_fixture("smi_header_470.txt"))
    assert facts["warnings"] == []


def test_nvidia_gpu_without_nvidia_smi():
    result, fake = run({}, FakeWindowsHost(probe(cim("cim_desktop_single.json"))))
    facts = facts_of(result)
    assert len(fake.calls) == 1
    assert facts["warnings"] == [
        "An NVIDIA GPU is present but nvidia-smi.exe was not found: the NVIDIA driver is not installed."
    ]
    assert facts["nvidia_driver"] == "576.52"  # from DriverVersion 32.0.15.7652
    assert facts["devices"][0]["name"] == "NVIDIA GeForce RTX 3090" and facts["devices"][0]["memory_mib"] is None
    assert facts["nvidia_smi"] is None and facts["nvidia_smi_rc"] is None


@pytest.mark.parametrize(
    ("answer", "rc", "warning"),
    [
        pytest.param((18, gpu_fixture("smi_err_rc18_mismatch.txt"), ""), 18,
                     "nvidia-smi failed with rc 18: the NVIDIA driver/library versions do not match (loaded kernel "
                     "module unknown, user-space NVML 535.161); the driver was updated without a reboot, so reboot "
                     "the host to load the new kernel module.", id="rc18-mismatch"),
        pytest.param((9, gpu_fixture("smi_err_rc9_not_loaded.txt"), ""), 9,
                     "nvidia-smi failed with rc 9: the NVIDIA kernel module is not loaded; reboot after installing "
                     "the driver, and check Secure Boot (an unsigned module is refused).", id="rc9-not-loaded"),
        pytest.param((6, "No devices were found\r\n", ""), 6,
                     "nvidia-smi found no NVIDIA GPU (rc 6) although the driver answered.", id="rc6-no-devices"),
        pytest.param((3, "", "\r\nUnknown Error\r\n"), 3, "nvidia-smi failed with rc 3: Unknown Error", id="other"),
        pytest.param("cannot-start", 255,
                     f"nvidia-smi failed with rc 255: Failed to run: '{SYSTEM32_SMI}': The system cannot find the "
                     "file specified", id="cannot-start-no-legacy-retry"),
    ],
)  # fmt: skip
def test_nvidia_smi_failing(answer, rc, warning):
    host = FakeWindowsHost(probe(cim("cim_laptop_array.json"), nvidia_smi=SYSTEM32_SMI), {QUERY: answer})
    result, fake = run({}, host)
    facts = facts_of(result)
    assert len(smi_calls(fake)) == 1  # no legacy retry, no header
    assert facts["warnings"] == [warning]
    assert facts["nvidia_smi_rc"] == rc and facts["nvidia_smi"] == SYSTEM32_SMI
    assert facts["source"] == ["cim"]
    assert facts["nvidia_driver"] == "551.86"  # from CIM
    assert facts["cuda_driver_version"] is None
    assert facts["devices"][1]["pci_slot"] is None


def test_legacy_retry_failing_too_warns_about_the_second_answer():
    host = FakeWindowsHost(
        probe(T4, nvidia_smi=SYSTEM32_SMI),
        {QUERY: (2, gpu_fixture("smi_err_rc2_compute_cap.txt"), ""), LEGACY: (9, "", "")},
    )
    facts = facts_of(run({}, host)[0])
    assert facts["nvidia_smi_rc"] == 9 and facts["warnings"][0].startswith("nvidia-smi failed with rc 9: ")


@pytest.mark.parametrize("smi_present", [False, True])
def test_cim_query_failing(smi_present):
    report = probe(cim_error="Access denied ", nvidia_smi=SYSTEM32_SMI if smi_present else None)
    host = FakeWindowsHost(report, {QUERY: (0, gpu_fixture("smi_windows_desktop.csv"), ""), "header": (1, "", "")})
    facts = facts_of(run({}, host)[0])
    assert facts["warnings"] == ["Get-CimInstance Win32_VideoController failed: Access denied "]
    if smi_present:
        # nvidia-smi alone still gives the GPU; the header failed, so no CUDA version.
        assert [(d["name"], d["pci_slot"]) for d in facts["devices"]] == [("NVIDIA GeForce RTX 3090", "0000:01:00.0")]
        assert facts["source"] == ["nvidia-smi"] and facts["cuda_driver_version"] is None
    else:
        assert facts["devices"] == [] and facts["vendor"] == "none" and facts["source"] == []


def test_override_is_passed_and_used():
    override = "D:\\Tools\\NVSMI\\nvidia-smi.exe"
    host = FakeWindowsHost(
        probe(cim("cim_desktop_single.json"), nvidia_smi=override, override=override),
        {QUERY: (0, gpu_fixture("smi_windows_desktop.csv"), ""), "header": (0, gpu_fixture("smi_header_565.txt"), "")},
    )
    result, fake = run({"nvidia_smi": override}, host)
    encoded = re.search(r"FromBase64String\('([^']*)'\)", fake.commands()[0][-1]).group(1)
    assert base64.b64decode(encoded).decode("utf-8") == override
    assert fake.commands()[1][0] == override
    assert facts_of(result)["nvidia_smi"] == override


def test_override_not_a_file():
    override = "%ProgramFiles%\\Missing\\nvidia-smi.exe"
    expanded = "C:\\Program Files\\Missing\\nvidia-smi.exe"  # the probe expands %VARS% as the host sees them
    host = FakeWindowsHost(probe(cim("cim_desktop_single.json"), override=expanded))
    result, fake = run({"nvidia_smi": override}, host)
    facts = facts_of(result)
    assert len(fake.calls) == 1
    assert facts["warnings"] == [
        f"nvidia_smi={expanded} is not an executable file; facts that need nvidia-smi are missing.",
        "An NVIDIA GPU is present but nvidia-smi.exe was not found: the NVIDIA driver is not installed.",
    ]
    assert facts["nvidia_smi"] is None and facts["nvidia_driver"] == "576.52"


def test_override_not_a_file_without_nvidia_gpu():
    result, _fake = run({"nvidia_smi": "C:\\x.exe"}, FakeWindowsHost(probe(AMD_INTEL, override="C:\\x.exe")))
    assert facts_of(result)["warnings"] == [
        "nvidia_smi=C:\\x.exe is not an executable file; facts that need nvidia-smi are missing."
    ]


def test_probe_that_cannot_run_fails_the_task():
    def host(module, args):
        return cannot_start(args["argv"])

    result, fake = run({}, host)
    assert len(fake.calls) == 1
    assert result["failed"] is True and result["rc"] == 255
    assert result["msg"].startswith("powershell.exe could not read the GPUs (rc 255): Failed to run: ")
    assert "ansible_facts" not in result


def test_sysfs_root_is_accepted_and_ignored_on_windows():
    result, fake = run({"sysfs_root": "/srv/tree"}, FakeWindowsHost(probe(AMD_INTEL)))
    assert facts_of(result)["vendor"] == "amd"
    assert fake.commands()[0] == _gpu.windows_probe_command(None)


def test_unknown_option_is_refused_like_the_module():
    with pytest.raises(AnsibleActionFail, match="Unsupported parameters"):
        run({"nvidia_sm": "C:\\x.exe"}, FakeWindowsHost(probe()))


@pytest.mark.parametrize("check_mode", [False, True])
def test_posix_runs_the_module_unchanged(check_mode):
    args = {"sysfs_root": "/srv/tree", "nvidia_smi": "/x"}
    answer = {"changed": False, "ansible_facts": {"torchfleet_gpu": {"vendor": "none"}}}
    result, fake = run(args, lambda module, margs: answer, check_mode=check_mode, shell_family="sh")
    assert fake.calls == [{"module": "torchfleet.lab.gpu_facts", "args": args, "check_mode": check_mode}]
    assert result["ansible_facts"] == answer["ansible_facts"]
