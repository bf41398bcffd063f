"""Make the checkout importable as ``ansible_collections.torchfleet.lab``.

Modules and filters import shared code by its collection path, so the unit tests
need the repository to appear under that name.  A symlink tree in a temporary
directory does it without copying or installing anything.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _collection_root() -> Path:
    # Already inside an ansible_collections/torchfleet/lab tree (ansible-test units)?
    if REPO_ROOT.parent.name == "torchfleet" and REPO_ROOT.parent.parent.name == "ansible_collections":
        return REPO_ROOT.parent.parent.parent
    base = Path(tempfile.mkdtemp(prefix="torchfleet-units-"))
    ns = base / "ansible_collections" / "torchfleet"
    ns.mkdir(parents=True)
    os.symlink(REPO_ROOT, ns / "lab")
    return base


_root = str(_collection_root())
if _root not in sys.path:
    sys.path.insert(0, _root)

# ansible.module_utils replaces sys.intern with a patch object when a module test imports it.
# torch._dynamo, imported lazily by torch.optim, registers a substitute for sys.intern and refuses
# anything that is not a function. The trainer tests run the scripts in-process after the module
# tests, so torch._dynamo must be imported while sys.intern is still the builtin.
with contextlib.suppress(ImportError):  # torch is optional outside the trainer tests
    importlib.import_module("torch._dynamo")
