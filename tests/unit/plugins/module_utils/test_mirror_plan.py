"""The mirror role's planner: the layout the client roles read, one fetch per artifact, the pip steps, the
refusals, and PEP 503 indexes that the real pip accepts (and refuses when a sum does not match)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver
from ansible_collections.torchfleet.lab.plugins.module_utils import _mirror_plan as mp
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb
from ansible_collections.torchfleet.lab.plugins.module_utils import _trainers as tr
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate as v

MIRROR = "http://mirror.example:8080"
# The facts of a Debian 12 x86_64 host as ansible.builtin.setup reports them (the fields host_platform reads).
LINUX = {"system": "Linux", "machine": "x86_64", "architecture": "x86_64", "os_family": "Debian", "user_dir": "/root"}
BASE = {
    "pytorch_version": "2.13.0",
    "pytorch_python_version": "3.11",
    "pytorch_compute": "auto",
    "pytorch_env_manager": "uv",
    "pytorch_env_packages": ["torch"],
    "pytorch_env_extra_packages": [],
    "pytorch_env_uv_version": "0.13.9",
    "miniconda_distribution": "miniconda",
    "miniconda_version": "py311_25.11.1-1",
}
TORCH_WHEEL = "whl/cpu/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


def host(name="h1", gpu=None, glibc="2.36", facts=None, **settings):
    return mp.resolve_host(name, facts or LINUX, gpu or {}, glibc, dict(BASE, **settings))


def test_mirror_paths_are_the_urls_the_client_roles_build():
    uv_host, conda_host = host("uv"), host("conda", pytorch_env_manager="conda")
    result = mp.plan([uv_host, conda_host], {"miniconda/Miniconda3-py311_25.11.1-1-Linux-x86_64.sh": "/m.sh"})
    paths = {f["path"] for f in result["files"]}
    # pytorch_env: the build's index under <mirror>/whl, and the general index <mirror>/pypi/simple.
    build = tb.resolve("2.13.0", "Linux", "x86_64", python="3.11", index_base=MIRROR + "/whl")
    indexes = pe.choose_index(build, mirror=MIRROR)
    assert {MIRROR + "/" + s["dir"] for s in result["wheel_sets"] if s["kind"] == "torch"} == {indexes["torch"]}
    assert indexes["general"] == MIRROR + "/pypi/simple"
    # pytorch_env's uv download, and its .sha256 beside it.
    env = pe.layout(pe.host_platform(LINUX), "e", manager="uv", scope="system", uv_version="0.13.9",
                    uv_base_url=MIRROR + "/uv", compute="cpu")  # fmt: skip
    assert env["uv"]["url"][len(MIRROR) + 1 :] in paths
    # miniconda's installer, and trainers' MNIST files.
    installer = ci.installer("miniconda", "py311_25.11.1-1", "Linux", "x86_64", base_url=MIRROR)
    assert installer["url"][len(MIRROR) + 1 :] in paths
    assert {f"mnist/{name}" for name in tr.MNIST_FILES} <= paths


def test_hosts_with_the_same_needs_share_each_download():
    result = mp.plan([host("a"), host("b"), host("c")])
    torch_sets = [s for s in result["wheel_sets"] if s["kind"] == "torch"]
    assert len(torch_sets) == 1
    assert torch_sets[0]["hosts"] == ["a", "b", "c"]
    assert torch_sets[0]["requirements"] == ["torch==2.13.0+cpu"]
    uv = [f for f in result["files"] if f["what"] == "uv"]
    assert len(uv) == 1 and uv[0]["hosts"] == ["a", "b", "c"]


def test_each_python_and_build_gets_its_own_set():
    gpu = {"nvidia_driver": "580.65.06", "devices": [{"vendor": "nvidia", "compute_capability": "9.0"}]}
    result = mp.plan([host("a"), host("b", pytorch_python_version="3.12"), host("c", gpu=gpu)])
    torch_sets = [(s["dir"], s["python"]) for s in result["wheel_sets"] if s["kind"] == "torch"]
    cuda = tb.resolve("2.13.0", "Linux", "x86_64", python="3.11", nvidia_driver="580.65.06")["compute"]
    assert sorted(torch_sets) == sorted([("whl/cpu", "3.11"), ("whl/cpu", "3.12"), (f"whl/{cuda}", "3.11")])
    cuda_set = next(s for s in result["wheel_sets"] if s["dir"] == f"whl/{cuda}")
    assert cuda_set["requirements"] == [f"torch==2.13.0+{cuda}"]
    assert cuda_set["index"] == f"{mp.TORCH_INDEX}/{cuda}"


def test_uv_hosts_get_the_seed_packages_and_extras_from_pypi():
    result = mp.plan([host(pytorch_env_extra_packages=["numpy<3"])], pypi_requirements=["packaging"])
    pypi = next(s for s in result["wheel_sets"] if s["kind"] == "pypi")
    assert pypi["requirements"] == ["numpy<3", "packaging", "pip", "setuptools", "wheel"]
    assert mp.uv_seed_packages("3.12") == ["pip"]


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({}, []),
        ({"pytorch_env_jupyter_kernel": True}, ["ipykernel"]),
        ({"pytorch_env_jupyter_kernel": "True", "pytorch_env_jupyterlab": "yes"}, ["ipykernel", "jupyterlab"]),
        ({"pytorch_env_jupyter_kernel": False, "pytorch_env_jupyterlab": "false"}, []),
    ],
)
def test_jupyter_hosts_get_ipykernel_and_jupyterlab_from_pypi(switches, expected):
    result = mp.plan([host(**switches)])
    pypi = next(s for s in result["wheel_sets"] if s["kind"] == "pypi")
    # uv hosts also get uv venv --seed's pip, setuptools and wheel (Python 3.11).
    assert pypi["requirements"] == sorted([*expected, "pip", "setuptools", "wheel"])


def test_pip_steps_target_the_host_not_the_controller():
    result = mp.plan([host()])
    torch_set = next(s for s in result["wheel_sets"] if s["kind"] == "torch")
    remote, resolve = torch_set["steps"]
    assert remote[:2] == ["download", "--isolated"]
    assert remote[-4:] == ["--no-deps", "--index-url", f"{mp.TORCH_INDEX}/cpu", "torch==2.13.0+cpu"]
    joined = " ".join(resolve)
    assert "--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none" in joined
    assert "--platform manylinux_2_36_x86_64" in joined and "--platform manylinux2014_x86_64" in joined
    assert resolve[-5:] == ["--find-links", ".", "--index-url", mp.PYPI_SIMPLE, "torch==2.13.0+cpu"]


def test_local_wheels_replace_the_download_from_the_build_index():
    result = mp.plan([host()], {TORCH_WHEEL: "/w/torch.whl"})
    torch_set = next(s for s in result["wheel_sets"] if s["kind"] == "torch")
    assert torch_set["local"] == [{"path": TORCH_WHEEL, "src": "/w/torch.whl"}]
    assert torch_set["remote"] == []
    assert len(torch_set["steps"]) == 1
    assert torch_set["key"] != mp.plan([host()])["wheel_sets"][1]["key"]


def test_a_local_file_the_fleet_does_not_need_is_refused():
    with pytest.raises(mp.PlanError, match=r"mirror_local_files names paths the fleet does not need: whl/cu128/x\.whl"):
        mp.plan([host()], {"whl/cu128/x.whl": "/x"})


def test_a_download_nothing_can_verify_is_refused():
    # Anaconda publishes no sidecar and the collection knows no sum for this installer.
    with pytest.raises(mp.PlanError, match="miniconda_installer_sha256"):
        mp.plan([host(pytorch_env_manager="conda")])
    result = mp.plan([host(pytorch_env_manager="conda", miniconda_installer_sha256="a" * 64)])
    assert any(f["what"] == "miniconda" and f["sha256"] == "a" * 64 for f in result["files"])


def test_conflicting_pins_of_one_file_are_refused():
    first = host("a", pytorch_env_uv_sha256={"uv-x86_64-unknown-linux-gnu.tar.gz": "a" * 64})
    second = host("b", pytorch_env_uv_sha256={"uv-x86_64-unknown-linux-gnu.tar.gz": "b" * 64})
    with pytest.raises(mp.PlanError, match="give the hosts the same sum"):
        mp.plan([first, second])


def test_impossible_requests_name_the_host():
    with pytest.raises(mp.PlanError, match=r"^h1: "):
        host(pytorch_compute="rocm", facts=dict(LINUX, machine="aarch64", architecture="aarch64"))
    with pytest.raises(mp.PlanError, match="no fleet host"):
        mp.plan([])


@pytest.mark.parametrize(
    ("system", "machine", "version", "expected"),
    [
        ("Linux", "x86_64", "glibc 2.28", ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]),
        ("Linux", "aarch64", "2.17", ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]),
        ("Windows", "x86_64", "", ["win_amd64"]),
        ("Darwin", "arm64", "14.5", ["macosx_14_0_arm64", "macosx_11_0_arm64"]),
    ],
)
def test_platform_tags(system, machine, version, expected):
    tags = mp.platform_tags(system, machine, version)
    assert all(tag in tags for tag in expected)
    assert tags[0] == expected[0]


def test_linux_without_a_glibc_version_is_refused():
    with pytest.raises(mp.PlanError, match="getconf GNU_LIBC_VERSION"):
        mp.platform_tags("Linux", "x86_64", "")


def _files(plan, wheels):
    files = [{"path": f["path"], "sha256": hashlib.sha256(f["path"].encode()).hexdigest()} for f in plan["files"]]
    return files + [{"path": path, "sha256": digest} for path, digest in wheels.items()]


def test_release_writes_pep503_pages_with_sha256_fragments_and_sums():
    plan = mp.plan([host()])
    wheels = {TORCH_WHEEL: "1" * 64, "whl/cpu/typing_extensions-4.16.0-py3-none-any.whl": "2" * 64,
              "pypi/packages/pip-26.3-py3-none-any.whl": "3" * 64}  # fmt: skip
    release = mp.release(plan, _files(plan, wheels))
    pages = release["generated"]
    assert '<a href="typing-extensions/">typing-extensions</a>' in pages["whl/cpu/index.html"]
    assert (
        '<a href="../torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=' + "1" * 64 + '">'
        in pages["whl/cpu/torch/index.html"]
    )
    assert 'href="../../packages/pip-26.3-py3-none-any.whl#sha256=' in pages["pypi/simple/pip/index.html"]
    uv = "uv/0.13.9/uv-x86_64-unknown-linux-gnu.tar.gz"
    assert pages[uv + ".sha256"] == hashlib.sha256(uv.encode()).hexdigest() + "  uv-x86_64-unknown-linux-gnu.tar.gz\n"
    assert len(pages["mnist/SHA256SUMS"].splitlines()) == 4
    listed = {line.split("  ", 1)[1] for line in release["sums"].splitlines()}
    assert listed == set(wheels) | {f["path"] for f in plan["files"]} | set(pages)


def test_release_id_follows_the_content():
    plan = mp.plan([host()])
    one = mp.release(plan, _files(plan, {TORCH_WHEEL: "1" * 64}))
    assert one["id"] == mp.release(plan, _files(plan, {TORCH_WHEEL: "1" * 64}))["id"]
    assert one["id"] != mp.release(plan, _files(plan, {TORCH_WHEEL: "4" * 64}))["id"]
    with pytest.raises(mp.PlanError, match="fetched twice with different content"):
        mp.release(plan, [*_files(plan, {TORCH_WHEEL: "1" * 64}), {"path": TORCH_WHEEL, "sha256": "5" * 64}])


def _tiny_wheel(path):
    """A minimal wheel (PEP 427: METADATA, WHEEL and RECORD in <name>-<version>.dist-info)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tinypkg/__init__.py", "")
        archive.writestr("tinypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n")
        archive.writestr(
            "tinypkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr("tinypkg-1.0.dist-info/RECORD", "")


@pytest.mark.parametrize("good_sum", [True, False])
def test_the_real_pip_downloads_through_the_generated_index(tmp_path, good_sum):
    plan = {"files": [], "wheel_sets": [{"kind": "torch", "dir": "whl/cpu"}]}
    wheel = tmp_path / "whl" / "cpu" / "tinypkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    _tiny_wheel(wheel)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest() if good_sum else "0" * 64
    release = mp.release(plan, [{"path": "whl/cpu/tinypkg-1.0-py3-none-any.whl", "sha256": digest}])
    for path, text in release["generated"].items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    dest = tmp_path / "dest"
    cmd = [sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--dest", str(dest),
           "--index-url", (tmp_path / "whl" / "cpu").as_uri(), "tinypkg==1.0"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if good_sum:
        assert result.returncode == 0, result.stderr
        assert (dest / wheel.name).read_bytes() == wheel.read_bytes()
    else:
        assert result.returncode != 0
        assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("mirror_torch_index_url", "https://u:secret@idx.example/whl", "holds credentials"),
        ("mirror_pypi_url", "ftp://pypi.example/simple", "is not a http or https URL"),
        ("mirror_local_files", {"../etc/passwd": "/etc/passwd"}, "is not a path inside the mirror"),
        ("mirror_local_files", {"mnist/a.gz": "relative/a.gz"}, "mirror_local_files.mnist/a.gz"),
        ("mirror_keep_releases", -1, "mirror_keep_releases"),
        ("mirror_serve", "sometimes", "mirror_serve"),
        ("mirror_root", "/", "mirror_root"),
        ("mirror_pypi_requirements", ["--index-url=http://x"], "mirror_pypi_requirements[0]"),
    ],
)
def test_mirror_inputs_are_refused_with_the_variable_named(name, value, fragment):
    problems = v.validate_role("mirror", {name: value})
    assert problems and fragment in problems[0]
    assert "secret" not in " ".join(problems)


