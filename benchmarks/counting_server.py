"""An HTTP file server for `make bench` that records every byte it sends, one JSON line per request.

    python benchmarks/counting_server.py --root DIR --port N --log FILE [--upstream]

Plain mode serves DIR as it is: the lab mirror the hosts provision from, so its log is what the hosts fetched.
``--upstream`` plays "the internet" for the mirror role (playbooks/mirror.yml's fetch): DIR is the lab mirror,
laid out as download.pytorch.org (``/whl/<build>/``) and as one PyPI simple index (``/pypi/simple/``) that holds
both the lab's copy of PyPI (``pypi/simple``, ``pypi/packages``) and the torch dependencies the lab keeps beside
the CPU build (``whl/cpu/<project>/``). Loopback only: it binds 127.0.0.1.
"""

import argparse
import json
import os
import posixpath
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

_LOCK = threading.Lock()


def upstream_path(root, url_path):
    """The file under ``root`` the upstream layout serves for ``url_path``, or None (404)."""
    path = posixpath.normpath(unquote(urlsplit(url_path).path))
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[:2] == ["pypi", "simple"]:
        rest = parts[2:]
        if not rest:
            return os.path.join(root, "pypi", "simple", "index.html")
        if len(rest) == 1 and rest[0].endswith(".whl"):
            # ../<file> from a whl/cpu project page, seen from /pypi/simple/<project>/.
            return os.path.join(root, "whl", "cpu", rest[0])
        if len(rest) == 1:
            for base in (("pypi", "simple"), ("whl", "cpu")):
                candidate = os.path.join(root, *base, rest[0], "index.html")
                if os.path.isfile(candidate):
                    return candidate
        return None
    if parts and parts[0] in ("whl", "pypi", "uv", "mnist", "miniconda", "miniforge"):
        return os.path.join(root, *parts)
    return None


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves files and appends {path, status, bytes, t} to the log for each request."""

    upstream = False
    log_path = ""

    def translate_path(self, path):
        if self.upstream:
            found = upstream_path(self.directory, path)
            if found and os.path.isdir(found):
                found = os.path.join(found, "index.html")
            return found or os.path.join(self.directory, ".no-such-file")
        return super().translate_path(path)

    def copyfile(self, source, outputfile):
        sent = 0
        while True:
            chunk = source.read(1 << 16)
            if not chunk:
                break
            outputfile.write(chunk)
            sent += len(chunk)
        self._sent = sent

    def log_request(self, code="-", size="-"):
        # Called by send_response, before the body goes out: keep the status, write the record in do_GET.
        self._status = int(code) if str(code).isdigit() else 0

    def do_GET(self):
        self._sent, self._status = 0, 0
        try:
            super().do_GET()
        finally:
            record = {"path": self.path, "status": self._status, "bytes": self._sent, "t": time.time()}
            with _LOCK, open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--upstream", action="store_true")
    args = parser.parse_args()
    handler = type("Handler", (CountingHandler,), {"upstream": args.upstream, "log_path": args.log})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), partial(handler, directory=args.root))
    server.serve_forever()


if __name__ == "__main__":
    main()
