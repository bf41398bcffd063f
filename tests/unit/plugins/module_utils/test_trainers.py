"""Where the trainers go and how each run starts, on Linux, macOS and Windows (module_utils._trainers)."""

from __future__ import annotations

import hashlib
import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.filter.core import to_json as ansible_to_json
from ansible.template import Templar
from ansible_collections.torchfleet.lab.plugins.module_utils import _trainers as tr

from ...ansible_compat import trust_as_template
from ...conftest import REPO_ROOT

HOMES = {"Linux": "/home/ana", "Darwin": "/Users/ana", "Windows": "C:\\Users\\ana"}
SCRIPT_SHA1 = {"linear_regression": "1" * 40, "mnist_cnn": "2" * 40}


def make_plan(system="Linux", **options):
    options.setdefault("home", HOMES.get(tr.normalise_system(system), ""))
    options.setdefault("python", "/opt/torchfleet/envs/pytorch_env/bin/python")
    return tr.plan(system, **options)


def inputs(python="/opt/torchfleet/envs/pytorch_env/bin/python", data=None, **changes):
    values = {
        "data": data if data is not None else ["a" * 40, "b" * 40, "c" * 40, "d" * 40],
        "python": python,
        "epochs": 2,
        "limit": 512,
        "device": "auto",
        "seed": 0,
    }
    values.update(changes)
    return values


# --- OS, scope and privilege -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected"),
    [("Linux", "Linux"), ("Darwin", "Darwin"), ("Win32NT", "Windows"), ("Windows", "Windows"), (" linux ", "Linux")],
)
def test_systems_as_ansible_reports_them(reported, expected):
    assert tr.normalise_system(reported) == expected


@pytest.mark.parametrize("reported", ["FreeBSD", "", None, "SunOS"])
def test_an_unsupported_os_is_refused_naming_it(reported):
    with pytest.raises(tr.TrainersPlanError, match=r"Linux, macOS \(Darwin\) and Windows.*Leave it out of the play"):
        tr.plan(reported, home="/home/ana")


@pytest.mark.parametrize(
    ("system", "scope", "resolved", "become"),
    [
        ("Linux", "auto", "system", True),
        ("Linux", "system", "system", True),
        ("Linux", "user", "user", False),
        ("Darwin", "auto", "user", False),
        ("Darwin", "system", "system", True),
        ("Darwin", "user", "user", False),
        # Windows has no sudo: system scope needs an administrator connection, nothing escalates.
        ("Win32NT", "auto", "system", False),
        ("Win32NT", "system", "system", False),
        ("Win32NT", "user", "user", False),
    ],
)
def test_scope_and_become_per_os(system, scope, resolved, become):
    result = make_plan(system, scope=scope)
    assert result["scope"] == resolved
    assert result["become"] is become
    assert tr.needs_become(scope, system) is become


def test_an_unknown_scope_is_refused():
    with pytest.raises(tr.TrainersPlanError, match="trainers_scope 'global' is not one of auto, system, user"):
        make_plan(scope="global")


@pytest.mark.parametrize(
    ("system", "scope", "expected"),
    [
        ("Linux", "system", "/opt/torchfleet/trainers"),
        ("Linux", "user", "/home/ana/.local/share/torchfleet/trainers"),
        ("Darwin", "auto", "/Users/ana/.local/share/torchfleet/trainers"),
        ("Darwin", "system", "/opt/torchfleet/trainers"),
        ("Win32NT", "auto", "C:\\ProgramData\\torchfleet\\trainers"),
        ("Win32NT", "user", "C:\\Users\\ana\\AppData\\Local\\torchfleet\\trainers"),
    ],
)
def test_default_directory_per_os_and_scope(system, scope, expected):
    result = make_plan(system, scope=scope)
    assert result["dir"] == expected
    sep = "\\" if system == "Win32NT" else "/"
    assert result["sep"] == sep
    assert result["scripts_dir"] == expected + sep + "scripts"
    assert result["runs_dir"] == expected + sep + "runs"
    assert result["data_dir"] == sep.join([expected, "data", "mnist"])


def test_user_scope_without_a_home_directory_says_to_set_trainers_dir():
    with pytest.raises(tr.TrainersPlanError, match=r"user_dir.*set trainers_dir"):
        tr.plan("Linux", home="", scope="user")
    assert tr.plan("Linux", home="", scope="user", trainers_dir="/srv/trainers")["dir"] == "/srv/trainers"


def test_family_chooses_the_task_files():
    assert make_plan("Linux")["family"] == "posix"
    assert make_plan("Darwin")["family"] == "posix"
    assert make_plan("Win32NT")["family"] == "windows"


# --- explicit paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "given", "expected"),
    [
        ("Linux", "/srv/trainers", "/srv/trainers"),
        ("Darwin", "/Volumes/lab/trainers", "/Volumes/lab/trainers"),
        ("Win32NT", "D:\\lab\\trainers", "D:\\lab\\trainers"),
        ("Win32NT", "D:/lab/trainers", "D:\\lab\\trainers"),
        ("Win32NT", "\\\\filer\\lab\\trainers", "\\\\filer\\lab\\trainers"),
    ],
)
def test_explicit_trainers_dir_in_the_hosts_own_form(system, given, expected):
    result = make_plan(system, trainers_dir=given)
    assert result["dir"] == expected
    assert result["directories"][:3] == [expected, result["scripts_dir"], result["runs_dir"]]


@pytest.mark.parametrize(
    ("system", "given"),
    [
        ("Linux", "trainers"),
        ("Linux", "~/trainers"),
        ("Darwin", "./trainers"),
        ("Win32NT", "trainers"),
        ("Win32NT", "C:trainers"),
        ("Win32NT", "\\trainers"),
        ("Win32NT", "/opt/torchfleet/trainers"),
    ],
)
def test_relative_trainers_dir_is_refused_with_an_example_for_the_os(system, given):
    # The wording is the collection's one set of path rules (module_utils/_validate.py).
    advice = "give one with a drive letter, e.g. D:\\torchfleet" if system == "Win32NT" else "/"
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan(system, trainers_dir=given)
    assert "trainers_dir=" in str(caught.value)
    assert advice in str(caught.value)


@pytest.mark.parametrize(("system", "given"), [("Linux", "data/mnist"), ("Win32NT", "data\\mnist")])
def test_relative_data_dir_is_refused(system, given):
    with pytest.raises(tr.TrainersPlanError, match=r"trainers_data_dir=.*(is relative|is not a full Windows path)"):
        make_plan(system, data_dir=given)


def test_explicit_data_dir_is_used_as_is_and_not_created_without_download():
    result = make_plan("Win32NT", data_dir="E:/datasets/mnist", data_download=False)
    assert result["data_dir"] == "E:\\datasets\\mnist"
    assert result["data"][0]["dest"] == "E:\\datasets\\mnist\\train-images-idx3-ubyte.gz"
    assert result["data_dir"] not in result["directories"]
    assert result["download"] is False


# --- scripts and data --------------------------------------------------------------------------------------


