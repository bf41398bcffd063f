"""torchfleet.lab.uv_binary against a real HTTP server on loopback (Python's http.server, in a thread).

The archives are made here with tarfile in the layout of uv's release assets: one top directory named after the
target, holding ``uv`` and ``uvx`` (``tar -tvzf uv-x86_64-unknown-linux-gnu.tar.gz`` of uv 0.13.9's asset, as
https://github.com/astral-sh/uv/releases publishes it; tests/harness/build_mirror.py rebuilds the lab's copy in the
same layout). The ``.sha256`` files are in ``sha256sum``'s form, ``DIGEST  NAME``, as published beside each asset.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import stat
import tarfile
import threading

import pytest
from ansible_collections.torchfleet.lab.plugins.modules import uv_binary

from .conftest import ExitJson, FailJson, run_main

ASSET = "uv-x86_64-unknown-linux-gnu.tar.gz"
TOP = "uv-x86_64-unknown-linux-gnu"
UV = b"#!/bin/sh\necho uv 0.13.9\n"
UVX = b"#!/bin/sh\necho uvx 0.13.9\n"


def make_archive(path, members=None):
    """A tar.gz of (name, bytes or a TarInfo type) members; by default uv's layout."""
    members = members or [(TOP + "/", None), (f"{TOP}/uv", UV), (f"{TOP}/uvx", UVX)]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name.rstrip("/"))
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, bytes):
                info.size, info.mode = len(content), 0o755
                tar.addfile(info, io.BytesIO(content))
            else:  # a link type: (type, target)
                info.type, info.linkname = content
                tar.addfile(info)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # quiet; the server keeps its own list of paths
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        short = self.server.short.get(self.path)
        if short is not None:  # announce the whole file, send the first bytes, close
            self.send_response(200)
            self.send_header("Content-Length", str(short[1]))
            self.end_headers()
            self.wfile.write(short[0])
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    (root / "uv" / "0.13.9").mkdir(parents=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    httpd.requests, httpd.short = [], {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.root = root / "uv" / "0.13.9"
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/uv/0.13.9/{ASSET}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def publish(server, members=None):
    digest = make_archive(server.root / ASSET, members)
    (server.root / (ASSET + ".sha256")).write_text(f"{digest}  {ASSET}\n")
    return digest


def params(tmp_path, server, **overrides):
    cache, bin_dir = tmp_path / "cache", tmp_path / "bin"
    return {
        "url": server.url,
        "checksum": "sha256:" + server.url + ".sha256",
        "archive": str(cache / ASSET),
        "unpack_dir": str(cache / "uv-0.13.9"),
        "dest": str(bin_dir / "uv"),
        "dirs": [str(cache / "uv-0.13.9"), str(bin_dir)],
        **overrides,
    }


def run(args, check_mode=False):
    outcome = run_main(uv_binary.main, args, check_mode=check_mode)
    return type(outcome), outcome.kwargs


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_a_fresh_host_gets_the_directories_the_archive_and_uv_in_one_step(tmp_path, server):
    digest = publish(server)
    kind, result = run(params(tmp_path, server))
    assert kind is ExitJson, result
    assert result["changed"] and result["downloaded"] and result["unpacked"] and result["installed"]
    assert result["sha256"] == digest
    assert result["created"] == [str(tmp_path / "cache"), str(tmp_path / "cache" / "uv-0.13.9"), str(tmp_path / "bin")]
    for created in result["created"]:
        assert stat.S_IMODE(os.stat(created).st_mode) == 0o755
    dest = tmp_path / "bin" / "uv"
    assert dest.read_bytes() == UV and stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert (tmp_path / "cache" / "uv-0.13.9" / "uvx").read_bytes() == UVX
    assert tree(tmp_path / "cache") == sorted([ASSET, "uv-0.13.9", "uv-0.13.9/uv", "uv-0.13.9/uvx"])
    assert server.requests == [f"/uv/0.13.9/{ASSET}.sha256", f"/uv/0.13.9/{ASSET}"]


def test_a_second_run_changes_nothing_and_fetches_only_the_checksum(tmp_path, server):
    publish(server)
    run(params(tmp_path, server))
    server.requests.clear()
    kind, result = run(params(tmp_path, server))
    assert kind is ExitJson
    assert not (result["changed"] or result["downloaded"] or result["unpacked"] or result["installed"])
    assert server.requests == [f"/uv/0.13.9/{ASSET}.sha256"]


def test_a_pinned_digest_needs_no_request_once_the_archive_is_there(tmp_path, server):
    digest = publish(server)
    run(params(tmp_path, server, checksum="sha256:" + digest.upper()))
    server.requests.clear()
    kind, result = run(params(tmp_path, server, checksum="sha256:" + digest))
    assert kind is ExitJson and not result["changed"]
    assert server.requests == []


def test_a_download_that_does_not_match_is_not_kept(tmp_path, server):
    publish(server)
    (server.root / ASSET).write_bytes((server.root / ASSET).read_bytes()[:-7] + b"spoiled")
    kind, result = run(params(tmp_path, server))
    assert kind is FailJson
    assert "did not match" in result["msg"] and "pytorch_env_uv_sha256" in result["msg"]
    assert tree(tmp_path / "cache") == ["uv-0.13.9"]  # the directory, and no archive or partial file
    assert not (tmp_path / "bin" / "uv").exists()


def test_a_body_cut_short_fails_cleanly_and_leaves_no_partial_file(tmp_path, server):
    publish(server)
    whole = (server.root / ASSET).read_bytes()
    server.short[f"/uv/0.13.9/{ASSET}"] = (whole[: len(whole) // 2], len(whole))
    kind, result = run(params(tmp_path, server))
    assert kind is FailJson
    assert f"broke off after {len(whole) // 2} of {len(whole)} bytes" in result["msg"], result["msg"]
    assert tree(tmp_path / "cache") == ["uv-0.13.9"]


def test_an_archive_of_another_release_is_replaced_and_unpacked(tmp_path, server):
    publish(server)
    args = params(tmp_path, server)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / ASSET).write_bytes(b"an older release")
    kind, result = run(args)
    assert kind is ExitJson and result["downloaded"] and result["installed"]
    assert (tmp_path / "bin" / "uv").read_bytes() == UV


def test_a_uv_binary_someone_replaced_is_put_back_without_a_download(tmp_path, server):
    publish(server)
    args = params(tmp_path, server)
    run(args)
    dest = tmp_path / "bin" / "uv"
    dest.write_bytes(b"not uv")
    server.requests.clear()
    kind, result = run(args)
    assert kind is ExitJson
    assert result["changed"] and result["installed"] and not result["downloaded"] and not result["unpacked"]
    assert dest.read_bytes() == UV
    assert server.requests == [f"/uv/0.13.9/{ASSET}.sha256"]


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path, server):
    publish(server)
    kind, result = run(params(tmp_path, server), check_mode=True)
    assert kind is ExitJson
    assert result["changed"] and result["downloaded"] and result["unpacked"] and result["installed"]
    assert len(result["created"]) == 3
    assert tree(tmp_path) == [
        "www",
        "www/uv",
        "www/uv/0.13.9",
        f"www/uv/0.13.9/{ASSET}",
        f"www/uv/0.13.9/{ASSET}.sha256",
    ]
    assert server.requests == [f"/uv/0.13.9/{ASSET}.sha256"]


def test_an_existing_directory_keeps_its_mode(tmp_path, server):
    publish(server)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    args = params(
        tmp_path, server, dest=str(private / "uv"), dirs=[str(private), str(tmp_path / "cache" / "uv-0.13.9")]
    )
    kind, result = run(args)
    assert kind is ExitJson and str(private) not in result["created"]
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("member", "words"),
    [
        ((f"{TOP}/../../evil", b"x"), "outside the directory"),
        (("/etc/evil", b"x"), "outside the directory"),
        ((f"{TOP}/link", (tarfile.SYMTYPE, "/etc/passwd")), "not a regular file"),
    ],
    ids=["dot-dot", "absolute", "symlink"],
)
def test_an_unsafe_archive_member_fails_before_anything_is_unpacked(tmp_path, server, member, words):
    publish(server, [(TOP + "/", None), (f"{TOP}/uv", UV), member])
    kind, result = run(params(tmp_path, server))
    assert kind is FailJson and words in result["msg"]
    assert tree(tmp_path / "cache" / "uv-0.13.9") == []
    assert not (tmp_path / "bin" / "uv").exists()
    assert not (tmp_path / "evil").exists()


def test_an_archive_without_uv_fails_and_names_it(tmp_path, server):
    publish(server, [(TOP + "/", None), (f"{TOP}/uvx", UVX)])
    kind, result = run(params(tmp_path, server))
    assert kind is FailJson and "holds no uv" in result["msg"]
    assert not (tmp_path / "bin" / "uv").exists()


def test_a_missing_file_names_the_url_without_its_password(tmp_path, server):
    port = server.server_address[1]
    url = f"http://student:hunter2@127.0.0.1:{port}/uv/0.13.9/{ASSET}"
    kind, result = run(params(tmp_path, server, url=url, checksum="sha256:" + url + ".sha256"))
    assert kind is FailJson
    assert "HTTP 404" in result["msg"] and f"127.0.0.1:{port}/uv/0.13.9/{ASSET}.sha256" in result["msg"]
    assert "hunter2" not in result["msg"]


def test_a_checksum_file_of_several_assets_gives_this_archive_s_line(tmp_path, server):
    digest = publish(server)
    (server.root / "sums.txt").write_text(f"{'0' * 64}  uv-aarch64-apple-darwin.tar.gz\n{digest} *{ASSET}\n")
    sums = server.url.rsplit("/", 1)[0] + "/sums.txt"
    kind, result = run(params(tmp_path, server, checksum="sha256:" + sums))
    assert kind is ExitJson and result["sha256"] == digest


@pytest.mark.parametrize("checksum", ["md5:" + "0" * 32, "sha256:", "sha256:abc", "0" * 64])
def test_a_checksum_of_another_form_is_refused(tmp_path, server, checksum):
    publish(server)
    kind, result = run(params(tmp_path, server, checksum=checksum))
    assert kind is FailJson and "sha256:DIGEST" in result["msg"]
    assert not (tmp_path / "cache" / ASSET).exists()
