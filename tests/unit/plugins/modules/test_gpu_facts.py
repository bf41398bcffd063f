"""Tests of torchfleet.lab.gpu_facts main() against recorded hosts (fixtures/gpu/hosts.json).

Each host's sysfs/proc tree is built in a temporary directory and handed to the module
as ``sysfs_root``; ``run_command`` answers with the recorded outputs, ``get_bin_path``
finds only the tools that host has, and ``platform.system`` says which OS it is.
"""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
from ansible_collections.torchfleet.lab.plugins.action.gpu_facts import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver
from ansible_collections.torchfleet.lab.plugins.modules import gpu_facts

from ..conftest import FACT_KEYS, GPU_FIXTURES
from .conftest import FailJson, run_main

HOSTS = json.loads((GPU_FIXTURES / "hosts.json").read_text(encoding="utf-8"))
SECURE_BOOT = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def _content(value):
    if value.startswith("@"):
        return (GPU_FIXTURES / value[1:]).read_text(encoding="utf-8")
    return value


def build_root(base, host):
    """Lay the host's recorded files out under ``base`` and return it."""
    if "pci" in host:
        devices = base / "sys" / "bus" / "pci" / "devices"
        devices.mkdir(parents=True)
        for slot, (vendor, device, pci_class) in host["pci"].items():
            (devices / slot).mkdir()
            for name, value in (("vendor", vendor), ("device", device), ("class", pci_class)):
                (devices / slot / name).write_text(value + "\n")
    for relative, value in host.get("files", {}).items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if value.startswith("hex:"):
            path.write_bytes(bytes.fromhex(value[4:]))
        else:
            path.write_text(_content(value))
    for relative in host.get("dirs", []):
        (base / relative).mkdir(parents=True, exist_ok=True)
    return base


def command_key(args):
    tool = os.path.basename(args[0])
    if tool == "nvidia-smi" and len(args) > 1:
        return "nvidia-smi query" if "compute_cap" in args[1] else "nvidia-smi query-legacy"
    return tool


def run_module(tmp_path, host_name, **params):
    """Run main() for a recorded host; return (result, commands run, warnings)."""
    host = HOSTS[host_name]
    root = build_root(tmp_path / "root", host)
    calls = []
    warnings = []

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        return f"/usr/bin/{arg}" if arg in host["tools"] else None

    def run_command(self, args, **kwargs):
        calls.append(command_key(args))
        reply = host["commands"].get(command_key(args))
        if reply is None:
            raise AssertionError(f"{host_name} ran an unexpected command: {args!r}")
        return reply["rc"], _content(reply.get("stdout", "")), _content(reply.get("stderr", ""))

    def warn(self, msg):
        warnings.append(msg)

    args = {"sysfs_root": str(root), **params}
    with mock.patch.object(gpu_facts.platform, "system", return_value=host["system"]):
        outcome = run_main(gpu_facts.main, args, get_bin_path=get_bin_path, run_command=run_command, warn=warn)
    assert not isinstance(outcome, FailJson), outcome.kwargs
    return outcome.kwargs, calls, warnings


def device(vendor, name, pci_id, slot, pci_class, *, memory=None, cc=None, uuid=None):
    return {
        "vendor": vendor,
        "name": name,
        "pci_id": pci_id,
        "pci_slot": slot,
        "class": pci_class,
        "memory_mib": memory,
        "compute_capability": cc,
        "uuid": uuid,
    }


RTX3090 = device(
    "nvidia",
    "NVIDIA GeForce RTX 3090",
    "10de:2204",
    "0000:01:00.0",
    "0x030000",
    memory=24576,
    cc="8.6",
    uuid="GPU-5c0d3f1e-8a2b-4c7d-9e10-2f3a4b5c6d7e",
)

