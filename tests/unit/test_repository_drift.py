"""What the repository says about itself stays true: versions, scenario names, and no pointer to notes users lack."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from .conftest import REPO_ROOT


def tracked(*patterns):
    out = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--", *patterns],
                         capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO_ROOT / name for name in out.stdout.split("\0") if name]


def version(text):
    return tuple(int(part) for part in text.split("."))


def test_every_version_added_lies_between_the_first_release_and_the_collection_version():
    # The collection's first release is 1.0.0 (changelogs/changelog.yaml starts there); nothing can be added
    # later than the version galaxy.yml builds.
    current = version(yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"])
    found = {}
    for path in tracked("plugins", "roles"):
        if path.suffix in (".py", ".yml", ".yaml", ".ps1"):
            for value in re.findall(r"version_added:\s*['\"]?([0-9.]+)", path.read_text(encoding="utf-8")):
                found[f"{path.relative_to(REPO_ROOT)}: {value}"] = version(value)
    assert found, "no version_added found: the pattern no longer matches the plugin docs"
    wrong = [where for where, value in found.items() if not (1, 0, 0) <= value <= current]
    assert wrong == []


def test_every_scenario_the_docs_name_exists():
    scenarios = {p.parent.name for p in (REPO_ROOT / "molecule").glob("*/molecule.yml")}
    named = set()
    for path in [REPO_ROOT / "README.md", REPO_ROOT / "Makefile", *tracked("docs/*.md")]:
        text = path.read_text(encoding="utf-8")
        named.update(re.findall(r"`(\w+)` scenario|scenario `(\w+)`|molecule `(\w+)`|\bS=(\w+)", text))
    named = {name for group in named for name in group if name}
    makefile = (REPO_ROOT / "Makefile").read_text()
    named.update(re.findall(r"filter-out ([\w ]+)", makefile)[0].split())
    named.update(re.findall(r"^BACKGROUND_SCENARIOS := ([\w ]+)$", makefile, re.MULTILINE)[0].split())
    assert named, "no scenario names found: the patterns no longer match"
    assert sorted(named - scenarios) == []


# Notes kept outside the repository: a user who installs the collection or clones it has none of them.
OUTSIDE_NOTES = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared|shared reference|reference section|conda\.md §")


def test_nothing_points_at_notes_outside_the_repository():
    hits = []
    for path in tracked():
        if path.name == "test_repository_drift.py" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits += [f"{path.relative_to(REPO_ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                 if OUTSIDE_NOTES.search(line)]  # fmt: skip
    assert hits == []


def test_requires_ansible_is_the_floor_the_makefile_names():
    """meta/runtime.yml and the roles' min_ansible_version (tools/gen_role_docs.py) say ANSIBLE_FLOOR, a release of
    the matrix (the oldest the molecule scenarios pass on), and the README names each pinned release."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    versions = re.search(r"^MATRIX_VERSIONS \?= (.+)$", makefile, re.MULTILINE).group(1).split()
    pins = dict(re.findall(r"^ANSIBLE_CORE_(\d+\.\d+) := (\S+)$", makefile, re.MULTILINE))
    assert versions and set(versions) <= set(pins)
    assert all(pins[version].startswith(version + ".") for version in versions)
    floor = re.search(r"^ANSIBLE_FLOOR := (\S+)$", makefile, re.MULTILINE).group(1)
    assert floor in versions
    requires = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert requires == f">={floor}.0"
    readme = (REPO_ROOT / "README.md").read_text()
    assert [pins[version] for version in versions if pins[version] not in readme] == []
