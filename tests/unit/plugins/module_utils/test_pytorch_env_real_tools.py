"""The install commands of pytorch_env, run by the REAL pip and the REAL uv against local indexes.

The wheels are made here: tiny ``torch`` wheels that differ only in their local label (and in what their
``torch/version.py`` reports), a ``fakedep`` they require, and indexes laid out as PEP 503 simple indexes
(https://peps.python.org/pep-0503/: one directory per normalised project name with an ``index.html`` of links).
Nothing is downloaded: pip comes from the venv's ensurepip, uv is the uv of the dev venv (requirements-dev.txt
pins the release the role installs, roles/pytorch_env/defaults/main.yml).

The command lines are the role's own: ``_pytorch_env.install_plan`` (uv, install-uv.yml) and
``_conda_env.pip_commands`` (pip, the conda_env module).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env as ce
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

from ...conftest import UV, make_pip_venv, make_wheel

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv (requirements-dev.txt) is not installed"),
    pytest.mark.skipif(sys.platform == "win32", reason="the POSIX command lines (env -u) are run here"),
]

BUILD = {"torch": "2.13.0", "torchvision": None, "torchaudio": None, "python": "3.11"}
HOST = {"system": "Linux", "machine": "x86_64"}


# ------------------------------------------------------------------------------------------------ fixtures
def fake_torch(directory: Path, version: str, cuda=None, origin="build") -> Path:
    # torch/version.py carries __version__ and cuda as the real wheels do (torch.version.cuda).
    files = {
        "torch/__init__.py": "from .version import __version__, cuda, origin\n",
        "torch/version.py": f"__version__ = {version!r}\ncuda = {cuda!r}\nhip = None\norigin = {origin!r}\n",
    }
    return make_wheel(directory, "torch", version, files, requires=["fakedep>=1"])


def make_index(root: Path, wheels) -> str:
    """A PEP 503 simple index of the given wheels; returns its file:// URL."""
    projects = {}
    for wheel in wheels:
        projects.setdefault(wheel.name.split("-")[0].lower(), []).append(wheel)
    for project, files in projects.items():
        (root / project).mkdir(parents=True, exist_ok=True)
        links = "".join(f'<a href="{w.resolve().as_uri()}">{html.escape(w.name)}</a>\n' for w in files)
        (root / project / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    links = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
    (root / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return root.resolve().as_uri()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    base = tmp_path_factory.mktemp("indexes")
    wheels = base / "wheels"
    dep = make_wheel(wheels / "general", "fakedep", "1.0", {"fakedep/__init__.py": "origin = 'general'\n"})
    bogus_dep = make_wheel(wheels / "bogus", "fakedep", "9.0", {"fakedep/__init__.py": "origin = 'bogus'\n"})
    return {
        # Build indexes as download.pytorch.org lays them out: the build in the local label, no fakedep.
        "cpu": make_index(base / "cpu", [fake_torch(wheels / "cpu", "2.13.0+cpu")]),
        "cu128": make_index(base / "cu128", [fake_torch(wheels / "cu128", "2.13.0+cu128", cuda="12.8")]),
        # A build index without labels (macOS, older Linux aarch64): the bare version.
        "bare": make_index(base / "bare", [fake_torch(wheels / "bare", "2.13.0", origin="build")]),
        # The general index (PyPI): the default build without label, a higher torch (dependency confusion: a
        # name the build index serves, published higher elsewhere), and the dependency.
        "general": make_index(
            base / "general",
            [
                fake_torch(wheels / "pypi", "2.13.0", cuda="12.8", origin="general"),
                fake_torch(wheels / "pypi-high", "99.0.0", origin="general"),
                dep,
            ],
        ),
        # What host configuration points at: must never be used.
        "bogus": make_index(base / "bogus", [bogus_dep, fake_torch(wheels / "bogus-torch", "98.0.0", origin="bogus")]),
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One venv with pip; each test copies it, which is much faster than a new one."""
    return make_pip_venv(tmp_path_factory.mktemp("template") / "env")


def new_venv(template, prefix):
    # bin/python is a symlink to the base interpreter and pyvenv.cfg names that one: a copy is a working venv.
    shutil.copytree(template, prefix, symlinks=True)
    return prefix


@pytest.fixture
def env(template, tmp_path):
    """A venv described as layout() describes a uv environment."""
    prefix = new_venv(template, tmp_path / "env")
    return {
        "system": "Linux",
        "machine": "x86_64",
        "prefix": str(prefix),
        "python": str(prefix / "bin" / "python"),
        "uv": {"exe": UV},
    }


def clean_environ(tmp_path, **extra):
    """The test process's environment without pip/uv settings, with a config home of its own, plus extra."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "XDG_CONFIG"))}
    environ.update(XDG_CONFIG_HOME=str(tmp_path / "config"), UV_CACHE_DIR=str(tmp_path / "uv-cache"),
                   PIP_NO_CACHE_DIR="1")  # fmt: skip
    environ.update(extra)
    return environ


def run(argv, environ):
    done = subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60, check=False)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done


def installed(env):
    code = (
        "import json, fakedep, torch; "
        "print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda, 'origin': torch.origin, "
        "'fakedep': fakedep.origin}))"
    )
    out = subprocess.run([env["python"], "-c", code], capture_output=True, text=True, check=True, timeout=30)
    return json.loads(out.stdout)


def uv_plan(env, compute, index, general):
    build = dict(BUILD, compute=compute)
    return pe.install_plan(env, build, packages=["torch"], index=index, general_index=general)


def pip_params(index, general):
    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(pip_index_url=general, pip_build_index_url=index)
    return params


def pip_install(env, compute, index, general, environ):
    build = dict(BUILD, compute=compute)
    label = pe.expected_label(compute, "Linux", "x86_64", index == general)
    requirements = pe.pinned_requirements(build, ["torch"], label)
    outputs = []
    for argv in ce.pip_commands(pip_params(index, general), env["prefix"], requirements, "Linux"):
        outputs.append(run(argv, environ))
    return requirements, outputs


# ------------------------------------------------------------------------------------- item 2: build switch
def test_uv_replaces_the_installed_torch_when_the_build_changes(env, indexes, tmp_path):
    environ = clean_environ(tmp_path)
    cpu = uv_plan(env, "cpu", indexes["cpu"], indexes["general"])
    assert cpu["requirements"] == ["torch==2.13.0+cpu"]
    run(cpu["uv_torch"], environ)
    assert installed(env)["torch"] == "2.13.0+cpu"

    # What the role asked before: ==2.13.0, which PEP 440 lets 2.13.0+cpu satisfy; uv keeps the CPU build.
    old = run([UV, "pip", "install", "--no-config", "--python", env["python"], "--default-index", indexes["cu128"],
               "torch==2.13.0"], environ)  # fmt: skip
    assert installed(env)["torch"] == "2.13.0+cpu", old.stderr

    cu128 = uv_plan(env, "cu128", indexes["cu128"], indexes["general"])
    assert cu128["requirements"] == ["torch==2.13.0+cu128"]
    done = run(cu128["uv_torch"], environ)
    assert installed(env)["torch"] == "2.13.0+cu128"
    assert installed(env)["cuda"] == "12.8"
    assert "Installed" in done.stderr
    # Run again: nothing to do (the task's changed_when looks for these words).
    again = run(cu128["uv_torch"], environ)
    assert not any(line.startswith(("Installed", "Uninstalled")) for line in again.stderr.splitlines())

    # The default build PyPI serves has no label at all: ===2.13.0 replaces the +cu128 wheel too.
    pypi = uv_plan(env, "cu128", indexes["general"], indexes["general"])
    assert pypi["requirements"] == ["torch===2.13.0"]
    run(pypi["uv_torch"], environ)
    assert installed(env)["torch"] == "2.13.0"
    assert installed(env)["origin"] == "general"


def test_pip_replaces_the_installed_torch_when_the_build_changes(env, indexes, tmp_path):
    environ = clean_environ(tmp_path)
    pip_install(env, "cu128", indexes["cu128"], indexes["general"], environ)
    assert installed(env)["torch"] == "2.13.0+cu128"
    requirements, outputs = pip_install(env, "cpu", indexes["cpu"], indexes["general"], environ)
    assert requirements == ["torch==2.13.0+cpu"]
    assert installed(env) == {"torch": "2.13.0+cpu", "cuda": None, "origin": "build", "fakedep": "general"}
    assert "Successfully installed torch-2.13.0+cpu" in outputs[0].stdout
    # The conda_env module's own check agrees with pip: the installed build no longer satisfies the new pin.
    assert not ce._conda.requirement_satisfied("torch==2.13.0+cu128", {"torch": "2.13.0+cpu"})
    assert ce._conda.requirement_satisfied("torch==2.13.0+cpu", {"torch": "2.13.0+cpu"})
    assert not ce._conda.requirement_satisfied("torch===2.13.0", {"torch": "2.13.0+cpu"})


def test_another_build_is_replaced_where_no_label_can_be_pinned(env, indexes, tmp_path):
    """Linux aarch64: the bare pin ==2.13.0 is met by PyPI's CUDA wheel; the build torch reports decides."""
    environ = clean_environ(tmp_path)
    arm = dict(env, machine="aarch64")
    pypi = pe.install_plan(arm, dict(BUILD, compute="cu128"), packages=["torch"], index=indexes["general"],
                           general_index=indexes["general"])  # fmt: skip
    run(pypi["uv_torch"], environ)
    assert installed(env)["cuda"] == "12.8"

    plan = pe.install_plan(arm, dict(BUILD, compute="cpu"), packages=["torch"], index=indexes["bare"],
                           general_index=indexes["general"])  # fmt: skip
    assert plan["label"] is None and plan["requirements"] == ["torch==2.13.0"]
    # The pin alone keeps the CUDA wheel: PEP 440 equality, and the same version.
    run(plan["uv_torch"], environ)
    assert installed(env)["origin"] == "general"
    # What the role runs first: the script reads torch/version.py without importing torch.
    read = run([env["python"], "-c", plan["read_build"]], environ).stdout
    assert json.loads(read) == {"version": "2.13.0", "cuda": "12.8", "hip": None}
    assert pe.reinstall_needed("cpu", read) == "torch 2.13.0 is a CUDA 12.8 build, not cpu"
    run(plan["uv_torch"] + plan["uv_reinstall"], environ)
    assert installed(env) == {"torch": "2.13.0", "cuda": None, "origin": "build", "fakedep": "general"}
    assert pe.reinstall_needed("cpu", run([env["python"], "-c", plan["read_build"]], environ).stdout) == ""

    # pip (conda_env's pip_reinstall), back to the CUDA wheel from the general index.
    params = dict(pip_params(indexes["general"], indexes["general"]), pip_reinstall=True)
    for argv in ce.pip_commands(params, env["prefix"], ["torch==2.13.0"], "Linux"):
        run(argv, environ)
    assert installed(env)["origin"] == "general" and installed(env)["cuda"] == "12.8"


def test_the_read_script_finds_no_torch_in_an_empty_environment(env, tmp_path):
    read = run([env["python"], "-c", pe.READ_BUILD_SCRIPT], clean_environ(tmp_path)).stdout
    assert pe.installed_build(read) is None and pe.reinstall_needed("cpu", read) == ""


# -------------------------------------------------------------------- item 3: build index first, no confusion
def test_uv_takes_torch_from_the_build_index_and_the_missing_dependency_from_the_general_one(env, indexes, tmp_path):
    plan = uv_plan(env, "cpu", indexes["cpu"], indexes["general"])
    run(plan["uv_torch"], clean_environ(tmp_path))
    # The general index has torch 99.0.0; the build index's torch wins and fakedep comes from the general index.
    assert installed(env) == {"torch": "2.13.0+cpu", "cuda": None, "origin": "build", "fakedep": "general"}


def test_uv_prefers_the_build_index_even_where_the_label_is_not_pinned(env, indexes, tmp_path):
    # Linux aarch64: labels are not known, the pin is the bare version, which the general index has too.
    build = dict(BUILD, compute="cpu")
    arm = dict(env, machine="aarch64")
    plan = pe.install_plan(arm, build, packages=["torch"], index=indexes["bare"], general_index=indexes["general"])
    assert plan["requirements"] == ["torch==2.13.0"]
    run(plan["uv_torch"], clean_environ(tmp_path))
    assert installed(env)["origin"] == "build"


def test_pip_takes_torch_from_the_build_index_only(env, indexes, tmp_path):
    environ = clean_environ(tmp_path)
    # The bare pin (no label) is the one pip could take from either index: the build index must win.
    params = pip_params(indexes["bare"], indexes["general"])
    commands = ce.pip_commands(params, env["prefix"], ["torch==2.13.0"], "Linux")
    assert len(commands) == 2 and "--no-deps" in commands[0]
    for argv in commands:
        run(argv, environ)
    assert installed(env) == {"torch": "2.13.0", "cuda": None, "origin": "build", "fakedep": "general"}


def test_a_single_build_index_misses_the_dependency(env, indexes, tmp_path):
    # What the role did before: the build index alone, which lacks fakedep (cuda-bindings on cu130,
    # pytorch/pytorch#172926): uv and pip both fail.
    environ = clean_environ(tmp_path)
    argv = [UV, "pip", "install", "--no-config", "--python", env["python"], "--default-index", indexes["cpu"],
            "torch==2.13.0"]  # fmt: skip
    assert subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60, check=False).returncode != 0
    argv = [env["python"], "-m", "pip", "install", "--isolated", "--index-url", indexes["cpu"], "torch==2.13.0"]
    assert subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60, check=False).returncode != 0


