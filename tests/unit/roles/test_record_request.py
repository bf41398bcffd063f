"""roles/pytorch_env/vars/main.yml __pytorch_env_record_request: what a verified run records and a re-run compares
(torchfleet.lab.pytorch_env_state). Every package an install command asks for must be in it, so that asking for
another one (JupyterLab after the kernel, an extra package) takes the full path instead of being skipped."""

from __future__ import annotations

from .test_secret_urls import _render, _role_vars


def _trusted(value):
    """The role variable's templates, nested ones included, as the role's own files would be (trusted)."""
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    return _render(value, **SCOPE) if isinstance(value, str) and "{{" in value else value


def record_request(plan):
    SCOPE.clear()
    SCOPE.update(_role_vars("pytorch_env"), __pytorch_env_plan=plan, **VALUES)
    return _trusted(_role_vars("pytorch_env")["__pytorch_env_record_request"])


SCOPE = {}

VALUES = {
    "torchfleet_pytorch_release": {"requested": "2.13"},
    "pytorch_python_version": "3.11",
    "pytorch_compute": "auto",
    "pytorch_env_packages": ["torch"],
    "__pytorch_env_build": {"torch": "2.13.0", "compute": "cpu", "python": "3.11"},
    "pytorch_env_manager": "uv",
    "__pytorch_env_index": "http://mirror.lab/whl/cpu",
    "pytorch_env_source": "pip",
    "__pytorch_env": {"verify_device": "cpu"},
    "pytorch_env_uv_version": "0.13.9",
    "ansible_facts": {},
    "__pytorch_env_requirements": ["torch==2.13.0+cpu"],
    "pytorch_env_extra_packages": ["numpy<3"],
}


def test_the_recorded_requirements_are_those_of_both_install_steps():
    # The plan's extra step: the extra packages, then what Jupyter needs (module_utils/_pytorch_env.py install_plan).
    plan = {"extra": ["numpy<3", "ipykernel", "jupyterlab"]}
    record = record_request(plan)
    assert record["requirements"] == ["torch==2.13.0+cpu", "numpy<3", "ipykernel", "jupyterlab"]
    assert record["uv"] == "0.13.9" and record["source"] == "pip" and record["nvidia_driver"] == ""


def test_asking_for_jupyterlab_changes_the_record():
    kernel_only = {"extra": ["numpy<3", "ipykernel"]}
    with_lab = {"extra": ["numpy<3", "ipykernel", "jupyterlab"]}
    before = record_request(kernel_only)
    after = record_request(with_lab)
    assert before["requirements"] != after["requirements"]
