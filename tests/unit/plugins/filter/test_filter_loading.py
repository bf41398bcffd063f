"""Loading the collection's filters imports none of its module_utils; a filter's first call imports only its own.

ansible-core loads every filter file of a collection on the first use of any of its filters, in the worker process
it forks for each task (lib/ansible/plugins/loader.py, Jinja2Loader), and compiles every ``ansible_collections``
module from source each time (lib/ansible/utils/collection_loader/_collection_finder.py, ``get_code``). With the
module_utils imported when the filter files load, every task that used one filter paid for compiling all of them:
0.13 s on the bench machine. Each check runs in a fresh interpreter, as a worker starts with none of them loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.filter import url_credentials

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
STEMS = sorted(p.stem for p in FILTER_DIR.glob("*.py") if not p.name.startswith("_"))
COLLECTIONS = str(Path(url_credentials.__file__).parents[5])  # <dir>/ansible_collections/torchfleet/lab/plugins/filter
PACKAGE = "ansible_collections.torchfleet.lab.plugins"

# Loads every filter file as Ansible does (the module, then FilterModule().filters()), optionally calls one filter,
# and prints which of the collection's module_utils are then imported.
PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
package, stems, call = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
filters = {}
for stem in stems:
    filters.update(importlib.import_module(package + ".filter." + stem).FilterModule().filters())
loaded = sorted(k.rsplit(".", 1)[1] for k in sys.modules if k.startswith(package + ".module_utils."))
if call:
    filters[call[0]](*call[1], **call[2])
used = sorted(k.rsplit(".", 1)[1] for k in sys.modules if k.startswith(package + ".module_utils."))
print(json.dumps({"loaded": loaded, "used": used}))
"""


def _probe(call=None):
    argv = [sys.executable, "-c", PROBE, COLLECTIONS, PACKAGE, json.dumps(STEMS), json.dumps(call)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_filter_file_is_probed():
    assert {"pytorch_env", "torch_build", "driver", "trainers", "conda", "mirror", "url_credentials"} <= set(STEMS)


def test_loading_every_filter_imports_no_module_utils():
    assert _probe()["loaded"] == []


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        # The filter the roles' no_log conditions use: a few lines of _mirror.
        (["url_has_credentials", ["https://user:secret@mirror.example/"], {}], ["_mirror"]),
        # pytorch_env's checks: its own module, without the build matrix or the conda installers.
        (
            ["pytorch_env_check_inputs", [{"version": "2.10", "python": "", "extra_packages": []}], {}],
            ["_mirror", "_platform", "_pytorch_env"],
        ),
        (["pytorch_release", ["2.10"], {}], ["_platform", "_torch_build", "_torch_matrix"]),
    ],
    ids=["url_has_credentials", "pytorch_env_check_inputs", "pytorch_release"],
)
def test_a_filter_imports_only_what_it_uses(call, expected):
    assert _probe(call)["used"] == expected


def test_an_unknown_option_of_a_forwarding_filter_is_refused_on_first_call():
    # The forwarded options (pytorch_env_layout's LayoutRequest fields) are read when the filter first runs.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from ansible_collections.torchfleet.lab.plugins.filter import pytorch_env as m;"
            "f = m.FilterModule().filters()['pytorch_env_layout']\n"
            "try:\n    f({}, 'torch', no_such=1)\nexcept Exception as e:\n    print(e)",
            COLLECTIONS,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "pytorch_env_layout: unknown option 'no_such'" in out
    assert "prefix" in out  # a forwarded option, listed among its options
