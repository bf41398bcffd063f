"""Unit tests of the test lab's own mirror files (tests/harness/build_mirror.py): the uv archive, the stand-ins and
digits, and the inventory on which the mirror role (playbooks/mirror.yml) publishes them, checked against the
role's own planner (module_utils/_mirror_plan.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _mirror_plan as mp
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate as v

_SCRIPT = Path(__file__).resolve().parents[3] / "tests" / "harness" / "build_mirror.py"
_spec = importlib.util.spec_from_file_location("build_mirror", _SCRIPT)
assert _spec is not None and _spec.loader is not None
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
UV_WHEEL = "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
# The facts of the Debian 12 x86_64 controller as ansible.builtin.setup reports them (the fields the planner reads).
LINUX = {"system": "Linux", "machine": "x86_64", "architecture": "x86_64", "os_family": "Debian", "user_dir": "/root"}


def fake_wheel(directory: Path, filename: str, extra=None) -> Path:
    """A minimal wheel: a zip with a METADATA file (and any extra members) under the name's dist-info."""
    name, version = filename.split("-")[:2]
    path = directory / filename
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\n\n")
        for member, data in (extra or {}).items():
            archive.writestr(member, data)
    return path


def every_file(out: Path) -> Path:
    """Lay out every lab file as build_mirror.py writes them, with stand-in contents."""
    for path in [
        f"whl/cpu/{TORCH.name}",
        f"pypi/packages/{UV_WHEEL}",
        f"uv/{bm.UV_VERSION}/{bm.UV_ASSET}",
        *bm.standin_paths().values(),
        *(f"mnist/{name}" for name in bm.MNIST_FILES),
    ]:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(path.encode())
    return out


def lab_inventory(out: Path) -> dict:
    files = bm.local_files(out, TORCH, out / "pypi" / "packages" / UV_WHEEL)
    return bm.inventory(files, Path("/lab/mirror-root"), Path("/lab/downloads"), "2.13.0")


def role_plan(spec: dict) -> dict:
    """What the mirror role plans from the inventory: each fleet host's variables over the client roles'
    defaults, resolved as the mirror_plan filter resolves them with the controller's facts."""
    groups = spec["all"]["children"]
    mirror = groups["mirror"]["hosts"]["lab-mirror"]
    hosts = []
    for name, own in groups["lab_fleet"]["hosts"].items():
        settings = {"pytorch_env_uv_version": "0.13.9", "miniconda_distribution": "miniconda"}
        settings.update(groups["lab_fleet"]["vars"], **own)
        hosts.append(mp.resolve_host(name, LINUX, {}, "glibc 2.36", settings))
    return mp.plan(hosts, mirror["mirror_local_files"], mnist=mirror["mirror_mnist"],
                   pypi_requirements=mirror["mirror_pypi_requirements"])  # fmt: skip


def test_the_role_plans_every_lab_file_and_refuses_none(tmp_path):
    spec = lab_inventory(every_file(tmp_path))
    plan = role_plan(spec)  # a local file the fleet does not need would raise PlanError here
    paths = {f["path"] for f in plan["files"]}
    assert paths == {f"uv/{bm.UV_VERSION}/{bm.UV_ASSET}", *bm.standin_paths().values()} | {
        f"mnist/{name}" for name in bm.MNIST_FILES
    }
    assert all(f["local"] for f in plan["files"]), "every planned file comes from the lab, none is downloaded"
    sets = {s["dir"]: s for s in plan["wheel_sets"]}
    assert set(sets) == {"whl/cpu", "pypi/packages"}
    # torch from /opt/wheels (through the lab's hard link), not from download.pytorch.org.
    assert sets["whl/cpu"]["requirements"] == ["torch==2.13.0+cpu"] and sets["whl/cpu"]["remote"] == []
    assert [w["path"] for w in sets["whl/cpu"]["local"]] == [f"whl/cpu/{TORCH.name}"]
    # The lab's PyPI packages: its pins, uv's wheel (repackaged for uv/, published as itself too).
    assert [w["path"] for w in sets["pypi/packages"]["local"]] == [f"pypi/packages/{UV_WHEEL}"]
    assert {"uv==0.13.9", "nbclient==0.11.0", "numpy==2.4.6", "pip"} <= set(sets["pypi/packages"]["requirements"])


