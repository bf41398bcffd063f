"""Every role picks its OS-specific task files one way (docs/architecture.md, "Per-OS task files").

A step's OS-specific file is ``<step>-<key>.yml``; ``tasks/main.yml`` includes
``lookup('ansible.builtin.first_found', ...)`` over ``<step>-<os_family>.yml``, ``<step>-<system>.yml`` and the
generic ``<step>.yml``, in ``{{ role_path }}/tasks``.  These tests read every role's task files, check that each
include chosen by OS has exactly that shape, and resolve it with Ansible's templar and first_found lookup against
the role's tasks/ directory for each platform of the README's support table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ..ansible_compat import trust_as_template

ROLES = Path(__file__).resolve().parents[3] / "roles"
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks")
LOOKUP = re.compile(r"^\{\{ lookup\('ansible\.builtin\.first_found', (__\w+)\) \}\}$")

# The facts the setup modules report, only the two the lookup reads.  os_family: ansible-core
# lib/ansible/module_utils/facts/system/distribution.py OS_FAMILY_MAP (Debian, RedHat, Suse, Darwin from
# MacOSX); system: platform.system() (facts/system/platform.py).  Windows: ansible.windows
# plugins/modules/setup.ps1 sets os_family "Windows" and system from [Environment]::OSVersion.Platform (Win32NT).
PLATFORMS = {
    "Debian": {"os_family": "Debian", "system": "Linux"},
    "RedHat": {"os_family": "RedHat", "system": "Linux"},
    "Suse": {"os_family": "Suse", "system": "Linux"},
    "Darwin": {"os_family": "Darwin", "system": "Darwin"},
    "Windows": {"os_family": "Windows", "system": "Win32NT"},
}
NONE = None  # first_found finds no file: the role's preflight must have refused the host already

# The file each include of each role picks on each platform; the key is (role, the step's generic name).
EXPECTED = {
    ("gpu_driver", "setup.yml"): {
        "Debian": "setup-Debian.yml",
        "RedHat": "setup-RedHat.yml",
        "Suse": NONE,
        "Darwin": "setup-Darwin.yml",
        "Windows": "setup-Windows.yml",
    },
    # The mirror host runs Debian or a RedHat-family Linux; preflight refuses the others.
    ("mirror", "setup.yml"): {
        "Debian": "setup-Debian.yml",
        "RedHat": "setup-RedHat.yml",
        "Suse": NONE,
        "Darwin": NONE,
        "Windows": NONE,
    },
    ("miniconda", "setup.yml"): {
        "Debian": "setup-Linux.yml",
        "RedHat": "setup-Linux.yml",
        "Suse": "setup-Linux.yml",
        "Darwin": "setup-Darwin.yml",
        "Windows": "setup-Windows.yml",
    },
    ("pytorch_env", "install-uv.yml"): {
        "Debian": "install-uv.yml",
        "RedHat": "install-uv.yml",
        "Suse": "install-uv.yml",
        "Darwin": "install-uv.yml",
        "Windows": "install-uv-Windows.yml",
    },
    ("pytorch_env", "install-conda.yml"): dict.fromkeys(PLATFORMS, "install-conda.yml"),
    ("trainers", "deploy.yml"): {
        "Debian": "deploy.yml",
        "RedHat": "deploy.yml",
        "Suse": "deploy.yml",
        "Darwin": "deploy.yml",
        "Windows": "deploy-Windows.yml",
    },
    ("trainers", "run.yml"): {
        "Debian": "run.yml",
        "RedHat": "run.yml",
        "Suse": "run.yml",
        "Darwin": "run.yml",
        "Windows": "run-Windows.yml",
    },
}
# Role variables the file lists read besides the facts, with the values to try.
ROLE_VARS = {"pytorch_env": [{"pytorch_env_manager": "uv"}, {"pytorch_env_manager": "conda"}]}


def walk(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key))


def includes(path):
    """(task, included file) for each include or import in a task file."""
    for task in walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
        for module in INCLUDES:
            if module in task:
                target = task[module]
                yield task, target.get("file") if isinstance(target, dict) else target


def os_includes():
    """Every include whose file name is templated, as (role, task file, task)."""
    found = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task, target in includes(path):
            if "{{" in str(target):
                found.append((path.parent.parent.name, path.name, task))
    return found


def trusted(value):
    # Task vars are templates in a play; ansible-core 2.19 templates only strings marked as such.
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return trust_as_template(value) if isinstance(value, str) else value


def pick(role, task, facts, role_vars):
    """The file Ansible includes for this task on a host with these facts, or None when first_found finds none."""
    target = task[next(module for module in INCLUDES if module in task)]
    # The same plugin by its short name: these tests run without ansible-core's collection loader, which is what
    # resolves the ansible.builtin prefix in a play.
    target = target.replace("'ansible.builtin.first_found'", "'first_found'")
    variables = {"ansible_facts": facts, "role_path": str(ROLES / role), **role_vars, **trusted(task["vars"])}
    try:
        found = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(target))
    except AnsibleError as err:
        assert "No file was found when using first_found" in str(err), err
        return None
    return str(Path(found).relative_to(ROLES / role / "tasks"))


def generic_name(task, role_vars):
    """The step's generic file, the last of the files list, rendered with the role variables."""
    name = LOOKUP.match(task[next(module for module in INCLUDES if module in task)]).group(1)
    last = task["vars"][name]["files"][-1]
    return Templar(loader=DataLoader(), variables=role_vars).template(trust_as_template(last))