def test_scripts_per_os_stop_job_only_where_distributed_runs_happen():
    linux = make_plan("Linux")
    assert [s["src"] for s in linux["scripts"]] == [
        "linear_regression.py",
        "mnist_cnn.py",
        "stop_job.py",
        "job_lease.py",
        "rendezvous_probe.py",
        "health_check.py",
        "health_allreduce.py",
    ]
    assert linux["scripts"][0]["dest"] == "/opt/torchfleet/trainers/scripts/linear_regression.py"
    windows = make_plan("Win32NT")
    assert [s["src"] for s in windows["scripts"]] == ["linear_regression.py", "mnist_cnn.py", "health_check.py"]
    assert windows["scripts"][1]["dest"] == "C:\\ProgramData\\torchfleet\\trainers\\scripts\\mnist_cnn.py"
    darwin = make_plan("Darwin")
    assert [s["src"] for s in darwin["scripts"]] == ["linear_regression.py", "mnist_cnn.py", "health_check.py"]


def test_every_script_the_plan_deploys_is_a_file_of_the_role():
    files = REPO_ROOT / "roles" / "trainers" / "files"
    for system in ("Linux", "Darwin", "Win32NT"):
        for script in make_plan(system)["scripts"]:
            assert (files / script["src"]).is_file(), script["src"]


def test_public_data_is_verified_by_the_known_sums():
    result = make_plan("Linux")
    assert result["data_url"] == tr.MNIST_UPSTREAM
    first = result["data"][0]
    assert first["url"] == tr.MNIST_UPSTREAM + "train-images-idx3-ubyte.gz"
    assert first["sha256"] == tr.MNIST_UPSTREAM_SHA256["train-images-idx3-ubyte.gz"]
    assert first["checksum_url"] is None
    assert first["checksum"] == "sha256:" + first["sha256"]
    assert [f["name"] for f in result["data"]] == list(tr.MNIST_FILES)


@pytest.mark.parametrize("mirror", ["http://mirror.lab:8765", "http://mirror.lab:8765/"])
def test_a_mirror_copy_of_mnist_is_still_verified_by_the_known_sums(mirror):
    # Issue 11, item 3: the mirror's SHA256SUMS comes from the server it checks; the public files' sums do not.
    result = make_plan("Win32NT", mirror_url=mirror)
    assert result["data_url"] == "http://mirror.lab:8765/mnist/"
    last = result["data"][-1]
    assert last["url"] == "http://mirror.lab:8765/mnist/t10k-labels-idx1-ubyte.gz"
    assert last["sha256"] == tr.MNIST_UPSTREAM_SHA256["t10k-labels-idx1-ubyte.gz"]
    assert last["checksum_url"] is None
    assert last["checksum"] == "sha256:" + last["sha256"]
    assert last["dest"] == "C:\\ProgramData\\torchfleet\\trainers\\data\\mnist\\t10k-labels-idx1-ubyte.gz"
    assert result["warnings"] == []


def test_unpinned_data_over_plain_http_warns_once_naming_the_variable():
    result = make_plan("Linux", data_url="http://ann:pw@data.lab/mnist/")
    assert all(f["checksum"] == "sha256:http://ann:pw@data.lab/mnist/SHA256SUMS" for f in result["data"])
    (warning,) = result["warnings"]
    assert "plain http" in warning and "trainers_data_sha256" in warning and "pw@" not in warning
    pinned = dict.fromkeys(tr.MNIST_FILES, "ab" * 32)
    assert make_plan("Linux", data_url="http://data.lab/mnist/", data_sha256=pinned)["warnings"] == []
    assert make_plan("Linux", data_url="https://data.lab/mnist/")["warnings"] == []


def test_an_explicit_url_wins_over_the_mirror_and_an_explicit_sum_over_everything():
    digest = "AB" * 32
    result = make_plan(
        "Linux",
        mirror_url="http://mirror.lab",
        data_url="https://data.example/mnist//",
        data_sha256={"train-labels-idx1-ubyte.gz": digest},
    )
    assert result["data_url"] == "https://data.example/mnist/"
    by_name = {f["name"]: f for f in result["data"]}
    assert by_name["train-labels-idx1-ubyte.gz"]["sha256"] == digest.lower()
    assert by_name["train-labels-idx1-ubyte.gz"]["checksum_url"] is None
    assert by_name["train-images-idx3-ubyte.gz"]["checksum"] == "sha256:https://data.example/mnist/SHA256SUMS"


def test_malformed_or_unknown_sums_are_refused():
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan(data_sha256={"train-images-idx3-ubyte.gz": "abc123", "mnist-train.gz": "0" * 64})
    assert "'mnist-train.gz', which is none of train-images-idx3-ubyte.gz" in str(caught.value)
    assert "('abc123') is not a SHA-256" in str(caught.value)


def test_download_only_when_asked_and_mnist_cnn_runs():
    assert make_plan(run=["linear_regression"])["download"] is False
    assert make_plan(run=["mnist_cnn"], data_download="false")["download"] is False
    assert make_plan(run=["mnist_cnn"])["download"] is True
    # The data directory is still made when downloads are on, as before.
    assert make_plan(run=["linear_regression"])["directories"][-1].endswith("/data/mnist")


# --- parameters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "gpu"}, r"trainers_device .*'gpu'.* must be auto, cpu, mps, cuda or cuda:N"),
        ({"device": "cuda:x"}, r"must be auto, cpu, mps, cuda or cuda:N"),
        ({"epochs": 0}, r"trainers_epochs \(0\) must be a whole number, at least 1"),
        ({"epochs": "two"}, r"trainers_epochs \('two'\) must be a whole number"),
        ({"limit": -1}, r"trainers_limit \(-1\) must be a whole number, 0"),
        ({"seed": "x"}, r"trainers_seed \('x'\) must be a whole number"),
        ({"nproc_per_node": 0}, r"trainers_nproc_per_node \(0\) must be a whole number, at least 1"),
        ({"timeout": 5}, r"trainers_timeout \(5\) must be a whole number of seconds, at least 10"),
        ({"run": ["linear_regression", "resnet"]}, r"may only name linear_regression, mnist_cnn; resnet is not"),
        ({"run": "mnist_cnn"}, r"trainers_run \('mnist_cnn'\) must be a list"),
        ({"data_sha256": ["x"]}, "trainers_data_sha256 must be a mapping"),
    ],
)
def test_bad_parameters_are_refused_with_what_to_change(options, message):
    with pytest.raises(tr.TrainersPlanError, match=message):
        make_plan("Linux", **options)


def test_numbers_from_extra_vars_arrive_as_strings_and_are_accepted():
    result = make_plan("Linux", epochs="3", limit="0", seed="-1", nproc_per_node="2", timeout="60")
    assert (result["epochs"], result["limit"], result["seed"]) == (3, 0, -1)


@pytest.mark.parametrize(
    ("system", "device", "ok"),
    [
        ("Linux", "auto", True),
        ("Linux", "cuda:1", True),
        ("Linux", "mps", False),
        ("Win32NT", "cuda", True),
        ("Win32NT", "mps", False),
        ("Darwin", "mps", True),
        ("Darwin", "auto", True),
        ("Darwin", "cpu", True),
        ("Darwin", "cuda", False),
    ],
)
def test_devices_each_os_can_have(system, device, ok):
    if ok:
        assert make_plan(system, device=device)["device"] == device
    else:
        with pytest.raises(tr.TrainersPlanError, match="macOS"):
            make_plan(system, device=device)


def test_every_problem_is_reported_at_once_naming_the_host():
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan("Win32NT", host="win1", trainers_dir="trainers", device="mps", epochs=0)
    message = str(caught.value)
    assert message.startswith("Check the trainers variables on win1: ")
    for part in ("trainers_epochs", "trainers_device mps", "trainers_dir"):
        assert part in message


