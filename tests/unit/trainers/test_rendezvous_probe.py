"""rendezvous_probe.py: the listener every host connects to before a distributed launch (loopback only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

PROBE = Path(__file__).resolve().parents[3] / "roles" / "trainers" / "files" / "rendezvous_probe.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_like_wait_for(port: int) -> None:
    """What ansible.builtin.wait_for does with host and port: connect, shut down, close; retry until it works."""
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        return


def test_the_probe_counts_the_hosts_and_leaves_the_port_free_for_torchrun():
    port = _free_port()
    probe = subprocess.Popen(
        [sys.executable, str(PROBE), "--bind", "127.0.0.1", "--port", str(port), "--expect", "2", "--seconds", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _connect_like_wait_for(port)
    _connect_like_wait_for(port)
    out, err = probe.communicate(timeout=30)
    assert probe.returncode == 0, err
    assert json.loads(out) == {"accepted": 2, "expected": 2}
    # torchrun's store binds the same port next.
    with socket.socket() as store:
        store.bind(("127.0.0.1", port))


def test_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(PROBE), "--bind", "127.0.0.1", "--port", str(port), "--expect", "1"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert (
        f"rendezvous_probe: error: cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use"
        in result.stderr
    )


def test_nobody_coming_ends_at_the_deadline_with_the_count():
    port = _free_port()
    result = subprocess.run(
        [sys.executable, str(PROBE), "--bind", "127.0.0.1", "--port", str(port), "--expect", "3", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"accepted": 0, "expected": 3}
