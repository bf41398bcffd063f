"""torchfleet.lab.win_dirs against a model of NTFS inheritance.

The fake host answers win_stat, win_file, win_acl and win_acl_inheritance as ansible.windows 3.7.0 does
(plugins/modules/win_stat.ps1: ``stat.exists``/``stat.isdir``; win_file.ps1: ``state=directory`` creates the
parents too; win_acl.ps1: a rule is added unless an entry with the same rights, type, identity, IsInherited and
flags is there; win_acl_inheritance.ps1: ``state=absent`` protects the ACL, ``reorganize=true`` keeping the
inherited entries as explicit ones, ``false`` dropping them).  A directory's effective ACL is its explicit
entries, plus its parent's effective ACL unless it is protected (how Windows applies inheritable entries to new
children: https://learn.microsoft.com/en-us/windows/win32/secauthz/ace-inheritance-rules).

C:\\ProgramData's ACL is the one ``icacls C:\\ProgramData`` prints on a stock Windows (SYSTEM and Administrators
full control, CREATOR OWNER full control of what one creates, Users read and execute, Users create files and
folders); only its effect matters here: it is not the protected three.
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.action.win_dirs import ActionModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _windows_dirs as wd

from .conftest import FakeExecute, make_action

PD = "C:\\ProgramData"
PROGRAMDATA_ACL = (
    ("S-1-5-18", "FullControl"),
    ("S-1-5-32-544", "FullControl"),
    ("S-1-3-0", "FullControl"),  # CREATOR OWNER
    ("S-1-5-32-545", "ReadAndExecute"),
    ("S-1-5-32-545", "CreateFiles, AppendData"),
)
PROTECTED = {("S-1-5-32-544", "FullControl"), ("S-1-5-18", "FullControl"), ("S-1-5-32-545", "ReadAndExecute")}
MUTATING = ("ansible.windows.win_file", "ansible.windows.win_acl", "ansible.windows.win_acl_inheritance")


class Dir:
    def __init__(self, explicit=(), protected=False):
        self.explicit = list(explicit)
        self.protected = protected


class NtfsHost:
    def __init__(self, dirs=(PD,), files=()):
        self.dirs = {"c:\\": Dir(PROGRAMDATA_ACL, protected=True)}
        self.dirs[PD.lower()] = Dir(PROGRAMDATA_ACL, protected=True)
        for path in dirs:
            self.dirs.setdefault(path.lower(), Dir())
        self.files = {f.lower() for f in files}

    def parent(self, path):
        return path.rsplit("\\", 1)[0] if path.count("\\") > 1 else path[:3]

    def effective(self, path):
        node = self.dirs[path.lower()]
        own = set(node.explicit)
        return own if node.protected else own | self.effective(self.parent(path))

    def __call__(self, module, args):
        path = args["path"]
        if module == "ansible.windows.win_stat":
            exists = path.lower() in self.dirs or path.lower() in self.files
            return {"changed": False, "stat": {"exists": exists, "isdir": path.lower() in self.dirs} if exists else {
                "exists": False}}  # fmt: skip
        if module == "ansible.windows.win_file":
            changed = False
            chain = wd.lineage(path)
            for directory in chain:
                if directory.lower() not in self.dirs:
                    self.dirs[directory.lower()] = Dir()
                    changed = True
            return {"changed": changed}
        node = self.dirs.get(path.lower())
        if node is None:
            return {"failed": True, "msg": f"{path} file or directory does not exist on the host"}
        if module == "ansible.windows.win_acl":
            assert args["inherit"] == "ContainerInherit, ObjectInherit" and args["propagation"] == "None"
            ace = (args["user"], args["rights"])
            if ace in node.explicit:
                return {"changed": False}
            node.explicit.append(ace)
            return {"changed": True}
        if module == "ansible.windows.win_acl_inheritance":
            if args["state"] == "absent" and not node.protected:
                if args["reorganize"]:
                    node.explicit.extend(sorted(self.effective(self.parent(path)) - set(node.explicit)))
                node.protected = True
                return {"changed": True}
            return {"changed": False}
        raise AssertionError(f"unexpected module {module}")


def run(args, host, check_mode=False, shell="powershell"):
    action = make_action(ActionModule, args, check_mode=check_mode, shell_family=shell, name="torchfleet.lab.win_dirs")
    fake = FakeExecute(action, host)
    action._execute_module = fake
    return action.run(task_vars={}), fake


UV_DIRS = [PD + "\\torchfleet\\bin", PD + "\\torchfleet\\cache\\uv-0.9.0", PD + "\\torchfleet\\envs"]


def test_every_directory_created_at_system_scope_ends_with_only_the_three_entries():
    host = NtfsHost()
    result, _fake = run({"path": UV_DIRS}, host)
    assert result["changed"] and not result.get("failed")
    assert result["protected"] == [PD + "\\torchfleet"]
    for path in [PD + "\\torchfleet", PD + "\\torchfleet\\cache", *UV_DIRS]:
        assert host.effective(path) == PROTECTED, path


def test_the_acl_is_set_before_anything_is_created_below_the_top():
    _result, fake = run({"path": UV_DIRS}, NtfsHost())
    mutating = [(c["module"].rsplit(".", 1)[1], c["args"]["path"]) for c in fake.calls if c["module"] in MUTATING]
    top = PD + "\\torchfleet"
    assert mutating[:5] == [("win_file", top), ("win_acl", top), ("win_acl", top), ("win_acl", top),
                            ("win_acl_inheritance", top)]  # fmt: skip
    assert mutating[5:] == [("win_file", path) for path in UV_DIRS]
    inheritance = [c["args"] for c in fake.calls if c["module"] == "ansible.windows.win_acl_inheritance"]
    assert inheritance == [{"path": top, "state": "absent", "reorganize": False}]


def test_a_second_run_changes_nothing_and_calls_no_changing_module():
    host = NtfsHost()
    run({"path": UV_DIRS}, host)
    result, fake = run({"path": UV_DIRS}, host)
    assert not result["changed"]
    assert result["created"] == [] and result["protected"] == []
    assert [c for c in fake.calls if c["module"] in MUTATING] == []


def test_an_existing_directory_keeps_its_acl():
    # C:\ProgramData\torchfleet was there before: only the new child below it is protected.
    host = NtfsHost(dirs=[PD, PD + "\\torchfleet"])
    result, fake = run({"path": [PD + "\\torchfleet\\trainers\\runs"]}, host)
    assert result["protected"] == [PD + "\\torchfleet\\trainers"]
    touched = {c["args"]["path"].lower() for c in fake.calls if c["module"] in MUTATING[1:]}
    assert touched == {(PD + "\\torchfleet\\trainers").lower()}
    assert host.dirs[(PD + "\\torchfleet").lower()].explicit == []
    assert host.effective(PD + "\\torchfleet\\trainers\\runs") == PROTECTED


def test_user_scope_creates_and_sets_no_acl():
    home = "C:\\Users\\ana\\AppData\\Local"
    host = NtfsHost(dirs=[PD, "C:\\Users", "C:\\Users\\ana", "C:\\Users\\ana\\AppData", home])
    result, fake = run({"path": [home + "\\torchfleet\\cache"], "protect": False}, host)
    assert result["changed"] and result["protected"] == []
    assert {c["module"] for c in fake.calls} == {"ansible.windows.win_stat", "ansible.windows.win_file"}


def test_check_mode_reads_only_and_reports_the_change():
    host = NtfsHost()
    result, fake = run({"path": UV_DIRS}, host, check_mode=True)
    assert result["changed"] and result["protected"] == [PD + "\\torchfleet"]
    assert {c["module"] for c in fake.calls} == {"ansible.windows.win_stat"}
    assert all(c["check_mode"] is False for c in fake.calls)  # the probes run for real, they only read
    assert (PD + "\\torchfleet").lower() not in host.dirs


def test_a_file_in_the_way_is_refused_before_anything_changes():
    host = NtfsHost(files=[PD + "\\torchfleet"])
    result, fake = run({"path": UV_DIRS}, host)
    assert result["failed"] and "C:\\ProgramData\\torchfleet exists and is not a directory" in result["msg"]
    assert [c for c in fake.calls if c["module"] in MUTATING] == []


def test_a_failed_acl_step_names_the_directory_left_unprotected():
    host = NtfsHost()

    def refuse_acl(module, args):
        if module == "ansible.windows.win_acl":
            return {"failed": True, "msg": "an exception occurred when adding the specified rule - denied"}
        return host(module, args)

    result, _fake = run({"path": UV_DIRS}, refuse_acl)
    assert result["failed"]
    assert "C:\\ProgramData\\torchfleet was created but not protected" in result["msg"]


@pytest.mark.parametrize(("args", "shell", "message"), [
    ({"path": UV_DIRS}, "sh", "is for Windows hosts"),
    ({"path": []}, "powershell", "path must be a directory or a list"),
    ({"path": ["torchfleet\\cache"]}, "powershell", "is not a full Windows path"),
    ({"path": UV_DIRS, "protect": "perhaps"}, "powershell", "torchfleet.lab.win_dirs:"),
])  # fmt: skip
def test_bad_calls_fail_without_touching_the_host(args, shell, message):
    result, fake = run(args, NtfsHost(), shell=shell)
    assert result["failed"] and message in result["msg"]
    assert fake.calls == []


def test_the_model_sees_the_hole_that_reorganize_true_would_keep():
    # Guards the model itself: with the parent's entries copied, Users could still create files.
    host = NtfsHost()
    host("ansible.windows.win_file", {"path": PD + "\\x", "state": "directory"})
    host("ansible.windows.win_acl_inheritance", {"path": PD + "\\x", "state": "absent", "reorganize": True})
    assert ("S-1-5-32-545", "CreateFiles, AppendData") in host.effective(PD + "\\x")