# --- distributed runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "name"), [("Darwin", "macOS"), ("Win32NT", "Windows")])
def test_distributed_is_refused_off_linux_with_the_way_out(system, name):
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan(system, host="box1", distributed=True, group="lab")
    message = str(caught.value)
    assert f"box1 runs {name}" in message
    assert "Linux only" in message
    assert "trainers_distributed: false" in message
    assert "leave box1 out of trainers_group" in message


def test_distributed_is_refused_on_linux_when_the_group_holds_other_oses():
    systems = {"lin1": "Linux", "lin2": "Linux", "mac1": "Darwin", "win1": "Win32NT", "gone": ""}
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan("Linux", host="lin1", distributed=True, group="lab", group_systems=systems)
    message = str(caught.value)
    assert "trainers_group (lab) holds hosts that are not Linux: mac1 (macOS), win1 (Windows)" in message
    assert "gone" not in message  # no facts: the distributed run names an unreachable host itself
    assert "Leave those hosts out of trainers_group" in message


def test_distributed_across_linux_hosts_is_planned():
    result = make_plan("Linux", distributed=True, group_systems={"lin1": "Linux", "lin2": "Linux"})
    assert result["distributed"] is True


@pytest.mark.parametrize("system", ["Darwin", "Win32NT"])
def test_distributed_off_or_without_mnist_cnn_needs_no_linux(system):
    assert make_plan(system, distributed="false")["distributed"] is False
    assert make_plan(system, distributed=True, run=["linear_regression"])["distributed"] is False


def test_the_burn_in_s_all_reduce_runs_across_the_group_whatever_trainers_run_holds():
    # health.yml deploys the scripts with trainers_run: [] and launches health_allreduce, which is no trainer.
    groups = {"lin1": "Linux", "lin2": "Linux"}
    result = make_plan("Linux", distributed=True, run=[], group_systems=groups, ddp_script="health_allreduce")
    assert result["distributed"] is True and result["ddp_script"] == "health_allreduce"
    assert result["download"] is False
    assert make_plan("Linux", distributed=True, run=[], group_systems=groups)["distributed"] is False
    assert make_plan("Linux")["ddp_script"] == "mnist_cnn"


def test_a_distributed_script_that_is_not_one_of_the_collection_s_is_refused():
    with pytest.raises(tr.TrainersPlanError, match="launches one of mnist_cnn, health_allreduce, not 'evil'"):
        make_plan("Linux", ddp_script="evil")
    with pytest.raises(tr.TrainersPlanError, match="launches one of mnist_cnn, health_allreduce"):
        tr.ddp_run({**make_plan("Linux"), "ddp_script": "../evil"}, {}, "1" * 40, HOSTS, 1)


# --- single-host runs --------------------------------------------------------------------------------------

# What run.yml computed in YAML up to commit 7090707; run names must stay the same so that hosts trained by
# earlier releases do not train again.
_LEGACY_KEY = """{{ (__trainers_inputs
          | combine({'script': __trainers_script_sha1[__trainers_script], 'mode': 'single'},
                    ({'data': []} if __trainers_script == 'linear_regression' else {}))
          | to_json(sort_keys=true) | hash('sha1'))[:12] }}"""


@pytest.mark.parametrize("script", tr.KNOWN_TRAINERS)
@pytest.mark.parametrize(
    "values",
    [
        inputs(),
        inputs(python="C:\\envs\\pytorch_env\\python.exe", device="cuda:0", seed=7),
        inputs(data=["missing"] * 4),
    ],
)
def test_run_key_is_the_one_the_yaml_computed(script, values):
    templar = Templar(
        loader=DataLoader(),
        variables={"__trainers_inputs": values, "__trainers_script": script, "__trainers_script_sha1": SCRIPT_SHA1},
    )
    assert tr.run_key(values, script, SCRIPT_SHA1[script]) == templar.template(trust_as_template(_LEGACY_KEY))


def test_linear_regression_does_not_depend_on_the_data_but_mnist_cnn_does():
    before, after = inputs(), inputs(data=["e" * 40] * 4)
    assert tr.run_key(before, "linear_regression", "1") == tr.run_key(after, "linear_regression", "1")
    assert tr.run_key(before, "mnist_cnn", "1") != tr.run_key(after, "mnist_cnn", "1")
    assert tr.run_key(before, "mnist_cnn", "1") != tr.run_key(inputs(epochs=3), "mnist_cnn", "1")


def test_linux_mnist_cnn_run():
    result = make_plan("Linux")
    run = tr.single_run(result, "mnist_cnn", inputs(), SCRIPT_SHA1["mnist_cnn"])
    key = tr.run_key(inputs(), "mnist_cnn", SCRIPT_SHA1["mnist_cnn"])
    assert run["key"] == key
    assert run["output"] == f"/opt/torchfleet/trainers/runs/mnist_cnn-{key}.json"
    assert run["argv"] == [
        # Root starts it as the unprivileged account; coreutils timeout ends it on the host even when the
        # controller is gone (trainers_timeout).
        *("runuser", "-u", "torchfleet-trainer", "--"),
        *("timeout", "--kill-after=30", "600"),
        "/opt/torchfleet/envs/pytorch_env/bin/python",
        "/opt/torchfleet/trainers/scripts/mnist_cnn.py",
        "--epochs",
        "2",
        "--device",
        "auto",
        "--seed",
        "0",
        "--data-dir",
        "/opt/torchfleet/trainers/data/mnist",
        "--limit",
        "512",
        "--output",
        run["output"],
    ]


def test_windows_runs_call_python_exe_by_its_path():
    python = "C:\\ProgramData\\miniforge3\\envs\\pytorch_env\\python.exe"
    result = make_plan("Win32NT", scope="user", python=python, device="cuda", epochs="3")
    run = tr.single_run(result, "linear_regression", inputs(python=python), SCRIPT_SHA1["linear_regression"])
    base = "C:\\Users\\ana\\AppData\\Local\\torchfleet\\trainers"
    assert run["output"] == f"{base}\\runs\\linear_regression-{run['key']}.json"
    assert run["argv"] == [
        python,
        f"{base}\\scripts\\linear_regression.py",
        "--epochs",
        "3",
        "--device",
        "cuda",
        "--seed",
        "0",
        "--output",
        run["output"],
    ]
    assert not any("activate" in part for part in run["argv"])


def test_macos_user_run_trains_on_auto_and_leaves_out_the_limit_when_zero():
    result = make_plan("Darwin", python="/Users/ana/miniforge3/envs/pytorch_env/bin/python", limit=0)
    run = tr.single_run(result, "mnist_cnn", inputs(limit=0), SCRIPT_SHA1["mnist_cnn"])
    assert run["argv"][1] == "/Users/ana/.local/share/torchfleet/trainers/scripts/mnist_cnn.py"
    assert "--limit" not in run["argv"]
    assert run["argv"][run["argv"].index("--device") + 1] == "auto"  # cuda, then mps, then cpu, in the script
    assert run["argv"][run["argv"].index("--data-dir") + 1] == "/Users/ana/.local/share/torchfleet/trainers/data/mnist"


