"""The Jupyter kernel the pytorch_env role registers: where kernel.json goes per OS and scope, what it says, which
inputs are refused and when an existing kernel is left alone (module_utils/_pytorch_env.py, "Jupyter").

The directories are jupyter_core 5.9.1's defaults (jupyter_core/paths.py jupyter_data_dir, SYSTEM_JUPYTER_PATH);
kernel.json's fields are those ipykernel 7.4.0 writes (ipykernel/kernelspec.py get_kernel_dict).  Windows and macOS
are checked here only: the lab runs Linux containers.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter import pytorch_env as filters
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate as v

LINUX = pe.host_platform({"system": "Linux", "machine": "x86_64", "user_dir": "/home/student"})
MAC = pe.host_platform({"system": "Darwin", "machine": "arm64", "user_dir": "/Users/ana"})
WINDOWS = pe.host_platform({"system": "Win32NT", "architecture2": "x86_64", "user_dir": "C:\\Users\\lab"})


def _env(host, scope, manager="uv"):
    return pe.layout(host, "Torch_Env", manager=manager, scope=scope, uv_version="0.13.9", uv_base_url="https://x/uv")


def _kernel(host, scope, **options):
    options.setdefault("kernel", True)
    return pe.jupyter(_env(host, scope), "Torch_Env", torch="2.13.0", compute="cpu", **options)


@pytest.mark.parametrize(
    ("host", "scope", "kernels_dir"),
    [
        (LINUX, "system", "/usr/local/share/jupyter/kernels"),
        (LINUX, "user", "/home/student/.local/share/jupyter/kernels"),
        (MAC, "system", "/usr/local/share/jupyter/kernels"),
        (MAC, "user", "/Users/ana/Library/Jupyter/kernels"),
        (WINDOWS, "system", "C:\\ProgramData\\jupyter\\kernels"),
        (WINDOWS, "user", "C:\\Users\\lab\\AppData\\Roaming\\jupyter\\kernels"),
    ],
)
def test_kernel_goes_where_jupyter_searches_for_the_scope(host, scope, kernels_dir):
    kernel = _kernel(host, scope)
    sep = "\\" if host["windows"] else "/"
    assert kernel["kernels_dir"] == kernels_dir
    assert kernel["dir"] == kernels_dir + sep + "torch_env"
    assert kernel["file"] == kernels_dir + sep + "torch_env" + sep + "kernel.json"


@pytest.mark.parametrize("host", [LINUX, MAC, WINDOWS])
def test_kernel_json_starts_the_environment_with_ipykernel(host):
    env = _env(host, "user")
    kernel = _kernel(host, "user")
    spec = json.loads(kernel["content"])
    assert spec == kernel["spec"]
    assert spec["argv"] == [env["python"], "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["language"] == "python"
    assert spec["display_name"] == "PyTorch 2.13.0 (cpu)"
    assert spec["metadata"]["debugger"] is True
    assert spec["metadata"][pe.JUPYTER_MARKER] == {"env": env["prefix"]}
    assert kernel["content"].endswith("}\n")


def test_kernel_json_is_the_same_text_every_run():
    assert _kernel(LINUX, "system")["content"] == _kernel(LINUX, "system")["content"]


def test_windows_interpreter_in_kernel_json():
    assert _kernel(WINDOWS, "system")["spec"]["argv"][0] == (
        "C:\\ProgramData\\torchfleet\\envs\\Torch_Env\\Scripts\\python.exe"
    )


def test_names_given_are_used():
    kernel = _kernel(LINUX, "user", kernel_name="torch-2.13", display_name="PyTorch (course)")
    assert kernel["name"] == "torch-2.13"
    assert kernel["dir"].endswith("/kernels/torch-2.13")
    assert kernel["spec"]["display_name"] == "PyTorch (course)"


@pytest.mark.parametrize(
    ("kernel", "lab", "packages"),
    [(True, False, ["ipykernel"]), (True, True, ["ipykernel", "jupyterlab"]), (False, True, ["jupyterlab"])],
)
def test_packages_follow_the_switches(kernel, lab, packages):
    assert _kernel(LINUX, "system", kernel=kernel, lab=lab)["packages"] == packages


def test_nothing_asked_is_none():
    assert _kernel(LINUX, "system", kernel=False) is None


def test_lab_without_kernel_writes_no_kernel():
    assert _kernel(LINUX, "system", kernel=False, lab=True)["kernel"] is False


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"kernel_name": "Torch"}, "pytorch_env_jupyter_kernel_name 'Torch' is not a Jupyter kernel name"),
        ({"kernel_name": "torch env"}, "pytorch_env_jupyter_kernel_name"),
        ({"kernel_name": "../etc"}, "pytorch_env_jupyter_kernel_name"),
        ({"kernel_name": "a/b"}, "pytorch_env_jupyter_kernel_name"),
        ({"kernel_name": "x" * 65}, "pytorch_env_jupyter_kernel_name"),
        ({"kernel_name": 3}, "pytorch_env_jupyter_kernel_name"),
        ({"display_name": "two\nlines"}, "pytorch_env_jupyter_display_name"),
        ({"display_name": "x" * 129}, "keep it under 128"),
        ({"display_name": ["x"]}, "pytorch_env_jupyter_display_name"),
        ({"kernel": "yes"}, "pytorch_env_jupyter_kernel must be true or false"),
        ({"lab": 1}, "pytorch_env_jupyterlab must be true or false"),
    ],
)
def test_bad_jupyter_inputs_are_refused(options, match):
    with pytest.raises(pe.LayoutError, match=match):
        _kernel(LINUX, "system", **options)


def test_check_inputs_refuses_a_bad_kernel_name_before_anything_changes():
    with pytest.raises(AnsibleFilterError, match="lower-case"):
        filters.pytorch_env_check_inputs(
            {"version": "2.13.0", "python": "", "extra_packages": [], "index_url": "",
             "jupyter": {"kernel": True, "lab": False, "kernel_name": "My Kernel", "display_name": ""}}
        )  # fmt: skip
    assert filters.pytorch_env_check_inputs(
        {"version": "2.13.0", "jupyter": {"kernel": True, "lab": True, "kernel_name": "ok-1.2_x", "display_name": ""}}
    )


def test_user_scope_kernel_needs_a_home():
    env = dict(_env(LINUX, "user"), home="")
    with pytest.raises(pe.LayoutError, match="home directory"):
        pe.jupyter(env, "x", kernel=True)


# ------------------------------------------------------------------------------------------------ ownership
def test_a_free_place_may_be_written():
    assert pe.jupyter_kernel_owner(_kernel(LINUX, "system"), found=False) == ""


def test_the_roles_own_kernel_for_this_environment_may_be_rewritten():
    kernel = _kernel(LINUX, "system")
    old = dict(kernel["spec"], display_name="an older name")
    assert pe.jupyter_kernel_owner(kernel, True, json.dumps(old)) == ""


@pytest.mark.parametrize(
    ("content", "match"),
    [
        # What `python -m ipykernel install` writes: no marker.
        (json.dumps({"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                     "display_name": "Python 3 (ipykernel)", "language": "python",
                     "metadata": {"debugger": True}}), "was not written by torchfleet.lab"),
        ("", "was not written by torchfleet.lab"),  # a directory without kernel.json
        ("{not json", "was not written by torchfleet.lab"),
        ("[]", "was not written by torchfleet.lab"),
        (json.dumps({"metadata": {pe.JUPYTER_MARKER: "yes"}}), "was not written by torchfleet.lab"),
        (json.dumps({"metadata": {pe.JUPYTER_MARKER: {"env": "/opt/other/env"}}}), "another environment"),
    ],
)  # fmt: skip
def test_a_kernel_the_role_did_not_write_is_refused(content, match):
    message = pe.jupyter_kernel_owner(_kernel(LINUX, "system"), True, content)
    assert match in message
    assert "/usr/local/share/jupyter/kernels/torch_env" in message
    assert "pytorch_env_jupyter_kernel_name" in message


@pytest.mark.parametrize(("given", "expected"), [("True", True), ("yes", True), ("0", False), (False, False)])
def test_filter_reads_switches_as_ansible_booleans(given, expected):
    env = _env(LINUX, "system")
    kernel = filters.pytorch_env_jupyter(env, "x", kernel=given, lab=True)
    assert kernel["kernel"] is expected


def test_filter_refuses_a_switch_that_is_no_boolean():
    with pytest.raises(AnsibleFilterError, match="pytorch_env_jupyter_kernel must be true or false"):
        filters.pytorch_env_jupyter(_env(LINUX, "system"), "x", kernel="maybe")
    with pytest.raises(AnsibleFilterError, match="pytorch_env_jupyterlab must be true or false"):
        filters.pytorch_env_check_inputs({"version": "2.13.0", "jupyter": {"kernel": "true", "lab": "sometimes"}})


def test_owner_filter_needs_the_kernel():
    with pytest.raises(AnsibleFilterError, match="pytorch_env_jupyter"):
        filters.pytorch_env_jupyter_owner(None, True)


# ------------------------------------------------------------------------------------------------ install plan
def test_jupyter_packages_come_after_the_extra_packages_from_the_general_index():
    env = _env(LINUX, "user")
    build = {"torch": "2.13.0", "compute": "cpu", "python": "3.11", "torchvision": None, "torchaudio": None}
    plan = pe.install_plan(
        env, build, ["torch"], "http://m/whl/cpu", "http://m/pypi/simple",
        extra_packages=["packaging"], jupyter_packages=["ipykernel", "jupyterlab"],
    )  # fmt: skip
    assert plan["extra"] == ["packaging", "ipykernel", "jupyterlab"]
    argv = plan["uv_extra"]
    assert argv[-3:] == ["packaging", "ipykernel", "jupyterlab"]
    assert argv[argv.index("--default-index") + 1] == "http://m/pypi/simple"
    assert "--index" not in argv


def test_jupyter_packages_alone_get_an_install_command():
    env = _env(LINUX, "user")
    build = {"torch": "2.13.0", "compute": "cpu", "python": "3.11"}
    plan = pe.install_plan(
        env, build, ["torch"], "http://m/whl/cpu", "http://m/pypi/simple", jupyter_packages=["ipykernel"]
    )
    assert plan["extra"] == ["ipykernel"]
    assert plan["uv_extra"][-1] == "ipykernel"


# ------------------------------------------------------------------------------------------------ validate_inputs
@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("pytorch_env_jupyter_kernel", "maybe", "pytorch_env_jupyter_kernel"),
        ("pytorch_env_jupyterlab", [True], "pytorch_env_jupyterlab"),
        ("pytorch_env_jupyter_kernel_name", "My Kernel", "lower-case"),
        ("pytorch_env_jupyter_kernel_name", 12, "pytorch_env_jupyter_kernel_name"),
        ("pytorch_env_jupyter_display_name", "a\tb", "pytorch_env_jupyter_display_name"),
    ],
)
def test_validate_role_refuses_bad_jupyter_variables(name, value, fragment):
    problems = v.validate_role("pytorch_env", {name: value})
    assert len(problems) == 1
    assert fragment in problems[0]


def test_validate_role_passes_good_jupyter_variables():
    assert v.validate_role("pytorch_env", {
        "pytorch_env_jupyter_kernel": True, "pytorch_env_jupyterlab": False,
        "pytorch_env_jupyter_kernel_name": "torch-uv", "pytorch_env_jupyter_display_name": "PyTorch (uv, student)",
    }) == []  # fmt: skip


def test_sha1_is_stats_checksum_of_the_file_the_role_writes(tmp_path):
    # ansible.builtin.stat's checksum is the SHA-1 of the file's bytes (module_utils/basic.py digest_from_file).
    kernel = _kernel(LINUX, "system", display_name="PyTorch — ünïcode")
    path = tmp_path / "kernel.json"
    path.write_text(kernel["content"], encoding="utf-8")
    assert hashlib.sha1(path.read_bytes()).hexdigest() == kernel["sha1"]
    assert _kernel(LINUX, "system")["sha1"] != kernel["sha1"]
