"""The decision of which Windows directories a role creates and which of them get the protected ACL
(plugins/module_utils/_windows_dirs.py)."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _windows_dirs as wd

PD = "C:\\ProgramData"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("C:\\ProgramData\\torchfleet\\cache", "C:\\ProgramData\\torchfleet\\cache"),
        ("c:/ProgramData/torchfleet/cache/", "C:\\ProgramData\\torchfleet\\cache"),
        ("D:\\lab", "D:\\lab"),
    ],
)
def test_normalise(given, expected):
    assert wd.normalise(given) == expected


@pytest.mark.parametrize("bad", ["", "torchfleet\\cache", "C:torchfleet", "\\\\server\\share\\x", "C:\\", "C:/"])
def test_normalise_refuses_what_is_not_a_full_path_below_a_drive(bad):
    with pytest.raises(wd.WindowsDirsError):
        wd.normalise(bad)


def test_probe_paths_lists_each_directory_once_parents_first():
    paths = [PD + "\\torchfleet\\bin", PD + "\\torchfleet\\cache\\uv-0.9.0", PD + "\\TORCHFLEET\\envs"]
    assert wd.probe_paths(paths) == [
        PD,
        PD + "\\torchfleet",
        PD + "\\torchfleet\\bin",
        PD + "\\torchfleet\\cache",
        PD + "\\torchfleet\\cache\\uv-0.9.0",
        PD + "\\TORCHFLEET\\envs",  # its parent is listed once, as first spelt
    ]


def test_a_new_tree_is_protected_at_its_top_only():
    # A stock host: C:\ProgramData exists, nothing of the collection does.
    paths = [PD + "\\torchfleet\\bin", PD + "\\torchfleet\\cache\\uv-0.9.0", PD + "\\torchfleet\\envs"]
    decided = wd.plan(paths, [PD])
    assert decided == {"create": paths, "protect": [PD + "\\torchfleet"]}


def test_an_existing_parent_is_left_and_each_new_child_is_protected():
    # C:\ProgramData\torchfleet is there (made by someone else, or by an earlier version): its ACL is not ours to set.
    paths = [PD + "\\torchfleet\\bin", PD + "\\torchfleet\\envs"]
    decided = wd.plan(paths, [PD, PD + "\\torchfleet", PD + "\\torchfleet\\bin"])
    assert decided == {"create": [PD + "\\torchfleet\\envs"], "protect": [PD + "\\torchfleet\\envs"]}


def test_nothing_is_created_or_protected_when_everything_exists():
    paths = [PD + "\\torchfleet\\trainers", PD + "\\torchfleet\\trainers\\runs"]
    existing = [p.upper() for p in wd.probe_paths(paths)]  # the host's spelling may differ in case
    assert wd.plan(paths, existing) == {"create": [], "protect": []}


def test_user_scope_creates_without_protecting():
    paths = ["C:\\Users\\ana\\AppData\\Local\\torchfleet\\cache"]
    existing = ["C:\\Users", "C:\\Users\\ana", "C:\\Users\\ana\\AppData", "C:\\Users\\ana\\AppData\\Local"]
    decided = wd.plan(paths, existing, protect=False)
    assert decided == {"create": paths, "protect": []}


def test_a_named_directory_elsewhere_is_protected_from_what_the_run_creates():
    # trainers_dir D:\lab\trainers at system scope with D:\lab already there: D:\lab is left, trainers is protected.
    decided = wd.plan(["D:\\lab\\trainers\\runs"], ["D:\\lab"])
    assert decided == {"create": ["D:\\lab\\trainers\\runs"], "protect": ["D:\\lab\\trainers"]}


def test_the_acl_is_the_three_well_known_sids():
    assert [(ace["user"], ace["rights"]) for ace in wd.PROTECTED_ACL] == [
        ("S-1-5-32-544", "FullControl"),
        ("S-1-5-18", "FullControl"),
        ("S-1-5-32-545", "ReadAndExecute"),
    ]
    assert wd.INHERIT == "ContainerInherit, ObjectInherit"
