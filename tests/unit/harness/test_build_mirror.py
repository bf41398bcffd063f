"""Unit tests of the test lab's mirror builder (tests/harness/build_mirror.py) on tiny fake distributions."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import tarfile
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

_SCRIPT = Path(__file__).resolve().parents[3] / "tests" / "harness" / "build_mirror.py"
_spec = importlib.util.spec_from_file_location("build_mirror", _SCRIPT)
assert _spec is not None and _spec.loader is not None
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)


def fake_wheel(directory: Path, filename: str, requires_python: str | None = None, requires=(), extra=None) -> Path:
    """A minimal wheel: a zip with a METADATA file (and any extra members) under the name's dist-info."""
    name, version = filename.split("-")[:2]
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    path = directory / filename
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(lines) + "\n\n")
        for member, data in (extra or {}).items():
            archive.writestr(member, data)
    return path


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict, str]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = dict(attrs)

    def handle_data(self, data):
        if self._open is not None:
            self.anchors.append((self._open, data))
            self._open = None


def anchors(page: Path) -> list[tuple[dict, str]]:
    parser = _Anchors()
    parser.feed(page.read_text())
    return parser.anchors


def resolve(page: Path, href: str) -> Path:
    """The local file an href on page points to, the way an installer resolves it against the page URL."""
    base = "http://mirror.invalid/" + page.as_posix().lstrip("/")
    return Path("/" + unquote(urlsplit(urljoin(base, href)).path).lstrip("/"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("torch", "torch"),
        ("Typing_Extensions", "typing-extensions"),
        ("MarkupSafe", "markupsafe"),
        ("zope.interface", "zope-interface"),
        ("A--B__c..d", "a-b-c-d"),
        ("a-_.b", "a-b"),
    ],
)
def test_normalize_name_follows_pep503(raw, expected):
    assert bm.normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("filename", "project"),
    [
        ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", "torch"),
        ("typing_extensions-4.16.0-py3-none-any.whl", "typing_extensions"),
        ("foo_bar-1.0-1-py3-none-any.whl", "foo_bar"),
        ("zope.interface-6.0.tar.gz", "zope.interface"),
        ("my-pkg-1.0.zip", "my-pkg"),
    ],
)
def test_dist_project_reads_the_name_part(filename, project):
    assert bm.dist_project(filename) == project


@pytest.mark.parametrize("filename", ["README.txt", "broken-1.0.whl", "noversion.tar.gz"])
def test_dist_project_rejects_other_files(filename):
    with pytest.raises(ValueError):
        bm.dist_project(filename)


def test_index_beside_files_links_every_wheel_with_its_sha256(tmp_path):
    index = tmp_path / "whl" / "cpu"
    index.mkdir(parents=True)
    torch = fake_wheel(index, "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.10")
    typing = fake_wheel(index, "typing_extensions-4.16.0-py3-none-any.whl", ">=3.9")
    markup = fake_wheel(index, "MarkupSafe-3.0.4-cp311-cp311-manylinux_2_17_x86_64.whl")

    changed = bm.write_simple_index(index, index, bm.HashCache(None))
    assert index / "index.html" in changed

    root = anchors(index / "index.html")
    assert [text for _other, text in root] == ["markupsafe", "torch", "typing-extensions"]
    assert [attrs["href"] for attrs, _other in root] == ["markupsafe/", "torch/", "typing-extensions/"]

    for wheel, project in ((torch, "torch"), (typing, "typing-extensions"), (markup, "markupsafe")):
        page = index / project / "index.html"
        [(attrs, text)] = anchors(page)
        assert text == wheel.name
        href, fragment = attrs["href"].split("#", 1)
        assert fragment == "sha256=" + hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert resolve(page, href) == wheel


