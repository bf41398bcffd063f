"""The gpu_driver plan's steps and inputs, its CUDA-of-build rule, and the holds read from real dpkg-query output."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.filter.driver import FilterModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver as dr
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb

ROLE = Path(__file__).resolve().parents[4] / "roles" / "gpu_driver"
SHA = "a" * 64
DEBIAN12 = {
    "system": "Linux",
    "machine": "x86_64",
    "kernel": "6.1.0-28-amd64",
    "os_family": "Debian",
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_release": "bookworm",
    "torchfleet_gpu": {
        "vendor": "nvidia",
        "devices": [{"vendor": "nvidia", "pci_id": "10de:20b2", "compute_capability": "8.0"}],
    },
}


# --- cuXYZ -> CUDA: one function ----------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "cuda"), [("cu92", "9.2"), ("cu118", "11.8"), ("cu126", "12.6"), ("cu130", "13.0")])
def test_cuda_of_reads_the_cuda_release_from_the_build_label(build, cuda):
    assert tb.cuda_of(build) == cuda


def test_the_driver_floor_reads_cuda_through_torch_builds_function(monkeypatch):
    seen = []

    def spy(build):
        seen.append(build)
        return tb._cuda_of(build)

    monkeypatch.setattr(tb, "cuda_of", spy)
    floor = dr.pytorch_floor("2.7", "cu118", "Linux", "x86_64", ["8.0"])
    assert floor["build"] == "cu118"
    assert seen == ["cu118"]


# --- the plan's inputs and steps ----------------------------------------------------------------------------


def test_the_filter_takes_exactly_the_plan_inputs_after_the_facts():
    fields = [f.name for f in dataclasses.fields(dr.PlanInputs)]
    assert fields[0] == "facts"
    options = FilterModule().filters()["driver_plan"].accepted_options()
    assert options == frozenset(fields[1:]) | {"installed_version", "changed"}


def test_an_unknown_option_is_refused_by_the_inputs():
    with pytest.raises(TypeError, match="brnch"):
        dr.plan(DEBIAN12, brnch="535")


def test_inputs_without_facts_are_an_empty_dict():
    assert dr.PlanInputs(None).facts == {}


def test_the_host_step_refuses_an_unknown_branch_before_any_other_step():
    with pytest.raises(dr.DriverPlanError, match="Driver branch 999 is not one"):
        dr._host(dr.PlanInputs({"os_family": "Darwin"}, branch="999"))


@pytest.mark.parametrize(
    ("facts", "force", "skipped"),
    [
        ({"os_family": "Darwin", "system": "Darwin"}, False, "Darwin"),
        ({"os_family": "Debian", "system": "Linux", "torchfleet_gpu": {"vendor": "amd"}}, False, "Linux"),
        ({"os_family": "Debian", "system": "Linux", "torchfleet_gpu": {"vendor": "amd"}}, True, None),
        (DEBIAN12, False, None),
    ],
)
def test_the_skip_step_passes_only_hosts_with_an_nvidia_gpu_or_forced(facts, force, skipped):
    result = dr._skip_host(dr._host(dr.PlanInputs(facts, force=force)))
    assert (result and result["system"]) == skipped


@pytest.mark.parametrize(
    ("build_module", "virt", "expected"),
    [
        ("auto", None, {"container": False, "build_module": True}),
        ("auto", "docker", {"container": True, "build_module": False}),
        ("always", "docker", {"container": True, "build_module": True}),
        ("never", None, {"container": False, "build_module": False}),
    ],
)
def test_the_module_build_step(build_module, virt, expected):
    facts = dict(DEBIAN12, **({"virtualization_type": virt, "virtualization_role": "guest"} if virt else {}))
    host = dr._host(dr.PlanInputs(facts, build_module=build_module))
    assert dr._module_build(host) == expected
    assert bool(host.notes) is not expected["build_module"]


def test_the_driver_step_chooses_source_branch_and_flavour_and_notes_why():
    host = dr._host(dr.PlanInputs(DEBIAN12))
    host.generation = dr.gpu_generation(host.gpu)
    dr._check_linux_supported(host)
    choice = dr._choose_driver(host)
    assert (choice["source"], choice["branch"], choice["flavor"]) == ("distro", 535, "proprietary")
    assert any("chose 535" in note for note in host.notes)


def test_every_plan_step_is_short():
    tree = ast.parse(Path(dr.__file__).read_text(encoding="utf-8"))
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60
    }
    assert long == {}


# --- holds, from what dpkg-query really prints --------------------------------------------------------------

# A dpkg status database (the deb822 stanzas of /var/lib/dpkg/status, fields as in deb-control(5) plus Status:
# "want ok state", dpkg(1)).  Written for these cases: the 535 driver with the 32-bit libcuda1 that Debian's wiki
# installs for 32-bit programs beside the native one (Multi-Arch: same), one package already held, a package whose
# Source carries a version, a package of its own source, one removed with its configuration left, and dkms.
STATUS = """\
Package: nvidia-driver
Status: install ok installed
Architecture: amd64
Source: nvidia-graphics-drivers
Version: 535.261.03-1