CASES = [
    pytest.param(
        "workstation",
        {
            "vendor": "nvidia",
            "vendors": ["nvidia"],
            "devices": [RTX3090],
            "nvidia_driver": "535.104.05",
            "cuda_driver_version": "12.2",
            "kernel_module_loaded": True,
            "kernel_module_flavor": "proprietary",
            "nouveau_loaded": False,
            "secure_boot": False,
            "mps_available": None,
            "nvidia_smi": "/usr/bin/nvidia-smi",
            "nvidia_smi_rc": 0,
            "source": ["sysfs", "proc", "nvidia-smi", "efivars"],
            "warnings": [],
        },
        ["nvidia-smi query", "nvidia-smi"],
        id="nvidia-workstation",
    ),
    pytest.param(
        "datacenter_a100",
        {
            "vendor": "nvidia",
            "vendors": ["nvidia"],
            "devices": [
                device(
                    "nvidia",
                    "NVIDIA A100-SXM4-80GB",
                    "10de:20b2",
                    "0000:07:00.0",
                    "0x030200",
                    memory=81920,
                    cc="8.0",
                    uuid="GPU-0f2a3b4c-5d6e-7f80-91a2-b3c4d5e6f708",
                ),
                device(
                    "nvidia",
                    "NVIDIA A100-SXM4-80GB",
                    "10de:20b2",
                    "0000:0f:00.0",
                    "0x030200",
                    memory=81920,
                    cc="8.0",
                    uuid="GPU-9e8d7c6b-5a49-4837-a261-50f4e3d2c1b0",
                ),
            ],
            "nvidia_driver": "565.57.01",
            "cuda_driver_version": "12.7",
            "kernel_module_flavor": "open",
            "secure_boot": True,
            "warnings": [],
        },
        ["nvidia-smi query", "nvidia-smi"],
        id="datacenter-3d-controller-nvswitch-and-bmc-ignored",
    ),
    pytest.param(
        "amd_workstation",
        {
            "vendor": "amd",
            "vendors": ["amd"],
            "devices": [
                device("amd", "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]", "1002:744c", "0000:03:00.0", "0x030000")
            ],
            "nvidia_driver": None,
            "cuda_driver_version": None,
            "kernel_module_loaded": False,
            "kernel_module_flavor": None,
            "secure_boot": None,
            "nvidia_smi": None,
            "nvidia_smi_rc": None,
            "source": ["sysfs", "lspci"],
            "warnings": [],
        },
        ["lspci"],
        id="amd-named-by-lspci",
    ),
    pytest.param(
        "amd_instinct",
        {
            "vendor": "amd",
            "devices": [
                device("amd", "AMD GPU [1002:740f]", "1002:740f", "0000:83:00.0", "0x038000"),
                device("amd", "AMD GPU [1002:740f]", "1002:740f", "0000:a3:00.0", "0x038000"),
            ],
            "secure_boot": None,  # EFI, but no readable SecureBoot variable
            "source": ["sysfs"],
        },
        [],
        id="amd-instinct-display-other-class-without-lspci",
    ),
    pytest.param(
        "hybrid_laptop",
        {
            "vendor": "nvidia",
            "vendors": ["nvidia", "intel"],
            "devices": [
                device("intel", "Raptor Lake-P [Iris Xe Graphics]", "8086:a7a0", "0000:00:02.0", "0x030000"),
                device(
                    "nvidia",
                    "NVIDIA GeForce RTX 4060 Laptop GPU",
                    "10de:28e0",
                    "0000:01:00.0",
                    "0x030000",
                    memory=8188,
                    cc="8.9",
                    uuid="GPU-3b1f2e4d-6c5a-4798-8b0a-1c2d3e4f5a6b",
                ),
            ],
            "nvidia_driver": "550.54.14",
            "cuda_driver_version": "12.4",
            "secure_boot": True,
            "source": ["sysfs", "proc", "nvidia-smi", "lspci", "efivars"],
        },
        ["nvidia-smi query", "nvidia-smi", "lspci"],
        id="hybrid-laptop-intel-plus-nvidia",
    ),
    pytest.param(
        "no_gpu",
        {
            "vendor": "none",
            "vendors": [],
            "devices": [],
            "nvidia_driver": None,
            "kernel_module_loaded": False,
            "nouveau_loaded": False,
            "secure_boot": None,
            "nvidia_smi": None,
            "source": ["sysfs"],
            "warnings": [],
        },
        [],
        id="no-gpu",
    ),
    pytest.param(
        "version_mismatch_rc18",
        {
            "vendor": "nvidia",
            "devices": [device("nvidia", "NVIDIA GPU [10de:2204]", "10de:2204", "0000:01:00.0", "0x030000")],
            "nvidia_driver": "535.104.05",  # the loaded kernel module's
            "cuda_driver_version": None,
            "kernel_module_loaded": True,
            "nvidia_smi_rc": 18,
            "source": ["sysfs", "proc"],
        },
        ["nvidia-smi query"],
        id="nvidia-smi-rc18-version-mismatch",
    ),
    pytest.param(
        "driver_not_loaded_rc9",
        {
            "vendor": "nvidia",
            "nvidia_driver": None,
            "kernel_module_loaded": False,
            "nouveau_loaded": True,
            "nvidia_smi_rc": 9,
        },
        ["nvidia-smi query"],
        id="nvidia-smi-rc9-nouveau-loaded",
    ),
    pytest.param(
        "legacy_driver_470",
        {
            "devices": [
                device(
                    "nvidia",
                    "Tesla T4",
                    "10de:1eb8",
                    "0000:00:1e.0",
                    "0x030200",
                    memory=15360,
                    cc=None,
                    uuid="GPU-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                )
            ],
            "nvidia_driver": "470.239.06",
            "cuda_driver_version": "11.4",
            "nvidia_smi_rc": 0,
            "warnings": [],
        },
        ["nvidia-smi query", "nvidia-smi query-legacy", "nvidia-smi"],
        id="driver-470-without-compute-cap-retries",
    ),
    pytest.param(
        "debian_without_nvidia_smi",
        {
            "vendor": "nvidia",
            "nvidia_driver": "535.261.03",
            "kernel_module_loaded": True,
            "kernel_module_flavor": None,
            "nvidia_smi": None,
            "source": ["sysfs", "sys_module"],
        },
        [],
        id="module-loaded-but-no-nvidia-smi",
    ),
    pytest.param(
        "mac_apple_silicon",
        {
            "vendor": "apple",
            "vendors": ["apple"],
            "devices": [device("apple", "Apple M2 Pro", None, None, None)],
            "mps_available": True,
            "secure_boot": None,
            "kernel_module_loaded": None,
            "nouveau_loaded": None,
            "nvidia_driver": None,
            "source": ["system_profiler", "sysctl", "uname", "sw_vers"],
            "warnings": [],
        },
        ["system_profiler", "sysctl", "uname", "sw_vers"],
        id="macos-apple-silicon-mps",
    ),
    pytest.param(
        "mac_apple_silicon_old_macos",
        {"vendor": "apple", "mps_available": False},
        ["system_profiler", "sysctl", "uname", "sw_vers"],
        id="macos-12.2-no-mps",
    ),
    pytest.param(
        "mac_intel_amd",
        {
            "vendor": "amd",
            "vendors": ["amd", "intel"],
            "devices": [
                device("intel", "Intel UHD Graphics 630", "8086:3e9b", None, None),
                device("amd", "AMD Radeon Pro 5500M", "1002:7340", None, None, memory=8192),
            ],
            "mps_available": False,
            "warnings": [],
        },
        ["system_profiler", "sysctl", "uname", "sw_vers"],
        id="macos-intel-with-amd",
    ),
]


@pytest.mark.parametrize(("host", "expected", "commands"), CASES)
def test_gpu_facts(tmp_path, host, expected, commands):
    result, calls, warnings = run_module(tmp_path, host)
    assert result["changed"] is False
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert set(facts) == FACT_KEYS
    for key, value in expected.items():
        assert facts[key] == value, key
    assert calls == commands
    assert warnings == facts["warnings"]


@pytest.mark.parametrize(
    ("host", "must_contain"),
    [
        pytest.param(
            "version_mismatch_rc18",
            ["rc 18", "do not match", "535.104.05", "535.161", "reboot the host"],
            id="rc18-asks-for-reboot",
        ),
        pytest.param("driver_not_loaded_rc9", ["rc 9", "not loaded"], id="rc9"),
        pytest.param("debian_without_nvidia_smi", ["nvidia-smi was not found", "nvidia-smi package"], id="debian"),
        pytest.param("mac_apple_silicon_old_macos", ["MPS needs macOS 12.3", "12.2.1"], id="old-macos"),
    ],
)
def test_problems_become_warnings_not_failures(tmp_path, host, must_contain):
    result, _calls, warnings = run_module(tmp_path, host)
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert warnings, "expected a warning"
    text = " ".join(warnings)
    for part in must_contain:
        assert part in text
    assert facts["warnings"] == warnings


def test_rc9_warns_about_nouveau_too(tmp_path):
    _result, _calls, warnings = run_module(tmp_path, "driver_not_loaded_rc9")
    assert len(warnings) == 2
    assert warnings[1].startswith("nouveau is loaded")


def test_nvidia_smi_option_overrides_the_search(tmp_path):
    smi = tmp_path / "opt" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text("#!/bin/sh\n")
    smi.chmod(0o755)
    result, calls, _warnings = run_module(tmp_path, "workstation", nvidia_smi=str(smi))
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert facts["nvidia_smi"] == str(smi)
    assert facts["cuda_driver_version"] == "12.2"
    assert calls == ["nvidia-smi query", "nvidia-smi"]


def test_missing_nvidia_smi_option_warns_and_still_reports(tmp_path):
    missing = str(tmp_path / "nowhere" / "nvidia-smi")
    result, calls, warnings = run_module(tmp_path, "workstation", nvidia_smi=missing)
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert calls == ["lspci"]  # nvidia-smi gave no name, so lspci does
    assert facts["devices"][0]["name"] == "GA102 [GeForce RTX 3090]"
    assert facts["devices"][0]["memory_mib"] is None
    assert facts["nvidia_smi"] is None
    assert facts["nvidia_driver"] == "535.104.05"
    assert warnings[0] == f"nvidia_smi={missing} is not an executable file; facts that need nvidia-smi are missing."


def test_without_sysfs_the_gpus_come_from_nvidia_smi(tmp_path):
    host = dict(HOSTS["datacenter_a100"])
    del host["pci"]
    with mock.patch.dict(HOSTS, {"container": host}):
        result, _calls, warnings = run_module(tmp_path, "container")
    facts = result["ansible_facts"]["torchfleet_gpu"]
    assert [(d["pci_slot"], d["class"]) for d in facts["devices"]] == [("0000:07:00.0", None), ("0000:0f:00.0", None)]
    assert "sysfs" not in facts["source"]
    assert warnings[0].endswith("sys/bus/pci/devices is missing; GPUs are known only from nvidia-smi.")


def test_check_mode_gives_the_same_facts(tmp_path):
    normal, _calls, _warnings = run_module(tmp_path / "a", "hybrid_laptop")
    checked, _calls, _warnings = run_module(tmp_path / "b", "hybrid_laptop", _ansible_check_mode=True)
    assert checked["changed"] is False
    assert checked["ansible_facts"] == normal["ansible_facts"]


def test_efi_secure_boot_variable_is_read_from_the_root(tmp_path):
    result, _calls, _warnings = run_module(tmp_path, "workstation")
    assert result["ansible_facts"]["torchfleet_gpu"]["secure_boot"] is False
    assert (tmp_path / "root" / SECURE_BOOT).read_bytes() == bytes([6, 0, 0, 0, 0])


# --- the action plugin on POSIX hosts (Windows: tests/unit/plugins/action/test_gpu_facts_action.py) ----------


@pytest.mark.parametrize(
    ("shell_family", "module", "args"),
    [
        pytest.param("sh", "torchfleet.lab.gpu_facts", {"sysfs_root": "/srv/tree", "nvidia_smi": "/x"}, id="posix"),
    ],
)
def test_action_runs_the_implementation_for_the_shell(shell_family, module, args):
    task = mock.MagicMock(
        async_val=0, check_mode=False, diff=False, args={"sysfs_root": "/srv/tree", "nvidia_smi": "/x"}
    )
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = shell_family
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    facts = {"ansible_facts": {"torchfleet_gpu": {"vendor": "none"}}, "changed": False}
    with mock.patch.object(ActionModule, "_execute_module", return_value=facts) as execute:
        result = action.run(task_vars={})
    execute.assert_called_once_with(module_name=module, module_args=args, task_vars={})
    assert result["ansible_facts"] == facts["ansible_facts"]
    assert task.args == {"sysfs_root": "/srv/tree", "nvidia_smi": "/x"}  # the task itself is left alone


# --- a host without a driver: the PCI id is all there is, and it is enough for the driver plan ----------------

FRESH_RHEL9 = {
    "system": "Linux",
    "os_family": "RedHat",
    "distribution": "Rocky",
    "distribution_major_version": "9",
    "machine": "x86_64",
    "kernel": "5.14.0-427.el9.x86_64",
}


@pytest.mark.parametrize(
    ("host", "pci_ids", "branch", "flavor"),
    [
        pytest.param("fresh_pascal", ["10de:15f8"], 580, "proprietary", id="pascal-p100"),
        pytest.param("fresh_volta_and_ampere", ["10de:1db4", "10de:20b2"], 580, "proprietary", id="v100-with-a100"),
        pytest.param("fresh_ampere", ["10de:20b2"], 595, "open", id="a100"),
        pytest.param("fresh_blackwell", ["10de:2b85"], 595, "open", id="rtx-5090"),
    ],
)
def test_pci_ids_without_a_driver_choose_the_branch_and_flavour(tmp_path, host, pci_ids, branch, flavor):
    result, _calls, _warnings = run_module(tmp_path, host)
    gpu = result["ansible_facts"]["torchfleet_gpu"]
    assert [d["pci_id"] for d in gpu["devices"]] == pci_ids
    assert all(d["compute_capability"] is None for d in gpu["devices"])  # nothing but sysfs to go on
    plan = _driver.plan({**FRESH_RHEL9, "torchfleet_gpu": gpu})
    assert (plan["branch"], plan["flavor"]) == (branch, flavor)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        pytest.param("fresh_kepler", "legacy branch 470.xx", id="kepler-k40c"),
        pytest.param("fresh_unlisted", "Choose for it: gpu_driver_kernel_module", id="unlisted"),
    ],
)
def test_pci_ids_without_a_driver_stop_with_what_to_choose(tmp_path, host, message):
    result, _calls, _warnings = run_module(tmp_path, host)
    with pytest.raises(_driver.DriverPlanError, match=message):
        _driver.plan({**FRESH_RHEL9, "torchfleet_gpu": result["ansible_facts"]["torchfleet_gpu"]})
