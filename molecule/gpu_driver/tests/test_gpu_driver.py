"""What a lab admin checks after the gpu_driver role ran on a Debian 12 host (forced, no GPU, in a container).

The inputs the role refuses before it changes anything (an unknown branch, one Debian does not carry, one too old
for the asked PyTorch, a CUDA keyring without its checksum) are cases of the molecule scenario bad_inputs
(molecule/bad_inputs/cases/live_cases.yml), run there in one real run against a bare container.
"""

from __future__ import annotations

import pytest

BRANCH = "535."
DRIVER_PACKAGES = ["nvidia-driver", "nvidia-kernel-dkms", "nvidia-smi", "libcuda1", "nvidia-persistenced"]


@pytest.mark.parametrize("package", DRIVER_PACKAGES)
def test_driver_packages_of_the_branch_are_installed(host, package):
    pkg = host.package(package)
    assert pkg.is_installed
    assert pkg.version.startswith(BRANCH) or package == "nvidia-persistenced"


def test_driver_came_from_debian_non_free(host):
    sources = host.file("/etc/apt/sources.list.d/torchfleet-nonfree.sources")
    assert sources.contains("^Components: contrib non-free non-free-firmware$")
    policy = host.run("apt-cache policy nvidia-driver")
    assert "non-free" in policy.stdout


def test_driver_packages_are_held(host):
    held = set(host.check_output("apt-mark showhold").split())
    assert set(DRIVER_PACKAGES) <= held
    # Every package built from the driver's source is held too, not only the metapackages.
    assert {"nvidia-driver-bin", "libnvidia-ml1", "firmware-nvidia-gsp", "nvidia-kernel-support"} <= held


def test_every_installed_package_of_the_branch_is_held(host):
    # Not only what the role named: every NVIDIA driver package dpkg has at a 535 version (nvidia-modprobe and
    # nvidia-persistenced come from sources of their own).
    held = set(host.check_output("apt-mark showhold").split())
    listing = host.check_output("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\\n'")
    of_branch = {
        fields[1]
        for fields in (line.split() for line in listing.splitlines())
        if fields[0][:2] in ("ii", "hi")  # "hi": installed and already held
        and fields[2].startswith(BRANCH)
        and fields[1].startswith(("nvidia-", "libnvidia-", "libcuda", "firmware-nvidia-", "xserver-xorg-video-nvidia"))
    }
    assert len(of_branch) > 10
    assert of_branch <= held, sorted(of_branch - held)


def test_an_upgrade_would_not_touch_the_driver(host):
    simulated = host.run("apt-get -s -o Debug::NoLocking=1 install --only-upgrade nvidia-driver")
    assert simulated.rc == 0, simulated.stderr
    assert "Inst nvidia-driver" not in simulated.stdout


def test_nouveau_is_blacklisted_with_modesetting_off(host):
    lines = host.file("/etc/modprobe.d/blacklist-nouveau.conf").content_string.splitlines()
    assert "blacklist nouveau" in lines
    assert "options nouveau modeset=0" in lines


def test_persistenced_drop_in_turns_persistence_mode_on_as_debians_user(host):
    dropin = host.file("/etc/systemd/system/nvidia-persistenced.service.d/torchfleet.conf")
    lines = dropin.content_string.splitlines()
    assert lines[lines.index("[Service]") + 1] == "ExecStart="
    assert "ExecStart=/usr/bin/nvidia-persistenced --user nvpd --persistence-mode --verbose" in lines
    # The user the drop-in names exists (Debian's package creates it).
    assert host.user("nvpd").exists


def test_no_module_was_built_for_the_containers_kernel(host):
    # DKMS registered the source but built nothing: no headers for the host's kernel were installed.
    status = host.check_output("dkms status")
    assert "nvidia-current/535." in status
    assert "installed" not in status
    assert not host.run("dpkg -l 'linux-headers-*' | grep -q '^ii'").succeeded