def test_a_run_needs_an_interpreter_and_a_known_trainer():
    with pytest.raises(tr.TrainersPlanError, match=r"pytorch_env role first.*trainers_python"):
        tr.single_run(make_plan(python=""), "mnist_cnn", inputs(), "1")
    with pytest.raises(tr.TrainersPlanError, match="'resnet' is not a trainer"):
        tr.single_run(make_plan(), "resnet", inputs(), "1")


# --- Directories the role must never take over (issue 12: trainers_dir "/" made / 0755) --------------------


# The rules are module_utils/_validate.py's check_path (one set for the collection); these pin that the
# trainers plan applies them to both of its directories, with the messages that set gives.
@pytest.mark.parametrize(
    ("system", "given", "message"),
    [
        ("Linux", "/", "is a system directory"),
        ("Linux", "/etc", "is a system directory"),
        ("Linux", "/usr/local", "is a system directory"),
        ("Linux", "/srv", "is a system directory"),
        ("Linux", "/home", "is a system directory"),
        ("Linux", "/home/alice", "is a home directory itself"),
        ("Linux", "/home/ana/", "is not a normalised path"),
        ("Linux", "/proc/self", "is inside /proc"),
        ("Darwin", "/Users/bob", "is a home directory itself"),
        ("Win32NT", "C:\\", "is a system directory"),
        ("Win32NT", "C:\\Windows\\Temp", "is a system directory"),
        ("Win32NT", "c:\\program files", "is a system directory"),
        ("Win32NT", "C:\\Users\\bob", "is a user profile folder itself"),
        ("Linux", "/opt/x/../../etc", "is not a normalised path (it resolves to '/etc')"),
        ("Linux", "/opt/./trainers", "is not a normalised path"),
        ("Linux", "/opt//trainers", "is not a normalised path"),
        ("Win32NT", "C:\\lab\\..\\Windows", "is not a normalised path"),
        ("Linux", "/opt/train\ners", "contains a control character"),
        ("Linux", "/opt/" + "x" * 256, "has a name over 255 bytes"),
        ("Linux", "/opt" + "/x" * 2100, "give a path the OS accepts"),
        # Not a home root's child, but the connecting user's own home: the role would fill it.
        ("Linux", "/srv/homes/ana", "is the connecting user's home directory itself"),
    ],
)
@pytest.mark.parametrize("variable", ["trainers_dir", "trainers_data_dir"])
def test_system_home_and_unnormalised_directories_are_refused(system, given, message, variable):
    option = "trainers_dir" if variable == "trainers_dir" else "data_dir"
    home = "/srv/homes/ana" if given == "/srv/homes/ana" else HOMES.get(tr.normalise_system(system), "")
    with pytest.raises(tr.TrainersPlanError, match=variable) as caught:
        make_plan(system, home=home, **{option: given})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("system", "given"),
    [
        ("Linux", "/opt/torchfleet/trainers"),
        ("Linux", "/srv/lab/trainers"),
        ("Linux", "/tmp/bad-mnist"),
        ("Linux", "/home/ana/trainers"),
        ("Darwin", "/Users/ana/trainers"),
        ("Win32NT", "D:\\lab\\trainers"),
        ("Win32NT", "C:\\ProgramData\\torchfleet\\trainers"),
    ],
)
def test_directories_of_their_own_are_accepted(system, given):
    assert make_plan(system, trainers_dir=given)["dir"] == given


# --- The rendezvous --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "port", "message"),
    [
        ("$(touch /tmp/x)", 29400, "trainers_master_addr='$(touch /tmp/x)' is not a host name or address"),
        ("10.0.0.1", 70000, "trainers_master_port=70000 is out of range; give a TCP port from 1 to 65535"),
        ("10.0.0.1", 0, "trainers_master_port=0 is out of range"),
        ("10.0.0.1", "http", "trainers_master_port='http' is not a whole number"),
        ("host;rm -rf /", 29400, "is not a host name or address"),
        # torchrun takes HOST:PORT; a port in the address would make HOST:PORT:PORT.
        ("10.0.0.1:29400", 29400, "trainers_master_addr='10.0.0.1:29400' is not an IP address"),
        ("-oProxy", 29400, "is not a host name or address"),
        ("a" * 64 + ".lab", 29400, "is not a host name or address"),
    ],
)
def test_rendezvous_values_that_are_no_address_or_port_are_refused(addr, port, message):
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan(master_addr=addr, master_port=port)
    assert message in str(caught.value)


def test_the_issue_12_example_names_both_problems():
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan(master_addr="$(touch /tmp/x)", master_port=70000)
    assert "trainers_master_addr='$(touch /tmp/x)'" in str(caught.value)
    assert "trainers_master_port=70000" in str(caught.value)


FIRST_HOST_FACTS = {
    "default_ipv4": {"address": "192.168.1.10", "interface": "eth0"},
    "interfaces": ["lo", "eth0", "lab_net"],
    "lab_net": {"ipv4": {"address": "10.20.0.1"}},
}


@pytest.mark.parametrize(
    ("addr", "interface", "endpoint"),
    [
        ("", "", "192.168.1.10:29400"),
        ("", "lab-net", "10.20.0.1:29400"),
        ("10.20.0.5", "lab-net", "10.20.0.5:29400"),
        ("gpu-1.lab.example", "", "gpu-1.lab.example:29400"),
        ("fd00::1", "", "[fd00::1]:29400"),
    ],
)
def test_the_rendezvous_endpoint_prefers_the_named_address_then_the_lab_interface(addr, interface, endpoint):
    found = tr.rendezvous_endpoint(addr, 29400, FIRST_HOST_FACTS, interface)
    assert found["endpoint"] == endpoint


def test_an_interface_without_an_address_is_refused_listing_the_interfaces():
    with pytest.raises(tr.TrainersPlanError, match=r"trainers_master_interface \('ib0'\).*lab_net, lo"):
        tr.rendezvous_endpoint("", 29400, FIRST_HOST_FACTS, "ib0")


def test_run_ids_are_unguessable_and_differ_per_draw():
    first, second = make_plan()["run_id"], make_plan()["run_id"]
    assert first != second
    assert re.fullmatch(r"torchfleet-[0-9a-f]{32}", first)


# --- Scope follows the environment (issue 11 item 6) -----------------------------------------------------


@pytest.mark.parametrize(
    ("system", "scope", "env_scope", "resolved", "become"),
    [
        ("Linux", "auto", "user", "user", False),
        ("Linux", "auto", "system", "system", True),
        ("Darwin", "auto", "system", "system", True),
        ("Linux", "auto", "", "system", True),
        ("Linux", "auto", "auto", "system", True),
        # An explicit scope is the user's choice and wins.
        ("Linux", "system", "user", "system", True),
    ],
)
def test_auto_scope_follows_the_environments_scope(system, scope, env_scope, resolved, become):
    plan = make_plan(system, scope=scope, env_scope=env_scope)
    assert (plan["scope"], plan["become"]) == (resolved, become)


# --- The group of a distributed run (issue 11 item 10) ---------------------------------------------------

FLEET = {"gpu-1": "Linux", "gpu-2": "Linux", "gpu-3": "Linux"}


def test_a_misspelled_group_is_refused_with_the_closest_name():
    with pytest.raises(tr.TrainersPlanError, match=r"trainers_group \('fleeet'\) is not a group.*Did you mean fleet\?"):
        make_plan(
            host="gpu-1",
            distributed=True,
            group="fleeet",
            group_systems={},
            inventory_groups=["all", "ungrouped", "fleet"],
            play_hosts=list(FLEET),
        )


