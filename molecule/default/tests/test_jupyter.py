"""A notebook runs headless through each host's registered kernel (nbclient), as a student's would.

tf-conda registers its conda environment system-wide; the notebook runs there as ``nobody``, a user with no kernels
of its own, so the kernel can only come from the system-wide directory. The conda environment holds ipykernel only,
so nbclient comes from the lab mirror into a throw-away directory of that user's (pip --target, on sys.path of the
runner alone: the kernel process starts with the environment exactly as registered). tf-uv registers a per-user
kernel for ``student`` and installs JupyterLab, which brings nbclient into the environment; the notebook runs there
as ``student``.
"""

from __future__ import annotations

import base64
import json
import os
import shlex

TORCH_BUILD = "2.13.0+cpu"
CONDA_PYTHON = "/opt/miniconda3/envs/pytorch_env/bin/python"
UV_PYTHON = "/home/student/.local/share/torchfleet/envs/pytorch_env/bin/python"
MIRROR = f"http://127.0.0.1:{os.environ.get('TORCHFLEET_MIRROR_PORT', '8765')}"

# The cell a student would run: import torch, train a tiny model a few steps, print the build.
CELL = """\
import sys
import torch
torch.manual_seed(0)
x = torch.randn(64, 3)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
losses = []
for _ in range(30):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("torch", torch.__version__)
print("loss", losses[0], losses[-1])
print("python", sys.executable)
"""

# Runs on the host: builds the notebook with nbformat, executes it with nbclient through the named kernel (a cell
# error raises CellExecutionError, so the script fails), prints where the kernel spec was found and the outputs.
RUNNER = """\
import json, sys
if len(sys.argv) > 2:
    sys.path.insert(0, sys.argv[2])
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
name, cell = sys.argv[1], sys.stdin.read()
nb = nbformat.v4.new_notebook()
nb.cells.append(nbformat.v4.new_code_cell(cell))
NotebookClient(nb, kernel_name=name, timeout=300).execute()
print(json.dumps({"spec": KernelSpecManager().find_kernel_specs().get(name), "outputs": nb.cells[0].outputs}))
"""


def _run_notebook(host, runner_python, kernel, extra_path="", user_prefix=""):
    script = base64.b64encode(RUNNER.encode()).decode()
    cell = base64.b64encode(CELL.encode()).decode()
    args = " ".join(shlex.quote(a) for a in (kernel, extra_path) if a)
    inner = f'echo {cell} | base64 -d | {runner_python} -c "$(echo {script} | base64 -d)" {args}'
    cmd = f"{user_prefix}sh -c {shlex.quote(inner)}"
    result = host.run(cmd)
    assert result.rc == 0, f"the notebook failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not [o for o in report["outputs"] if o.get("output_type") == "error"], report["outputs"]
    text = "".join(o.get("text", "") for o in report["outputs"] if o.get("output_type") == "stream")
    lines = dict(line.split(" ", 1) for line in text.splitlines())
    return report["spec"], lines


def _check_run(lines, python):
    assert lines["torch"] == TORCH_BUILD
    first, last = (float(v) for v in lines["loss"].split())
    assert last < first / 2, lines["loss"]
    assert lines["python"] == python


def _kernel_json(host, path):
    return json.loads(host.file(path).content_string)


def test_system_kernel_spec_starts_the_conda_environment(conda_host):
    path = "/usr/local/share/jupyter/kernels/pytorch_env/kernel.json"
    f = conda_host.file(path)
    assert f.user == "root" and f.mode == 0o644
    spec = _kernel_json(conda_host, path)
    assert spec["argv"] == [CONDA_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == "PyTorch 2.13.0 (cpu)"


def test_user_kernel_spec_starts_the_uv_environment(uv_host):
    path = "/home/student/.local/share/jupyter/kernels/torch-uv/kernel.json"
    f = uv_host.file(path)
    assert f.user == "student"
    spec = _kernel_json(uv_host, path)
    assert spec["argv"][:3] == [UV_PYTHON, "-m", "ipykernel_launcher"]
    assert spec["display_name"] == "PyTorch (uv, student)"


def test_jupyterlab_is_in_the_uv_environment_only(uv_host, conda_host):
    lab = uv_host.run(f"{UV_PYTHON.rsplit('/', 1)[0]}/jupyter-lab --version")
    assert lab.rc == 0, lab.stderr
    assert lab.stdout.strip().startswith("4.")
    assert conda_host.run(f"{CONDA_PYTHON} -c 'import jupyterlab'").rc != 0


def test_notebook_runs_on_the_system_kernel_as_another_user(conda_host):
    # nobody has no kernels of its own: the spec must come from the system-wide directory.
    home = conda_host.check_output("runuser -u nobody -- mktemp -d /tmp/nb-XXXXXX")
    try:
        install = conda_host.run(
            f"runuser -u nobody -- env HOME={home} {CONDA_PYTHON} -m pip install --quiet --disable-pip-version-check "
            f"--isolated --target {home}/lib --index-url {MIRROR}/pypi/simple nbclient"
        )
        assert install.rc == 0, install.stderr
        spec, lines = _run_notebook(
            conda_host, CONDA_PYTHON, "pytorch_env", f"{home}/lib", user_prefix=f"runuser -u nobody -- env HOME={home} "
        )
    finally:
        conda_host.run(f"rm -rf {home}")
    assert spec == "/usr/local/share/jupyter/kernels/pytorch_env"
    _check_run(lines, CONDA_PYTHON)


def test_notebook_runs_on_the_user_kernel(uv_host):
    spec, lines = _run_notebook(uv_host, UV_PYTHON, "torch-uv")
    assert spec == "/home/student/.local/share/jupyter/kernels/torch-uv"
    _check_run(lines, UV_PYTHON)