def test_good_mirror_inputs_pass():
    good = {"mirror_torch_index_url": mp.TORCH_INDEX, "mirror_local_files": {TORCH_WHEEL: "/w/t.whl"},
            "mirror_root": "/srv/torchfleet-mirror", "mirror_keep_releases": 0, "mirror_port": 8080}  # fmt: skip
    assert v.validate_role("mirror", good) == []


# --- NVIDIA files (mirror_nvidia) --------------------------------------------------------------------------------
# The GPU fact as torchfleet.lab.gpu_facts reports an A100 (tests/unit/plugins/module_utils/test_driver.py, gpu()).
A100 = {"vendor": "nvidia", "devices": [{"vendor": "nvidia", "name": "GPU", "pci_id": "10de:20b2",
        "compute_capability": "8.0"}], "secure_boot": False, "nvidia_driver": None}  # fmt: skip
KEYRING_SHA = "b" * 64
WINDOWS = {"system": "Win32NT", "machine": "AMD64", "architecture": "64-bit", "os_family": "Windows",
           "user_dir": "C:\\Users\\labadmin"}  # fmt: skip
DEBIAN12 = dict(LINUX, distribution="Debian", distribution_major_version="12", distribution_release="bookworm",
                kernel="6.1.0-28-amd64")  # fmt: skip


