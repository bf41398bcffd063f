"""The fault mirror (tests/harness/fault_mirror.py) spoils exactly the responses its rules name, as a client sees
them on the wire: a short 200, flipped bytes, a server that goes away mid-body, a slow body."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "harness" / "fault_mirror.py"
BODY = bytes(range(256)) * 400  # 102400 bytes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    (root / "whl").mkdir(parents=True)
    (root / "whl" / "big.whl").write_bytes(BODY)
    (root / "other.txt").write_bytes(b"untouched\n")
    state, port = tmp_path / "state", _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--directory", str(root), "--state", str(state), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    for _attempt in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield {"port": port, "state": state, "proc": proc}
    proc.kill()
    proc.wait()


def _rules(server, *rules):
    (server["state"] / "faults.json").write_text(json.dumps(list(rules)))


def _get(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    conn.request("GET", path)
    return conn.getresponse()


def test_no_rule_serves_the_file_as_it_is(server):
    response = _get(server, "/whl/big.whl")
    assert (response.status, response.read()) == (200, BODY)


def test_truncate_sends_a_complete_but_short_response_once(server):
    _rules(server, {"match": r"\.whl$", "fault": "truncate", "at": 0.25, "times": 1})
    response = _get(server, "/whl/big.whl")
    assert response.getheader("Content-Length") == str(len(BODY) // 4)
    assert response.read() == BODY[: len(BODY) // 4]
    again = _get(server, "/whl/big.whl")
    assert again.read() == BODY
    hits = [json.loads(line) for line in (server["state"] / "hits.jsonl").read_text().splitlines()]
    assert [(h["path"], h["fault"]) for h in hits] == [("/whl/big.whl", "truncate")]


def test_corrupt_keeps_the_length_and_flips_bytes_from_the_offset(server):
    _rules(server, {"match": r"\.whl$", "fault": "corrupt", "at": 1000})
    body = _get(server, "/whl/big.whl").read()
    assert len(body) == len(BODY)
    assert body[:1000] == BODY[:1000] and body[5096:] == BODY[5096:]
    assert body[1000:5096] == bytes(b ^ 0xFF for b in BODY[1000:5096])


def test_a_rule_leaves_other_paths_alone(server):
    _rules(server, {"match": r"\.whl$", "fault": "corrupt", "at": 0})
    assert _get(server, "/other.txt").read() == b"untouched\n"


def test_die_ends_the_body_early_and_the_server_with_it(server):
    _rules(server, {"match": r"\.whl$", "fault": "die", "at": 0.5})
    response = _get(server, "/whl/big.whl")
    assert response.getheader("Content-Length") == str(len(BODY))
    with pytest.raises(http.client.IncompleteRead) as short:
        response.read()
    assert len(short.value.partial) == len(BODY) // 2
    assert server["proc"].wait(timeout=10) == 3
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server["port"]), timeout=1)


def test_slow_sends_the_whole_file_at_the_rate_asked(server):
    _rules(server, {"match": r"\.whl$", "fault": "slow", "rate": 256 * 1024})
    start = time.monotonic()
    body = _get(server, "/whl/big.whl").read()
    assert body == BODY
    # Not a speed target: a lower bound the server's own sleeps set (the first 64 KiB chunk, then 0.25 s at 256 KiB/s).
    assert time.monotonic() - start >= 0.2
