#!/usr/bin/env python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write one release of the mirror as a tar archive: ``stage_release.py SPEC.json OUT.tar``.

SPEC holds ``files`` (``[{"path", "src"}]``: files on the controller and their path in the release), ``generated``
(``{path: text}``: indexes and checksum files) and ``sums`` (the release's SHA256SUMS). The mirror role sends the
archive in one transfer and unpacks it on the mirror host, instead of one task per file. The archive is written
to a temporary name and renamed into place, so a cut-short run never leaves an archive that looks complete.
"""

import io
import json
import os
import sys
import tarfile


def _info(name, size=0, directory=False):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = size
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def main(spec_path, out_path):
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    texts = dict(spec["generated"], SHA256SUMS=spec["sums"])
    paths = [entry["path"] for entry in spec["files"]] + list(texts)
    directories = set()
    for path in paths:
        parts = path.split("/")[:-1]
        directories.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    tmp = out_path + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as archive:
        for directory in sorted(directories):
            archive.addfile(_info(directory, directory=True))
        for entry in spec["files"]:
            with open(entry["src"], "rb") as handle:
                archive.addfile(_info(entry["path"], os.fstat(handle.fileno()).st_size), handle)
        for path, text in sorted(texts.items()):
            data = text.encode("utf-8")
            archive.addfile(_info(path, len(data)), io.BytesIO(data))
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
