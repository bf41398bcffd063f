"""The REAL uv and the REAL pip install from an index that demands a password, given only through netrc.

The index is served on 127.0.0.1 by a server written here that answers 401 to any request without the right
``Authorization: Basic`` header (RFC 7617); its wheels are made here (tiny ``torch`` and ``fakedep``, the same
kind as test_pytorch_env_real_tools.py) and linked from PEP 503 simple pages (https://peps.python.org/pep-0503/).
Nothing leaves the machine. uv is the dev venv's (requirements-dev.txt pins the release the role installs); pip
is the wheel Python bundles for ensurepip.

The command lines are the role's: ``_pytorch_env.install_plan`` (uv, install-uv.yml) and
``_conda_env.pip_commands`` fed the plan's URLs (pip, install-conda.yml through conda_env). The netrc text is
the role's too (``pytorch_env_netrc``, written by install-*.yml), and NETRC names it, as the tasks' environment
does.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_env as ce
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

from ...conftest import UV, make_pip_venv, make_wheel

pytestmark = [
    pytest.mark.skipif(UV is None, reason="uv (requirements-dev.txt) is not installed"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the POSIX command lines (env -u) and /proc"),
]

USER = "lab-user"
BUILD = {"torch": "2.13.0", "torchvision": None, "torchaudio": None, "python": "3.11", "compute": "cpu"}


# ------------------------------------------------------------------------------------------------ fixtures
def simple_index(root: Path, name: str, wheels) -> None:
    """/<name>/simple/<project>/ pages linking to the wheels by absolute path on the same server."""
    for wheel in wheels:
        project = wheel.name.split("-")[0].lower()
        page = root / name / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, root / "files" / wheel.name)
        link = f'<a href="/files/{wheel.name}">{wheel.name}</a>'
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>{link}</body></html>\n")


class _AuthServer(http.server.ThreadingHTTPServer):
    expected = ""
    seen: list


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        given = self.headers.get("Authorization")
        self.server.seen.append((self.path, given is not None))
        if given != self.server.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="torchfleet-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth-index")
    (root / "files").mkdir()
    wheels = tmp_path_factory.mktemp("wheels")
    torch_files = {"torch/__init__.py": "__version__ = '2.13.0+cpu'\n"}
    simple_index(root, "cpu", [make_wheel(wheels, "torch", "2.13.0+cpu", torch_files, requires=["fakedep>=1"])])
    simple_index(root, "general", [make_wheel(wheels, "fakedep", "1.0", {"fakedep/__init__.py": "ok = 1\n"})])
    return root


@pytest.fixture
def server(site):
    httpd = _AuthServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A venv with pip (ensurepip's bundled wheel, unpacked); each test copies it."""
    return make_pip_venv(tmp_path_factory.mktemp("template") / "env")


@pytest.fixture
def env(template, tmp_path):
    prefix = tmp_path / "env"
    shutil.copytree(template, prefix, symlinks=True)
    return {"system": "Linux", "machine": "x86_64", "manager": "uv", "prefix": str(prefix),
            "python": str(prefix / "bin" / "python"), "uv": {"exe": UV}}  # fmt: skip


def urls(server, password):
    host = f"127.0.0.1:{server.server_address[1]}"
    userinfo = f"{USER}:{quote(password, safe='')}"
    return f"http://{userinfo}@{host}/cpu/simple", f"http://{userinfo}@{host}/general/simple"


def expect(server, password):
    server.expected = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()


def write_netrc(tmp_path, index, general, python=None):
    """As the role does: a directory only this user can open (mkdtemp), the file 0600, NETRC naming it."""
    directory = Path(__import__("tempfile").mkdtemp(prefix="torchfleet-netrc.", dir=tmp_path))
    path = directory / "netrc"
    path.write_text(pe.index_credentials([index, general], python))
    path.chmod(0o600)
    assert directory.stat().st_mode & 0o777 == 0o700
    return path


def environ(tmp_path, **extra):
    """No pip/uv settings and no ~/.netrc of the person running the tests: HOME is a fresh directory."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "XDG_CONFIG", "NETRC"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    keep.update(HOME=str(home), XDG_CONFIG_HOME=str(tmp_path / "config"), UV_CACHE_DIR=str(tmp_path / "uv-cache"),
                PIP_NO_CACHE_DIR="1", UV_NO_PROGRESS="1")  # fmt: skip
    keep.update(extra)
    return keep


def run_watching_cmdline(argv, env_vars, secrets):
    """Run argv; while it runs, read its /proc/PID/cmdline (what any local user can read) for the secrets."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_vars)
    try:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode(errors="replace")
    except FileNotFoundError:  # already gone: the argv is what it held
        cmdline = "\0".join(argv)
    out, err = process.communicate(timeout=120)
    assert not any(secret in cmdline for secret in secrets), cmdline
    return process.returncode, out, err


def installed(env):
    code = "import fakedep, torch; print(torch.__version__, fakedep.ok)"
    done = subprocess.run([env["python"], "-c", code], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip()


# ------------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("password", ["p@ss:w/rd#1", 'with space "q" and \\'])
def test_uv_authenticates_from_netrc_with_no_credential_on_its_command_line(env, server, tmp_path, password):
    expect(server, password)
    index, general = urls(server, password)
    plan = pe.install_plan(env, BUILD, ["torch"], index, general)
    secrets = (password, quote(password, safe=""), USER)
    argv = plan["uv_torch"]
    assert not any(secret in "\0".join(argv) for secret in secrets), argv

    # Without the netrc the server turns uv away: the command line really carries no credential.
    rc, _out, err = run_watching_cmdline(argv, environ(tmp_path), secrets)
    assert rc != 0
    assert "401" in err
    assert installed(env) == ""

    netrc = write_netrc(tmp_path, index, general)
    rc, _out, err = run_watching_cmdline(argv, environ(tmp_path, NETRC=str(netrc)), secrets)
    assert rc == 0, err
    assert installed(env) == "2.13.0+cpu 1"
    assert any(path.startswith("/files/torch-") and sent for path, sent in server.seen)


# One run: pip is slow to start; the password needs both percent-decoding and netrc's quoted form.
@pytest.mark.parametrize("password", ['p@ss with space "q" and \\'])
def test_pip_authenticates_from_netrc_with_no_credential_on_its_command_line(env, server, tmp_path, password):
    expect(server, password)
    index, general = urls(server, password)
    plan = pe.install_plan(dict(env, manager="conda"), BUILD, ["torch"], index, general)
    # What install-conda.yml hands the conda_env module, and the pip runs the module makes of it.
    params = {key: spec.get("default") for key, spec in ce.ARGUMENT_SPEC.items()}
    params.update(pip_index_url=plan["general_index"], pip_build_index_url=plan["index"])
    commands = ce.pip_commands(params, env["prefix"], plan["requirements"], "Linux")
    # conda_env runs the environment's interpreter; here the venv's bin/python stands for it.
    commands = [[env["python"], *argv[1:]] for argv in commands]
    secrets = (password, quote(password, safe=""), USER)

    rc, out, err = run_watching_cmdline(commands[0], environ(tmp_path), secrets)
    assert rc != 0, out
    assert installed(env) == ""

    netrc = write_netrc(tmp_path, index, general, python=BUILD["python"])
    for argv in commands:
        rc, out, err = run_watching_cmdline(argv, environ(tmp_path, NETRC=str(netrc)), secrets)
        assert rc == 0, f"{out}\n{err}"
    assert installed(env) == "2.13.0+cpu 1"
