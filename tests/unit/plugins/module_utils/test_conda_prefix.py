"""Prefix classification and the role's decision, for Linux, macOS and Windows layouts.

The layouts follow conda/constructor's installer templates (https://github.com/conda/constructor at commit f57a3e7:
constructor/header.sh, constructor/nsis/main.nsi.tmpl; module_utils/_conda_prefix.py cites the lines): what a
finished install leaves and what an interrupted one leaves behind.
"""

from __future__ import annotations

import json
import stat

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
            # What the stand-in leaves with TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK=1 (as root: no .nonadmin).
            ["conda-meta", "install_tmp"],
            {"conda-meta/history": 0},
            "install_tmp is left over from an unfinished install",
            id="stand-in-after-unpack",
        ),
        pytest.param(
            # header.sh 513-522 and 555-558: the bootstrapper and .nonadmin come before install_tmp's content.
            ["_conda", ".nonadmin"],
            {},
            "conda-meta/history is missing",
            id="bootstrapper-only",
        ),
        pytest.param(
            # header.sh 633: the installer makes envs/ itself; empty, it holds nobody's work.
            ["_conda", "bin", "conda-meta", "envs", "install_tmp", "pkgs", "postconda.tar.bz2"],
            {"bin/conda": 1, "conda-meta/history": 0},
            "condabin/conda is missing",
            id="empty-envs",
        ),
    ],
)
def test_interrupted_sh_install(listing, found, problem):
    state, problems = cp.classify("/opt/miniconda3", listing, True, found, "Linux")
    assert state == "interrupted"
    assert problem in problems


@pytest.mark.parametrize(
    ("listing", "found", "environments", "problem"),
    [
        pytest.param(
            POSIX_COMPLETE,
            {"bin/conda": 1, "condabin/conda": 1},
            (),
            "conda-meta/history is missing",
            id="no-history-no-leftovers",
        ),
        pytest.param(
            POSIX_COMPLETE,
            {"condabin/conda": 1, "conda-meta/history": 5},
            (),
            "nothing shows an installer that stopped half-way (no install_tmp, no installer archives)",
            id="no-conda-no-leftovers",
        ),
        pytest.param(
            # An interrupted `-u` over an installation whose environments must survive.
            [*POSIX_COMPLETE, "install_tmp"],
            POSIX_FOUND,
            ["research", "pytorch_env"],
            "envs/ holds pytorch_env, research",
            id="interrupted-with-environments",
        ),
    ],
)
def test_an_incomplete_prefix_that_holds_more_than_an_installer_left_is_damaged(listing, found, environments, problem):
    state, problems = cp.classify("/opt/miniconda3", listing, True, found, "Linux", environments=environments)
    assert state == "damaged"
    assert problem in problems


@pytest.mark.parametrize(
    ("system", "listing"),
    [
        # `conda create -p` leaves conda-meta/history and the packages' files, none of the installer's own.
        ("Linux", ["bin", "conda-meta", "include", "lib", "share", "ssl"]),
        ("Darwin", ["bin", "conda-meta", "lib"]),
        ("Windows", ["DLLs", "Lib", "Library", "Scripts", "conda-meta", "python.exe"]),
    ],
)
def test_a_conda_environment_is_not_an_installation(system, listing):
    state, problems = cp.classify("/opt/envs/research", listing, True, {"conda-meta/history": 420}, system)
    assert state == "environment"
    assert "is a conda environment" in problems[0]


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
    assert bad["state"] == "unusable"
    assert bad["problems"] == ["'conda info --json' failed (rc=1): ImportError: DLL load failed"]


def test_a_failing_conda_info_is_quoted_in_conda_own_words():
    # With --json conda prints its error as CondaError.dump_map() on stdout (conda/exceptions.py,
    # print_conda_exception); this document is written after that shape, not recorded.
    error = {
        "caused_by": "None",
        "error": "LoadError: Load Error: in /opt/miniforge3/.condarc on line 1, column 9. Invalid YAML",
        "exception_name": "LoadError",
        "exception_type": "<class 'conda.exceptions.LoadError'>",
        "message": "Load Error: in /opt/miniforge3/.condarc on line 1, column 9. Invalid YAML",
    }
    result = cp.apply_conda_info(cp.new_result("complete", [], POSIX_COMPLETE, "Linux"), 1, json.dumps(error), "")
    assert result["state"] == "unusable"
    assert result["problems"] == [
        "'conda info --json' failed (rc=1): LoadError: Load Error: in /opt/miniforge3/.condarc on line 1, "
        "column 9. Invalid YAML"
    ]
    garbled = cp.apply_conda_info(cp.new_result("complete", [], POSIX_COMPLETE, "Linux"), 0, "Traceback", "")
    assert garbled["state"] == "unusable"
    assert "not a JSON document: Traceback" in garbled["problems"][0]


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
    repair = _plan("interrupted", system, problems=["install_tmp is left over"])
    # Repair runs the installer again with -u over the prefix; nothing is removed.
    assert (repair["action"], repair["update"], repair["refusal"]) == ("repair", True, "")
    refused = _plan("complete", system, marker=MARKER, version="py313_26.1.0-0")
    assert "Set miniconda_upgrade: true" in refused["refusal"]
    assert "pin miniconda_version: py313_25.11.1-1" in refused["refusal"]
    upgrade = _plan("complete", system, marker=MARKER, version="py313_26.1.0-0", upgrade=True)
    assert (upgrade["action"], upgrade["update"], upgrade["refusal"]) == ("upgrade", True, "")