Package: libcuda1
Status: hold ok installed
Multi-Arch: same
Architecture: amd64
Source: nvidia-graphics-drivers (535.261.03-1)
Version: 535.261.03-1

Package: libcuda1
Status: install ok installed
Multi-Arch: same
Architecture: i386
Source: nvidia-graphics-drivers (535.261.03-1)
Version: 535.261.03-1

Package: nvidia-modprobe
Status: install ok installed
Architecture: amd64
Version: 535.54.03-1

Package: nvidia-tesla-470-driver
Status: deinstall ok config-files
Architecture: amd64
Source: nvidia-graphics-drivers-tesla-470
Version: 470.256.02-1

Package: dkms
Status: install ok installed
Architecture: all
Version: 3.0.10-8+deb12u1
"""

# Recorded: Debian 12's dpkg-query 1.21.22, `dpkg-query --admindir=DIR -W -f=<HOLD_QUERY_FORMAT>` over STATUS.
RECORDED = [
    "ii \tdkms\tdkms\t3.0.10-8+deb12u1",
    "hi \tlibcuda1:amd64\tnvidia-graphics-drivers\t535.261.03-1",
    "ii \tlibcuda1:i386\tnvidia-graphics-drivers\t535.261.03-1",
    "ii \tnvidia-driver\tnvidia-graphics-drivers\t535.261.03-1",
    "ii \tnvidia-modprobe\tnvidia-modprobe\t535.54.03-1",
    "rc \tnvidia-tesla-470-driver\tnvidia-graphics-drivers-tesla-470\t470.256.02-1",
]


def _debian_535():
    return dr.plan(DEBIAN12, branch="535")


def _admindir(tmp_path):
    admin = tmp_path / "dpkg"
    (admin / "updates").mkdir(parents=True)
    (admin / "info").mkdir()
    (admin / "available").write_text("", encoding="utf-8")
    # dpkg warns about stanzas without these two; they change nothing here.
    text = STATUS.replace(
        "\nVersion:", "\nMaintainer: Debian NVIDIA Maintainers <nvidia@example.invalid>\nDescription: x\nVersion:"
    )
    (admin / "status").write_text(text, encoding="utf-8")
    return admin


def _dpkg_query(admin, *args):
    return subprocess.run(
        ["dpkg-query", f"--admindir={admin}", *args], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def test_holds_name_each_architecture_of_a_library_installed_twice():
    held = dr.hold_selection(_debian_535(), RECORDED)
    assert held == ["libcuda1:amd64", "libcuda1:i386", "nvidia-driver", "nvidia-modprobe"]


def test_holds_pending_are_the_role_packages_not_installed_yet():
    result = _debian_535()
    pending = dr.hold_selection(result, RECORDED, pending=True)
    assert pending == [p for p in result["hold"]["names"] if p not in ("nvidia-driver", "libcuda1")]
    assert dr.hold_selection(result, [], pending=True) == result["hold"]["names"]


def test_the_check_mode_report_asks_python_which_holds_are_pending():
    text = (ROLE / "tasks" / "setup-Debian.yml").read_text(encoding="utf-8")
    assert "difference(" not in text
    assert "driver_holds(__gpu_driver_dpkg.stdout_lines, pending=true)" in text
    yaml.safe_load(text)


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="dpkg-query is not installed")
def test_real_dpkg_query_prints_what_was_recorded(tmp_path):
    assert _dpkg_query(_admindir(tmp_path), "-W", "-f=" + dr.HOLD_QUERY_FORMAT) == RECORDED


@pytest.mark.skipif(not shutil.which("dpkg"), reason="dpkg is not installed")
@pytest.mark.skipif(sys.platform != "linux", reason="dpkg databases are Linux's")
def test_real_dpkg_accepts_every_hold_and_holds_both_architectures(tmp_path):
    admin = _admindir(tmp_path)
    held = dr.hold_selection(_debian_535(), _dpkg_query(admin, "-W", "-f=" + dr.HOLD_QUERY_FORMAT))
    for name in held:
        # What ansible.builtin.dpkg_selections feeds dpkg: "<name> hold" on stdin.  A bare "libcuda1" here fails
        # with "ambiguous package name 'libcuda1' with more than one installed instance".
        subprocess.run(
            ["dpkg", f"--admindir={admin}", "--force-not-root", "--set-selections"],
            input=f"{name} hold",
            capture_output=True,
            text=True,
            check=True,
        )
    status = dict(line.split("\t") for line in _dpkg_query(admin, "-W", "-f=${binary:Package}\t${db:Status-Abbrev}\n"))
    assert {name: status[name] for name in held} == dict.fromkeys(held, "hi ")
    assert status["dkms"] == "ii "


# --- the published facts ------------------------------------------------------------------------------------

PLAY = """\
- hosts: localhost
  gather_facts: false
  vars:
    ansible_facts: {facts}
    __gpu_driver_options: {{branch: '535'}}
    __gpu_driver_version_query: {{rc: 0, stdout: "535.261.03-1\\n"}}
    __gpu_driver_install: {{changed: true}}
    __gpu_driver_secret_urls: false
    gpu_driver_reboot: false
  tasks:
    - ansible.builtin.include_tasks: {finish}
    - ansible.builtin.copy:
        dest: {out}
        content: >-
          {{{{ {{'fact': torchfleet_gpu_driver, 'old_names': [gpu_driver_installed is defined,
                gpu_driver_reboot_required is defined]}} | to_json }}}}
        mode: "0600"
"""


@pytest.mark.skipif(not shutil.which("ansible-playbook"), reason="ansible-playbook is not installed")
def test_finish_publishes_torchfleet_gpu_driver_and_no_fact_named_like_an_input(tmp_path):
    out = tmp_path / "facts.json"
    play = tmp_path / "play.yml"
    play.write_text(
        PLAY.format(facts=json.dumps(DEBIAN12), finish=ROLE / "tasks" / "finish.yml", out=out), encoding="utf-8"
    )
    collections = Path(dr.__file__).parents[5]  # <dir>/ansible_collections/torchfleet/lab/plugins/module_utils
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    run = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(play),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    published = json.loads(out.read_text(encoding="utf-8"))
    fact = published["fact"]
    assert fact["installed"] == {
        "branch": 535,
        "version": "535.261.03-1",
        "flavor": "proprietary",
        "source": "distro",
        "packages": dr.debian_distro_packages(535, "proprietary"),
        "module_built": True,
    }
    assert fact["reboot_required"] is True
    assert "driver packages or the nouveau blacklist changed" in fact["reboot_why"]
    # gpu_driver_installed and gpu_driver_reboot_required would read like inputs of the role: not published.
    assert published["old_names"] == [False, False]
