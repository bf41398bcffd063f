"""The gpu_driver role's decisions: packages per distro/branch/flavour, refusals, Windows, reboots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver as dr
from ansible_collections.torchfleet.lab.plugins.module_utils._driver import DriverPlanError, plan

SHA = "a" * 64

OS = {
    "debian12": {
        "os_family": "Debian",
        "distribution": "Debian",
        "distribution_major_version": "12",
        "distribution_release": "bookworm",
    },
    "ubuntu2204": {
        "os_family": "Debian",
        "distribution": "Ubuntu",
        "distribution_major_version": "22",
        "distribution_release": "jammy",
    },
    "ubuntu2404": {
        "os_family": "Debian",
        "distribution": "Ubuntu",
        "distribution_major_version": "24",
        "distribution_release": "noble",
    },
    "rhel8": {"os_family": "RedHat", "distribution": "RedHat", "distribution_major_version": "8"},
    "rhel9": {"os_family": "RedHat", "distribution": "RedHat", "distribution_major_version": "9"},
    "rocky8": {"os_family": "RedHat", "distribution": "Rocky", "distribution_major_version": "8"},
    "rocky9": {"os_family": "RedHat", "distribution": "Rocky", "distribution_major_version": "9"},
    "windows": {"os_family": "Windows", "system": "Win32NT", "machine": "AMD64"},
    "macos": {"os_family": "Darwin", "system": "Darwin", "machine": "arm64"},
}


def gpu(*ccs, vendor="nvidia", secure_boot=False, driver=None, loaded=False, nouveau=False, mps=None):
    devices = [
        {"vendor": vendor, "name": "GPU", "pci_id": "10de:20b2", "compute_capability": cc} for cc in (ccs or (None,))
    ]
    if vendor != "nvidia" and not ccs:
        devices = [] if vendor == "none" else devices
    return {
        "vendor": vendor,
        "devices": devices,
        "secure_boot": secure_boot,
        "nvidia_driver": driver,
        "kernel_module_loaded": loaded,
        "nouveau_loaded": nouveau,
        "mps_available": mps,
    }


def facts(os_key, gpu_fact=None, machine="x86_64", kernel="6.1.0-28-amd64", virt=None):
    result = {"system": "Linux", "machine": machine, "kernel": kernel, **OS[os_key]}
    result["torchfleet_gpu"] = gpu_fact if gpu_fact is not None else gpu("8.0")
    if virt:
        result.update(virtualization_type=virt, virtualization_role="guest")
    return result


# --- packages per distro, branch and flavour --------------------------------------------------------------

LINUX_CASES = [
    # os, source, branch, flavour, GPU cc, expected source, pre_packages, packages
    (
        "debian12",
        "auto",
        "535",
        "auto",
        "8.0",
        "distro",
        [],
        [
            "nvidia-driver",
            "nvidia-kernel-dkms",
            "nvidia-smi",
            "libcuda1",
            "nvidia-persistenced",
            "firmware-misc-nonfree",
        ],
    ),
    (
        "debian12",
        "distro",
        "535",
        "open",
        "8.0",
        "distro",
        [],
        [
            "nvidia-driver",
            "nvidia-open-kernel-dkms",
            "nvidia-smi",
            "libcuda1",
            "nvidia-persistenced",
            "firmware-misc-nonfree",
        ],
    ),
    ("debian12", "auto", "580", "auto", "8.0", "cuda", ["nvidia-driver-pinning-580"], ["nvidia-open"]),
    ("debian12", "cuda", "580", "proprietary", "8.0", "cuda", ["nvidia-driver-pinning-580"], ["cuda-drivers"]),
    ("debian12", "cuda", "570", "open", "8.0", "cuda", ["nvidia-kernel-open-dkms"], ["cuda-drivers-570"]),
    ("debian12", "cuda", "550", "auto", "8.0", "cuda", [], ["cuda-drivers-550"]),
    (
        "ubuntu2204",
        "auto",
        "535",
        "auto",
        "8.0",
        "distro",
        [],
        ["nvidia-headless-535-server", "nvidia-utils-535-server"],
    ),
    (
        "ubuntu2204",
        "auto",
        "580",
        "auto",
        "8.0",
        "distro",
        [],
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
    (
        "ubuntu2404",
        "distro",
        "580",
        "proprietary",
        "7.0",
        "distro",
        [],
        ["nvidia-headless-580-server", "nvidia-utils-580-server"],
    ),
    ("ubuntu2404", "auto", "595", "auto", "9.0", "cuda", ["nvidia-driver-pinning-595"], ["nvidia-open"]),
    ("ubuntu2404", "cuda", "590", "proprietary", "8.6", "cuda", ["nvidia-driver-pinning-590"], ["cuda-drivers"]),
    (
        "rhel8",
        "auto",
        "580",
        "auto",
        "8.0",
        "cuda",
        ["dkms", "python3-dnf-plugin-versionlock"],
        ["@nvidia-driver:580-open"],
    ),
    (
        "rhel9",
        "cuda",
        "535",
        "auto",
        "8.0",
        "cuda",
        ["dkms", "python3-dnf-plugin-versionlock"],
        ["@nvidia-driver:535-dkms"],
    ),
    (
        "rocky8",
        "auto",
        "570",
        "proprietary",
        "8.0",
        "cuda",
        ["dkms", "python3-dnf-plugin-versionlock"],
        ["@nvidia-driver:570-dkms"],
    ),
    (
        "rocky9",
        "auto",
        "595",
        "auto",
        "10.0",
        "cuda",
        ["dkms", "python3-dnf-plugin-versionlock"],
        ["@nvidia-driver:595-open"],
    ),
]


@pytest.mark.parametrize(
    ("os_key", "source", "branch", "flavor", "cc", "want_source", "pre", "packages"),
    LINUX_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-cc{c[4]}" for c in LINUX_CASES],
)
def test_linux_packages(os_key, source, branch, flavor, cc, want_source, pre, packages):
    result = plan(facts(os_key, gpu(cc)), branch=branch, kernel_module=flavor, source=source, cuda_keyring_sha256=SHA)
    assert result["action"] == "install"
    assert result["source"] == want_source
    assert result["branch"] == int(branch)
    assert result["pre_packages"] == pre
    assert result["packages"] == packages


REPO_CASES = [
    (
        "debian12",
        "cuda",
        "x86_64",
        "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb",
    ),
    (
        "ubuntu2204",
        "cuda",
        "x86_64",
        "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/cuda-keyring_1.1-1_all.deb",
    ),
    (
        "ubuntu2404",
        "cuda",
        "aarch64",
        "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/sbsa/cuda-keyring_1.1-1_all.deb",
    ),
    ("rhel9", "cuda", "x86_64", "https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64/"),
    ("rocky8", "cuda", "aarch64", "https://developer.download.nvidia.com/compute/cuda/repos/rhel8/sbsa/"),
]


@pytest.mark.parametrize(
    ("os_key", "source", "machine", "url"), REPO_CASES, ids=[c[0] + "-" + c[2] for c in REPO_CASES]
)
def test_cuda_repository_urls(os_key, source, machine, url):
    result = plan(facts(os_key, machine=machine), branch="580", source=source, cuda_keyring_sha256=SHA)
    repo = result["repo"]
    assert repo.get("url", repo.get("baseurl")) == url
    if repo["kind"] == "cuda-keyring":
        assert repo["checksum"] == "sha256:" + SHA
    else:
        builder = {"8": "powertools", "9": "crb"}[OS[os_key]["distribution_major_version"]]
        assert repo["builder_repo"] == (builder if OS[os_key]["distribution"] == "Rocky" else "")


# EPEL's builder repository is powertools on EL8 rebuilds and crb on EL9 (docs.fedoraproject.org/en-US/epel/
# getting-started/; wiki.rockylinux.org/rocky/repo/); RHEL enables CodeReady Builder through subscription-manager.
@pytest.mark.parametrize(("os_key", "repo"), [("rocky8", "powertools"), ("rocky9", "crb"), ("rhel8", "")])
def test_epel_builds_on_powertools_on_el8_and_crb_on_el9(os_key, repo):
    assert plan(facts(os_key), branch="580")["repo"]["builder_repo"] == repo


@pytest.mark.parametrize(
    ("os_key", "fingerprint"),
    [
        ("rocky8", "94E279EB8D8F25B21810ADF121EA45AB2F86D6A1"),
        ("rocky9", "FF8AD1344597106ECE813B918A3872BF3228467C"),
    ],
)
def test_epel_key_is_pinned_by_fingerprint(os_key, fingerprint):
    repo = plan(facts(os_key), branch="580")["repo"]
    major = OS[os_key]["distribution_major_version"]
    assert repo["epel_fingerprint"] == fingerprint
    assert repo["epel_key"] == f"https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-{major}"
    assert repo["epel_file"] == f"epel-release-latest-{major}.noarch.rpm"


def test_debian_components_file_adds_contrib_non_free_and_firmware():
    result = plan(facts("debian12"), branch="535", source="distro", debian_mirror="http://mirror.lab/debian/")
    content = result["repo"]["content"]
    assert "URIs: http://mirror.lab/debian\n" in content
    assert "Suites: bookworm bookworm-updates\n" in content
    assert "Components: contrib non-free non-free-firmware\n" in content
    assert result["repo"]["path"].endswith(".sources")


@pytest.mark.parametrize(
    ("os_key", "mechanism", "sources", "names"),
    [
        ("debian12", "dpkg_selections", ["nvidia-graphics-drivers"], None),
        ("ubuntu2204", "dpkg_selections", ["nvidia-graphics-drivers-535-server"], None),
        ("rocky9", "dnf_versionlock", [], ["*nvidia*535*"]),
    ],
)
def test_hold_mechanism(os_key, mechanism, sources, names):
    result = plan(facts(os_key), branch="535")
    assert result["hold"]["mechanism"] == mechanism
    assert result["hold"]["sources"] == sources
    assert result["hold"]["names"] == (names if names is not None else result["packages"])


@pytest.mark.parametrize(
    ("os_key", "initramfs", "headers"),
    [
        ("debian12", ["update-initramfs", "-u"], ["linux-headers-6.1.0-28-amd64", "linux-headers-amd64"]),
        ("ubuntu2404", ["update-initramfs", "-u"], ["linux-headers-6.1.0-28-amd64", "linux-headers-generic"]),
        ("rhel9", ["dracut", "--force"], ["kernel-devel-6.1.0-28-amd64", "kernel-headers-6.1.0-28-amd64"]),
    ],
)
def test_initramfs_and_headers_per_family(os_key, initramfs, headers):
    result = plan(facts(os_key), branch="535")
    assert result["initramfs"] == initramfs
    assert result["headers"] == headers
    assert result["blacklist"]["content"] == "blacklist nouveau\noptions nouveau modeset=0\n"


@pytest.mark.parametrize(
    ("os_key", "source", "user"),
    [("debian12", "distro", "nvpd"), ("ubuntu2204", "distro", "nvidia-persistenced"), ("rhel9", "cuda", "root")],
)
def test_persistenced_user(os_key, source, user):
    assert plan(facts(os_key), branch="535", source=source)["persistenced"]["user"] == user


# --- containers, skipping, macOS -----------------------------------------------------------------------------


@pytest.mark.parametrize("virt", ["podman", "docker", "container"])
def test_container_builds_no_module_and_needs_no_reboot(virt):
    result = plan(
        facts("debian12", gpu(vendor="none"), virt=virt),
        branch="535",
        force=True,
        installed_version="535.261.03-1",
        changed=True,
    )
    assert result["container"] is True
    assert result["build_module"] is False
    assert result["headers"] == []
    assert result["initramfs"] == []
    assert result["reboot"] == {"required": False, "why": "no kernel module is built here"}
    assert any("kernel module not built" in note for note in result["notes"])


def test_build_module_always_overrides_the_container_guess():
    result = plan(facts("debian12", virt="podman"), branch="535", build_module="always")
    assert result["build_module"] is True
    assert result["headers"]


@pytest.mark.parametrize("vendor", ["none", "amd", "intel"])
def test_host_without_nvidia_gpu_is_skipped_unless_forced(vendor):
    result = plan(facts("debian12", gpu(vendor=vendor)), branch="535")
    assert result["action"] == "skip"
    assert "gpu_driver_force" in result["reason"]
    assert plan(facts("debian12", gpu(vendor=vendor)), branch="535", force=True)["action"] == "install"


@pytest.mark.parametrize(("mps", "word"), [(True, "available on this Mac"), (False, "not available")])
def test_macos_reports_mps_and_installs_nothing(mps, word):
    result = plan(facts("macos", gpu(vendor="apple", mps=mps)), branch="580")
    assert result["action"] == "skip"
    assert result["mps_available"] is mps
    assert word in result["reason"]


# --- flavour by GPU generation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branch", "ccs", "flavor"),
    [
        ("535", ("8.0",), "proprietary"),  # before 560 the proprietary modules stay the default
        ("580", ("7.5",), "open"),  # Turing
        ("580", ("7.0",), "proprietary"),  # Volta
        ("580", ("8.0", "6.1"), "proprietary"),  # one Pascal card decides for the host
        ("580", ("12.0",), "open"),  # Blackwell needs open
        ("570", ("10.0",), "open"),
    ],
)
def test_auto_flavor(branch, ccs, flavor):
    assert plan(facts("rhel9", gpu(*ccs)), branch=branch)["flavor"] == flavor


def test_forced_install_without_a_gpu_takes_nvidias_default_and_says_so():
    result = plan(facts("rhel9", gpu(vendor="none")), branch="580", force=True)
    assert result["flavor"] == "open"
    assert any("proprietary for Maxwell" in note for note in result["notes"])


def pci_gpu(*pci_ids):
    """GPUs as gpu_facts reports them on a host without a driver: sysfs PCI ids, no compute capability."""
    fact = gpu()
    fact["devices"] = [
        {"vendor": "nvidia", "name": f"NVIDIA GPU [{p}]", "pci_id": p, "compute_capability": None} for p in pci_ids
    ]
    return fact


# Device ids from NVIDIA's lists (see plugins/module_utils/_nvidia_pci_ids.py): 15f8 Tesla P100-PCIE-16GB,
# 1b06 GeForce GTX 1080 Ti, 1db4 Tesla V100-PCIE-16GB (proprietary only), 1eb8 Tesla T4, 20b2 A100-SXM4-80GB
# (open), 2335 H200 and 2b85 GeForce RTX 5090 (open list of 595 only), 1024 Tesla K40c (legacy 470.xx).
@pytest.mark.parametrize(
    ("pci_ids", "branch", "flavor"),
    [
        (["10de:15f8"], 580, "proprietary"),
        (["10de:1b06"], 580, "proprietary"),
        (["10de:1db4", "10de:20b2"], 580, "proprietary"),
        (["10de:1eb8"], 595, "open"),
        (["10de:20b2"], 595, "open"),
        (["10de:2b85"], 595, "open"),
    ],
)
def test_generation_from_pci_ids_without_a_driver(pci_ids, branch, flavor):
    result = plan(facts("rhel9", pci_gpu(*pci_ids)))
    assert (result["branch"], result["flavor"]) == (branch, flavor)


@pytest.mark.parametrize(
    ("pci_ids", "options", "message"),
    [
        (["10de:15f8"], {"branch": "595"}, "580 branch is the last"),
        (["10de:1b06"], {"branch": "580", "kernel_module": "open"}, "Turing and newer"),
        (["10de:1024"], {}, "legacy branch 470.xx"),
        (["10de:10ff"], {}, "Choose for it"),
        (
            ["10de:2335"],
            {"branch": "535", "source": "cuda", "cuda_keyring_sha256": SHA},
            "not in the supported-GPU list",
        ),
    ],
    ids=["pascal-on-595", "pascal-open", "kepler", "unlisted", "h200-on-535"],
)
def test_generation_from_pci_ids_refuses_what_cannot_drive_the_gpu(pci_ids, options, message):
    with pytest.raises(DriverPlanError, match=message):
        plan(facts("ubuntu2404", pci_gpu(*pci_ids)), **options)


def test_unlisted_gpu_goes_ahead_once_the_user_chose():
    result = plan(facts("rhel9", pci_gpu("10de:10ff")), branch="580", kernel_module="proprietary")
    assert (result["branch"], result["flavor"]) == (580, "proprietary")


def test_gpu_newer_than_debians_branch_takes_nvidias_repository():
    result = plan(facts("debian12", pci_gpu("10de:2b85")), cuda_keyring_sha256=SHA)
    assert (result["source"], result["branch"], result["flavor"]) == ("cuda", 595, "open")


@pytest.mark.parametrize(
    ("pci_id", "kind"),
    [
        ("10de:1B06", "pre-turing"),
        ("0x10de:0x20b2", "open"),
        ("10de:2b85", "newer"),
        ("10de:1024", "legacy"),
        ("1002:740f", "unlisted"),
        (None, "unlisted"),
    ],
)
def test_pci_generation(pci_id, kind):
    assert dr.pci_generation(pci_id)[0] == kind


# --- refusals ------------------------------------------------------------------------------------------------

REFUSALS = [
    ({"branch": "520"}, gpu("8.0"), "use one of 535, 550"),
    ({"branch": "latest"}, gpu("8.0"), "not a driver branch"),
    ({"branch": "550"}, gpu("10.0"), "needs driver >= 570.26"),
    ({"branch": "595"}, gpu("6.0"), "580 branch is the last"),
    ({"branch": "580", "kernel_module": "open"}, gpu("7.0"), "Turing and newer"),
    ({"branch": "580", "kernel_module": "proprietary"}, gpu("12.0"), "only with the open kernel modules"),
    ({"branch": "580", "kernel_module": "closed"}, gpu("8.0"), "is not one of auto, open, proprietary"),
    ({"branch": "580", "source": "distro"}, gpu("8.0"), "carries driver branch 535, not 580"),
    ({"branch": "535", "pytorch_version": "2.15"}, gpu("8.0"), "needs driver >= 595.45.04"),
    ({"branch": "580", "source": "cuda"}, gpu("8.0"), "gpu_driver_cuda_keyring_sha256"),
    ({"branch": "535"}, gpu("8.0", secure_boot=True), "Secure Boot is on"),
    ({"branch": "535", "mok_key": "/root/mok.key"}, gpu("8.0", secure_boot=True), "both gpu_driver_mok_key"),
]


@pytest.mark.parametrize(("options", "gpu_fact", "message"), REFUSALS, ids=[r[2] for r in REFUSALS])
def test_refusals_on_debian(options, gpu_fact, message):
    with pytest.raises(DriverPlanError, match=message):
        plan(facts("debian12", gpu_fact), **options)


def test_redhat_has_no_distro_driver():
    with pytest.raises(DriverPlanError, match="gpu_driver_source: cuda"):
        plan(facts("rocky9"), branch="580", source="distro")


@pytest.mark.parametrize("os_key", ["debian11", "ubuntu2004", "rhel7"])
def test_unsupported_releases_are_refused(os_key):
    family, dist, major = {
        "debian11": ("Debian", "Debian", "11"),
        "ubuntu2004": ("Debian", "Ubuntu", "20"),
        "rhel7": ("RedHat", "RedHat", "7"),
    }[os_key]
    host = {
        "system": "Linux",
        "machine": "x86_64",
        "os_family": family,
        "distribution": dist,
        "distribution_major_version": major,
        "torchfleet_gpu": gpu("8.0"),
    }
    with pytest.raises(DriverPlanError, match="supports Debian 12"):
        plan(host, branch="535")


# --- agreement with PyTorch --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "compute", "branch", "ok"),
    [
        ("2.0.1", "auto", "535", True),  # cu117 needs 515.43.04
        ("2.7.1", "auto", "535", True),  # cu118 needs 520.61.05: one build is enough
        ("2.8.0", "auto", "550", True),  # below 560 (Table 3), but 12.x minor-version compat with sm_80 SASS
        ("2.8.0", "auto", "560", True),
        ("2.8.0", "cu128", "560", True),  # the asked build decides; more cases in test_driver_floor.py
        ("2.7.1", "cpu", "535", True),  # no CUDA, no check
        ("2.15", "cuda", "595", True),
        ("latest", "auto", "580", False),
    ],
)
def test_branch_against_pytorch(version, compute, branch, ok):
    options = {"branch": branch, "pytorch_version": version, "pytorch_compute": compute}
    if ok:
        assert plan(facts("rhel9"), **options)["branch"] == int(branch)
    else:
        with pytest.raises(DriverPlanError, match="cannot run any CUDA build of PyTorch"):
            plan(facts("rhel9"), **options)


def test_empty_branch_on_debian_follows_pytorch_to_the_cuda_repository():
    result = plan(facts("debian12"), pytorch_version="2.15", cuda_keyring_sha256=SHA)
    assert (result["source"], result["branch"]) == ("cuda", 595)
    result = plan(facts("debian12"), pytorch_version="2.0.1")
    assert (result["source"], result["branch"]) == ("distro", 535)


def test_empty_branch_stays_on_580_for_pre_turing_gpus():
    assert plan(facts("rhel9", gpu("6.0")))["branch"] == 580


def test_bad_pytorch_version_is_named():
    with pytest.raises(DriverPlanError, match="pytorch_version"):
        plan(facts("rhel9"), branch="580", pytorch_version="1.7.0")


# --- Secure Boot ----------------------------------------------------------------------------------------------


def test_secure_boot_with_mok_signs_through_dkms():
    result = plan(
        facts("ubuntu2404", gpu("8.0", secure_boot=True)),
        branch="580",
        mok_key="/var/lib/mok/mok.key",
        mok_cert="/var/lib/mok/mok.der",
    )
    lines = result["mok"]["dkms_content"].splitlines()
    assert lines[1:] == ["mok_signing_key=/var/lib/mok/mok.key", "mok_certificate=/var/lib/mok/mok.der"]
    assert result["mok"]["dkms_conf"] == "/etc/dkms/framework.conf.d/torchfleet-mok.conf"
    assert "mokutil" in result["pre_packages"]
    assert "mokutil" not in result["hold"]["names"]


# dkms sources framework.conf.d/*.conf as shell and re-evaluates each value (dell/dkms dkms.in:406-420).
@pytest.mark.parametrize(
    "path",
    [
        "/root/my key.pem",
        '/root/k"ey',
        "/root/$(reboot)",
        "/root/`id`",
        "/root/key\nsign_file=/tmp/x",
        "relative.key",
        "/root/../etc/shadow",
        "/root/key;id",
        "/root/",
    ],
)
def test_mok_paths_that_a_shell_would_not_read_as_themselves_are_refused(path):
    with pytest.raises(DriverPlanError, match=r"gpu_driver_mok_key .*must be an absolute path"):
        plan(facts("ubuntu2404", gpu("8.0", secure_boot=True)), branch="580", mok_key=path, mok_cert="/root/mok.der")


def test_mok_paths_are_checked_even_without_secure_boot():
    with pytest.raises(DriverPlanError, match="gpu_driver_mok_cert"):
        plan(facts("ubuntu2404", gpu("8.0")), branch="580", mok_key="/root/mok.key", mok_cert="/root/$HOME.der")


def test_secure_boot_in_a_container_builds_nothing_so_needs_no_key():
    result = plan(facts("debian12", gpu("8.0", secure_boot=True), virt="podman"), branch="535")
    assert result["mok"] == {}


# --- Windows ---------------------------------------------------------------------------------------------------

WIN = {"windows_version": "580.88", "windows_installer_sha256": SHA}


@pytest.mark.parametrize(
    ("options", "installed", "action", "url"),
    [
        (
            {**WIN, "mirror_url": "http://mirror.lab/"},
            None,
            "install",
            "http://mirror.lab/nvidia/580.88-data-center-tesla-desktop-win10-win11-64bit-dch-international.exe",
        ),
        (
            {**WIN, "windows_installer_url": "https://dl.example/drivers/580.88-win.exe"},
            "551.86",
            "install",
            "https://dl.example/drivers/580.88-win.exe",
        ),
        (
            {**WIN, "mirror_url": "http://mirror.lab"},
            "580.88",
            "none",
            "http://mirror.lab/nvidia/580.88-data-center-tesla-desktop-win10-win11-64bit-dch-international.exe",
        ),
    ],
)
def test_windows_installer(options, installed, action, url):
    result = plan(facts("windows", gpu("8.9", driver=installed)), **options)
    assert result["action"] == action
    assert result["installer"]["url"] == url
    assert result["installer"]["arguments"] == ["-s", "-noreboot"]
    assert result["installer"]["return_codes"] == [0, 3010]
    assert result["installer"]["checksum"] == SHA
    assert result["branch"] == 580


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"windows_version": "580.88", "mirror_url": "http://m"}, "windows_installer_sha256"),
        ({"windows_version": "580", "windows_installer_sha256": SHA}, "three digits, a dot, two digits"),
        ({**WIN}, "gpu_driver_windows_installer_url"),
        ({**WIN, "mirror_url": "http://m", "branch": "570"}, "disagree"),
        (
            {**WIN, "windows_version": "550.54", "mirror_url": "http://m", "pytorch_version": "2.8"},
            "needs driver >= 560.76",
        ),
        ({"windows_version": "610.47", "windows_installer_sha256": SHA, "mirror_url": "http://m"}, "not one"),
    ],
)
def test_windows_refusals(options, message):
    with pytest.raises(DriverPlanError, match=message):
        plan(facts("windows", gpu("8.9")), **options)


def test_windows_reboot_follows_the_installer():
    result = plan(facts("windows", gpu("8.9")), mirror_url="http://m", installed_version="580.88", changed=True, **WIN)
    assert result["reboot"]["required"] is True


# --- after the install: branch check and reboot ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu_fact", "installed", "changed", "required", "why"),
    [
        (gpu("8.0"), "535.261.03-1", True, True, "changed"),
        (gpu("8.0", driver="535.261.03", loaded=True), "535.261.03-1", False, False, ""),
        (gpu("8.0", driver="535.216.01", loaded=True), "535.261.03-1", False, True, "loaded module is 535.216.01"),
        (gpu("8.0", nouveau=True), "535.261.03-1", False, True, "nouveau is loaded"),
        (gpu("8.0"), "535.261.03-1", False, True, "not loaded"),
    ],
)
def test_reboot_needed_on_a_real_host(gpu_fact, installed, changed, required, why):
    result = plan(facts("debian12", gpu_fact), branch="535", installed_version=installed, changed=changed)
    assert result["reboot"]["required"] is required
    assert why in result["reboot"]["why"]


def test_transitional_package_that_moved_the_branch_is_caught():
    with pytest.raises(DriverPlanError, match="not of branch 535"):
        plan(facts("ubuntu2404"), branch="535", installed_version="580.95.05-0ubuntu1")


@pytest.mark.parametrize(("text", "branch"), [("580", 580), (580, 580), ("R570", 570), ("535.261.03", 535), ("", None)])
def test_parse_branch(text, branch):
    assert dr.parse_branch(text) == branch


@pytest.mark.parametrize(("text", "branch"), [("535.261.03-1", 535), ("3:580.95.05-1.el9", 580), ("580.88", 580)])
def test_branch_of_package_versions(text, branch):
    assert dr.branch_of(text) == branch


@pytest.mark.parametrize(
    ("os_key", "options", "query"),
    [
        ("debian12", {"branch": "535"}, ["dpkg-query", "-W", "-f=${Version}", "nvidia-driver"]),
        ("ubuntu2204", {"branch": "580"}, ["dpkg-query", "-W", "-f=${Version}", "nvidia-utils-580-server"]),
        (
            "ubuntu2404",
            {"branch": "595", "cuda_keyring_sha256": SHA},
            ["dpkg-query", "-W", "-f=${Version}", "nvidia-open"],
        ),
        ("rocky9", {"branch": "580"}, ["rpm", "-q", "--qf", "%{VERSION}", "nvidia-driver"]),
    ],
)
def test_installed_version_query(os_key, options, query):
    assert plan(facts(os_key), **options)["version_query"] == query


# --- Secure Boot: what mokutil answers, and the order of the role's tasks -------------------------------------

FIXTURES = Path(__file__).resolve().parents[2] / "plugins" / "fixtures" / "gpu"
MOKUTIL = json.loads((FIXTURES / "mokutil_0.6.0.json").read_text(encoding="utf-8"))
ROLE_TASKS = Path(__file__).resolve().parents[4] / "roles" / "gpu_driver" / "tasks"


@pytest.mark.parametrize(
    ("case", "state", "queue"),
    [
        ("test-key absent", "absent", True),
        ("test-key enrolled", "enrolled", False),
        ("test-key pending", "pending", False),
        ("test-key firmware", "firmware", False),
    ],
)
def test_mokutil_answers_recorded_from_mokutil_0_6(case, state, queue):
    reply = MOKUTIL[case]
    result = dr.mok_state(reply["stdout"], reply["stderr"], "mok.der")
    assert (result["state"], result["import"]) == (state, queue)


@pytest.mark.parametrize(
    ("stdout", "state"),
    [
        # mokutil up to 0.4.0 (src/mokutil.c 1971-1976 at tag 0.4.0): a queued key is "already enrolled" too.
        ("/root/mok.der is already enrolled\n", "enrolled"),
        # --import's wording before 0.5.0 (0.4.0 1187), with its spelling.
        ("SKIP: /root/mok.der is already in the enrollement request\n", "pending"),
        ("SKIP: /root/mok.der is already in KEK\n", "firmware"),
    ],
)
def test_mokutil_answers_of_older_versions(stdout, state):
    assert dr.mok_state(stdout)["state"] == state


@pytest.mark.parametrize(
    ("stdout", "stderr", "message"),
    [
        ("mok.der is blocked in dbx\n", "", "forbids this key"),
        ("", MOKUTIL["test-key no-efi"]["stderr"], "EFI variables are not supported"),
        # What the old role took for "queued": --list-new with nothing queued (mokutil <= 0.4.0).
        ("MokNew is empty\n", "", "no answer the role knows"),
    ],
)
def test_mokutil_answers_that_stop_the_role(stdout, stderr, message):
    with pytest.raises(DriverPlanError, match=message):
        dr.mok_state(stdout, stderr, "mok.der")


def _tasks(name):
    return yaml.safe_load((ROLE_TASKS / name).read_text(encoding="utf-8"))


def _flatten(tasks):
    for task in tasks:
        yield task
        yield from _flatten(task.get("block", []))


def _progress_package_module(task):
    module = str((task.get("torchfleet.lab.progress") or {}).get("module", ""))
    return "ansible.builtin.apt" in module or "ansible.builtin.dnf" in module


@pytest.mark.parametrize("setup", ["setup-Debian.yml", "setup-RedHat.yml"])
def test_dkms_learns_the_signing_key_before_any_driver_package_is_installed(setup):
    names = [t.get("ansible.builtin.include_tasks") or t["name"] for t in _flatten(_tasks(setup))]
    sign = names.index("mok-sign.yml")
    installs = [
        i
        for i, task in enumerate(_flatten(_tasks(setup)))
        # The driver packages go in through apt or dnf, also when torchfleet.lab.progress runs them.
        if ("ansible.builtin.apt" in task or "ansible.builtin.dnf" in task or _progress_package_module(task))
        and "NVIDIA driver" in task["name"] + str(task.get("ansible.builtin.dnf", {}).get("name", ""))
    ]
    assert installs and sign < min(installs)
    sign_tasks = _tasks("mok-sign.yml")
    assert any(
        t.get("ansible.builtin.copy", {}).get("dest") == "{{ __gpu_driver_plan.mok.dkms_conf }}" for t in sign_tasks
    )
    assert "dkms_conf" not in (ROLE_TASKS / "mok.yml").read_text(encoding="utf-8")


def test_the_mok_password_goes_to_mokutil_on_stdin_and_never_into_a_file():
    tasks = list(_flatten(_tasks("mok.yml")))
    text = (ROLE_TASKS / "mok.yml").read_text(encoding="utf-8")
    (queue,) = [t for t in tasks if "--import" in t.get("ansible.builtin.command", {}).get("argv", [])]
    assert "gpu_driver_mok_password" not in str(queue["ansible.builtin.command"]["argv"])
    assert queue["ansible.builtin.command"]["stdin"] == "{{ gpu_driver_mok_password }}\n{{ gpu_driver_mok_password }}"
    # mokutil drops the last character of each line it reads (src/util.c read_hidden_line), so the final
    # newline that the command module adds by default must stay.
    assert queue["ansible.builtin.command"].get("stdin_add_newline", True) is True
    assert queue["no_log"] is True
    assert "--generate-hash" not in text and "--hash-file" not in text
    (cleanup,) = [t for t in tasks if t.get("ansible.builtin.file", {}).get("state") == "absent"]
    assert cleanup["ansible.builtin.file"]["path"] == "{{ __gpu_driver_plan.mok.stale_hash_file }}"
    assert "--list-new" not in text


# --- URLs written into repository files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mirror",
    [
        "http://mirror.lab/debian\nTrusted: yes",
        "http://mirror.lab/debian\rTrusted: yes",
        "http://mirror.lab/$(touch /tmp/pwned)/debian",
        "http://mirror.lab/`id`/debian",
        "http://mirror.lab/debian trusted=yes",
        "http://mirror.lab/deb\tian",
        'http://mirror.lab/"debian',
        "ftp://mirror.lab/debian",
        "mirror.lab/debian",
        "http://mirror.lab/debian?x=1",
    ],
)
def test_debian_mirror_that_would_change_the_sources_file_is_refused(mirror):
    with pytest.raises(DriverPlanError, match=r"gpu_driver_debian_mirror .* is not a plain http"):
        plan(facts("debian12"), branch="535", source="distro", debian_mirror=mirror)


def test_debian_mirror_credentials_go_to_a_root_only_auth_file_and_out_of_messages():
    result = plan(
        facts("debian12"), branch="535", source="distro", debian_mirror="https://lab:s3cret@mirror.lab/debian/"
    )
    repo = result["repo"]
    assert "s3cret" not in repo["content"] and "lab:" not in repo["content"]
    assert "URIs: https://mirror.lab/debian\n" in repo["content"]
    assert repo["auth"] == {
        "path": "/etc/apt/auth.conf.d/torchfleet-nonfree.conf",
        "content": "machine https://mirror.lab/debian login lab password s3cret\n",
    }
    with pytest.raises(DriverPlanError) as caught:
        plan(facts("debian12"), branch="535", source="distro", debian_mirror="https://lab:s3cret@mirror.lab/deb ian")
    assert "s3cret" not in str(caught.value) and "***@mirror.lab" in str(caught.value)


def test_debian_mirror_without_credentials_writes_no_auth_file():
    assert plan(facts("debian12"), branch="535", source="distro")["repo"]["auth"] == {}


def test_mirror_credentials_stay_out_of_the_dnf_repo_url():
    repo = plan(facts("rocky9"), branch="580", mirror_url="https://lab:s3cret@mirror.lab/tf")["repo"]
    assert repo["baseurl"] == "https://mirror.lab/tf/nvidia/repos/rhel9/x86_64/"
    assert (repo["username"], repo["password"], repo["mode"]) == ("lab", "s3cret", "0600")


def test_mirror_url_with_a_newline_is_refused():
    with pytest.raises(DriverPlanError, match="torchfleet_mirror_url"):
        plan(facts("rocky9"), branch="580", mirror_url="http://mirror.lab/tf\ngpgcheck=0")


# --- holds ----------------------------------------------------------------------------------------------------


def _dpkg(name):
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def test_the_role_asks_dpkg_query_for_the_fields_hold_selection_reads():
    (query,) = [
        t for t in _flatten(_tasks("setup-Debian.yml")) if "dpkg-query" in str(t.get("ansible.builtin.command"))
    ]
    assert query["ansible.builtin.command"]["argv"] == ["dpkg-query", "-W", "-f=" + dr.HOLD_QUERY_FORMAT]


def test_holds_on_debian_take_every_installed_package_of_the_driver():
    result = plan(facts("debian12"), branch="535")
    held = dr.hold_selection(result, _dpkg("dpkg_debian12_535.tsv"))
    assert set(result["packages"]) - {"firmware-misc-nonfree"} <= set(held)
    assert {"nvidia-driver-bin", "libnvidia-ml1", "firmware-nvidia-gsp", "nvidia-kernel-support"} <= set(held)
    assert "nvidia-modprobe" in held  # its own source, but a package of the 535 driver
    assert "nvidia-cuda-toolkit" not in held and "dkms" not in held and "bash" not in held
    assert "nvidia-tesla-470-driver" not in held  # removed, config left ('rc'): dpkg cannot hold it


def test_holds_from_the_cuda_repository_take_the_whole_branch_not_only_the_metapackages():
    result = plan(facts("ubuntu2404", gpu("9.0")), branch="580", source="cuda", cuda_keyring_sha256=SHA)
    assert result["hold"]["names"] == ["nvidia-driver-pinning-580", "nvidia-open"]
    held = dr.hold_selection(result, _dpkg("dpkg_ubuntu2404_cuda580.tsv"))
    assert {
        "nvidia-driver-580-open",
        "nvidia-dkms-580-open",
        "libnvidia-compute-580",
        "nvidia-utils-580",
        "nvidia-firmware-580-580.95.05",
        "cuda-drivers",
        "cuda-drivers-580",
        "nvidia-open",
    } <= set(held)
    assert not {"nvidia-container-toolkit", "cuda-toolkit-12-8", "dkms", "libnvidia-compute-575"} & set(held)


def test_credentials_for_a_plain_http_mirror_name_the_protocol_and_are_noted():
    # apt_auth.conf(5): "If protocol is not specified, the entry only matches https and tor+https."
    result = plan(
        facts("debian12"), branch="535", source="distro", debian_mirror="http://lab:pw@mirror.lab:8080/debian"
    )
    assert result["repo"]["auth"]["content"] == "machine http://mirror.lab:8080/debian login lab password pw\n"
    assert any("plain http" in note for note in result["notes"])


def test_windows_installer_from_a_mirror_with_credentials_gets_them_apart_from_the_url():
    result = plan(
        facts("windows", gpu("8.6")),
        windows_version="580.88",
        windows_installer_sha256=SHA,
        mirror_url="https://lab:s3cret@mirror.lab/tf",
    )
    installer = result["installer"]
    assert installer["url"].startswith("https://mirror.lab/tf/nvidia/")
    assert (installer["url_username"], installer["url_password"]) == ("lab", "s3cret")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://apt:s3cret@repo.lab/debian", "https://apt:***@repo.lab/debian"),
        ("https://t0ken@repo.lab/debian", "https://***@repo.lab/debian"),
        ("http://repo.lab/debian", "http://repo.lab/debian"),
        (None, ""),
    ],
)
def test_driver_messages_redact_like_the_other_roles(url, shown):
    """gpu_driver shows repository URLs the way every other role does (module_utils/_validate.py's redaction)."""
    assert dr.redact_url(url) == shown


def test_a_refused_repo_url_never_shows_its_password():
    with pytest.raises(DriverPlanError) as caught:
        dr.split_repo_url("gpu_driver_debian_mirror", "https://apt:s3cret@repo.lab/debian path")
    assert "s3cret" not in str(caught.value) and "apt:***@repo.lab" in str(caught.value)
