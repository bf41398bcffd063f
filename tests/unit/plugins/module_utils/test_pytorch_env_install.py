"""pytorch_env's input checks, label pins, build check, uv command lines and uv's Python directory.

The real pip and uv run these command lines in test_pytorch_env_real_tools.py; here the decisions are pinned
for every OS without running anything.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.pytorch_env import FilterModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env as ce
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

FILTERS = FilterModule().filters()
LINUX = {"system": "Linux", "machine": "x86_64", "home": "/home/student", "windows": False}
WINDOWS = {"system": "Windows", "machine": "x86_64", "home": "C:\\Users\\lab", "windows": True}
MAC = {"system": "Darwin", "machine": "arm64", "home": "/Users/ana", "windows": False}
BUILD = {"torch": "2.13.0", "torchvision": "0.28.0", "torchaudio": "2.11.1", "python": "3.11", "compute": "cu128"}


# ------------------------------------------------------------------------------------------- versions (item 1)
# 2.1 is what YAML makes of an unquoted 2.10, and what Ansible's INI inventory makes of pytorch_version=2.10 and
# of pytorch_version="2.10" (checked with ansible-core 2.19; ini.py _parse_value uses ast.literal_eval).
@pytest.mark.parametrize(
    ("variable", "value", "example"),
    [("pytorch_version", 2.1, "2.10"), ("pytorch_version", 2, "2.10"), ("pytorch_python_version", 3.1, "3.10")],
)
def test_a_version_that_arrived_as_a_number_is_refused_with_how_to_quote_it(variable, value, example):
    options = {"version": "2.13.0", "python": "3.11"}
    options["version" if variable == "pytorch_version" else "python"] = value
    with pytest.raises(pe.LayoutError) as caught:
        pe.check_inputs(**options)
    message = str(caught.value)
    assert variable in message and repr(value) in message
    assert f"{variable}: '{example}'" in message  # YAML
    assert f"{variable}=\"'{example}'\"" in message  # INI


def test_the_filter_refuses_a_number_and_passes_strings():
    with pytest.raises(AnsibleFilterError, match="quote it"):
        FILTERS["pytorch_env_check_inputs"]({"version": 2.1, "python": "", "extra_packages": [], "index_url": ""})
    ok = {"version": "2.10", "python": "3.10", "extra_packages": ["numpy<3", "pkg[x]>=1; python_version>'3'"]}
    assert FILTERS["pytorch_env_check_inputs"](dict(ok, index_url="https://download.pytorch.org/whl/cu128"))


# ------------------------------------------------------------------------------------ package lists (issue 12)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["--index-url=http://127.0.0.1:9/evil", "numpy"], "'--index-url=http://127.0.0.1:9/evil' is an option"),
        (["-r", "requirements.txt"], "'-r' is an option"),
        (["numpy", " --pre"], "' --pre' is an option"),
        ("numpy", "must be a list"),
        (["numpy", 3], "3 is not a requirement"),
        (["./local/pkg"], "not a PEP 508 requirement"),
        (["numpy\n--index-url=x"], "not a PEP 508 requirement"),
    ],
)
def test_extra_packages_must_be_requirements(value, message):
    with pytest.raises(pe.LayoutError, match="pytorch_env_extra_packages") as caught:
        pe.check_requirements("pytorch_env_extra_packages", value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://mirror/simple", "http:///simple", "file://", "https://host:99999/simple", "javascript:x"],
)
def test_an_index_url_must_be_a_parsed_url(url):
    with pytest.raises(pe.LayoutError, match="pytorch_env_index_url"):
        pe.check_index_url("pytorch_env_index_url", url)


def test_an_index_url_password_is_not_shown():
    with pytest.raises(pe.LayoutError) as caught:
        pe.check_index_url("pytorch_env_index_url", "ftp://user:s3cret@host/simple")
    assert "s3cret" not in str(caught.value)
    for url in ("", "https://download.pytorch.org/whl/cu128", "http://u:p@127.0.0.1:8765/whl/cpu", "file:///srv/i"):
        assert pe.check_index_url("pytorch_env_index_url", url) == url


# ------------------------------------------------------------------------------------------ labels (item 2)
@pytest.mark.parametrize(
    ("compute", "system", "machine", "general", "user", "label"),
    [
        ("cpu", "Linux", "x86_64", False, False, "cpu"),
        ("cu128", "Linux", "x86_64", False, False, "cu128"),
        ("rocm6.4", "Linux", "x86_64", False, False, "rocm6.4"),
        ("cu130", "Windows", "x86_64", False, False, "cu130"),
        ("cpu", "Windows", "x86_64", False, False, "cpu"),
        # PyPI's own builds (the default CUDA build on Linux x86_64) never carry a label.
        ("cu128", "Linux", "x86_64", True, False, ""),
        # macOS wheels carry none, also on /whl/cpu; MPS is the CPU wheel.
        ("mps", "Darwin", "arm64", False, False, ""),
        # Linux aarch64 changed over time; a user's own index is not known: no label pinned.
        ("cpu", "Linux", "aarch64", False, False, None),
        ("cu128", "Linux", "x86_64", False, True, None),
    ],
)
def test_expected_label(compute, system, machine, general, user, label):
    assert pe.expected_label(compute, system, machine, general, user) == label


def test_pins_follow_the_label():
    assert pe.pinned_requirements(BUILD, ["torch", "torchaudio"], "cu128") == [
        "torch==2.13.0+cu128",
        "torchaudio==2.11.1+cu128",
    ]
    assert pe.pinned_requirements(BUILD, ["torch", "torchvision"], "") == ["torch===2.13.0", "torchvision===0.28.0"]
    assert pe.pinned_requirements(dict(BUILD, torchaudio=None), ["torch", "torchaudio"], None) == ["torch==2.13.0"]


@pytest.mark.parametrize(
    ("compute", "version", "cuda", "hip", "problem"),
    [
        ("cpu", "2.13.0+cpu", None, None, ""),
        ("cpu", "2.13.0", None, None, ""),
        ("mps", "2.13.0", None, None, ""),
        ("cu128", "2.13.0", "12.8", None, ""),
        ("cu128", "2.13.0+cu128", "12.8", None, ""),
        ("rocm6.4", "2.13.0+rocm6.4", None, "6.4.1", ""),
        ("cpu", "2.13.0+cu128", "12.8", None, "is the cu128 build, not cpu"),
        ("cpu", "2.13.0", "12.8", None, "is a CUDA 12.8 build, not cpu"),
        ("cu130", "2.13.0+cu128", "12.8", None, "is the cu128 build, not cu130"),
        ("cu130", "2.13.0", "12.8", None, "built for CUDA 12.8, not 13.0"),
        ("cu128", "2.13.0", None, None, "built for CUDA none, not 12.8"),
        ("rocm6.4", "2.13.0", None, None, "no ROCm"),
        ("cpu", "2.13.0", None, "6.4", "is a ROCm"),
    ],
)
def test_build_mismatch(compute, version, cuda, hip, problem):
    found = FILTERS["pytorch_env_build_mismatch"](compute, version, cuda, hip)
    assert (problem in found) if problem else found == ""
    assert bool(found) is bool(problem)


# --------------------------------------------------------------------------- uv command lines (items 3, 11.4)
def test_uv_commands_shut_out_host_configuration_and_put_the_build_index_first():
    layout = pe.layout(LINUX, "lab", manager="uv", scope="system", uv_version="0.13.9", uv_base_url="http://m/uv")
    plan = pe.install_plan(layout, dict(BUILD, compute="cpu"), packages=["torch"], index="http://m/whl/cpu",
                           general_index="http://m/pypi/simple", extra_packages=["numpy<3"])  # fmt: skip
    torch = plan["uv_torch"]
    assert torch[0] == "env"
    unset = [torch[i + 1] for i, arg in enumerate(torch) if arg == "-u"]
    assert {"UV_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_TORCH_BACKEND"} <= set(unset)
    uv = torch[torch.index("/opt/torchfleet/bin/uv") :]
    assert uv == [
        "/opt/torchfleet/bin/uv", "pip", "install", "--no-config", "--python", "/opt/torchfleet/envs/lab/bin/python",
        "--index-strategy", "first-index", "--index", "http://m/whl/cpu", "--default-index", "http://m/pypi/simple",
        "torch==2.13.0+cpu",
    ]  # fmt: skip
    extra = plan["uv_extra"]
    assert "--index" not in extra and extra[-3:] == ["--default-index", "http://m/pypi/simple", "numpy<3"]
    venv = plan["uv_venv"]
    assert venv[venv.index("/opt/torchfleet/bin/uv") :] == [
        "/opt/torchfleet/bin/uv", "venv", "--no-config", "--python", "3.11", "--seed", "--default-index",
        "http://m/pypi/simple", "/opt/torchfleet/envs/lab",
    ]  # fmt: skip


def test_a_build_pypi_serves_uses_one_index_and_windows_has_no_env():
    layout = pe.layout(WINDOWS, "lab", manager="uv", scope="system", uv_version="0.13.9", uv_base_url="http://m/uv")
    plan = pe.install_plan(layout, BUILD, packages=["torch"], index="https://pypi.org/simple",
                           general_index="https://pypi.org/simple", dry_run=True)  # fmt: skip
    assert plan["uv_torch"] == [
        "C:\\ProgramData\\torchfleet\\bin\\uv.exe", "pip", "install", "--no-config", "--python",
        "C:\\ProgramData\\torchfleet\\envs\\lab\\Scripts\\python.exe", "--index-strategy", "first-index",
        "--dry-run", "--default-index", "https://pypi.org/simple", "torch===2.13.0",
    ]  # fmt: skip
    assert plan["uv_extra"] is None


# ------------------------------------------------------------------------------------- pip (conda_env module)
def test_pip_installs_the_build_from_its_index_alone_then_the_dependencies():
    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(pip_index_url="http://m/pypi/simple", pip_build_index_url="http://m/whl/cpu")
    first, second = ce.pip_commands(params, "/opt/c/envs/lab", ["torch==2.13.0+cpu"], "Linux")
    assert first[:6] == ["/opt/c/envs/lab/bin/python", "-c", ce.PIP_LAUNCHER, "pip", "install", "--isolated"]
    assert first[-4:] == ["--no-deps", "--index-url", "http://m/whl/cpu", "torch==2.13.0+cpu"]
    assert "--extra-index-url" not in first
    assert second[-5:] == ["--index-url", "http://m/pypi/simple", "--extra-index-url", "http://m/whl/cpu",
                           "torch==2.13.0+cpu"]  # fmt: skip
    assert "--no-deps" not in second
    assert "os.devnull" in ce.PIP_LAUNCHER
    params.update(pip_build_index_url=None)
    assert len(ce.pip_commands(params, "/opt/c/envs/lab", ["numpy"], "Linux")) == 1


# --------------------------------------------------------------------------------- uv's Pythons (item 7)
@pytest.mark.parametrize(
    ("host", "scope", "expected"),
    [
        (LINUX, "system", "/opt/torchfleet/python"),
        (WINDOWS, "system", "C:\\ProgramData\\torchfleet\\python"),
        (MAC, "system", "/opt/torchfleet/python"),
        # A user's environment keeps uv's default, in that user's own home.
        (LINUX, "user", ""),
        (WINDOWS, "user", ""),
        (MAC, "user", ""),
    ],
)
def test_uv_pythons_of_a_system_environment_go_to_a_shared_directory(host, scope, expected):
    layout = pe.layout(host, "lab", manager="uv", scope=scope, uv_version="0.13.9", uv_base_url="http://m/uv")
    assert layout["uv"]["python_install_dir"] == expected


def test_pip_reinstall_forces_the_first_run_only():
    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(pip_index_url="https://pypi.org/simple", pip_reinstall=True)
    first, second = ce.pip_commands(params, "/opt/c/envs/lab", ["torch==2.13.0"], "Linux")
    assert first[-5:] == ["--force-reinstall", "--no-deps", "--index-url", "https://pypi.org/simple", "torch==2.13.0"]
    assert "--force-reinstall" not in second and "--extra-index-url" not in second


def test_a_satisfied_requirement_is_installed_again_when_asked():
    class Host:
        system = "Linux"
        check_mode = False

        def __init__(self):
            self.calls = []

        def run(self, argv, read_only=True):
            self.calls.append(argv)
            if argv[1:2] == ["env"]:
                return 0, '{"envs": ["/opt/c", "/opt/c/envs/lab"]}', ""
            if argv[1:2] == ["list"]:
                return 0, '[{"name": "pip", "version": "24.2"}, {"name": "torch", "version": "2.13.0"}]', ""
            return 0, "Successfully installed torch-2.13.0\n", ""

        @staticmethod
        def is_file(path):
            return True

        @staticmethod
        def usable_dir(path):
            return True

        @staticmethod
        def abspath(path):
            return path

    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(prefix="/opt/c/envs/lab", pip_requirements=["torch==2.13.0"], pip_index_url="https://pypi.org/simple")
    host = Host()
    assert ce.CondaEnv(params, host, "/opt/c/bin/conda").run()["changed"] is False
    host = Host()
    result = ce.CondaEnv(dict(params, pip_reinstall=True), host, "/opt/c/bin/conda").run()
    assert result["changed"] is True
    assert any("--force-reinstall" in call for call in host.calls)


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ('{"version": "2.13.0+cu128", "cuda": "12.8", "hip": null}\n', "is the cu128 build, not cpu"),
        ('{"version": "2.13.0", "cuda": null, "hip": null}\n', ""),
        ('{"version": null, "cuda": null, "hip": null}\n', ""),  # no torch yet
        ("", ""),  # the read did not run
        ("Traceback (most recent call last):\n", ""),
    ],
)
def test_reinstall_needed_reads_the_script_output(stdout, reason):
    found = FILTERS["pytorch_env_reinstall_needed"]("cpu", stdout)
    assert (reason in found) if reason else found == ""


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        ("lab1 pytorch_version=2.10", True),
        ('lab1 pytorch_version="2.10"', True),
        ("lab1 pytorch_version='2.10'", True),
        ("lab1 pytorch_version=\"'2.10'\"", False),
    ],
)
def test_ini_inventory_values_as_ansible_reads_them(tmp_path, line, refused):
    """The real INI inventory plugin: host-line values go through ast.literal_eval after unquoting."""
    from ansible.inventory.manager import InventoryManager  # noqa: PLC0415 -- heavy, only here
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415

    inventory = tmp_path / "hosts.ini"
    inventory.write_text(line + "\n")
    value = InventoryManager(loader=DataLoader(), sources=[str(inventory)]).get_host("lab1").vars["pytorch_version"]
    if refused:
        assert value == 2.1
        with pytest.raises(pe.LayoutError, match="quote it"):
            pe.check_version_text("pytorch_version", value, "2.10")
    else:
        assert pe.check_version_text("pytorch_version", value, "2.10") == "2.10"