def test_a_limit_that_cuts_the_group_is_refused_naming_the_hosts_left_out():
    with pytest.raises(tr.TrainersPlanError, match=r"The play leaves out gpu-3 of trainers_group \(fleet\)"):
        make_plan(
            host="gpu-1",
            distributed=True,
            group="fleet",
            group_systems=FLEET,
            inventory_groups=["all", "fleet"],
            play_hosts=["gpu-1", "gpu-2"],
        )


def test_a_serial_batch_that_splits_the_group_is_refused():
    # A play of gpu-1..3 with serial: 2: the first batch runs gpu-1 and gpu-2, gpu-3 waits for the next one.
    split = r"The play's serial puts gpu-3 of trainers_group \(fleet\) in another batch than gpu-1, but the torchrun"
    with pytest.raises(tr.TrainersPlanError, match=split):
        make_plan(host="gpu-1", distributed=True, group="fleet", group_systems=FLEET,
                  inventory_groups=["all", "fleet"], play_hosts=list(FLEET), other_batches=["gpu-3"])  # fmt: skip


def test_other_batches_outside_the_group_or_a_run_host_by_host_pass():
    plan = make_plan(host="gpu-1", distributed=True, group="fleet", group_systems=FLEET, inventory_groups=["fleet"],
                     play_hosts=[*FLEET, "cpu-1"], other_batches=["cpu-1"])  # fmt: skip
    assert plan["distributed"] is True
    assert make_plan(host="gpu-1", distributed=False, other_batches=["gpu-3"])["distributed"] is False


def test_the_role_passes_the_other_batches_to_the_plan():
    preflight = (REPO_ROOT / "roles" / "trainers" / "tasks" / "preflight.yml").read_text()
    assert "other_batches=ansible_play_hosts | difference(ansible_play_batch)" in preflight


def test_a_host_outside_the_group_is_refused():
    with pytest.raises(tr.TrainersPlanError, match=r"login-1 is in the play but not in trainers_group"):
        make_plan(
            host="login-1",
            distributed=True,
            group="fleet",
            group_systems=FLEET,
            inventory_groups=["all", "fleet"],
            play_hosts=[*FLEET, "login-1"],
        )


def test_the_whole_group_in_the_play_is_planned():
    plan = make_plan(
        host="gpu-2",
        distributed=True,
        group="fleet",
        group_systems=FLEET,
        inventory_groups=["all", "fleet"],
        play_hosts=list(FLEET),
    )
    assert plan["distributed"] is True


def test_a_single_run_is_bounded_on_linux_hosts_by_trainers_timeout():
    run = tr.single_run(
        make_plan("Linux", scope="user", timeout=45), "linear_regression", inputs(), SCRIPT_SHA1["linear_regression"]
    )
    assert run["argv"][:3] == ["timeout", "--kill-after=30", "45"]
    for system in ("Darwin", "Win32NT"):
        other = tr.single_run(make_plan(system), "linear_regression", inputs(), SCRIPT_SHA1["linear_regression"])
        assert other["argv"][0] != "timeout"


# --- The account the trainers run as (issue 11 item 9) ---------------------------------------------------


@pytest.mark.parametrize(
    ("system", "scope", "user", "run_as"),
    [
        ("Linux", "system", "torchfleet-trainer", "torchfleet-trainer"),
        ("Linux", "auto", "lab_train", "lab_train"),
        # The connecting user's own scope: nobody else is involved.
        ("Linux", "user", "torchfleet-trainer", ""),
        ("Darwin", "auto", "torchfleet-trainer", ""),
        ("Win32NT", "system", "torchfleet-trainer", ""),
    ],
)
def test_system_scope_on_linux_runs_as_the_unprivileged_account(system, scope, user, run_as):
    plan = make_plan(system, scope=scope, user=user)
    assert plan["run_as"] == run_as
    assert plan["run_prefix"] == (["runuser", "-u", run_as, "--"] if run_as else [])
    run = tr.single_run(plan, "mnist_cnn", inputs(), SCRIPT_SHA1["mnist_cnn"])
    assert run["argv"][: len(plan["run_prefix"])] == plan["run_prefix"]


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("root", "the trainers never run as root"),
        ("", "trainers_user ('') must be an account name"),
        ("Alice", "must be an account name"),
        ("ana;id", "must be an account name"),
        ("-oops", "must be an account name"),
        ("x" * 33, "must be an account name"),
        (0, "must be an account name"),
    ],
)
def test_root_and_names_that_are_no_account_are_refused(user, message):
    with pytest.raises(tr.TrainersPlanError) as caught:
        make_plan("Linux", scope="system", user=user)
    assert message in str(caught.value)


# --- is a distributed run done -------------------------------------------------------------------------------


def _found(*names):
    """What ansible.builtin.find returns for these file names in a runs directory."""
    return {"files": [{"path": "/opt/torchfleet/trainers/runs/" + name} for name in names], "matched": len(names)}


DDP = "mnist_cnn-ddp-0123456789ab"


def test_a_distributed_run_is_done_when_every_rank_and_the_combined_metrics_are_there():
    found = {"a": _found(DDP + ".rank0.json", DDP + ".json"), "b": _found(DDP + ".rank1.json")}
    assert tr.ddp_run_done(found, ["a", "b"], 1) is True


def test_rank_files_without_the_combined_metrics_are_not_a_finished_run():
    # What a first host stopped between writing its rank file and the combined metrics leaves (mnist_cnn.py writes
    # the rank file, gathers every rank, then writes the combined metrics): the role counted rank files only and
    # took this for a finished run, so the next play skipped training and reported no metrics.
    found = {"a": _found(DDP + ".rank0.json"), "b": _found(DDP + ".rank1.json")}
    assert tr.ddp_run_done(found, ["a", "b"], 1) is False
    assert tr.ddp_run_done({"a": _found(DDP + ".rank0.json")}, ["a"], 1) is False


def test_a_host_without_its_ranks_or_unknown_needs_the_run_again():
    done = {"a": _found(DDP + ".rank0.json", DDP + ".rank1.json", DDP + ".json")}
    assert tr.ddp_run_done(done, ["a"], 2) is True
    assert tr.ddp_run_done(done, ["a"], 3) is False
    assert tr.ddp_run_done(done, ["a", "b"], 2) is False  # b unreachable: no find result
    assert tr.ddp_run_done({"a": done["a"], "b": {}}, ["a", "b"], 2) is False
    assert tr.ddp_run_done({}, [], 1) is False


def test_the_combined_metrics_count_on_whichever_host_rank_0_ran():
    # make demo (a conda host and a uv host): torchrun gave rank 0 to the second host, which wrote the combined
    # metrics under its own key (the key covers the interpreter's path); the first host's name was looked for on
    # the first host only, so every train.yml ran the distributed job again.
    other = "mnist_cnn-ddp-ba9876543210"
    found = {"a": _found(DDP + ".rank1.json"), "b": _found(other + ".rank0.json", other + ".json")}
    assert tr.ddp_run_done(found, ["a", "b"], 1) is True
    found["b"] = _found(other + ".rank0.json")
    assert tr.ddp_run_done(found, ["a", "b"], 1) is False


