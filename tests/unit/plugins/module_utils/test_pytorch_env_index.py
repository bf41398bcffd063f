"""Which index torch comes from, and which serves the other packages (module_utils/_pytorch_env.py choose_index,
the pytorch_env_index filter that roles/pytorch_env/tasks/preflight.yml calls).

The builds are what the torch_build filter returns, with the index base preflight.yml gives it: ``<mirror>/whl``
with a mirror, else PyTorch's own index.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.filter.pytorch_env import FilterModule
from ansible_collections.torchfleet.lab.plugins.filter.torch_build import FilterModule as TorchBuild
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe

from ...ansible_compat import trust_as_template

PREFLIGHT = Path(__file__).resolve().parents[4] / "roles" / "pytorch_env" / "tasks" / "preflight.yml"
UPSTREAM = "https://download.pytorch.org/whl"
MIRROR = "http://lab:s3cr3t@mirror.lab:8765"
USER_INDEX = "https://t0ken@pypi.lab/simple"
pytorch_env_index = FilterModule().filters()["pytorch_env_index"]
torch_build = TorchBuild().filters()["torch_build"]


def _build(system, machine, compute, mirror=""):
    base = f"{mirror}/whl" if mirror else UPSTREAM
    return torch_build("2.7.1", system=system, machine=machine, compute=compute, index_base=base)


# Linux cu128: only PyTorch's index serves it. Linux cu126: PyPI carries that very build (index_url is None).
# macOS: PyPI serves the only build.
@pytest.mark.parametrize(
    ("build", "index_url", "mirror", "expected"),
    [
        (_build("Linux", "x86_64", "cu128"), "", "", {"torch": f"{UPSTREAM}/cu128", "general": pe.PYPI_SIMPLE}),
        (_build("Linux", "x86_64", "cu126"), "", "", {"torch": pe.PYPI_SIMPLE, "general": pe.PYPI_SIMPLE}),
        (_build("Darwin", "arm64", "cpu"), "", "", {"torch": pe.PYPI_SIMPLE, "general": pe.PYPI_SIMPLE}),
        # A mirror serves every build from its own index, those PyPI carries included.
        (
            _build("Linux", "x86_64", "cu126", MIRROR),
            "",
            MIRROR,
            {"torch": f"{MIRROR}/whl/cu126", "general": f"{MIRROR}/pypi/simple"},
        ),
        (
            _build("Darwin", "arm64", "cpu", MIRROR),
            "",
            MIRROR,
            {"torch": f"{MIRROR}/whl/cpu", "general": f"{MIRROR}/pypi/simple"},
        ),
        # The user's index wins; the general index still follows the mirror.
        (_build("Linux", "x86_64", "cu128"), USER_INDEX, "", {"torch": USER_INDEX, "general": pe.PYPI_SIMPLE}),
        (
            _build("Linux", "x86_64", "cu128", MIRROR),
            USER_INDEX,
            MIRROR,
            {"torch": USER_INDEX, "general": f"{MIRROR}/pypi/simple"},
        ),
        # A build without index URLs falls back to the general index.
        ({}, "", "", {"torch": pe.PYPI_SIMPLE, "general": pe.PYPI_SIMPLE}),
        ({"build_index_url": None}, "", MIRROR, {"torch": f"{MIRROR}/pypi/simple", "general": f"{MIRROR}/pypi/simple"}),
    ],
    ids=[
        "upstream-index",
        "upstream-on-pypi",
        "upstream-macos",
        "mirror-on-pypi",
        "mirror-macos",
        "user",
        "user-and-mirror",
        "no-index-urls",
        "mirror-no-build-index",
    ],
)
def test_choose_index(build, index_url, mirror, expected):
    assert pe.choose_index(build, index_url=index_url, mirror=mirror) == expected
    assert pytorch_env_index(build, index_url=index_url, mirror=mirror) == expected


def test_the_filter_takes_unset_values_as_empty():
    build = _build("Linux", "x86_64", "cu128")
    assert pytorch_env_index(build, index_url=None, mirror=None) == pe.choose_index(build)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("not a build",), {}, r"^pytorch_env_index expects the result of torchfleet.lab.torch_build$"),
        (({},), {"mirorr": MIRROR}, r"unknown option 'mirorr' \(did you mean mirror\?\)"),
    ],
    ids=["not-a-build", "unknown-option"],
)
def test_the_filter_refuses_a_call_it_cannot_read(args, kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        pytorch_env_index(*args, **kwargs)


@pytest.mark.parametrize(
    ("index_url", "mirror", "expected"),
    [
        ("", "", (f"{UPSTREAM}/cu128", pe.PYPI_SIMPLE)),
        ("", MIRROR, (f"{MIRROR}/whl/cu128", f"{MIRROR}/pypi/simple")),
        (USER_INDEX, MIRROR, (USER_INDEX, f"{MIRROR}/pypi/simple")),
    ],
    ids=["upstream", "mirror", "user"],
)
def test_preflight_sets_the_indexes_the_plan_chose(index_url, mirror, expected):
    """The facts preflight.yml sets, rendered with Ansible's templar and the collection's filters."""
    task = next(t for t in yaml.safe_load(PREFLIGHT.read_text()) if "__pytorch_env_index" in str(t))
    facts = task["ansible.builtin.set_fact"]
    variables = {k: trust_as_template(v) for k, v in task["vars"].items()}
    variables.update(
        __pytorch_env_build=_build("Linux", "x86_64", "cu128", mirror), pytorch_env_index_url=index_url,
        __pytorch_env_mirror=mirror,
    )  # fmt: skip
    templar = Templar(loader=DataLoader(), variables=variables)
    templar.environment.filters.update({"torchfleet.lab.pytorch_env_index": pytorch_env_index})
    render = templar.template
    assert (render(trust_as_template(facts["__pytorch_env_index"])),
            render(trust_as_template(facts["__pytorch_env_default_index"]))) == expected  # fmt: skip
    assert task["no_log"] == "{{ __pytorch_env_secret_urls }}"


@pytest.mark.parametrize(
    ("index_url", "mirror", "plain"),
    [
        ("", "", []),
        ("", MIRROR, ["http://lab:***@mirror.lab:8765/whl/cu128", "http://lab:***@mirror.lab:8765/pypi/simple"]),
        (USER_INDEX, MIRROR, ["http://lab:***@mirror.lab:8765/pypi/simple"]),
        ("http://pypi.lab/simple", "", ["http://pypi.lab/simple"]),
        ("", "https://mirror.lab", []),
    ],
    ids=["upstream", "plain-http-mirror", "https-user-index-plain-mirror", "plain-http-user-index", "https-mirror"],
)
def test_packages_from_a_plain_http_index_raise_one_warning_naming_it(monkeypatch, index_url, mirror, plain):
    # Issue 11, item 3: sums a plain-http index lists come from the server they would check.
    seen = []
    monkeypatch.setattr("ansible.utils.display.Display.warning", lambda self, msg, *a, **k: seen.append(msg))
    build = _build("Linux", "x86_64", "cu128", mirror)
    indexes = pytorch_env_index(build, index_url=index_url, mirror=mirror)
    assert indexes == pe.choose_index(build, index_url=index_url, mirror=mirror)
    if not plain:
        assert seen == []
        return
    (warning,) = seen
    assert f"come from {', '.join(plain)} over plain http" in warning
    assert "s3cr3t" not in warning and "over https" in warning