def test_without_stand_ins_or_digits_the_inventory_asks_for_neither(tmp_path):
    out = every_file(tmp_path)
    for path in bm.standin_paths().values():
        (out / path).unlink()
    (out / "mnist" / bm.MNIST_FILES[0]).unlink()
    spec = lab_inventory(out)
    assert set(spec["all"]["children"]["lab_fleet"]["hosts"]) == {"lab-uv"}
    mirror = spec["all"]["children"]["mirror"]["hosts"]["lab-mirror"]
    assert mirror["mirror_mnist"] is False
    assert not [p for p in mirror["mirror_local_files"] if p.startswith("mnist/")]
    plan = role_plan(spec)
    assert {f["path"] for f in plan["files"]} == {f"uv/{bm.UV_VERSION}/{bm.UV_ASSET}"}


def test_the_mirror_host_publishes_only_and_without_become(tmp_path):
    spec = lab_inventory(every_file(tmp_path))
    assert spec["all"]["vars"]["ansible_connection"] == "local"
    mirror = spec["all"]["children"]["mirror"]["hosts"]["lab-mirror"]
    assert mirror["mirror_serve"] is False and mirror["ansible_become"] is False
    assert mirror["mirror_check_local_sums"] is False
    assert mirror["mirror_root"] == "/lab/mirror-root" and mirror["mirror_cache_dir"] == "/lab/downloads"
    # Every value passes the role's own input checks (validate_inputs, role mirror).
    assert v.validate_role("mirror", mirror) == []


def test_pins_leave_out_comments_and_blank_lines(tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text("# header\n\nfilelock==4.3.1\n  numpy==2.4.6  # optional for torch\n")
    assert bm.read_pins(pins) == ["filelock==4.3.1", "numpy==2.4.6"]
    assert "jupyterlab==4.6.6" in bm.read_pins()


def test_uv_wheel_is_downloaded_for_the_lab_hosts_not_this_machine(tmp_path):
    cmd = bm.uv_wheel_command(tmp_path)
    assert cmd[1:4] == ["-m", "pip", "download"] and cmd[-1] == f"uv=={bm.UV_VERSION}"
    assert "--no-deps" in cmd and "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.11"
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"] == ["manylinux_2_17_x86_64",
                                                                            "manylinux2014_x86_64"]  # fmt: skip