# --- distributed runs: what distributed.yml decided in Jinja up to 1.0.0, now in Python ------------------------

# The expressions of roles/trainers/tasks/distributed.yml before the decisions moved here, as YAML (rewrapped
# only between Jinja's tokens), so that the tests below template exactly what the role ran and compare.
_LEGACY_DDP_YAML = r"""
key: >-
  {{ (__trainers_inputs | combine({'script': __trainers_script_sha1.mnist_cnn, 'mode': 'ddp',
                                   'hosts': groups[trainers_group], 'nproc': trainers_nproc_per_node | int})
      | to_json(sort_keys=true) | hash('sha1'))[:12] }}
argv: >-
  {{ __trainers_plan.run_prefix + ['timeout', '--kill-after=20', (trainers_timeout | int + 30) | string,
      __trainers_python, __trainers_dir ~ '/scripts/job_lease.py', 'guard', '--lease=' ~ __trainers_ddp_lease,
      '--tag=' ~ __trainers_job_tag, '--value=' ~ __trainers_ddp_job, '--stale=' ~ __trainers_lease_seconds,
      '--grace=10', '--', __trainers_python, '-m', 'torch.distributed.run', '--nnodes=' ~ __trainers_ddp_hosts | length,
      '--nproc-per-node=' ~ trainers_nproc_per_node, '--rdzv-backend=c10d',
      '--rdzv-endpoint=' ~ __trainers_ddp_endpoint, '--rdzv-id=' ~ __trainers_ddp_job, '--max-restarts=0',
      __trainers_dir ~ '/scripts/mnist_cnn.py', '--distributed', '--data-dir=' ~ __trainers_data_dir,
      '--epochs=' ~ trainers_epochs, '--device=' ~ trainers_device, '--seed=' ~ trainers_seed,
      '--timeout=' ~ [trainers_timeout | int // 2, 10] | max, '--output=' ~ __trainers_ddp_output]
     + (['--limit=' ~ trainers_limit] if trainers_limit | int > 0 else []) }}
outcome:
  set_fact:
    ok: "{{ __trainers_ddp_status.finished | default(0) | bool and __trainers_ddp_status.rc | default(1) == 0 }}"
    outcome: >-
      {{ ('exit ' ~ __trainers_ddp_status.rc ~ ': ' ~ (__trainers_ddp_error | first)) if __trainers_ddp_error
         else ('still running after ' ~ trainers_timeout ~ ' s') if __trainers_ddp_timed_out
         else ('exit ' ~ __trainers_ddp_status.rc ~ ', stopped with the job ('
               ~ ((__trainers_ddp_exception | first | trim) if __trainers_ddp_exception
                  else 'last output: ' ~ (__trainers_ddp_tail | join(' / ') or 'none')) ~ '; full output in '
               ~ __trainers_ddp_logfile ~ ')')
              if __trainers_ddp_status.rc | default(0) != 0
         else 'finished' if __trainers_ddp_status.finished | default(0) | bool
         else 'still running after ' ~ trainers_timeout ~ ' s' }}
    culprit: >-
      {{ __trainers_ddp_error | length > 0 or __trainers_ddp_timed_out
         or not __trainers_ddp_status.finished | default(0) | bool }}
  vars:
    __trainers_ddp_timed_out: "{{ __trainers_ddp_status.rc | default(0) in [124, 137] }}"
    __trainers_ddp_tail: >-
      {{ (__trainers_ddp_status.stderr | default(__trainers_ddp_status.msg | default('')) | split('\n')
          | map('trim') | reject('eq', '') | list)[-3:] | map('truncate', 200) | list }}
    __trainers_ddp_log: "{{ __trainers_ddp_status.stderr | default('') ~ '\n'
      ~ __trainers_ddp_status.stdout | default('') }}"
    __trainers_ddp_error: "{{ __trainers_ddp_log | regex_findall('mnist_cnn(?: rank [0-9]+)?: error: [^\n]*') }}"
    __trainers_ddp_exception: >-
      {{ __trainers_ddp_log
         | regex_findall('(?m)^(?:\[rank[0-9]+\]: )?[A-Za-z_.]*(?:Error|Exception)(?:[^A-Za-z\n][^\n]*)?$')
         | reject('search', 'ChildFailedError') | list
         + __trainers_ddp_log | regex_findall('Signal [0-9]+ \\(SIG[A-Z]+\\) received by PID [0-9]+') }}
"""
_LEGACY_DDP = yaml.safe_load(_LEGACY_DDP_YAML)
HOSTS = ["tf-fleet-1", "tf-fleet-2", "tf-fleet-3"]
LOG = "/opt/torchfleet/trainers/runs/mnist_cnn-ddp-0123456789ab.log"


def _legacy(template, **variables):
    """``template`` as Ansible templated it, with ``variables`` (templates themselves where they are strings)."""
    trusted = {name: trust_as_template(value) if isinstance(value, str) else value for name, value in variables.items()}
    return Templar(loader=DataLoader(), variables=trusted).template(trust_as_template(template))


