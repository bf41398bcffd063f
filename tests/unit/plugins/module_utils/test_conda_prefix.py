"""Prefix classification and the role's decision, for Linux, macOS and Windows layouts.

The layouts follow conda/constructor's installer templates (header.sh, nsis/main.nsi.tmpl) as summarised in the
shared reference conda.md section 1.2: what a finished install leaves and what an interrupted one leaves behind.
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_prefix as cp

HISTORY_SIZE = 812  # any non-empty history

# Top-level names of finished installs.
POSIX_COMPLETE = [".condarc", ".installer.info", "_conda", "bin", "compiler_compat", "conda-meta", "condabin", "envs"]
POSIX_FOUND = {"bin/conda": 550, "condabin/conda": 380, "conda-meta/history": HISTORY_SIZE}
WINDOWS_COMPLETE = [
    ".installer.info",
    ".nonadmin",
    "DLLs",
    "Lib",
    "Library",
    "Scripts",
    "Uninstall-Miniconda3.exe",
    "_conda.exe",
    "conda-meta",
    "condabin",
    "envs",
    "pkgs",
    "pre_uninstall.bat",
    "python.exe",
]
WINDOWS_FOUND = {"Scripts/conda.exe": 51200, "condabin/conda.bat": 1024, "conda-meta/history": HISTORY_SIZE}
WIN_PREFIX = "C:\\Users\\ana\\miniconda3"


def _without(items, *names):
    return [n for n in items if n not in names]


@pytest.mark.parametrize("system", ["Linux", "Darwin", "Windows", "Win32NT"])
def test_absent_and_empty(system):
    assert cp.classify("/p", [], False, {}, system) == ("absent", [])
    assert cp.classify("/p", [], True, {}, system) == ("empty", [])


@pytest.mark.parametrize(
    ("system", "listing"),
    [
        ("Linux", ["data", "notes.txt"]),
        ("Darwin", ["Applications", ".DS_Store"]),
        # A Python venv has Scripts too, but no conda-meta, condabin or installer files.
        ("Windows", ["Include", "Lib", "Scripts", "pyvenv.cfg"]),
    ],
)
def test_someone_elses_directory_is_foreign(system, listing):
    state, problems = cp.classify("/srv/x", listing, True, {}, system)
    assert state == "foreign"
    assert "left untouched" in problems[0] and "miniconda_prefix" in problems[0]


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_finished_sh_install_is_complete(system):
    assert cp.classify("/opt/miniconda3", POSIX_COMPLETE, True, POSIX_FOUND, system) == ("complete", [])


@pytest.mark.parametrize(
    ("listing", "found", "problem"),
    [
        pytest.param(
            [*POSIX_COMPLETE, "install_tmp"],
            POSIX_FOUND,
            "install_tmp is left over from an unfinished install",
            id="install-tmp",
        ),
        pytest.param(
            ["_conda", "conda-meta", "preconda.tar.bz2", "postconda.tar.bz2"],
            {"conda-meta/history": 0},
            "conda-meta/history is empty",
            id="stopped-before-postconda",
        ),
        pytest.param(
            POSIX_COMPLETE, {"bin/conda": 1, "condabin/conda": 1}, "conda-meta/history is missing", id="no-history"
        ),
        pytest.param(
            POSIX_COMPLETE, {"condabin/conda": 1, "conda-meta/history": 5}, "bin/conda is missing", id="no-conda"
        ),
    ],
)
def test_interrupted_sh_install(listing, found, problem):
    state, problems = cp.classify("/opt/miniconda3", listing, True, found, "Linux")
    assert state == "interrupted"
    assert problem in problems


def test_finished_exe_install_is_complete():
    assert cp.classify(WIN_PREFIX, WINDOWS_COMPLETE, True, WINDOWS_FOUND, "Windows") == ("complete", [])


def test_windows_names_compare_without_case():
    listing = [n.upper() for n in WINDOWS_COMPLETE]
    found = {k.upper(): v for k, v in WINDOWS_FOUND.items()}
    assert cp.classify(WIN_PREFIX, listing, True, found, "Win32NT") == ("complete", [])


@pytest.mark.parametrize(
    ("listing", "found", "problem"),
    [
        pytest.param(
            _without(WINDOWS_COMPLETE, "Uninstall-Miniconda3.exe"),
            WINDOWS_FOUND,
            "Uninstall-<NAME>.exe is missing (the installer writes it last)",
            id="no-uninstaller",
        ),
        pytest.param(
            [*WINDOWS_COMPLETE, "tmp"], WINDOWS_FOUND, "tmp is left over from an unfinished install", id="leftover-tmp"
        ),
        pytest.param(
            # Killed right after unpacking: the history, _conda.exe and .nonadmin are written first.
            ["_conda.exe", ".nonadmin", "conda-meta", "pre_uninstall.bat", ".installer.info", "pkgs", "tmp"],
            {"conda-meta/history": 0},
            "Scripts\\conda.exe is missing",
            id="unpacked-only",
        ),
        pytest.param(
            [".nonadmin"],
            {},
            "conda-meta\\history is missing",
            id="only-nonadmin",
        ),
        pytest.param(
            WINDOWS_COMPLETE,
            {"Scripts/conda.exe": 1, "conda-meta/history": 5},
            "condabin\\conda.bat is missing",
            id="no-condabin",
        ),
    ],
)
def test_interrupted_exe_install(listing, found, problem):
    state, problems = cp.classify(WIN_PREFIX, listing, True, found, "Windows")
    assert state == "interrupted"
    assert problem in problems


def test_a_posix_layout_is_not_complete_on_windows():
    state, problems = cp.classify(WIN_PREFIX, POSIX_COMPLETE, True, POSIX_FOUND, "Windows")
    assert state == "interrupted"
    assert "Scripts\\conda.exe is missing" in problems


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Linux", ["bin/conda", "condabin/conda", "conda-meta/history"]),
        ("Darwin", ["bin/conda", "condabin/conda", "conda-meta/history"]),
        ("Win32NT", ["Scripts/conda.exe", "condabin/conda.bat", "conda-meta/history"]),
    ],
)
def test_probe_paths(system, expected):
    assert cp.probe_paths(system) == expected


@pytest.mark.parametrize(
    ("listing", "system", "owner"),
    [
        (WINDOWS_COMPLETE, "Windows", "user"),
        (_without(WINDOWS_COMPLETE, ".nonadmin"), "Windows", "system"),
        ([*POSIX_COMPLETE, ".nonadmin"], "Darwin", "user"),
        (POSIX_COMPLETE, "Linux", "system"),
    ],
)
def test_nonadmin_marks_a_user_install(listing, system, owner):
    assert cp.new_result("complete", [], listing, system)["installed_for"] == owner
    assert cp.new_result("absent", [], [], system)["installed_for"] is None


def test_conda_info_confirms_or_demotes_a_complete_prefix():
    ok = cp.apply_conda_info(
        cp.new_result("complete", [], POSIX_COMPLETE, "Linux"),
        0,
        '{"conda_version": "25.11.1", "root_prefix": "/opt/m"}',
        "",
    )
    assert (ok["state"], ok["conda_version"], ok["root_prefix"]) == ("complete", "25.11.1", "/opt/m")
    # conda < 23.9 prints NUL-separated progress records before the document.
    old = cp.apply_conda_info(
        cp.new_result("complete", [], [], "Linux"), 0, '{"fetch": 1}\n\0{"conda_version": "4.14.0"}', ""
    )
    assert old["conda_version"] == "4.14.0"
    bad = cp.apply_conda_info(cp.new_result("complete", [], [], "Windows"), 1, "", "ImportError: DLL load failed")
    assert bad["state"] == "interrupted"
    assert bad["problems"] == ["'conda info --json' failed (rc=1): ImportError: DLL load failed"]


def test_json_documents_tolerate_a_bom_and_refuse_non_objects():
    assert cp.parse_json_document(b'\xef\xbb\xbf{"version": "26.3.2-3"}') == {"version": "26.3.2-3"}
    assert cp.parse_json_document("[1, 2]") is None
    assert cp.parse_json_document("not json") is None


# --- what the role does with the prefix --------------------------------------------------------------------
MARKER = {"distribution": "miniconda", "version": "py313_25.11.1-1"}
ALL_SYSTEMS = ["Linux", "Darwin", "Win32NT"]


def _plan(state, system, marker=None, problems=(), version="py313_25.11.1-1", upgrade=False, distribution="miniconda"):
    prefix = WIN_PREFIX if system in ("Windows", "Win32NT") else "/opt/miniconda3"
    return cp.plan(state, list(problems), marker, distribution, version, system, prefix, upgrade=upgrade)


@pytest.mark.parametrize("system", ALL_SYSTEMS)
@pytest.mark.parametrize(("state", "action"), [("absent", "install"), ("empty", "install"), ("complete", "none")])
def test_actions_every_os_takes(system, state, action):
    plan = _plan(state, system, marker=MARKER if state == "complete" else None)
    assert (plan["action"], plan["refusal"]) == (action, "")


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_foreign_is_refused_everywhere_with_its_problems(system):
    plan = _plan("foreign", system, problems=["X exists and is not a conda installation"])
    assert plan["refusal"] == "X exists and is not a conda installation"


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_another_distribution_is_refused_everywhere(system):
    plan = _plan("complete", system, marker=MARKER, distribution="miniforge", version="26.3.2-3")
    assert "holds miniconda py313_25.11.1-1, not miniforge" in plan["refusal"]


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_sh_installs_repair_and_upgrade_when_asked(system):
    assert _plan("interrupted", system, problems=["install_tmp is left over"])["action"] == "repair"
    refused = _plan("complete", system, marker=MARKER, version="py313_26.1.0-0")
    assert "Set miniconda_upgrade: true" in refused["refusal"]
    assert "pin miniconda_version: py313_25.11.1-1" in refused["refusal"]
    upgrade = _plan("complete", system, marker=MARKER, version="py313_26.1.0-0", upgrade=True)
    assert (upgrade["action"], upgrade["refusal"]) == ("upgrade", "")


def test_windows_refuses_a_half_made_prefix_instead_of_deleting_it():
    plan = _plan("interrupted", "Windows", problems=["Uninstall-<NAME>.exe is missing (the installer writes it last)"])
    assert plan["action"] == "repair"
    assert "was left half-made" in plan["refusal"] and "Uninstall-<NAME>.exe is missing" in plan["refusal"]
    assert "deletes no directory" in plan["refusal"] and "Nothing was changed" in plan["refusal"]
    assert WIN_PREFIX + "\\Uninstall-Miniconda3.exe /S" in plan["refusal"]


@pytest.mark.parametrize("upgrade", [False, True])
def test_windows_refuses_a_version_change_and_says_how_to_reinstall(upgrade):
    plan = _plan("complete", "Win32NT", marker=MARKER, version="py313_26.1.0-0", upgrade=upgrade)
    assert "cannot update an installation in place" in plan["refusal"]
    assert "miniconda_version: py313_25.11.1-1" in plan["refusal"]
    assert WIN_PREFIX + "\\Uninstall-Miniconda3.exe /S" in plan["refusal"]


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_latest_keeps_whatever_is_installed(system):
    plan = _plan("complete", system, marker=MARKER, version="latest")
    assert (plan["action"], plan["refusal"], plan["installed"]) == ("none", "", MARKER)


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_a_complete_install_without_a_record_is_adopted(system):
    plan = _plan("complete", system, marker=None)
    assert (plan["action"], plan["installed"], plan["refusal"]) == ("none", {}, "")


def test_unknown_state_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown prefix state"):
        _plan("broken", "Linux")
