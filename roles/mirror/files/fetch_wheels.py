#!/usr/bin/env python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch one wheel set: ``fetch_wheels.py DIR STEPS_JSON``.

Runs each ``pip`` argument list of STEPS_JSON (module_utils/_mirror_plan.py ``pip_steps``) with this Python in DIR,
in order, and stops at the first that fails. Only when all succeeded does it write DIR/.complete, the sorted names
of the distributions there, by a rename, so an interrupted run leaves no list and is run again.
"""

import json
import os
import subprocess
import sys

DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


def main(directory, steps_json):
    # pip reads no configuration file at all (https://pip.pypa.io/en/stable/topics/configuration/).
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    for step in json.loads(steps_json):
        print("$ pip " + " ".join(step), flush=True)
        result = subprocess.run([sys.executable, "-m", "pip", *step], cwd=directory, env=env, check=False)
        if result.returncode != 0:
            return result.returncode
    names = sorted(n for n in os.listdir(directory) if n.endswith(DIST_SUFFIXES))
    tmp = os.path.join(directory, ".complete.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("".join(name + "\n" for name in names))
    os.replace(tmp, os.path.join(directory, ".complete"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