@pytest.mark.parametrize(
    ("system", "state", "update"),
    [
        # constructor header.sh 428-431: the .sh installer refuses any existing path, even an empty directory,
        # without -u; it must not get -u for a path that is not there, or for nothing to do.
        ("Linux", "empty", True),
        ("Darwin", "empty", True),
        ("Linux", "absent", False),
        ("Linux", "complete", False),
        # The .exe installs into an empty directory and has no -u.
        ("Win32NT", "empty", False),
    ],
)
def test_an_existing_empty_directory_gets_the_installer_update_option(system, state, update):
    plan = _plan(state, system, marker=MARKER if state == "complete" else None)
    assert (plan["update"], plan["refusal"]) == (update, "")


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_an_environment_given_as_the_prefix_is_refused(system):
    plan = _plan("environment", system, problems=["/opt/envs/research is a conda environment (...)"])
    assert plan["action"] == "none"
    assert "installs nothing over an environment" in plan["refusal"]
    assert "Nothing was changed" in plan["refusal"]


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_a_damaged_prefix_is_refused_and_the_way_to_finish_it_named(system):
    plan = _plan("damaged", system, problems=["install_tmp is left over", "envs/ holds research"])
    assert plan["action"] == "none"
    assert "envs/ holds research" in plan["refusal"]
    assert "bash <installer>.sh -b -u -p /opt/miniconda3" in plan["refusal"]


@pytest.mark.parametrize("system", ALL_SYSTEMS)
def test_a_finished_installation_whose_conda_fails_is_refused_quoting_conda(system):
    said = "'conda info --json' failed (rc=1): LoadError: Load Error: in .condarc on line 1"
    plan = _plan("unusable", system, marker=MARKER, problems=[said])
    assert plan["action"] == "none"
    assert said in plan["refusal"]
    assert "never reinstalls over an installation" in plan["refusal"]


# --- who may run the prefix's conda ------------------------------------------------------------------------
DIR = stat.S_IFDIR | 0o755
FILE = stat.S_IFREG | 0o755


def _fs():
    """A root-owned /opt/m tree as ``{path: (uid, gid, mode)}`` and a stat function over it."""
    tree = {
        "/": (0, 0, DIR),
        "/opt": (0, 0, DIR),
        "/opt/m": (0, 0, DIR),
        "/opt/m/bin": (0, 0, DIR),
        "/opt/m/bin/conda": (0, 0, FILE),
        "/opt/m/bin/python3.11": (0, 0, FILE),
        "/tmp": (0, 0, stat.S_IFDIR | 0o1777),
    }

    def stat_of(path):
        if path not in tree:
            raise FileNotFoundError(path)
        return tree[path]

    return tree, stat_of


CONDA_RUNS = ["/opt/m/bin/conda", "/opt/m/bin/python3.11", "/opt/m/lib/python3.11/site-packages/conda"]


def test_a_root_owned_installation_may_be_run_by_root():
    _tree, stat_of = _fs()
    # Paths that are not there (the package directory here) are skipped.
    assert cp.trust_problems(CONDA_RUNS, 0, stat_of) == []


@pytest.mark.parametrize(
    ("path", "entry", "problem"),
    [
        ("/opt/m/bin/conda", (1000, 1000, FILE), "/opt/m/bin/conda is owned by uid 1000"),
        ("/opt/m", (1000, 1000, DIR), "/opt/m is owned by uid 1000"),
        ("/opt/m/bin/python3.11", (0, 0, stat.S_IFREG | 0o777), "/opt/m/bin/python3.11 is writable by every user"),
        ("/opt", (0, 50, stat.S_IFDIR | 0o775), "/opt is writable by group gid 50"),
    ],
)
def test_root_refuses_to_run_what_a_user_can_change(path, entry, problem):
    tree, stat_of = _fs()
    tree[path] = entry
    problems = cp.trust_problems(CONDA_RUNS, 0, stat_of)
    assert len(problems) == 1 and problems[0].startswith(problem)
    message = cp.trust_refusal("/opt/m", 0, problems)
    assert "would run as root" in message and "miniconda_scope: user" in message
    assert "chown -R root:root /opt/m" in message and "Nothing was changed" in message


def test_a_user_may_run_their_own_installation_and_sticky_directories_are_safe_parents():
    tree, stat_of = _fs()
    tree.update({"/tmp/m": (1000, 1000, DIR), "/tmp/m/bin": (1000, 1000, DIR), "/tmp/m/bin/conda": (1000, 1000, FILE)})
    assert cp.trust_problems(["/tmp/m/bin/conda"], 1000, stat_of) == []
    # Root does not run it.
    assert cp.trust_problems(["/tmp/m/bin/conda"], 0, stat_of)[0] == "/tmp/m is owned by uid 1000"
    # Another user does not either.
    assert cp.trust_problems(["/tmp/m/bin/conda"], 1001, stat_of)[0] == "/tmp/m is owned by uid 1000"


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


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_another_distribution_half_made_is_not_repaired_with_this_one(system):
    plan = _plan("interrupted", system, marker=MARKER, distribution="miniforge", version="26.3.2-3")
    assert plan["action"] == "none"
    assert "holds miniconda py313_25.11.1-1, not miniforge" in plan["refusal"]