def nvidia_host(name="g1", facts=None, gpu=None, **settings):
    facts, gpu = facts or DEBIAN12, gpu or A100
    return mp.resolve_host(name, facts, gpu, "2.36", dict(BASE, **settings), nvidia=True)


def test_debian_gpu_hosts_get_the_cuda_keyring_the_gpu_driver_role_reads_once():
    hosts = [nvidia_host(n, gpu_driver_source="cuda", gpu_driver_cuda_keyring_sha256=KEYRING_SHA) for n in "ab"]
    result = mp.plan(hosts)
    (keyring,) = [f for f in result["files"] if f["path"].startswith("nvidia/")]
    # The path is the one gpu_driver builds from torchfleet_mirror_url, the source NVIDIA's repository.
    client = _driver.plan(dict(DEBIAN12, torchfleet_gpu=A100), source="cuda", cuda_keyring_sha256=KEYRING_SHA,
                          mirror_url=MIRROR, pytorch_version="2.13.0")  # fmt: skip
    assert MIRROR + "/" + keyring["path"] == client["repo"]["url"]
    assert keyring["url"] == _driver.CUDA_REPO_BASE + "/debian12/x86_64/cuda-keyring_1.1-1_all.deb"
    assert keyring["sha256"] == KEYRING_SHA and keyring["hosts"] == ["a", "b"]
    assert result["notes"] == []