def test_local_version_plus_sign_is_percent_encoded(tmp_path):
    wheel = fake_wheel(tmp_path, "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None))
    [(attrs, _other)] = anchors(tmp_path / "torch" / "index.html")
    assert attrs["href"].startswith("../torch-2.13.0%2Bcpu-")
    assert resolve(tmp_path / "torch" / "index.html", attrs["href"].split("#")[0]) == wheel


def test_requires_python_is_published_and_html_escaped(tmp_path):
    fake_wheel(tmp_path, "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.11,<4")
    fake_wheel(tmp_path, "filelock-4.3.1-py3-none-any.whl")
    bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None))
    page = (tmp_path / "numpy" / "index.html").read_text()
    assert 'data-requires-python="&gt;=3.11,&lt;4"' in page
    [(attrs, _other)] = anchors(tmp_path / "numpy" / "index.html")
    assert attrs["data-requires-python"] == ">=3.11,<4"
    [(attrs, _other)] = anchors(tmp_path / "filelock" / "index.html")
    assert "data-requires-python" not in attrs


def test_index_in_separate_tree_links_up_to_the_files(tmp_path):
    files = tmp_path / "pypi" / "packages"
    files.mkdir(parents=True)
    uv = fake_wheel(files, "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    simple = tmp_path / "pypi" / "simple"
    bm.write_simple_index(simple, files, bm.HashCache(None))
    [(attrs, _other)] = anchors(simple / "uv" / "index.html")
    assert attrs["href"].startswith("../../packages/uv-0.13.9-")
    assert resolve(simple / "uv" / "index.html", attrs["href"].split("#")[0]) == uv


def test_pages_are_html5_with_repository_version(tmp_path):
    fake_wheel(tmp_path, "pip-26.3-py3-none-any.whl")
    bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None))
    for page in (tmp_path / "index.html", tmp_path / "pip" / "index.html"):
        text = page.read_text()
        assert text.startswith("<!DOCTYPE html>")
        assert '<meta name="pypi:repository-version" content="1.0">' in text


def test_rewriting_an_unchanged_index_changes_nothing_and_drops_gone_projects(tmp_path):
    fake_wheel(tmp_path, "pip-26.3-py3-none-any.whl")
    gone = fake_wheel(tmp_path, "wheel-0.48.0-py3-none-any.whl")
    assert bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None))
    assert bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None)) == []

    gone.unlink()
    changed = bm.write_simple_index(tmp_path, tmp_path, bm.HashCache(None))
    assert not (tmp_path / "wheel").exists()
    assert tmp_path / "wheel" in changed
    assert [text for _other, text in anchors(tmp_path / "index.html")] == ["pip"]


def test_runtime_requirements_leave_out_extras(tmp_path):
    wheel = fake_wheel(
        tmp_path,
        "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        requires=["filelock", "sympy>=1.13.3", 'optree>=0.13.0; extra == "optree"', "pyyaml ; extra=='pyyaml'"],
    )
    assert bm.runtime_requirements(wheel) == ["filelock", "sympy>=1.13.3"]


def test_hash_cache_recomputes_when_the_file_changes(tmp_path):
    cache = bm.HashCache(tmp_path / "hashes.json")
    file = tmp_path / "a.whl"
    file.write_bytes(b"one")
    assert cache.sha256(file) == hashlib.sha256(b"one").hexdigest()
    cache.save()
    file.write_bytes(b"three")
    assert bm.HashCache(tmp_path / "hashes.json").sha256(file) == hashlib.sha256(b"three").hexdigest()