# ------------------------------------------------------------------------- issue 11 item 4: host config ignored
def test_pip_and_uv_ignore_the_hosts_index_settings(env, template, indexes, tmp_path):
    bogus = indexes["bogus"]
    config = tmp_path / "config"
    (config / "pip").mkdir(parents=True)
    (config / "pip" / "pip.conf").write_text(f"[global]\nextra-index-url = {bogus}\n")
    (config / "uv").mkdir(parents=True)
    (config / "uv" / "uv.toml").write_text(f'extra-index-url = ["{bogus}"]\n')
    site_conf = Path(env["prefix"]) / "pip.conf"  # pip's "site" configuration file of the environment
    site_conf.write_text(f"[global]\nextra-index-url = {bogus}\n")
    environ = clean_environ(
        tmp_path,
        PIP_EXTRA_INDEX_URL=bogus,
        PIP_FIND_LINKS=bogus,
        PIP_UPGRADE="1",
        UV_INDEX=bogus,
        UV_EXTRA_INDEX_URL=bogus,
        UV_FIND_LINKS=bogus,
        UV_INDEX_STRATEGY="unsafe-best-match",
    )

    # The host's settings are live: without the isolation, each tool takes fakedep 9.0 from the bogus index.
    probe = new_venv(template, tmp_path / "probe")
    (probe / "pip.conf").write_text(f"[global]\nextra-index-url = {bogus}\n")
    run([str(probe / "bin" / "python"), "-m", "pip", "install", "--no-input", "--index-url", indexes["general"],
         "fakedep"], environ)  # fmt: skip
    assert "9.0" in run([str(probe / "bin" / "python"), "-m", "pip", "show", "fakedep"], environ).stdout
    run([str(probe / "bin" / "python"), "-m", "pip", "uninstall", "-y", "fakedep"], environ)
    run([UV, "pip", "install", "--python", str(probe / "bin" / "python"), "--default-index", indexes["general"],
         "fakedep"], environ)  # fmt: skip
    assert "9.0" in run([str(probe / "bin" / "python"), "-m", "pip", "show", "fakedep"], environ).stdout

    # The role's commands use only the indexes they were given.
    plan = uv_plan(env, "cpu", indexes["cpu"], indexes["general"])
    run(plan["uv_torch"], environ)
    assert installed(env) == {"torch": "2.13.0+cpu", "cuda": None, "origin": "build", "fakedep": "general"}
    shutil.rmtree(env["prefix"])
    new_venv(template, Path(env["prefix"]))
    site_conf.write_text(f"[global]\nextra-index-url = {bogus}\n")
    pip_install(env, "cpu", indexes["cpu"], indexes["general"], environ)
    assert installed(env) == {"torch": "2.13.0+cpu", "cuda": None, "origin": "build", "fakedep": "general"}
