#!/usr/bin/env python
"""The lab mirror, served with faults that a test turns on: the molecule ``faults`` scenario's HTTP server.

It serves a mirror directory like ``python3 -m http.server`` (GET and HEAD, loopback only by default), and
before each response it reads ``<state>/faults.json``, a list of rules the test writes::

    [{"match": "whl/cpu/torch-.*\\.whl$", "fault": "truncate", "at": 0.5, "times": 1}]

``match`` is a regular expression searched in the request path. ``at`` is a fraction of the file (below 1) or
a byte count. ``times`` (default: every request) counts the responses the rule spoils. The faults are real
ones, on the wire, as a client meets them:

- ``truncate``: a complete 200 response that is short: Content-Length and body stop at ``at``.
- ``corrupt``: the full length, with 4096 bytes from ``at`` inverted (a disk or proxy that mangles data).
- ``die``: headers promise the whole file, ``at`` bytes are sent, then the whole server process exits, in
  the middle of the download (the mirror machine going away). The test starts it again.
- ``slow``: the file at ``rate`` bytes per second (default 1 MiB/s), so that a test can act mid-download.

Every spoiled response is appended to ``<state>/hits.jsonl``, so a test can tell that its fault was met.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

CHUNK = 64 * 1024
LOCK = threading.Lock()


class FaultState:
    def __init__(self, state_dir: Path):
        self.dir = state_dir
        self.used: dict[str, int] = {}

    def rule_for(self, path: str):
        """The first rule that matches ``path`` and has responses left to spoil; counts it as used."""
        try:
            rules = json.loads((self.dir / "faults.json").read_text())
        except FileNotFoundError:
            return None
        with LOCK:
            for rule in rules:
                if not re.search(rule["match"], path):
                    continue
                key = json.dumps(rule, sort_keys=True)
                if "times" in rule and self.used.get(key, 0) >= int(rule["times"]):
                    continue
                self.used[key] = self.used.get(key, 0) + 1
                with open(self.dir / "hits.jsonl", "a", encoding="utf-8") as hits:
                    hits.write(json.dumps({"path": path, **rule}) + "\n")
                return rule
        return None


def _cut(rule: dict, size: int) -> int:
    at = float(rule.get("at", 0.5))
    return min(size, int(size * at) if at < 1 else int(at))


class Handler(http.server.SimpleHTTPRequestHandler):
    state: FaultState

    def log_message(self, format, *args):
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {format % args}\n")

    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            return super().send_head()
        rule = self.state.rule_for(self.path.split("?", 1)[0])
        if rule is None:
            return super().send_head()
        data = Path(path).read_bytes()
        self.fault = (rule, data)
        length = _cut(rule, len(data)) if rule["fault"] == "truncate" else len(data)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(length))
        self.end_headers()
        return None

    def do_GET(self):
        self.fault = None
        source = self.send_head()
        if self.fault is None:
            if source:
                try:
                    self.copyfile(source, self.wfile)
                finally:
                    source.close()
            return
        rule, data = self.fault
        kind = rule["fault"]
        if kind == "truncate":
            self.wfile.write(data[: _cut(rule, len(data))])
        elif kind == "corrupt":
            start = _cut(rule, len(data))
            spoiled = bytes(b ^ 0xFF for b in data[start : start + 4096])
            self.wfile.write(data[:start] + spoiled + data[start + len(spoiled) :])
        elif kind == "die":
            self.wfile.write(data[: _cut(rule, len(data))])
            self.wfile.flush()
            self.log_message("fault 'die' after %d of %d bytes of %s: the server exits", _cut(rule, len(data)),
                             len(data), self.path)  # fmt: skip
            os._exit(3)
        elif kind == "slow":
            rate = int(rule.get("rate", 1 << 20))
            for offset in range(0, len(data), CHUNK):
                self.wfile.write(data[offset : offset + CHUNK])
                self.wfile.flush()
                time.sleep(len(data[offset : offset + CHUNK]) / rate)
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def do_HEAD(self):
        self.fault = None
        source = self.send_head()
        if source:
            source.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--directory", required=True, type=Path, help="the mirror directory to serve")
    parser.add_argument("--state", required=True, type=Path, help="holds faults.json, hits.jsonl and the pid")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args(argv)
    args.state.mkdir(parents=True, exist_ok=True)
    Handler.state = FaultState(args.state)

    def handler(*a, **kw):
        return Handler(*a, directory=str(args.directory), **kw)

    server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    (args.state / "pid").write_text(f"{os.getpid()}\n")
    print(f"serving {args.directory} at http://{args.bind}:{args.port} with faults from {args.state}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
