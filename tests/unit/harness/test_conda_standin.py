"""Tests of the conda stand-in (a TEST DOUBLE for Miniconda/Miniforge, tests/harness/conda_standin).

Each behaviour the stand-in claims from conda's source (cited there) checked against a real install made by the
stand-in's own installer.  One install per flavour per session keeps this fast (each venv costs ~2-5 s).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import make_wheel

HARNESS = Path(__file__).resolve().parents[2] / "harness" / "conda_standin"
sys.path.insert(0, str(HARNESS))
import lab  # noqa: E402

DEFAULTS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
ERROR_KEYS = {"caused_by", "error", "exception_name", "exception_type", "message"}
LIST_KEYS = {"base_url", "build_number", "build_string", "channel", "dist_name", "name", "platform", "version"}
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="session")
def miniconda(tmp_path_factory):
    return lab.install(tmp_path_factory.mktemp("standin-mc"), "miniconda")


@pytest.fixture(scope="session")
def miniforge(tmp_path_factory):
    return lab.install(tmp_path_factory.mktemp("standin-mf"), "miniforge")


def conda(inst, *args, home=None, env=None):
    environ = lab.clean_env(home or inst["home"], **(env or {}))
    proc = subprocess.run([str(inst["conda"]), *args], env=environ, capture_output=True, text=True, check=False)
    doc = None
    if "--json" in args and proc.stdout.strip():
        doc = json.loads(proc.stdout)
    return proc.returncode, doc, proc


def accept_tos(inst, home=None):
    for url in DEFAULTS:
        rc, _doc, proc = conda(inst, "tos", "accept", "--override-channels", "--channel", url, home=home)
        assert rc == 0, proc.stderr


# ------------------------------------------------------------------------------------------------ installer
def test_installer_name_and_checksum(tmp_path):
    for flavor, expected in (("miniconda", "Miniconda3-py311_25.11.1-1-Linux-x86_64.sh"),
                             ("miniforge", "Miniforge3-25.11.0-1-Linux-x86_64.sh")):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, str(HARNESS / "build_installer.py"), "--flavor", flavor, "--version",
             lab.VERSIONS[flavor], "--os", "Linux", "--arch", "x86_64", "--out", str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        path = tmp_path / expected
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert proc.stdout.strip() == digest
        assert (tmp_path / (expected + ".sha256")).read_text() == f"{digest}  {expected}\n"
        assert "TEST DOUBLE" in path.read_text()[:400]


def test_installer_build_is_reproducible(tmp_path):
    a = lab.build(tmp_path / "a").read_bytes()
    b = lab.build(tmp_path / "b").read_bytes()
    assert a == b


def test_installer_refuses_name_without_sh(tmp_path):
    installer = lab.build(tmp_path)
    renamed = tmp_path / "installer.run"
    renamed.write_bytes(installer.read_bytes())
    proc = subprocess.run(["bash", str(renamed), "-b", "-p", str(tmp_path / "p")], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'Please run using "bash"/"dash"/"sh"/"zsh", but not "." or "source".'
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: (p.mkdir(), (p / "f").write_text("x"))])
def test_installer_refuses_existing_prefix(tmp_path, make):
    installer = lab.build(tmp_path)
    prefix = tmp_path / "existing"
    make(prefix)
    proc = subprocess.run(["bash", str(installer), "-b", "-p", str(prefix)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"ERROR: File or directory already exists: '{prefix}'",
        "If you want to update an existing installation, use the -u option.",
    ]


def test_installer_rejects_spaces_and_help(tmp_path):
    installer = lab.build(tmp_path)
    proc = subprocess.run(["bash", str(installer), "-b", "-p", str(tmp_path / "a b")], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "spaces" in proc.stderr
    proc = subprocess.run(["bash", str(installer), "-h"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "-u" in proc.stdout


def test_installer_batch_output_and_layout(miniconda):
    prefix = miniconda["prefix"]
    assert miniconda["stdout"].splitlines() == [
        f"PREFIX={prefix}",
        "Unpacking payload...",
        "Installing base environment...",
        "installation finished.",
    ]
    for item in ("bin/conda", "condabin/conda", "bin/python", "etc/profile.d/conda.sh", "envs"):
        assert (prefix / item).exists(), item
    history = (prefix / "conda-meta" / "history").read_text()
    assert history.startswith("==> ") and "# cmd: constructor" in history and "+pkgs/main/" in history
    info = json.loads((prefix / ".installer.info").read_text())
    assert info["name"] == "Miniconda3" and info["version"] == "py311_25.11.1-1" and info["type"] == "sh"
    assert not (prefix / "install_tmp").exists()
    assert (prefix / ".nonadmin").exists() == (os.getuid() != 0)
    assert not (prefix / ".condarc").exists()


def test_miniforge_writes_condarc(miniforge):
    assert "conda-forge" in (miniforge["prefix"] / ".condarc").read_text()
    rc, doc, _err = conda(miniforge, "config", "--show-sources", "--json")
    assert rc == 0
    assert doc[str(miniforge["prefix"] / ".condarc")] == {"channels": ["conda-forge"]}


def test_installer_update_existing(miniforge):
    cmd = ["bash", str(miniforge["installer"]), "-b", "-u", "-p", str(miniforge["prefix"])]
    proc = subprocess.run(cmd, env=lab.clean_env(miniforge["home"]), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "installation finished."
    assert conda(miniforge, "--version")[2].stdout.strip() == "conda 25.11.0"


def test_interrupted_install_leaves_half_made_prefix(tmp_path):
    installer = lab.build(tmp_path)
    prefix = tmp_path / "half"
    proc = subprocess.run(
        ["bash", str(installer), "-b", "-p", str(prefix)],
        env=lab.clean_env(tmp_path, TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK="1"), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert (prefix / "install_tmp").is_dir()
    assert (prefix / "conda-meta" / "history").read_text() == ""
    assert not (prefix / "bin" / "conda").exists()


def _files(prefix):
    """The files under prefix, byte-code, dot files and the history left out: what a finished install holds."""
    out = set()
    for path in prefix.rglob("*"):
        rel = path.relative_to(prefix)
        if "__pycache__" in rel.parts or rel.parts[0] == "install_tmp" or not path.is_file():
            continue
        if not rel.name.startswith("."):
            out.add(str(rel))
    return out


def test_installer_cut_off_while_pip_installs_is_finished_by_u(tmp_path, miniconda):
    """pip cut off after its files and dist-info but before its scripts and INSTALLER, then -u: the prefix holds
    what an uninterrupted install holds.

    CI once killed the installer in that window; `python -m venv` on the -u run kept the half-installed pip (no
    bin/pip, no INSTALLER), because ensurepip skips a pip that reports itself installed. A real installer's -u
    relinks what conda-meta does not record, so the stand-in force-reinstalls pip until its record exists. A kill
    lands in that window only by chance; a directory in the way of bin/pip stops the real pip at the same point
    every time (pip writes a wheel's files, then its scripts, then INSTALLER and RECORD).
    """
    installer = lab.build(tmp_path)
    prefix = tmp_path / "miniconda"
    (prefix / "bin" / "pip").mkdir(parents=True)
    env = lab.clean_env(miniconda["home"])
    first = subprocess.run(["bash", str(installer), "-b", "-u", "-p", str(prefix)], env=env, capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert first.returncode != 0
    site = prefix / "lib" / f"python{PY}" / "site-packages"
    pip_info = next(site.glob("pip-*.dist-info"))
    assert (pip_info / "RECORD").exists()
    assert not (pip_info / "INSTALLER").exists()
    assert not list(prefix.glob("conda-meta/pip-*.json"))

    (prefix / "bin" / "pip").rmdir()
    again = subprocess.run(["bash", str(installer), "-b", "-u", "-p", str(prefix)], env=env, capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert not (prefix / "install_tmp").exists()
    assert sorted(_files(miniconda["prefix"]) ^ _files(prefix)) == []
    assert (pip_info / "INSTALLER").read_text() == "pip\n"


# ------------------------------------------------------------------------------------------------ info / envs
def test_version_and_info(miniconda):
    assert conda(miniconda, "--version")[2].stdout.strip() == "conda 25.11.1"
    rc, info, _err = conda(miniconda, "info", "--json")
    assert rc == 0
    assert info["root_prefix"] == str(miniconda["prefix"])
    assert info["conda_version"] == "25.11.1"
    assert info["platform"] == "linux-64"
    assert str(miniconda["prefix"]) in info["envs"]
    assert info["envs_dirs"][0] == str(miniconda["prefix"] / "envs")
    assert info["channels"] == [
        "https://repo.anaconda.com/pkgs/main/linux-64", "https://repo.anaconda.com/pkgs/main/noarch",
        "https://repo.anaconda.com/pkgs/r/linux-64", "https://repo.anaconda.com/pkgs/r/noarch",
    ]  # fmt: skip
    assert conda(miniconda, "info", "--base", "--json")[1] == {"root_prefix": str(miniconda["prefix"])}


def test_env_list_shape(miniconda):
    rc, doc, _err = conda(miniconda, "env", "list", "--json")
    assert rc == 0
    assert set(doc) == {"envs", "envs_details"}  # conda >= 25.11
    assert doc["envs_details"][str(miniconda["prefix"])]["base"] is True
    assert conda(miniconda, "info", "--envs", "--json")[1]["envs"] == doc["envs"]


# ------------------------------------------------------------------------------------------------ ToS
def test_tos_error_then_accept(miniconda, tmp_path):
    home = tmp_path / "fresh-home"
    home.mkdir()
    rc, doc, _proc = conda(miniconda, "create", "--json", "-y", "-n", "tos", "python=" + PY, home=home)
    assert rc == 1
    assert set(doc) >= ERROR_KEYS
    assert doc["exception_name"] == "CondaToSNonInteractiveError"
    assert doc["message"].startswith("Terms of Service have not been accepted for the following channels.")
    assert "    conda tos accept --override-channels --channel https://repo.anaconda.com/pkgs/r\n" in doc["message"]
    assert not (miniconda["prefix"] / "envs" / "tos").exists()

    rc, view, _err = conda(miniconda, "tos", "view", "--json", home=home)
    assert rc == 0 and set(view) == set(DEFAULTS)
    assert "tos_accepted" not in view[DEFAULTS[0]]

    accept_tos(miniconda, home)
    records = sorted((home / ".conda" / "tos").glob("*/*.json"))
    assert len(records) == 2
    record = json.loads(records[0].read_text())
    assert set(record) == {"version", "text", "support", "base_url", "tos_accepted", "acceptance_timestamp"}
    rc, view, _err = conda(miniconda, "tos", "view", "--json", home=home)
    assert all(view[url]["tos_accepted"] is True for url in DEFAULTS)
    # Accepted: the same command now passes the terms check (and fails later only on the unknown package).
    rc, doc, _err = conda(miniconda, "create", "--json", "-y", "-n", "tos", "nonexistent-pkg", home=home)
    assert doc["exception_name"] == "PackagesNotFoundError"


def test_tos_auto_accept_and_other_channels(miniconda, tmp_path):
    home = tmp_path / "h2"
    home.mkdir()
    args = ("install", "--json", "-y", "-n", "base", "nonexistent-pkg")
    assert conda(miniconda, *args, home=home)[1]["exception_name"] == "CondaToSNonInteractiveError"
    env = {"CONDA_PLUGINS_AUTO_ACCEPT_TOS": "yes"}
    assert conda(miniconda, *args, home=home, env=env)[1]["exception_name"] == "PackagesNotFoundError"
    home3 = tmp_path / "h3"
    home3.mkdir()
    (home3 / ".condarc").write_text("channels:\n  - conda-forge\n")
    assert conda(miniconda, *args, home=home3)[1]["exception_name"] == "PackagesNotFoundError"
    forge_only = ("-c", "conda-forge", "--override-channels")
    assert conda(miniconda, *args, *forge_only, home=tmp_path)[1]["exception_name"] == "PackagesNotFoundError"


def test_miniforge_has_no_terms(miniforge):
    _rc, doc, _err = conda(miniforge, "install", "--json", "-y", "-n", "base", "-c", "defaults", "nonexistent")
    assert doc["exception_name"] == "PackagesNotFoundError"
    assert doc["channel_urls"][0] == "https://repo.anaconda.com/pkgs/main/linux-64"


REVISED = {"version": "2026-02-01T00:00:00Z", "text": "Revised terms (test fixture).", "support": "anaconda.com/legal"}


def test_revised_terms_are_pending_although_view_says_accepted(miniconda, tmp_path):
    # conda-anaconda-tos 0.2.2: `tos view` shows the local record (console/render.py:151-180), the listing marks
    # it "outdated" when a newer version is served (:94-148), the pre-command check treats an outdated record as
    # not accepted (:275-302) and accept writes the newer version (api.py:242-255).  Fixture: a revised terms.json
    # as the plugin's RemoteToSMetadata reads it (models.py:17-31), written from that source.
    home = tmp_path / "revised-home"
    home.mkdir()
    accept_tos(miniconda, home)
    served = tmp_path / "served.json"
    served.write_text(json.dumps(REVISED))
    env = {"TORCHFLEET_STANDIN_TOS_SERVED": str(served)}
    args = ("install", "--json", "-y", "-n", "base", "nonexistent-pkg")

    _rc, view, _proc = conda(miniconda, "tos", "view", "--json", home=home, env=env)
    assert all(view[url]["tos_accepted"] is True and view[url]["version"] == "2025-05-12T00:00:00Z" for url in DEFAULTS)
    rc, listing, _proc = conda(miniconda, "tos", "--json", "--ignore-cache", "--override-channels",
                               *(f"--channel={u}" for u in DEFAULTS), home=home, env=env)  # fmt: skip
    assert rc == 0 and all(listing[url]["outdated"] is True for url in DEFAULTS)
    rc, doc, _proc = conda(miniconda, *args, home=home, env=env)
    assert rc == 1 and doc["exception_name"] == "CondaToSNonInteractiveError"

    rc, accepted, _proc = conda(miniconda, "tos", "accept", "--json", "--override-channels",
                                *(f"--channel={u}" for u in DEFAULTS), home=home, env=env)  # fmt: skip
    assert rc == 0 and {accepted[url]["version"] for url in DEFAULTS} == {REVISED["version"]}
    stamp = datetime.datetime(2026, 2, 1, tzinfo=datetime.timezone.utc).timestamp()
    assert len(list((home / ".conda" / "tos").glob(f"*/{stamp}.json"))) == 2  # path.py:106-112
    _rc, listing, _proc = conda(miniconda, "tos", "--json", home=home, env=env)
    assert all(listing[url]["outdated"] is False and listing[url]["tos_accepted"] for url in DEFAULTS)
    assert conda(miniconda, *args, home=home, env=env)[1]["exception_name"] == "PackagesNotFoundError"
    # Without the revised file the channel serves the older version again: the newer record still counts.
    assert conda(miniconda, *args, home=home)[1]["exception_name"] == "PackagesNotFoundError"


def test_rejected_terms_stop_commands(miniconda, tmp_path):
    home = tmp_path / "reject-home"
    home.mkdir()
    for url in DEFAULTS:
        assert conda(miniconda, "tos", "reject", "--override-channels", "--channel", url, home=home)[0] == 0
    rc, doc, _proc = conda(miniconda, "install", "--json", "-y", "-n", "base", "pip", home=home)
    assert rc == 1 and doc["exception_name"] == "CondaToSRejectedError"
    # tos@0.2.2 exceptions.py:54-74
    assert doc["message"].startswith(
        "Terms of Service has been rejected for the following channels. Please remove or accept them before "
        "proceeding:\n    - https://repo.anaconda.com/pkgs/main\n    - https://repo.anaconda.com/pkgs/r\n\n"
        "To accept these channels' Terms of Service, run the following commands:\n"
    )


@pytest.fixture(scope="session")
def old_condas(tmp_path_factory):
    """Stand-ins that simulate conda without the terms plugin: 24.9 (argparse era) and 23.5 (before 23.7)."""
    out = {}
    for label, version in (("24.9", "py312_24.9.2-0"), ("23.5", "py310_23.5.2-0")):
        tmp = tmp_path_factory.mktemp("standin-" + label)
        installer = lab.build(tmp, "miniconda", version)
        prefix = tmp / "mc"
        proc = subprocess.run(["bash", str(installer), "-b", "-p", str(prefix)], env=lab.clean_env(tmp),
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out[label] = {"prefix": prefix, "conda": prefix / "bin" / "conda", "home": tmp}
    return out


def test_conda_without_the_terms_plugin_has_no_tos_command(old_condas):
    # conda >= 23.7: argparse's own error, rc 2 (conda@24.11.3 conda/cli/conda_argparse.py has no error() hook)
    rc, _doc, proc = conda(old_condas["24.9"], "tos", "--json", "--override-channels", "--channel=" + DEFAULTS[0])
    assert rc == 2 and proc.stdout == ""
    assert "invalid choice: 'tos'" in proc.stderr
    # conda < 23.7: CommandNotFoundError on stderr, rc 1, even with --json (conda@23.5.2 conda/cli/main.py:63-75,
    # conda/cli/conda_argparse.py:176-213, conda/exceptions.py:331-342, 1239-1259)
    rc, _doc, proc = conda(old_condas["23.5"], "tos", "--json", "--override-channels", "--channel=" + DEFAULTS[0])
    assert (rc, proc.stdout) == (1, "")
    assert proc.stderr == "\nCommandNotFoundError: No command 'conda tos'.\n\n"
    # No plugin, no terms: the defaults channels work without any record.
    rc, doc, _proc = conda(old_condas["24.9"], "install", "--json", "-y", "-n", "base", "nonexistent-pkg")
    assert doc["exception_name"] == "PackagesNotFoundError"


# ------------------------------------------------------------------------------------------------ envs
@pytest.fixture(scope="session")
def app_env(miniconda, tmp_path_factory):
    accept_tos(miniconda)
    rc, doc, proc = conda(miniconda, "create", "--json", "-y", "-n", "app", "python=" + PY, "pip")
    assert rc == 0, proc.stdout + proc.stderr
    # METADATA's name is not the normalised one: conda list must show it normalised (demo-pkg).
    wheel = make_wheel(tmp_path_factory.mktemp("wheel"), "Demo_Pkg", "1.2.3", {"demo_pkg/__init__.py": "VALUE = 1\n"})
    prefix = Path(doc["prefix"])
    subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-input",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)  # fmt: skip
    return {"prefix": prefix, "create": doc}


def test_create_json_shape(miniconda, app_env):
    doc = app_env["create"]
    assert doc["success"] is True
    assert doc["prefix"] == str(miniconda["prefix"] / "envs" / "app")
    assert doc["actions"]["PREFIX"] == doc["prefix"]
    assert doc["actions"]["FETCH"] == []
    names = [r["name"] for r in doc["actions"]["LINK"]]
    assert names[:2] == ["python", "pip"]
    assert all(set(r) == LIST_KEYS for r in doc["actions"]["LINK"])
    assert (app_env["prefix"] / "conda-meta" / "history").read_text().strip()


def test_list_shows_pip_packages_as_pypi(miniconda, app_env):
    rc, records, _err = conda(miniconda, "list", "--json", "-n", "app")
    assert rc == 0
    assert [r["name"] for r in records] == sorted(r["name"] for r in records)
    by_name = {r["name"]: r for r in records}
    assert by_name["demo-pkg"] == {
        "base_url": "https://conda.anaconda.org/pypi", "build_number": 0, "build_string": "pypi_0",
        "channel": "pypi", "dist_name": "demo-pkg-1.2.3-pypi_0", "name": "demo-pkg", "platform": "pypi",
        "version": "1.2.3",
    }  # fmt: skip
    assert by_name["python"]["channel"] == "pkgs/main"
    assert by_name["python"]["version"].startswith(PY + ".")
    assert [r["channel"] for r in records if r["name"] == "pip"] == ["pkgs/main"]
    assert conda(miniconda, "list", "--json", "-p", str(app_env["prefix"]))[1] == records
    assert "demo-pkg" not in {r["name"] for r in conda(miniconda, "list", "--json", "--no-pip", "-n", "app")[1]}


def test_install_already_satisfied_and_unavailable(miniconda, app_env):
    rc, doc, _err = conda(miniconda, "install", "--json", "-y", "-n", "app", "pip", "python=" + PY)
    assert (rc, doc) == (0, {"success": True, "message": "All requested packages already installed."})
    rc, doc, _err = conda(miniconda, "install", "--json", "-y", "-n", "app", "numpy>=2")
    assert rc == 1
    assert doc["exception_name"] == "PackagesNotFoundError"
    assert doc["packages"] == ["numpy>=2"]
    assert "https://repo.anaconda.com/pkgs/main/noarch" in doc["channel_urls"]


def test_run_returns_child_rc(miniconda, app_env):
    proc = conda(miniconda, "run", "-n", "app", "python", "-c", "import sys, demo_pkg; sys.exit(7)")[2]
    assert proc.returncode == 7
    proc = conda(miniconda, "run", "-p", str(app_env["prefix"]), "python", "-c", "import sys; print(sys.prefix)")[2]
    assert proc.stdout.strip() == str(app_env["prefix"])


def test_errors(miniconda, tmp_path):
    rc, doc, proc = conda(miniconda, "list", "--json", "-p", str(tmp_path / "nope"))
    assert rc == 1 and proc.stdout.strip().startswith("{")
    assert set(doc) >= ERROR_KEYS
    assert doc["exception_name"] == "EnvironmentLocationNotFound"
    assert doc["error"] == "EnvironmentLocationNotFound: Not a conda environment: %s" % (tmp_path / "nope")
    assert doc["exception_type"] == "<class 'conda.exceptions.EnvironmentLocationNotFound'>"
    assert doc["caused_by"] == "None"
    rc, doc, _err = conda(miniconda, "remove", "--all", "--json", "-y", "-p", str(tmp_path))
    assert doc["exception_name"] == "DirectoryNotACondaEnvironmentError"
    rc, doc, _err = conda(miniconda, "remove", "--all", "--json", "-y", "-n", "base")
    assert doc["exception_name"] == "CondaEnvironmentError"
    rc, _doc, proc = conda(miniconda, "create", "--json", "--bogus-flag")
    assert rc == 2 and proc.stdout == ""  # argparse usage error: no JSON, as in conda


def test_create_over_existing_recreates_and_remove(miniconda, tmp_path):
    prefix = tmp_path / "scratch"
    rc, doc, _err = conda(miniconda, "create", "--json", "-y", "-p", str(prefix), "python=" + PY)
    assert rc == 0 and [r["name"] for r in doc["actions"]["LINK"]] == ["python"]
    marker = prefix / "marker"
    marker.write_text("x")
    rc, doc, _err = conda(miniconda, "create", "--json", "-y", "-p", str(prefix), "python=" + PY)
    assert rc == 0 and not marker.exists()
    assert str(prefix) in conda(miniconda, "env", "list", "--json")[1]["envs"]  # registered in environments.txt
    rc, doc, _err = conda(miniconda, "remove", "--all", "--json", "-y", "-p", str(prefix))
    assert rc == 0
    assert doc["success"] is True and doc["prefix"] == str(prefix)
    assert [r["name"] for r in doc["actions"]["UNLINK"]] == ["python"]
    assert not prefix.exists()
    assert str(prefix) not in conda(miniconda, "env", "list", "--json")[1]["envs"]


# conda >= 25.5 (the miniforge stand-in simulates 25.11): PrefixData.validate_path/validate_name, conda@26.7.1
# conda/core/prefix_data.py:317-373, called by conda/cli/main_create.py:181; :183-206 for existing targets.
def test_create_refuses_a_path_separator_in_the_prefix(miniforge, tmp_path):
    prefix = tmp_path / "a:b"
    rc, doc, _proc = conda(miniforge, "create", "--json", "-y", "-p", str(prefix))
    assert rc == 1 and doc["exception_name"] == "CondaValueError"
    assert doc["message"] == f"Environment paths cannot contain ':'. Prefix: '{prefix}'"
    assert not prefix.exists()


def test_create_refuses_an_environment_inside_another(miniforge):
    prefix = miniforge["prefix"] / "inner"
    rc, doc, _proc = conda(miniforge, "create", "--json", "-y", "-p", str(prefix))
    assert rc == 1 and doc["exception_name"] == "CondaValueError"
    assert doc["message"] == "Environment paths cannot be immediately nested under another conda environment."
    assert not prefix.exists()
    rc, doc, _proc = conda(miniforge, "create", "--json", "-y", "-p", str(miniforge["prefix"]))
    assert doc["message"] == "'base' is a reserved environment name"


def test_create_warns_on_spaces_and_refuses_them_in_the_name(miniforge, tmp_path):
    prefix = tmp_path / "with space" / "env"
    rc, doc, proc = conda(miniforge, "create", "--json", "-y", "-p", str(prefix))
    assert rc == 0 and doc["success"] is True, proc.stderr
    assert f"Environment paths should not contain spaces. Prefix: '{prefix}'" in proc.stderr
    assert (prefix / "conda-meta" / "history").is_file()
    rc, doc, _proc = conda(miniforge, "create", "--json", "-y", "-p", str(tmp_path / "my env"))
    assert rc == 1 and doc["message"].startswith("Environment names cannot contain any of these characters: {")


def test_create_continues_into_a_directory_that_is_not_an_environment(miniforge, tmp_path):
    prefix = tmp_path / "existing"
    prefix.mkdir()
    (prefix / "notes.txt").write_text("someone's work\n")
    rc, doc, proc = conda(miniforge, "create", "--json", "-y", "-p", str(prefix))
    assert rc == 0 and doc["prefix"] == str(prefix), proc.stdout + proc.stderr
    assert (prefix / "notes.txt").read_text() == "someone's work\n"  # conda installs beside it, removes nothing
    assert (prefix / "conda-meta" / "history").is_file()


# conda < 25.5: check_prefix, conda@24.11.3 conda/cli/install.py:98-123 and conda/cli/main_create.py:123-154.
def test_old_create_rules(old_condas, tmp_path):
    old = old_condas["24.9"]
    rc, doc, _proc = conda(old, "create", "--json", "-y", "-p", str(tmp_path / "a:b"))
    assert doc["message"] == "Cannot create a conda environment with ':' in the prefix. Aborting."
    rc, doc, _proc = conda(old, "create", "--json", "-y", "-p", str(old["prefix"] / "inner"))
    assert rc == 0, doc  # no nesting rule before 25.5
    rc, doc, proc = conda(old, "create", "--json", "-y", "-p", str(tmp_path / "my env"))
    assert rc == 0 and "WARNING: A space was detected in your requested environment path:" in proc.stderr
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("x")
    assert conda(old, "create", "--json", "-y", "-p", str(kept))[0] == 0 and (kept / "notes.txt").exists()
    half = tmp_path / "half"
    (half / "conda-meta").mkdir(parents=True)
    rc, doc, _proc = conda(old, "create", "--json", "-y", "-p", str(half))
    assert rc == 1 and doc["message"] == f"prefix already exists: {half}"


def test_remove_missing_package_shape(miniconda, app_env):
    # conda 25.11 (< 26.3): PackagesNotFoundError with the channel list; dashlist puts a newline before each item
    # (conda@26.7.1 conda/common/io.py:86-96, conda/exceptions.py:737-790).
    rc, doc, _proc = conda(miniconda, "remove", "--json", "-y", "-n", "app", "nothere")
    assert rc == 1 and doc["exception_name"] == "PackagesNotFoundError"
    assert doc["packages_formatted"] == "\n  - nothere"
    assert doc["message"].startswith("The following packages are not available from current channels:\n\n  - nothere\n")


def test_create_unknown_python_fails(miniconda):
    rc, doc, _err = conda(miniconda, "create", "--json", "-y", "-n", "old", "python=2.1")
    assert rc == 1 and doc["exception_name"] == "PackagesNotFoundError"
    assert not (miniconda["prefix"] / "envs" / "old").exists()


def test_condarc_precedence(miniconda, tmp_path):
    home = tmp_path / "rc-home"
    home.mkdir()
    (home / ".condarc").write_text("channels: [conda-forge]\nplugins:\n  auto_accept_tos: false\n")
    extra = tmp_path / "extra.condarc"
    extra.write_text("channels:\n  - pytorch\n")
    _rc, doc, _err = conda(miniconda, "config", "--show-sources", "--json", home=home, env={"CONDARC": str(extra)})
    assert list(doc) == [str(home / ".condarc"), str(extra)]
    assert doc[str(home / ".condarc")] == {"channels": ["conda-forge"], "plugins": {"auto_accept_tos": False}}
    _rc, info, _err = conda(miniconda, "info", "--json", home=home, env={"CONDARC": str(extra)})
    assert info["channels"][::2] == ["https://conda.anaconda.org/pytorch/linux-64",
                                     "https://conda.anaconda.org/conda-forge/linux-64"]  # fmt: skip


def test_yaml_subset_parser():
    import conda_standin_payload  # noqa: PLC0415

    doc = conda_standin_payload.parse_yaml_subset(
        "# comment\nchannels:\n  - conda-forge\n  - 'pytorch'\nssl_verify: false\nchannel_alias: https://m/x\n"
        "plugins:\n  auto_accept_tos: yes\ndefault_channels: [a, b]\n"
    )
    assert doc == {"channels": ["conda-forge", "pytorch"], "ssl_verify": False, "channel_alias": "https://m/x",
                   "plugins": {"auto_accept_tos": True}, "default_channels": ["a", "b"]}  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _payload_importable():
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("conda_standin_payload", HARNESS / "payload" / "conda_standin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["conda_standin_payload"] = module
    yield
    sys.modules.pop("conda_standin_payload", None)
