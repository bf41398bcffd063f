#!/usr/bin/env python
"""Listen on the rendezvous address for a moment, so that every host can show it reaches it before a launch.

    rendezvous_probe.py --bind ADDR --port PORT --expect N [--seconds S]

Binds ADDR:PORT on the first host of a distributed run (the address torchrun's rendezvous will be reached at),
accepts connections until N have come and gone or S seconds have passed, and prints JSON:
{"accepted": n}.  Each connection is read until the peer closes it, so the port is left with no connection
of this probe's in TIME_WAIT on this side, free for torchrun's store.  A port that cannot be bound (in use,
an address this host does not have) is one line on stderr and exit code 2.  Standard library only.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Accept N connections on ADDR:PORT, then exit.")
    parser.add_argument("--bind", required=True, help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--expect", type=int, required=True, help="connections to wait for")
    parser.add_argument("--seconds", type=float, default=60.0, help="the longest it listens")
    args = parser.parse_args(argv)

    try:
        family = socket.getaddrinfo(args.bind, args.port, type=socket.SOCK_STREAM)[0][0]
        server = socket.socket(family, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((args.bind, args.port))
        server.listen(16)
    except OSError as exc:
        print(f"rendezvous_probe: error: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 2

    accepted = 0
    deadline = time.monotonic() + args.seconds
    with server:
        while accepted < args.expect:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            server.settimeout(left)
            try:
                connection, _peer = server.accept()
            except socket.timeout:
                break
            accepted += 1
            with connection:
                connection.settimeout(5)
                try:
                    while connection.recv(1024):
                        pass
                except OSError:
                    pass
    print(json.dumps({"accepted": accepted, "expected": args.expect}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
