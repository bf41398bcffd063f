"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test bootstraps pip into each sanity virtual environment by running a
``get-pip.py`` that it downloads from a host this lab cannot reach.  It first looks
for ``~/.ansible/test/cache/get_pip_<version>.py`` and runs that instead; the Makefile
copies this file there.  It does what get-pip does, from what is already on the machine:
``ensurepip`` puts the bundled pip into the environment, then pip installs the pinned
version ansible-test asked for from the package index the machine is configured for.
"""

import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null while it runs and leaves it set in
# os.environ; that would hide the machine's pip configuration (its index and CA bundle).
_saved = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
if _saved is None:
    os.environ.pop("PIP_CONFIG_FILE", None)
else:
    os.environ["PIP_CONFIG_FILE"] = _saved

# get-pip understands these; pip install does not.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
