"""The input rules of plugins/module_utils/_validate.py, one class of bad input at a time.

Every value here is written from the rule it tests (issue 12's examples among them); the limits come from
the sources cited in _validate.py (Linux include/uapi/linux/limits.h, Microsoft's "Maximum Path Length
Limitation" and "Naming Files, Paths, and Namespaces", RFC 3986 section 2, PEP 508).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.module_utils import _validate as v

REPO_ROOT = Path(__file__).resolve().parents[4]


def one(problems):
    assert len(problems) == 1, problems
    return problems[0]


# --- messages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@host/simple", "https://user:***@host/simple"),
        ("https://token@host/simple", "https://***@host/simple"),
        ("http://host/simple", "http://host/simple"),
        ("numpy @ https://a:b@h/x.whl and http://c:d@e/", "numpy @ https://a:***@h/x.whl and http://c:***@e/"),
    ],
)
def test_redact_url_hides_passwords_and_lone_users(url, shown):
    assert v.redact_url(url) == shown


def test_show_escapes_control_characters_and_cuts_long_values():
    assert v.show("a\nb") == "'a\\nb'"
    long = v.show("x" * 5000)
    assert long.endswith("...' (5000 characters)") and len(long) < 120
    assert v.show(2.1) == "2.1"
    assert v.show("s3cret", secret=True) == "'***'"
    assert v.show(None) == "null"
    assert v.show(True) == "true"


def test_every_message_names_the_variable_the_value_and_what_to_do():
    message = one(v.check_port("trainers_master_port", 70000))
    assert message.startswith("trainers_master_port=70000 ")
    assert "; give a TCP port from 1 to 65535." in message
    assert "\n" not in message


def test_a_secret_is_never_shown():
    message = one(v.check_text("gpu_driver_mok_password", "hunter2\nx", secret=True))
    assert "hunter2" not in message and "'***'" in message


# --- paths --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("/opt/miniforge3/../../usr", "is not a normalised path (it resolves to '/usr')"),
        ("/opt/x/../../etc", "resolves to '/etc'"),
        ("/opt//x", "is not a normalised path"),
        ("//opt/x", "is not a normalised path"),
        ("/opt/x/", "is not a normalised path"),
        ("/opt/./x", "is not a normalised path"),
        ("opt/x", "it must be an absolute path"),
        ("~/miniforge3", "starts with ~"),
        ("/opt/x\ny", "control character"),
        ("/opt/x\x00", "control character"),
        ("/", "is a system directory"),
        ("/usr", "is a system directory"),
        ("/usr/local", "is a system directory"),
        ("/etc", "is a system directory"),
        ("/var", "is a system directory"),
        ("/srv", "is a system directory"),
        ("/opt", "is a system directory"),
        ("/tmp", "is a system directory"),
        ("/root", "is a system directory"),
        ("/home", "is a system directory"),
        ("/lib64", "is a system directory"),
        ("/Users", "is a system directory"),
        ("/home/alice", "is a home directory itself"),
        ("/Users/alice", "is a home directory itself"),
        ("/users/alice", "is a home directory itself"),
        ("/proc/1/root", "is inside /proc"),
        ("/sys/kernel", "is inside /sys"),
        ("/opt/" + "a" * 5000, "characters long"),
        ("/opt/" + "a" * 256, "has a name over 255 bytes"),
        ("/" + "/".join(["\u00e9" * 120] * 20), "4820 bytes long"),  # 2420 characters, 2 bytes each
        (2.1, "is a number, not a string"),
        (["/opt/x"], "is a list, not a string"),
        (None, "is null"),
    ],
)
def test_posix_directory_rules(value, fragment):
    assert fragment in one(v.check_path("miniconda_prefix", value))


@pytest.mark.parametrize(
    "value", ["", "/opt/miniforge3", "/usr/local/miniconda3", "/home/alice/miniforge3", "/srv/torchfleet", "/a" * 100]
)
def test_posix_directories_that_pass(value):
    assert v.check_path("miniconda_prefix", value) == []


def test_names_at_the_linux_limits_pass():
    assert v.check_path("x", "/opt/" + "a" * 255) == []
    assert v.check_path("x", "/" + "/".join(["a" * 254] * 16)) == []  # 16 * 255 = 4080 bytes


def test_an_empty_path_is_refused_where_one_is_needed():
    assert "is empty" in one(v.check_path("miniconda_pkgs_dirs[0]", "", optional=False))


def test_files_may_be_under_system_directories_but_keep_the_form_rules():
    assert v.check_path("trainers_python", "/usr/bin/python3", kind="file") == []
    assert "normalised" in one(v.check_path("trainers_python", "/usr/bin/../bin/python3", kind="file"))


def test_controller_directories_may_be_relative():
    assert v.check_path("trainers_report_dir", "./torchfleet-report", kind="controller") == [
        "trainers_report_dir='./torchfleet-report' is not a normalised path (it resolves to 'torchfleet-report'); "
        "write it without '.', '..', '//' or a trailing '/'."
    ]
    assert v.check_path("trainers_report_dir", "torchfleet-report", kind="controller") == []
    assert v.check_path("trainers_report_dir", "reports/a\nb", kind="controller")


def test_shell_sourced_paths_take_no_shell_syntax():
    for value in ("/root/mok$(id).priv", "/root/my key.priv", "/root/mok;id"):
        message = one(v.check_path("gpu_driver_mok_key", value, kind="file", shell_safe=True))
        assert "shell would interpret" in message
    assert v.check_path("gpu_driver_mok_key", "/var/lib/shim-signed/mok/MOK.priv", kind="file", shell_safe=True) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("C:\\", "is a system directory"),
        ("D:\\", "is a system directory"),
        ("C:\\Windows", "is a system directory"),
        ("c:\\windows\\system32", "is a system directory"),
        ("C:\\Program Files", "is a system directory"),
        ("C:\\Program Files (x86)", "is a system directory"),
        ("C:\\ProgramData", "is a system directory"),
        ("C:\\Users", "is a system directory"),
        ("C:\\Users\\alice", "is a user profile folder itself"),
        ("C:\\Users\\alice\\AppData\\Local", "is a user profile folder itself"),
        ("C:\\ProgramData\\x\\..\\..\\Windows", "is not a normalised path"),
        ("C:\\ProgramData\\x\\", "is not a normalised path"),
        ("C:ProgramData\\x", "is not a full Windows path"),
        ("miniforge3", "is not a full Windows path"),
        ("%USERPROFILE%\\miniforge3", "is not a full Windows path"),
        ("\\\\?\\C:\\x", "is not a full Windows path"),
        ("C:\\ProgramData\\a|b", "has a name Windows does not allow"),
        ("C:\\ProgramData\\x.", "has a name Windows does not allow"),
        ("C:\\ProgramData\\CON", "reserved device name"),
        ("C:\\ProgramData\\nul.txt", "reserved device name"),
        ("C:\\ProgramData\\" + "a" * 250, "(MAX_PATH)"),
        ("C:\\ProgramData\\x\ty", "control character"),
    ],
)
def test_windows_directory_rules(value, fragment):
    assert fragment in one(v.check_path("pytorch_env_prefix", value, windows=True))


@pytest.mark.parametrize(
    "value",
    ["C:\\ProgramData\\miniforge3", "C:/ProgramData/miniforge3", "D:\\torchfleet", "C:\\Users\\alice\\miniforge3",
     "\\\\server\\share\\envs"],
)  # fmt: skip
def test_windows_directories_that_pass(value):
    assert v.check_path("pytorch_env_prefix", value, windows=True) == []


def test_a_posix_path_is_not_a_windows_path():
    assert "is not a full Windows path" in one(v.check_path("x", "/opt/x", windows=True))


# --- URLs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not a url", "contains whitespace"),
        ("http://deb.example/debian\nTrusted: yes", "contains whitespace or a control character"),
        ("http://deb.example/debian\tx", "contains whitespace"),
        ("ftp://deb.example/debian", "is not a http or https URL"),
        ("file:///srv/mirror", "is not a http or https URL"),
        ("deb.example/debian", "is not a http or https URL"),
        ("http:///debian", "has no host"),
        ("http://host:99999/", "cannot be parsed as a URL"),
        ("http://host:0/", "has port 0"),
        ('http://host/a"b', "which a URL cannot hold"),
        ("http://host/{x}", "which a URL cannot hold"),
        ("http://host/" + "a" * 3000, "characters long"),
        (8765, "is a number, not a string"),
        (["http://host/"], "is a list"),
    ],
)
def test_url_rules(value, fragment):
    assert fragment in one(v.check_url("pytorch_env_index_url", value))


def test_file_urls_where_allowed():
    assert v.check_url("pytorch_env_index_url", "file:///srv/wheels", schemes=("http", "https", "file")) == []


def test_strict_urls_take_no_shell_syntax_and_say_to_percent_encode():
    message = one(v.check_url("gpu_driver_debian_mirror", "http://host/$(touch /tmp/x)", strict=True))
    assert "whitespace" in message  # the space comes first
    message = one(v.check_url("gpu_driver_debian_mirror", "http://host/$(id)/debian", strict=True))
    assert "$ ( )" in message and "percent-encode" in message
    assert v.check_url("gpu_driver_debian_mirror", "http://host/$(id)/debian") == []


def test_credentials_pass_and_are_redacted_in_messages():
    assert v.check_url("gpu_driver_debian_mirror", "https://user:pa%24s@host/debian", strict=True) == []
    message = one(v.check_url("pytorch_env_index_url", "https://user:topsecret@host/simple x"))
    assert "topsecret" not in message and "https://user:***@host/simple x" in message


# --- versions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (2.1, "is a number, not a string (YAML reads an unquoted 2.10 as the number 2.1); quote it"),
        (26.3, "quote it"),
        (2, "quote it"),
        (True, "is a boolean"),
        ("1" * 5000, "5000 characters long"),
        ("../../../../etc", "is not a version"),
        ("0.13.9/../x", "is not a version"),
        ("1.2\n", "control character"),
        ("2.7 ", "is not a version"),
        (None, "is null"),
    ],
)
def test_version_rules(value, fragment):
    assert fragment in one(v.check_version("pytorch_version", value))


def test_a_5000_digit_version_never_reaches_int():
    # Python 3.11 refuses int() of more than 4300 digits with a ValueError; the length rule comes first.
    assert "5000 characters long" in one(v.check_version("pytorch_version", "9" * 5000))
    assert "is not a whole number" in one(v.check_int("trainers_epochs", "9" * 5000))


def test_a_version_pattern_names_the_forms():
    message = one(v.check_version("pytorch_env_uv_version", "latest", pattern=r"^\d+\.\d+\.\d+$", hint="give X.Y.Z"))
    assert message.endswith("is not a version this role knows; give X.Y.Z.")


def test_an_integer_branch_is_a_version_where_allowed():
    assert v.check_version("gpu_driver_branch", 580, allow_int=True, pattern=r"^\d{3}$") == []
    assert "quote it" in one(v.check_version("gpu_driver_branch", 580.95, allow_int=True))


# --- package lists and lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["numpy", "numpy>=2,<3", "numpy >= 2", "pkg[a,b]==1.0", "torch==2.7.1; python_version < '3.13'",
     "name (>=1.0)", "x @ https://host/x-1.0-py3-none-any.whl", "zope.interface~=6.0", "a_b-c.d===1.0"],
)  # fmt: skip
def test_pep508_requirements_pass(value):
    assert v.check_requirement("pytorch_env_extra_packages[0]", value) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("--index-url=http://127.0.0.1:9/evil", "is an option, not a package"),
        ("-r /etc/shadow", "is an option"),
        (" -e .", "is an option"),
        ("numpy --pre", "is not a PEP 508 requirement"),
        ("numpy; rm -rf /", "is not a PEP 508 requirement"),
        ("/tmp/evil.whl", "is not a PEP 508 requirement"),
        ("./evil", "is not a PEP 508 requirement"),
        ("numpy\nscipy", "control character"),
        ("x @ ftp://host/x.whl", "is not a http or https or file URL"),
        ("x @ https://u:p@host/x.whl y", "is not a PEP 508 requirement"),
        ("", "is empty"),
        (3, "is a number"),
    ],
)
def test_pep508_requirement_refusals(value, fragment):
    assert fragment in one(v.check_requirement("pytorch_env_extra_packages[0]", value))


def test_a_string_where_a_list_is_expected_is_refused_not_split():
    message = one(v.check_list("miniconda_channels", "defaults", item=v.check_channel))
    assert message == (
        "miniconda_channels='defaults' is a string, not a list; "
        "write it as a YAML list: miniconda_channels: ['defaults']."
    )
    assert "is a mapping, not a list" in one(v.check_list("x", {"a": 1}))
    assert "is null" in one(v.check_list("x", None)) or "not a list" in one(v.check_list("x", None))


def test_every_bad_item_of_a_list_gets_its_own_line():
    problems = v.check_requirements("pytorch_env_extra_packages", ["--pre", "numpy", "-r x"])
    assert [p.split("=")[0] for p in problems] == ["pytorch_env_extra_packages[0]", "pytorch_env_extra_packages[2]"]


def test_an_empty_list_where_one_item_is_needed():
    assert "is empty" in one(v.check_list("pytorch_env_packages", [], optional=False))


@pytest.mark.parametrize(
    ("value", "ok"),
    [("conda-forge", True), ("pkgs/main", True), ("https://conda.anaconda.org/conda-forge", True),
     ("file:///srv/channel", True), ("--override-channels", False), ("conda forge", False), ("../x", False),
     ("http://host/a b", False)],
)  # fmt: skip
def test_conda_channels(value, ok):
    assert (v.check_channel("miniconda_channels[0]", value) == []) is ok


def test_mappings_are_mappings_and_their_values_pass_the_item_rule():
    assert "not a mapping" in one(v.check_mapping("miniconda_proxy_servers", "http=http://proxy:3128"))
    bad = v.check_mapping("miniconda_proxy_servers", {"https": "http://u:pw@proxy:3128 x"},
                          item=lambda n, x, **c: v.check_url(n, x))  # fmt: skip
    assert one(bad).startswith("miniconda_proxy_servers.https='http://u:***@proxy:3128 x'")


# --- numbers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(0, "out of range"), (70000, "out of range"), (-1, "out of range"), (True, "is not a number"),
     ("80x", "is not a whole number"), (80.5, "is not a whole number"), ("9" * 5000, "is not a whole number"),
     (None, "is not a number"), ([80], "is a list")],
)  # fmt: skip
def test_ports(value, fragment):
    assert fragment in one(v.check_port("trainers_master_port", value))


@pytest.mark.parametrize("value", [1, 29400, 65535, "29400"])
def test_ports_that_pass(value):
    assert v.check_port("trainers_master_port", value) == []


def test_counts_at_least_one_and_bools_are_not_numbers():
    assert "out of range" in one(v.check_int("miniconda_download_retries", -1, minimum=1))
    assert "out of range" in one(v.check_int("trainers_epochs", 0, minimum=1))
    assert "is not a number" in one(v.check_int("trainers_epochs", False, minimum=1))
    assert "out of range" in one(v.check_int("trainers_timeout", 2**40, minimum=1))
    assert v.check_int("trainers_limit", 0, minimum=0) == []


def test_bools():
    assert v.check_bool("x", True) == [] and v.check_bool("x", "yes") == []
    assert "is not a boolean" in one(v.check_bool("x", "maybe"))
    assert "is not a boolean" in one(v.check_bool("x", 2))


# --- texts and hosts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [("10.0.0.1", True), ("node-1.lab.example", True), ("fe80::1", True), ("$(touch /tmp/x)", False),
     ("host;id", False), ("-oProxyCommand=x", False), ("a" * 300, False), ("", True),
     # An address with a port, or a malformed one, used to pass as "IPv6" (any run of hex digits, dots, colons).
     ("10.0.0.1:29400", False), ("fe80::1::2", False), ("999.0.0.1", False), (":::", False), ("::1", True)],
)  # fmt: skip
def test_hosts(value, ok):
    assert (v.check_host("trainers_master_addr", value) == []) is ok


def test_sha256():
    assert v.check_sha256("x", "a" * 64) == [] and v.check_sha256("x", "") == []
    assert "64 hexadecimal digits" in one(v.check_sha256("x", "a" * 63))
    assert "is empty" in one(v.check_sha256("x", "", optional=False))


# --- misspelled variables -----------------------------------------------------------------------------------

KNOWN = ["pytorch_version", "gpu_driver_branch", "trainers_epochs", "miniconda_distribution", "torchfleet_gpu"]


@pytest.mark.parametrize(
    ("name", "close"),
    [("pytorch_verison", "pytorch_version"), ("gpu_driver_brnach", "gpu_driver_branch"),
     ("trainers_epoch", "trainers_epochs"), ("miniconda_distrbution", "miniconda_distribution"),
     ("torchfleet_zzz_unrelated_name", None)],
)  # fmt: skip
def test_unknown_prefixed_names_get_the_closest_known_name(name, close):
    assert v.unknown_variables([name, "ansible_host", "my_var", *KNOWN], KNOWN) == [(name, close)]


def test_unknown_variable_messages():
    assert v.unknown_variable_message("pytorch_verison", "pytorch_version") == (
        "pytorch_verison is not a variable of torchfleet.lab and is ignored: did you mean pytorch_version?"
    )
    assert "check its spelling" in v.unknown_variable_message("torchfleet_x", None)


# --- the role table -----------------------------------------------------------------------------------------


def test_every_role_reports_every_broken_rule_on_its_own_line():
    problems = v.validate_role(
        "trainers",
        {"trainers_master_addr": "$(touch /tmp/x)", "trainers_master_port": 70000, "trainers_dir": "/",
         "trainers_epochs": -1, "trainers_run": "mnist_cnn", "trainers_python": "/usr/bin/python3"},
    )  # fmt: skip
    names = [p.split("=")[0] for p in problems]
    assert names == ["trainers_dir", "trainers_run", "trainers_epochs", "trainers_master_addr", "trainers_master_port"]


def test_the_role_table_covers_every_option_of_every_argument_spec():
    for role in v.ROLE_RULES:
        spec = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options = set(spec["argument_specs"]["main"]["options"])
        assert options - set(v.role_rules(role)) == set(), role


def test_the_role_defaults_pass_their_own_rules():
    for role in v.ROLE_RULES:
        defaults = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        assert v.validate_role(role, defaults) == [], role
        assert v.validate_role(role, defaults, windows=True) == [], role


def test_an_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown role"):
        v.validate_role("nope", {})