def test_without_mirror_nvidia_or_a_gpu_nothing_nvidia_is_planned():
    plain = mp.plan([host("a", gpu=A100, facts=DEBIAN12, gpu_driver_source="cuda")])
    cpu_only = mp.plan([nvidia_host("b", gpu={"vendor": "none", "devices": []})])
    for result in (plain, cpu_only):
        assert not [f for f in result["files"] if f["path"].startswith("nvidia/")]


def test_a_debian_driver_from_the_distribution_needs_nothing_from_nvidia():
    result = mp.plan([nvidia_host(gpu_driver_source="distro")])
    assert not [f for f in result["files"] if f["path"].startswith("nvidia/")]


def test_the_keyring_without_a_sum_is_refused_with_gpu_drivers_own_message():
    with pytest.raises(mp.PlanError, match=r"g1 \(gpu_driver\): .*set gpu_driver_cuda_keyring_sha256"):
        nvidia_host(gpu_driver_source="cuda")


def test_the_windows_installer_comes_from_the_controller_and_is_checked_against_its_sum():
    settings = {"gpu_driver_windows_version": "580.88", "gpu_driver_windows_installer_sha256": "c" * 64}
    path = "nvidia/580.88-data-center-tesla-desktop-win10-win11-64bit-dch-international.exe"
    win = nvidia_host("w1", facts=WINDOWS, **settings)
    result = mp.plan([win], {path: "/srv/nvidia/installer.exe"})
    (installer,) = [f for f in result["files"] if f["path"] == path]
    assert installer["local"] == "/srv/nvidia/installer.exe" and installer["sha256"] == "c" * 64
    with pytest.raises(mp.PlanError, match=rf"{path} \(w1\) has no download address.*mirror_local_files"):
        mp.plan([win])


