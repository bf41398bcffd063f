#!/usr/bin/env python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print a JSON object: for each path given, its SHA-256 (null when it is not a regular file).

The mirror role runs it once on the controller for every file of a release, instead of one stat task per file.
"""

import hashlib
import json
import os
import sys


def digest(path):
    if not os.path.isfile(path):
        return None
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


if __name__ == "__main__":
    json.dump({path: digest(path) for path in sys.argv[1:]}, sys.stdout)