@pytest.mark.parametrize(
    ("values", "hosts", "nproc"),
    [
        (inputs(), HOSTS, 1),
        (inputs(device="cuda:0", seed=7), HOSTS[:2], "2"),
        (inputs(data=["missing"] * 4, python="/home/ana/envs/ñu/bin/python"), ["b", "a"], 4),
    ],
)
def test_the_distributed_run_key_is_the_one_the_yaml_computed(values, hosts, nproc):
    merged = {**values, "script": SCRIPT_SHA1["mnist_cnn"], "mode": "ddp", "hosts": hosts, "nproc": int(nproc)}
    by_ansible = hashlib.sha1(ansible_to_json(merged, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    templated = _legacy(
        _LEGACY_DDP["key"],
        __trainers_inputs=values,
        __trainers_script_sha1=SCRIPT_SHA1,
        groups={"fleet": hosts},
        trainers_group="fleet",
        trainers_nproc_per_node=nproc,
    )
    assert tr.ddp_run_key(values, SCRIPT_SHA1["mnist_cnn"], hosts, nproc) == by_ansible == templated
    run = tr.ddp_run(make_plan("Linux"), values, SCRIPT_SHA1["mnist_cnn"], hosts, nproc)
    stem = f"/opt/torchfleet/trainers/runs/mnist_cnn-ddp-{by_ansible}"
    assert run == {
        "script": "mnist_cnn",
        "key": by_ansible,
        "hosts": hosts,
        "nproc": int(nproc),
        "output": stem + ".json",
        "logfile": stem + ".log",
        "lease": stem + ".lease",
    }


def test_the_distributed_run_key_changes_with_the_hosts_and_processes():
    key = tr.ddp_run_key(inputs(), "2" * 40, HOSTS, 1)
    assert key != tr.ddp_run_key(inputs(), "2" * 40, HOSTS[::-1], 1)
    assert key != tr.ddp_run_key(inputs(), "2" * 40, HOSTS, 2)
    assert key != tr.run_key(inputs(), "mnist_cnn", "2" * 40)


def test_the_group_trains_when_forced_or_any_result_is_missing():
    done = {"a": _found(DDP + ".rank0.json", DDP + ".json"), "b": _found(DDP + ".rank1.json")}
    assert tr.ddp_needed(done, ["a", "b"], 1) is False
    assert tr.ddp_needed(done, ["a", "b"], 1, force="true") is True
    assert tr.ddp_needed({"a": done["a"]}, ["a", "b"], 1, force=False) is True


@pytest.mark.parametrize("limit", [0, 512])
@pytest.mark.parametrize("scope", ["system", "user"])
def test_the_torchrun_command_is_the_one_the_yaml_built(limit, scope):
    host_plan = make_plan("Linux", scope=scope, home="/home/ana", limit=limit, timeout=45, epochs=3, seed=7)
    ddp = tr.ddp_run(host_plan, inputs(), SCRIPT_SHA1["mnist_cnn"], HOSTS, 2)
    job, endpoint = "torchfleet-" + "f" * 32, "10.0.0.1:29400"
    argv = tr.ddp_argv(host_plan, ddp, endpoint, {"tag": "TORCHFLEET_JOB", "value": job, "stale": 60})
    assert argv == _legacy(
        _LEGACY_DDP["argv"],
        __trainers_plan=host_plan,
        __trainers_python=host_plan["python"],
        __trainers_dir=host_plan["dir"],
        __trainers_data_dir=host_plan["data_dir"],
        __trainers_ddp_lease=ddp["lease"],
        __trainers_ddp_output=ddp["output"],
        __trainers_ddp_hosts=HOSTS,
        __trainers_ddp_endpoint=endpoint,
        __trainers_ddp_job=job,
        __trainers_job_tag="TORCHFLEET_JOB",
        __trainers_lease_seconds=60,
        trainers_timeout=45,
        trainers_nproc_per_node=2,
        trainers_epochs=3,
        trainers_device="auto",
        trainers_seed=7,
        trainers_limit=limit,
    )
    assert argv[: len(host_plan["run_prefix"]) + 3] == [*host_plan["run_prefix"], "timeout", "--kill-after=20", "75"]
    assert "--nnodes=3" in argv
    assert "--nproc-per-node=2" in argv
    assert f"--rdzv-id={job}" in argv
    assert "--timeout=22" in argv
    assert argv[-1] == ("--limit=512" if limit else f"--output={ddp['output']}")
    assert ("--limit=512" in argv) == bool(limit)


def test_the_all_reduce_runs_under_the_same_bounds_with_its_own_options_and_names():
    host_plan = make_plan("Linux", timeout=120, ddp_script="health_allreduce")
    ddp = tr.ddp_run(host_plan, {"health": ["--device", "cpu"]}, "3" * 40, HOSTS, 1)
    assert ddp["output"] == f"/opt/torchfleet/trainers/runs/health_allreduce-ddp-{ddp['key']}.json"
    assert ddp["lease"].endswith(f"health_allreduce-ddp-{ddp['key']}.lease")
    job = {"tag": "TORCHFLEET_JOB", "value": "torchfleet-" + "a" * 32, "stale": 60}
    argv = tr.ddp_argv(host_plan, ddp, "10.0.0.1:29400", job, ["--backend=auto", "--sizes=1048576"])
    trainer_plan = {**host_plan, "ddp_script": "mnist_cnn"}
    trainer = tr.ddp_run(trainer_plan, {}, "3" * 40, HOSTS, 1)
    mnist = tr.ddp_argv(trainer_plan, trainer, "10.0.0.1:29400", job)
    # The account, the host-side timeout, the lease and torchrun's rendezvous are the trainer's; only the lease's
    # file is the run's own.
    launcher = argv.index("/opt/torchfleet/trainers/scripts/health_allreduce.py")
    same = [word.replace(trainer["lease"], ddp["lease"]) for word in mnist]
    assert argv[:launcher] == same[: same.index("/opt/torchfleet/trainers/scripts/mnist_cnn.py")]
    assert f"--lease={ddp['lease']}" in argv
    assert argv[:4] == ["runuser", "-u", "torchfleet-trainer", "--"]
    assert argv[launcher + 1 :] == ["--backend=auto", "--sizes=1048576", "--timeout=60", f"--output={ddp['output']}"]


def test_the_burn_in_runs_as_the_account_within_trainers_timeout():
    host_plan = make_plan("Linux", timeout=90)
    run = tr.health_run(host_plan, ["--device", "cpu", "--seconds-per-test=0.5"])
    assert run["output"] == "/opt/torchfleet/trainers/runs/health_check.json"
    assert run["argv"] == [
        *("runuser", "-u", "torchfleet-trainer", "--", "timeout", "--kill-after=30", "90"),
        "/opt/torchfleet/envs/pytorch_env/bin/python",
        "/opt/torchfleet/trainers/scripts/health_check.py",
        *("--device", "cpu", "--seconds-per-test=0.5", "--output", run["output"]),
    ]
    mac = tr.health_run(make_plan("Darwin", home="/Users/ana"), [])
    assert mac["argv"][0] == "/opt/torchfleet/envs/pytorch_env/bin/python"
    assert mac["argv"][-2:] == ["--output", mac["output"]]
    with pytest.raises(tr.TrainersPlanError, match="No Python with torch is known"):
        tr.health_run(make_plan("Linux", python=""), [])


def test_the_ranks_timeout_is_half_of_trainers_timeout_but_at_least_10_s():
    host_plan = make_plan("Linux", scope="user", home="/home/ana", timeout=10)
    ddp = tr.ddp_run(host_plan, inputs(), "2" * 40, HOSTS, 1)
    argv = tr.ddp_argv(host_plan, ddp, "h:1", {"tag": "T", "value": "j", "stale": 60})
    assert "--timeout=10" in argv
    assert argv[:3] == ["timeout", "--kill-after=20", "40"]


_TRACEBACK = (
    "[rank1]: Traceback (most recent call last):\n"
    '[rank1]:   File "mnist_cnn.py", line 210, in <module>\n'
    "[rank1]: torch.distributed.DistBackendError: [1] is setting up NCCL communicator and retrieving ncclUniqueId\n"
    "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
)
_LONG = "word " * 60  # 300 characters: Jinja's truncate cuts it at a word
_CUT = ("word " * 39).strip() + "..."  # its first 197 characters, less the word cut in two
# Where the YAML went wrong (test_the_yaml_missed_signals_and_never_split_the_output_into_lines).
_SIGNALLED = "Signal 15 (SIGTERM) received by PID 4242\n"
_LINES = "one\n\n  two  \nthree\n" + _LONG + "\n"


@pytest.mark.parametrize(
    ("status", "ok", "outcome", "culprit"),
    [
        # The trainer's own error line names the cause.
        (
            {"finished": 1, "rc": 1, "stderr": "x\nmnist_cnn rank 1: error: train-images-idx3-ubyte.gz is not gzip\n"},
            False,
            "exit 1: mnist_cnn rank 1: error: train-images-idx3-ubyte.gz is not gzip",
            True,
        ),
        ({"finished": 1, "rc": 2, "stdout": "mnist_cnn: error: no CUDA device\n"}, False, None, True),
        # coreutils timeout: 124 after its SIGTERM, 137 after --kill-after's SIGKILL.
        ({"finished": 1, "rc": 124, "stderr": "W0101 waiting\n"}, False, "still running after 15 s", True),
        ({"finished": 1, "rc": 137, "stderr": ""}, False, "still running after 15 s", True),
        # Stopped because a peer went away: the first exception a worker raised, not ChildFailedError.
        (
            {"finished": 1, "rc": 1, "stderr": _TRACEBACK},
            False,
            "exit 1, stopped with the job ([rank1]: torch.distributed.DistBackendError: [1] is setting up NCCL "
            f"communicator and retrieving ncclUniqueId; full output in {LOG})",
            False,
        ),
        (
            {"finished": 1, "rc": 1, "stderr": "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: x"},
            False,
            "exit 1, stopped with the job (last output: torch.distributed.elastic.multiprocessing.errors."
            f"ChildFailedError: x; full output in {LOG})",
            False,
        ),
        (
            {"finished": 1, "rc": -15, "stderr": _SIGNALLED},
            False,
            f"exit -15, stopped with the job (Signal 15 (SIGTERM) received by PID 4242; full output in {LOG})",
            False,
        ),
        # Only a tail: its last three non-blank lines, each cut at 200 characters.
        (
            {"finished": 1, "rc": 1, "stderr": _LINES},
            False,
            f"exit 1, stopped with the job (last output: two / three / {_CUT}; full output in {LOG})",
            False,
        ),
        ({"finished": 1, "rc": 1, "msg": "non-zero return code"}, False, None, False),
        ({"finished": 1, "rc": 3, "stderr": "", "stdout": ""}, False, None, False),
        ({"finished": 1, "rc": 0, "stdout": "done\n", "stderr": ""}, True, "finished", False),
        ({"finished": True, "rc": 0}, True, "finished", False),
        # Not finished: the retries ran out, or async_status could not find the job.
        ({"finished": 0, "ansible_job_id": "j1"}, False, "still running after 15 s", True),
        ({"finished": 1, "failed": True, "msg": "could not find job"}, False, "finished", False),
        ({}, False, "still running after 15 s", True),
    ],
)
def test_how_a_hosts_part_ended_is_what_the_yaml_decided(status, ok, outcome, culprit):
    result = tr.ddp_outcome(status, 15, LOG)
    if outcome is None:  # checked against the legacy templates alone
        outcome = result["outcome"]
    assert result == {"ok": ok, "outcome": outcome, "culprit": culprit}
    if status.get("stderr") in (_SIGNALLED, _LINES):
        return  # where the YAML went wrong
    legacy = _LEGACY_DDP["outcome"]
    variables = {**legacy["vars"], "__trainers_ddp_status": status, "trainers_timeout": 15}
    variables["__trainers_ddp_logfile"] = LOG
    assert {name: _legacy(text, **variables) for name, text in legacy["set_fact"].items()} == result


def test_the_yaml_missed_signals_and_never_split_the_output_into_lines():
    """Ansible keeps the backslashes of a string constant in a template from YAML as they are, so the YAML's
    ``split('\\n')`` looked for a backslash and an n (the output stayed one line, cut at 200 characters) and its
    ``'\\\\(SIG[A-Z]+\\\\)'`` for a backslash that torchrun never prints."""
    legacy = _LEGACY_DDP["outcome"]
    for stderr, before, after in (
        (_SIGNALLED, "last output: Signal 15 (SIGTERM) received by PID 4242;", "(Signal 15 (SIGTERM) received by PID"),
        (_LINES, "last output: one\n\n  two  \nthree\nword", f"last output: two / three / {_CUT};"),
    ):
        status = {"finished": 1, "rc": 1, "stderr": stderr}
        variables = {**legacy["vars"], "__trainers_ddp_status": status, "trainers_timeout": 15}
        assert before in _legacy(legacy["set_fact"]["outcome"], **variables, __trainers_ddp_logfile=LOG)
        assert after in tr.ddp_outcome(status, 15, LOG)["outcome"]


def test_an_empty_failed_part_says_it_left_no_output():
    assert tr.ddp_outcome({"finished": 1, "rc": 3, "stderr": ""}, 600, LOG)["outcome"] == (
        f"exit 3, stopped with the job (last output: none; full output in {LOG})"
    )


def _part(outcome, ok=False, culprit=False):
    return {"ok": ok, "outcome": outcome, "culprit": culprit}


def test_a_host_that_took_no_part_alone_is_to_blame():
    parts = {"tf-fleet-1": _part("exit 1, stopped"), "tf-fleet-3": _part("still running after 15 s", culprit=True)}
    result = tr.ddp_failures(HOSTS, parts)
    assert result["failed"] == HOSTS
    assert result["culprits"] == ["tf-fleet-2"]
    assert result["lines"] == [
        "tf-fleet-1: exit 1, stopped.",
        "tf-fleet-2: took no part (unreachable, or failed before the launch).",
        "tf-fleet-3: still running after 15 s.",
    ]
    # A host mapped to nothing (the fact was never set) took no part either.
    assert tr.ddp_failures(HOSTS, {**parts, "tf-fleet-2": None})["culprits"] == ["tf-fleet-2"]


def test_otherwise_the_hosts_with_an_error_or_a_timeout_are_to_blame():
    parts = {
        "tf-fleet-1": _part("finished", ok=True),
        "tf-fleet-2": _part("exit 1: mnist_cnn rank 1: error: bad", culprit=True),
        "tf-fleet-3": _part("exit 1, stopped"),
    }
    result = tr.ddp_failures(HOSTS, parts)
    assert result["failed"] == ["tf-fleet-2", "tf-fleet-3"]
    assert result["culprits"] == ["tf-fleet-2"]
    assert tr.ddp_failures(HOSTS, {host: _part("finished", ok=True) for host in HOSTS}) == {
        "failed": [],
        "culprits": [],
        "lines": [f"{host}: finished." for host in HOSTS],
    }
    # No part to blame (every one stopped with the job): the message names the failed hosts instead.
    stopped = {host: _part("exit 1, stopped") for host in HOSTS}
    assert tr.ddp_failures(HOSTS, stopped)["culprits"] == []


def test_hosts_that_did_not_connect_to_the_rendezvous_are_named_in_order():
    reach = {"a": {"state": "started", "elapsed": 0}, "b": {"elapsed": 30, "msg": "Timeout when waiting"}}
    assert tr.ddp_unreached(["c", "b", "a"], reach) == ["c", "b"]
    assert tr.ddp_unreached(["a"], reach) == []


def test_the_first_host_is_told_to_serve_the_rendezvous_store_and_the_others_not():
    # torch's agent guesses from the hostname otherwise (rendezvous/utils.py _matches_machine_hostname), which on
    # Debian resolves to 127.0.1.1 and so matched no host whose endpoint is its network address.
    host_plan = make_plan("Linux", scope="system")
    ddp = tr.ddp_run(host_plan, inputs(), SCRIPT_SHA1["mnist_cnn"], HOSTS, 1)
    job = {"tag": "TORCHFLEET_JOB", "value": "torchfleet-" + "f" * 32, "stale": 60}
    flags = {}
    for name in HOSTS:
        argv = tr.ddp_argv(host_plan, ddp, "10.0.0.1:29400", job, host=name)
        torchrun = argv[argv.index("torch.distributed.run") : argv.index("--max-restarts=0") + 2]
        flags[name] = [word for word in torchrun if word.startswith("--rdzv-conf")]
    assert flags == {HOSTS[0]: ["--rdzv-conf=is_host=1"], **{h: ["--rdzv-conf=is_host=0"] for h in HOSTS[1:]}}
    # Without the host the command is as before.
    assert not [w for w in tr.ddp_argv(host_plan, ddp, "10.0.0.1:29400", job) if w.startswith("--rdzv-conf")]