def test_a_windows_host_with_its_own_installer_url_needs_nothing_from_the_mirror():
    win = nvidia_host("w1", facts=WINDOWS, gpu_driver_windows_version="580.88",
                      gpu_driver_windows_installer_sha256="c" * 64,
                      gpu_driver_windows_installer_url="https://files.example/driver.exe")  # fmt: skip
    assert win["nvidia"] == []


def test_a_redhat_gpu_host_is_named_in_the_notes():
    rocky = dict(LINUX, os_family="RedHat", distribution="Rocky", distribution_major_version="9",
                 kernel="5.14.0-427.el9.x86_64")  # fmt: skip
    result = mp.plan([nvidia_host("r1", facts=rocky, gpu_driver_source="cuda")])
    assert not [f for f in result["files"] if f["path"].startswith("nvidia/")]
    (note,) = result["notes"]
    assert note.startswith("r1 reads NVIDIA's whole dnf repository from <mirror>/nvidia/repos/rhel9/x86_64/")


def test_mirror_nvidia_is_a_checked_boolean():
    assert v.validate_role("mirror", {"mirror_nvidia": "yes please"}) == [
        "mirror_nvidia='yes please' is not a boolean; give true or false."
    ]
    assert v.validate_role("mirror", {"mirror_nvidia": True}) == []
