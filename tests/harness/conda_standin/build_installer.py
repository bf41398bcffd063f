#!/usr/bin/env python
"""Build the torchfleet.lab conda stand-in installer -- a TEST DOUBLE, not Miniconda or Miniforge.

Writes ``<DIR>/Miniconda3-<version>-<OS>-<arch>.sh`` (or ``Miniforge3-...``), named as upstream names its
installers (as upstream lists them), plus ``<file>.sha256`` in ``sha256sum`` format, and prints the
sha256.  The installer is installer_header.sh followed by a base64 tar.gz of payload/ (the stand-in ``conda``
CLI and the base-environment setup).  The build is reproducible: same inputs, same bytes, same checksum.

    python3 tests/harness/conda_standin/build_installer.py --flavor miniconda --version py311_25.11.1-1 \\
        --os Linux --arch x86_64 --out DIR
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOAD_FILES = ("conda_standin.py", "setup_base.py")
MARKER = "__TORCHFLEET_STANDIN_PAYLOAD__"
# The installed size the installer's free-space check asks for (constructor's total_installation_size_kb):
# `du -sk` of a stand-in prefix on Debian 12 (python3.11 venv with pip, byte-code included) is about 26 MB.
TOTAL_KB = 27000


def payload_b64() -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in PAYLOAD_FILES:
            with open(os.path.join(HERE, "payload", name), "rb") as handle:
                data = handle.read()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), mtime=0)
    text = base64.b64encode(packed).decode("ascii")
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def installer_name(flavor: str, version: str, os_name: str, arch: str) -> str:
    base = "Miniconda3" if flavor == "miniconda" else "Miniforge3"
    return f"{base}-{version}-{os_name}-{arch}.sh"


def build(flavor: str, version: str, os_name: str, arch: str, out: str) -> tuple[str, str]:
    if not re.match(r"^[A-Za-z0-9_.+-]+$", version):
        raise ValueError(f"version must look like py311_25.11.1-1 or 25.11.0-1: {version!r}")
    name = "Miniconda3" if flavor == "miniconda" else "Miniforge3"
    with open(os.path.join(HERE, "installer_header.sh")) as handle:
        header = handle.read()
    for key, value in (("NAME", name), ("LOWER_NAME", name.lower()), ("VERSION", version), ("OS", os_name),
                       ("ARCH", arch), ("TOTAL_KB", str(TOTAL_KB))):  # fmt: skip
        header = header.replace(f"@{key}@", value)
    script = header.rstrip("\n") + "\n" + MARKER + "\n" + payload_b64() + "\n"
    os.makedirs(out, exist_ok=True)
    filename = installer_name(flavor, version, os_name, arch)
    path = os.path.join(out, filename)
    with open(path, "w", newline="\n") as handle:
        handle.write(script)
    os.chmod(path, 0o755)
    digest = hashlib.sha256(script.encode("utf-8")).hexdigest()
    with open(path + ".sha256", "w") as handle:
        handle.write(f"{digest}  {filename}\n")
    return path, digest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the conda stand-in installer (TEST DOUBLE).")
    parser.add_argument("--flavor", choices=("miniconda", "miniforge"), required=True)
    parser.add_argument("--version", required=True, help="py311_25.11.1-1 (Miniconda) or 25.11.0-1 (Miniforge)")
    parser.add_argument("--os", dest="os_name", default="Linux", choices=("Linux", "MacOSX"))
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    _path, digest = build(args.flavor, args.version, args.os_name, args.arch, args.out)
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