def test_an_uv_wheel_already_there_is_not_downloaded_again(tmp_path, monkeypatch):
    (tmp_path / "pypi" / "packages").mkdir(parents=True)
    wheel = fake_wheel(tmp_path / "pypi" / "packages", UV_WHEEL)
    monkeypatch.setattr(bm.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert bm.fetch_uv_wheel(tmp_path, print) == (wheel, False)


def test_torch_wheel_is_linked_once_and_an_old_one_removed(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    torch = wheels / TORCH.name
    torch.write_bytes(b"torch")
    out = tmp_path / "out"
    old = out / "whl" / "cpu" / "torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old")
    assert bm.place_torch(out, torch) is True
    assert (out / "whl" / "cpu" / TORCH.name).read_bytes() == b"torch" and not old.exists()
    assert bm.place_torch(out, torch) is False
    with pytest.raises(SystemExit, match="torch wheel not found"):
        bm.place_torch(out, wheels / "absent.whl")


def test_uv_archive_has_the_release_layout_and_is_reproducible(tmp_path):
    wheel = fake_wheel(
        tmp_path,
        "uv-1.2.3-py3-none-manylinux_2_17_x86_64.whl",
        extra={"uv-1.2.3.data/scripts/uv": b"UV-BINARY", "uv-1.2.3.data/scripts/uvx": b"UVX-BINARY"},
    )
    data = bm.make_uv_archive(wheel, "1.2.3")
    assert data == bm.make_uv_archive(wheel, "1.2.3")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {
            "uv-x86_64-unknown-linux-gnu",
            "uv-x86_64-unknown-linux-gnu/uv",
            "uv-x86_64-unknown-linux-gnu/uvx",
        }
        assert members["uv-x86_64-unknown-linux-gnu"].isdir()
        assert members["uv-x86_64-unknown-linux-gnu/uv"].mode == 0o755
        assert tar.extractfile("uv-x86_64-unknown-linux-gnu/uvx").read() == b"UVX-BINARY"


def test_uv_release_is_rebuilt_only_for_another_wheel(tmp_path):
    uv = {f"uv-{bm.UV_VERSION}.data/scripts/uv": b"UV", f"uv-{bm.UV_VERSION}.data/scripts/uvx": b"UVX"}
    wheel = fake_wheel(tmp_path, UV_WHEEL, extra=uv)
    out = tmp_path / "out"
    assert bm.build_uv_release(out, wheel, print) is True
    assert bm.build_uv_release(out, wheel, print) is False
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("extra", b"x" * 100)
    assert bm.build_uv_release(out, wheel, print) is True


def test_conda_standins_are_skipped_with_a_message_when_the_builder_is_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(bm, "STANDIN_BUILDER", bm.REPO_ROOT / "tests" / "harness" / "no-such-builder.py")
    messages: list[str] = []
    assert bm.build_conda_standins(tmp_path, messages.append) is None
    assert any("SKIPPED" in m for m in messages)
    assert not (tmp_path / "miniconda").exists()


def test_conda_standins_land_where_the_miniconda_role_asks_for_them(tmp_path):
    assert bm.build_conda_standins(tmp_path, print) is True
    for path in bm.standin_paths().values():
        assert (tmp_path / path).read_bytes().startswith(b"#!")
    assert bm.build_conda_standins(tmp_path, print) is False


def test_print_env_names_the_pinned_versions(capsys):
    bm.print_env(Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"))
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["TORCHFLEET_TORCH_VERSION"] == "2.13.0"
    assert lines["TORCHFLEET_UV_VERSION"] == bm.UV_VERSION
    assert lines["TORCHFLEET_MINICONDA_VERSION"] == "py311_25.11.1-1"
    assert lines["TORCHFLEET_MINIFORGE_VERSION"] == "25.11.0-1"


def test_mnist_files_are_written_once_and_reproducibly(tmp_path):
    pytest.importorskip("sklearn")
    messages: list[str] = []
    assert bm.build_mnist(tmp_path, messages.append, Path(sys.executable)) is True
    digests = {name: hashlib.sha256((tmp_path / "mnist" / name).read_bytes()).hexdigest() for name in bm.MNIST_FILES}
    # Same inputs: nothing to do; written again, the files are the same byte for byte.
    assert bm.build_mnist(tmp_path, messages.append, Path(sys.executable)) is False
    (tmp_path / ".state" / "mnist.json").unlink()
    assert bm.build_mnist(tmp_path, messages.append, Path(sys.executable)) is True
    for name, digest in digests.items():
        assert hashlib.sha256((tmp_path / "mnist" / name).read_bytes()).hexdigest() == digest


def test_mnist_section_is_skipped_with_a_message_without_its_python(tmp_path):
    messages: list[str] = []
    assert bm.build_mnist(tmp_path, messages.append, tmp_path / "no-python") is None
    assert any("SKIPPED" in m for m in messages)
    assert not (tmp_path / "mnist").exists()


def test_status_reads_the_published_release(tmp_path, capsys):
    assert bm.mirror_status(tmp_path) == 1
    for path in ["whl/cpu/torch/index.html", "pypi/simple/uv/index.html", f"uv/{bm.UV_VERSION}/{bm.UV_ASSET}",
                 *bm.standin_paths().values(), "mnist/SHA256SUMS", "manifest.json"]:  # fmt: skip
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    capsys.readouterr()
    assert bm.mirror_status(tmp_path) == 0
    assert "missing" not in capsys.readouterr().out