def test_manifest_lists_every_served_file_with_size_sha256_and_section(tmp_path):
    (tmp_path / "whl" / "cpu").mkdir(parents=True)
    wheel = fake_wheel(tmp_path / "whl" / "cpu", "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    (tmp_path / "miniconda").mkdir()
    (tmp_path / "miniconda" / "Miniconda3-py311_25.11.1-1-Linux-x86_64.sh").write_text("#!/bin/sh\n")
    (tmp_path / ".state").mkdir()
    (tmp_path / ".state" / "hashes.json").write_text("{}")
    (tmp_path / "manifest.json").write_text("{}")

    manifest = bm.build_manifest(tmp_path, bm.HashCache(None), {"uv": "0.13.9"})
    json.dumps(manifest)  # must be serialisable as is
    by_path = {f["path"]: f for f in manifest["files"]}
    assert set(by_path) == {f"whl/cpu/{wheel.name}", "miniconda/Miniconda3-py311_25.11.1-1-Linux-x86_64.sh"}
    entry = by_path[f"whl/cpu/{wheel.name}"]
    assert entry["size"] == wheel.stat().st_size
    assert entry["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["section"] == "whl/cpu"
    assert by_path["miniconda/Miniconda3-py311_25.11.1-1-Linux-x86_64.sh"]["section"] == "miniconda"
    sections = manifest["sections"]
    assert sections["whl/cpu"]["stands_in_for"] == "https://download.pytorch.org/whl/cpu"
    assert sections["whl/cpu"]["present"] is True
    assert sections["uv"]["present"] is False
    assert "TEST DOUBLE" in sections["miniconda"]["description"]
    assert "TEST DOUBLE" in sections["miniforge"]["description"]
    assert manifest["versions"] == {"uv": "0.13.9"}


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


def test_sha256sums_uses_sha256sum_format(tmp_path):
    installer = tmp_path / "Miniconda3-py311_25.11.1-1-Linux-x86_64.sh"
    installer.write_text("#!/bin/sh\necho stand-in\n")
    (tmp_path / "Miniconda3-py311_25.11.1-1-Linux-x86_64.sh.sha256").write_text("ignored\n")
    assert bm.write_sha256sums(tmp_path, bm.HashCache(None))
    digest = hashlib.sha256(installer.read_bytes()).hexdigest()
    assert (tmp_path / "SHA256SUMS").read_text() == f"{digest}  {installer.name}\n"
    assert not bm.write_sha256sums(tmp_path, bm.HashCache(None))


def test_platform_tags_cover_manylinux_up_to_2_28_only():
    tags = bm.manylinux_platforms()
    assert tags[0] == "manylinux_2_28_x86_64"
    assert "manylinux_2_17_x86_64" in tags
    assert "manylinux2014_x86_64" in tags
    assert "manylinux_2_29_x86_64" not in tags


def test_conda_standins_are_skipped_with_a_message_when_the_builder_is_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(bm, "STANDIN_BUILDER", bm.REPO_ROOT / "tests" / "harness" / "no-such-builder.py")
    messages: list[str] = []
    assert bm.build_conda_standins(tmp_path, bm.HashCache(None), messages.append) is None
    assert any("SKIPPED" in m for m in messages)
    assert not (tmp_path / "miniconda").exists()


def test_print_env_names_the_pinned_versions(capsys):
    bm.print_env(Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"))
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["TORCHFLEET_TORCH_VERSION"] == "2.13.0"
    assert lines["TORCHFLEET_UV_VERSION"] == bm.UV_VERSION
    assert lines["TORCHFLEET_MINICONDA_VERSION"] == "py311_25.11.1-1"
    assert lines["TORCHFLEET_MINIFORGE_VERSION"] == "25.11.0-1"


def test_mnist_section_writes_the_four_files_and_their_sha256sums(tmp_path):
    pytest.importorskip("sklearn")
    messages: list[str] = []
    assert bm.build_mnist(tmp_path, bm.HashCache(None), messages.append, Path(sys.executable)) is True
    out = tmp_path / "mnist"
    sums = dict(reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(bm.MNIST_FILES)
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # Same inputs: nothing to do; the files are reproducible byte for byte.
    assert bm.build_mnist(tmp_path, bm.HashCache(None), messages.append, Path(sys.executable)) is False
    manifest = bm.build_manifest(tmp_path, bm.HashCache(None), {})
    assert {f["section"] for f in manifest["files"]} == {"mnist"}
    assert manifest["sections"]["mnist"]["present"] is True


def test_mnist_section_is_skipped_with_a_message_without_its_python(tmp_path):
    messages: list[str] = []
    assert bm.build_mnist(tmp_path, bm.HashCache(None), messages.append, tmp_path / "no-python") is None
    assert any("SKIPPED" in m for m in messages)
    assert not (tmp_path / "mnist").exists()
