"""pytorch_version resolved once per host (issue 13): _torch_build.pytorch_release, its filter, the reuse of the
torchfleet_pytorch_release fact by gpu_driver's plan, and the same build whether torch_build gets the string or
the exact release."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.pytorch_release import FilterModule
from ansible_collections.torchfleet.lab.plugins.filter.torch_build import FilterModule as TorchBuildFilters
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver
from ansible_collections.torchfleet.lab.plugins.module_utils import _torch_build as tb

REPO = Path(__file__).resolve().parents[4]
pytorch_release_filter = FilterModule().filters()["pytorch_release"]
torch_build = TorchBuildFilters().filters()["torch_build"]

# --- the release and what is kept of the request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        ("latest", "2.15.0"),
        ("", "2.15.0"),
        ("LATEST", "2.15.0"),
        ("2.10", "2.10.0"),
        ("2.0", "2.0.1"),
        ("2.7.1", "2.7.1"),
        ("v2.7.1", "2.7.1"),
        (" 2.7 ", "2.7.1"),
    ],
)
def test_the_release_is_exact_and_the_request_is_kept_as_given(raw, version):
    assert tb.exact_release(raw) == version
    assert tb.pytorch_release(raw) == {"requested": raw, "version": version}


def test_an_absent_version_is_the_newest_release_and_an_empty_request():
    assert tb.pytorch_release(None) == {"requested": "", "version": "2.15.0"}


# The messages as they were before the release had a function of its own (resolve gave them), word for word.
REFUSALS = [
    (
        2.1,
        "pytorch_version 2.1 arrived as a number, which loses trailing zeros (2.10 reads as 2.1); quote it in YAML, "
        "e.g. pytorch_version: '2.10'",
    ),
    (2, "pytorch_version 2 is not X.Y.Z, X.Y or 'latest'; supported releases: 2.0.0 .. 2.15.0"),
    ("two", "pytorch_version 'two' is not X.Y.Z, X.Y or 'latest'; supported releases: 2.0.0 .. 2.15.0"),
    (
        "1.13.1",
        "PyTorch 1.13.1 is older than 2.0.0, the oldest release this collection supports (2.0.0 .. 2.15.0); "
        "use pytorch_version 2.0 or newer",
    ),
    (
        "2.99",
        "PyTorch 2.99 is not in the compatibility data, which covers 2.0.0 .. 2.15.0; pick one of those releases "
        "(or 'latest'), or update the collection if 2.99 is newer",
    ),
    (
        "2.6.1",
        "PyTorch 2.6.1 is not in the compatibility data, which covers 2.0.0 .. 2.15.0; pick one of those releases "
        "(or 'latest'), or update the collection if 2.6.1 is newer",
    ),
]


@pytest.mark.parametrize(("raw", "message"), REFUSALS, ids=[str(r[0]) for r in REFUSALS])
def test_every_refusal_keeps_its_message(raw, message):
    with pytest.raises(tb.TorchBuildError) as err:
        tb.pytorch_release(raw)
    assert str(err.value) == message
    with pytest.raises(tb.TorchBuildError) as from_resolve:
        tb.resolve(raw, "Linux", "x86_64")
    assert str(from_resolve.value) == message
    with pytest.raises(AnsibleFilterError) as from_filter:
        pytorch_release_filter(raw)
    assert str(from_filter.value) == message


# --- reuse of the fact -------------------------------------------------------------------------------------


def test_a_known_answer_for_the_same_string_is_returned_unchanged(monkeypatch):
    known = {"requested": "2.8", "version": "2.8.0"}
    monkeypatch.setattr(tb, "exact_release", pytest.fail)  # no second resolution
    assert tb.pytorch_release("2.8", known) is known
    assert pytorch_release_filter("2.8", known=known) is known


@pytest.mark.parametrize(
    "known",
    [
        {"requested": "2.7", "version": "2.7.1"},  # another request
        {"requested": "2.8", "version": "9.9.9"},  # a release the data does not hold
        {"requested": "2.8"},
        "2.8.0",
        None,
    ],
)
def test_anything_else_is_resolved_again(known):
    assert tb.pytorch_release("2.8", known) == {"requested": "2.8", "version": "2.8.0"}


def test_a_number_is_refused_even_with_a_known_answer_for_its_text():
    with pytest.raises(tb.TorchBuildError, match="arrived as a number"):
        tb.pytorch_release(2.1, {"requested": "2.1", "version": "2.1.2"})


# --- torch_build on the exact release answers what it answered on the string --------------------------------

HOSTS = [
    {"system": "Linux", "machine": "x86_64"},
    {"system": "Linux", "machine": "x86_64", "nvidia_driver": "535.104.05"},
    {"system": "Linux", "machine": "x86_64", "nvidia_driver": "535.104.05", "gpu_compute_capabilities": ["6.1"]},
    {"system": "Linux", "machine": "x86_64", "nvidia_driver": "580.95.05", "compute": "cuda"},
    {"system": "Linux", "machine": "x86_64", "compute": "rocm"},
    {"system": "Linux", "machine": "aarch64", "nvidia_driver": "570.26"},
    {"system": "Darwin", "machine": "arm64"},
    {"system": "Darwin", "machine": "x86_64"},
    {"system": "Win32NT", "machine": "AMD64", "nvidia_driver": "560.94"},
    {"system": "Windows", "machine": "AMD64", "python": "3.9"},
]


def _answer(version, host):
    try:
        return torch_build(version, **host)
    except AnsibleFilterError as exc:
        return str(exc)


@pytest.mark.parametrize(("raw", "host"), list(itertools.product(["latest", "2.10", "2.7.1", "2.0"], HOSTS)), ids=str)
def test_torch_build_of_the_exact_release_equals_torch_build_of_the_string(raw, host):
    exact = tb.pytorch_release(raw)["version"]
    assert _answer(exact, host) == _answer(raw, host)  # every key, the notes included, or the same refusal


# --- gpu_driver: resolved only where the check applies, and reused by finish.yml ----------------------------

RHEL9 = {
    "system": "Linux",
    "machine": "x86_64",
    "kernel": "5.14.0-427.13.1.el9_4.x86_64",
    "os_family": "RedHat",
    "distribution": "RedHat",
    "distribution_major_version": "9",
    "torchfleet_gpu": {"vendor": "nvidia", "devices": [{"vendor": "nvidia", "compute_capability": "8.0"}]},
}


@pytest.fixture
def resolutions(monkeypatch):
    """The strings pytorch_version was resolved from (exact_release of an exact release is not counted)."""
    seen = []
    real = tb.exact_release

    def counting(version):
        result = real(version)
        if version != result:
            seen.append(version)
        return result

    monkeypatch.setattr(tb, "exact_release", counting)
    return seen


def test_site_yml_resolves_the_version_once(resolutions):
    # gpu_driver preflight, gpu_driver finish, pytorch_env preflight, as site.yml runs them on one host.
    first = _driver.plan(RHEL9, branch="580", pytorch_version="2.8")
    fact = first["pytorch_release"]
    assert fact == {"requested": "2.8", "version": "2.8.0"}
    after = _driver.plan(RHEL9, "580.95.05", True, branch="580", pytorch_version="2.8", pytorch_release=fact)
    assert after["pytorch_release"] is fact
    assert tb.pytorch_release("2.8", fact) is fact
    assert resolutions == ["2.8"]


def test_the_plan_is_the_same_with_the_fact(resolutions):
    assert _driver.plan(RHEL9, branch="580", pytorch_version="2.8") == _driver.plan(
        RHEL9, branch="580", pytorch_version="2.8", pytorch_release={"requested": "2.8", "version": "2.8.0"}
    )
    assert resolutions == ["2.8"]


@pytest.mark.parametrize(
    ("facts", "options"),
    [
        (RHEL9, {"pytorch_version": ""}),  # pytorch_env's variable not set: no check, as before
        (RHEL9, {"pytorch_version": "2.8", "pytorch_compute": "cpu"}),
        ({**RHEL9, "torchfleet_gpu": {"vendor": "none"}}, {"pytorch_version": "2.8"}),  # skipped host
        ({"system": "Darwin", "os_family": "Darwin"}, {"pytorch_version": "2.8"}),
    ],
)
def test_without_a_check_nothing_is_resolved_or_published(facts, options, resolutions):
    assert _driver.plan(facts, branch="580", **options).get("pytorch_release") is None
    assert resolutions == []


def test_gpu_driver_keeps_its_own_messages():
    with pytest.raises(_driver.DriverPlanError) as err:
        _driver.plan(RHEL9, branch="580", pytorch_version="2.99")
    assert str(err.value) == f"pytorch_version: {REFUSALS[4][1]}"
    with pytest.raises(_driver.DriverPlanError, match=r"quote it in YAML, e\.g\. pytorch_version: '2\.10'\.$"):
        _driver.plan(RHEL9, branch="580", pytorch_version=2.1, pytorch_release={"requested": "2.1", "version": "2.1.2"})


# --- the roles read the fact ----------------------------------------------------------------------------------


def _tasks(role, name):
    return yaml.safe_load((REPO / "roles" / role / "tasks" / name).read_text(encoding="utf-8"))


def test_pytorch_env_resolves_after_its_checks_and_builds_from_the_fact():
    tasks = _tasks("pytorch_env", "preflight.yml")
    names = [task["name"] for task in tasks]
    release = names.index("Resolve the PyTorch release")
    assert names.index("Check every input before anything changes") < release
    assert names.index("Check the values that are never converted or passed on as options") < release
    assert release + 1 == names.index("Resolve the PyTorch build for this host")
    published = tasks[release]["ansible.builtin.set_fact"]["torchfleet_pytorch_release"]
    assert "pytorch_version | torchfleet.lab.pytorch_release(known=torchfleet_pytorch_release" in published
    build = tasks[release + 1]["ansible.builtin.set_fact"]["__pytorch_env_build"]
    assert build.strip().startswith("{{ torchfleet_pytorch_release.version | torchfleet.lab.torch_build(")


def test_gpu_driver_publishes_the_release_of_its_plan_and_passes_the_fact_back():
    task = next(t for t in _tasks("gpu_driver", "preflight.yml") if "torchfleet_pytorch_release" in str(t))
    assert task["ansible.builtin.set_fact"]["torchfleet_pytorch_release"] == "{{ __gpu_driver_plan.pytorch_release }}"
    options = yaml.safe_load((REPO / "roles" / "gpu_driver" / "vars" / "main.yml").read_text())["__gpu_driver_options"]
    assert options["pytorch_release"] == "{{ torchfleet_pytorch_release | default(none) }}"


def test_the_record_keeps_the_version_as_asked():
    # The record's request is a role variable (verify.yml writes it, pytorch_env_state compares it on re-runs).
    assert 'version: "{{ torchfleet_pytorch_release.requested }}"' in (
        REPO / "roles" / "pytorch_env" / "vars" / "main.yml"
    ).read_text(encoding="utf-8")