def cases():
    found = []
    for role, filename, task in os_includes():
        for role_vars in ROLE_VARS.get(role, [{}]):
            generic = generic_name(task, role_vars)
            found.extend(
                pytest.param(
                    role,
                    task,
                    facts,
                    role_vars,
                    EXPECTED[role, generic][platform],
                    id=f"{role}/{filename}:{generic}:{platform}",
                )
                for platform, facts in PLATFORMS.items()
            )
    return found


def test_every_os_include_uses_the_one_lookup():
    seen = set()
    for role, filename, task in os_includes():
        where = f"{role}/tasks/{filename}: '{task.get('name')}'"
        target = task[next(module for module in INCLUDES if module in task)]
        assert "ansible.builtin.include_tasks" in task, f"{where} imports a templated file; include it"
        match = LOOKUP.match(target)
        assert match, f"{where} picks its file with {target!r}, not the first_found lookup"
        lookup = task.get("vars", {}).get(match.group(1))
        assert lookup and set(lookup) == {"files", "paths"}, f"{where}: {match.group(1)} needs files and paths only"
        step = lookup["files"][-1].removesuffix(".yml")
        assert lookup["files"] == [
            f"{step}-{{{{ ansible_facts['os_family'] }}}}.yml",
            f"{step}-{{{{ ansible_facts['system'] }}}}.yml",
            f"{step}.yml",
        ], where
        assert lookup["paths"] == ["{{ role_path }}/tasks"], where
        seen.add(role)
    assert seen == {"gpu_driver", "miniconda", "mirror", "pytorch_env", "trainers"}


def test_every_include_chosen_by_os_has_expectations():
    found = {
        (role, generic_name(task, role_vars))
        for role, _filename, task in os_includes()
        for role_vars in ROLE_VARS.get(role, [{}])
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize(("role", "task", "facts", "role_vars", "expected"), cases())
def test_the_lookup_picks_the_platforms_file(role, task, facts, role_vars, expected):
    assert pick(role, task, facts, role_vars) == expected


def test_no_file_chosen_by_os_imports_tasks():
    # ansible-core 2.16 resolves an import_tasks by templating the path of each dynamic include above it without host
    # variables (lib/ansible/playbook/helpers.py of v2.16.19, load_list_of_tasks: lines 149 and 169-185), so an import
    # in a file that first_found picked from the host's facts stops the play: "When using static imports, the parent
    # dynamic include cannot utilize host facts or variables from inventory". 2.19 and later resolve it. Such a file
    # includes what it shares instead.
    chosen = {
        (role, filename)
        for (role, _generic), files in EXPECTED.items()
        for filename in files.values()
        if filename is not NONE
    }
    imports = [
        f"{role}/tasks/{filename}: {target}"
        for role, filename in sorted(chosen)
        for task, target in includes(ROLES / role / "tasks" / filename)
        if "ansible.builtin.import_tasks" in task
    ]
    assert imports == []


def test_gpu_driver_preflight_refuses_every_os_family_without_a_setup_file():
    # A host the include would fail on must be stopped first, by the preflight's clear message.
    # The check is in tasks/locate.yml, the start of preflight.yml that playbooks/audit.yml includes alone.
    preflight = yaml.safe_load((ROLES / "gpu_driver" / "tasks" / "preflight.yml").read_text(encoding="utf-8"))
    assert preflight[0]["ansible.builtin.import_tasks"] == "locate.yml"
    preflight = yaml.safe_load((ROLES / "gpu_driver" / "tasks" / "locate.yml").read_text(encoding="utf-8"))
    check = next(t for t in preflight if t.get("name") == "Check that this OS family has a gpu_driver implementation")
    listed = re.fullmatch(r"ansible_facts\['os_family'\] in \[(.*)\]", check["ansible.builtin.assert"]["that"])
    supported = {family.strip(" '") for family in listed.group(1).split(",")}
    with_file = {p for p, files in EXPECTED["gpu_driver", "setup.yml"].items() if files is not NONE}
    assert supported & set(PLATFORMS) == with_file
    assert all((ROLES / "gpu_driver" / "tasks" / f"setup-{family}.yml").is_file() for family in supported)


def test_no_task_file_has_a_lower_case_os_suffix():
    # The key in <step>-<key>.yml is spelt as the fact spells it (Windows, Linux, Darwin, Debian, RedHat).
    lower = sorted(
        str(path.relative_to(ROLES))
        for path in ROLES.glob("*/tasks/**/*.yml")
        if re.search(r"-(windows|linux|darwin|debian|redhat|win32nt)\.yml$", path.name)
    )
    assert lower == []
