"""What a lab admin checks on the two default-scenario hosts after site.yml ran."""

from __future__ import annotations

import json
import shlex

import yaml

TORCH = "2.13.0"
PYTHON = "3.11"


def _torch_version(host, python):
    cmd = host.run(f"{python} -c 'import torch, sys; print(torch.__version__); print(sys.version.split()[0])'")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.split()


# --- conda at system scope -------------------------------------------------------------------

CONDA_PREFIX = "/opt/miniconda3"
CONDA_ENV = f"{CONDA_PREFIX}/envs/pytorch_env"


def test_conda_env_imports_the_asked_torch(conda_host):
    version, python = _torch_version(conda_host, f"{CONDA_ENV}/bin/python")
    assert version.split("+")[0] == TORCH
    assert version.endswith("+cpu")
    assert python.startswith(PYTHON + ".")


def test_extra_packages_are_installed_in_both_environments(conda_host, uv_host):
    for host, env in ((conda_host, CONDA_ENV), (uv_host, UV_ENV)):
        cmd = host.run(f"{env}/bin/python -c 'import packaging; print(packaging.__version__)'")
        assert cmd.rc == 0, cmd.stderr


def test_conda_env_trains_a_step(conda_host):
    script = (
        "import torch; torch.manual_seed(0); w = torch.zeros(1, requires_grad=True); "
        "x = torch.tensor([1.0, 2.0, 3.0]); y = 2 * x; opt = torch.optim.SGD([w], lr=0.05)\n"
        "for _ in range(200):\n    opt.zero_grad(); loss = ((w * x - y) ** 2).mean(); loss.backward(); opt.step()\n"
        "print(round(w.item(), 3))"
    )
    cmd = conda_host.run(f"{CONDA_ENV}/bin/python -c {shlex.quote(script)}")
    assert cmd.rc == 0, cmd.stderr
    assert abs(float(cmd.stdout.strip()) - 2.0) < 0.01


def test_conda_install_is_root_owned_and_not_group_writable(conda_host):
    for path in (CONDA_PREFIX, f"{CONDA_PREFIX}/bin/conda", CONDA_ENV):
        f = conda_host.file(path)
        assert f.exists, path
        assert f.user == "root" and f.group == "root", path
        assert not f.mode & 0o022, f"{path} is group/world writable: {oct(f.mode)}"


def test_conda_knows_the_environment(conda_host):
    out = conda_host.check_output(f"{CONDA_PREFIX}/bin/conda env list --json")
    assert CONDA_ENV in json.loads(out)["envs"]
    listing = json.loads(conda_host.check_output(f"{CONDA_PREFIX}/bin/conda list --json -p {CONDA_ENV}"))
    torch = [p for p in listing if p["name"] == "torch"]
    assert torch and torch[0]["channel"] == "pypi" and torch[0]["version"].startswith(TORCH)


def test_condarc_holds_the_managed_settings(conda_host):
    rc = conda_host.file(f"{CONDA_PREFIX}/.condarc")
    assert rc.exists and rc.user == "root" and rc.mode == 0o644
    content = yaml.safe_load(rc.content_string)
    assert content["channels"] == ["defaults"]
    assert content["channel_priority"] == "strict"
    assert content["auto_update_conda"] is False


def test_anaconda_terms_were_accepted_explicitly(conda_host):
    # The stand-in refuses the defaults channels without a record, like conda-anaconda-tos.
    cmd = conda_host.run(f"{CONDA_PREFIX}/bin/conda tos view --json")
    assert cmd.rc == 0, cmd.stderr
    view = json.loads(cmd.stdout)
    accepted = {url for url, record in view.items() if record and record.get("tos_accepted")}
    assert {"https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"} <= accepted


def test_conda_install_marker_records_the_verified_installer(conda_host):
    marker = json.loads(conda_host.file(f"{CONDA_PREFIX}/conda-meta/torchfleet-install.json").content_string)
    assert marker["distribution"] == "miniconda"
    assert marker["version"] == "py311_25.11.1-1"
    assert len(marker["sha256"]) == 64
    installer = conda_host.file(f"/var/cache/torchfleet/{marker['installer']}")
    assert installer.exists and installer.sha256sum == marker["sha256"]


def test_conda_env_record_matches_the_install(conda_host):
    record = json.loads(conda_host.file(f"{CONDA_ENV}/torchfleet-env.json").content_string)
    assert record["resolved"]["torch"] == TORCH
    assert record["resolved"]["compute"] == "cpu"
    assert record["installed"]["torch"].split("+")[0] == TORCH


# --- uv at user scope ------------------------------------------------------------------------

HOME = "/home/student"
UV_ENV = f"{HOME}/.local/share/torchfleet/envs/pytorch_env"


def test_uv_env_imports_the_asked_torch(uv_host):
    version, python = _torch_version(uv_host, f"{UV_ENV}/bin/python")
    assert version.split("+")[0] == TORCH
    assert python.startswith(PYTHON + ".")


def test_uv_env_belongs_to_the_user(uv_host):
    for path in (f"{HOME}/.local/bin/uv", UV_ENV, f"{UV_ENV}/pyvenv.cfg", f"{UV_ENV}/torchfleet-env.json"):
        f = uv_host.file(path)
        assert f.exists, path
        assert f.user == "student", path
    assert uv_host.file(f"{HOME}/.local/bin/uv").mode == 0o755


def test_uv_host_has_no_conda_and_no_system_paths(uv_host):
    for path in ("/opt/miniconda3", "/opt/torchfleet", "/var/cache/torchfleet"):
        assert not uv_host.file(path).exists, path


def test_nothing_written_outside_the_home(uv_root):
    # Files changed after prepare, outside the user's home and the kernel/volatile trees. Prepare itself
    # connected as root, so root's Ansible temp directory and the marker's directory are left out.
    pruned = ["/proc", "/sys", "/dev", "/run", "/tmp", "/home/student", "/root/.ansible", "/var/lib/torchfleet-test"]
    prune = " -o ".join(f"-path {p}" for p in pruned)
    cmd = uv_root.run(f"find / -xdev \\( {prune} \\) -prune -o -newer /var/lib/torchfleet-test/before-converge -print")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.split() == [], cmd.stdout
    owned = uv_root.run("find / -xdev -user student -not -path '/home/student*' -not -path '/proc/*' -print")
    assert owned.stdout.split() == []
