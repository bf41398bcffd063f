"""module_utils/_conda_tos.py and the conda_tos_state filter: what the miniconda role reads from `conda tos --json`.

The command results are written in tests/unit/conftest.py from the anaconda/conda-anaconda-tos 0.2.2 and conda
sources named there (the listing's shape: conda_anaconda_tos/console/render.py:94-148, a mapping of channel URL to
a record with tos_accepted and outdated, or null).
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.filter.conda import FilterModule
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_tos as tos

from ...conftest import (
    TOS_ARGPARSE,
    TOS_COMMAND_NOT_FOUND,
    TOS_COMMAND_NOT_FOUND_JSON,
    TOS_HTTP_ERROR,
    TOS_MAIN,
    TOS_R,
    tos_ok,
    tos_record,
    tos_served,
)

CHANNELS = [TOS_MAIN, TOS_R]
conda_tos_state = FilterModule().filters()["conda_tos_state"]


@pytest.mark.parametrize(
    ("listing", "pending"),
    [
        ({TOS_MAIN: tos_record(TOS_MAIN), TOS_R: tos_record(TOS_R)}, []),
        # A revised version is served: the record still says accepted, the listing says outdated.
        ({TOS_MAIN: tos_record(TOS_MAIN, outdated=True), TOS_R: tos_record(TOS_R)}, [TOS_MAIN]),
        ({TOS_MAIN: tos_record(TOS_MAIN, outdated=True), TOS_R: tos_record(TOS_R, outdated=True)}, CHANNELS),
        ({TOS_MAIN: tos_served(TOS_MAIN), TOS_R: tos_record(TOS_R)}, [TOS_MAIN]),
        ({TOS_MAIN: tos_record(TOS_MAIN), TOS_R: tos_record(TOS_R, accepted=False)}, [TOS_R]),
        ({TOS_MAIN: tos_record(TOS_MAIN, accepted=None), TOS_R: tos_record(TOS_R)}, [TOS_MAIN]),
        ({TOS_MAIN: None, TOS_R: tos_record(TOS_R)}, [TOS_MAIN]),  # a channel without terms lists null
        ({TOS_R: tos_record(TOS_R)}, [TOS_MAIN]),  # missing from the listing
        ({}, CHANNELS),
        # A record without "outdated" is not trusted as current (the role's rule before this module).
        (
            {TOS_MAIN: {k: v for k, v in tos_record(TOS_MAIN).items() if k != "outdated"}, TOS_R: tos_record(TOS_R)},
            [TOS_MAIN],
        ),
    ],
    ids=[
        "current",
        "one-revised",
        "all-revised",
        "never-accepted",
        "rejected",
        "undecided",
        "null",
        "missing",
        "empty",
        "no-outdated-key",
    ],
)
def test_pending_channels_are_those_not_accepted_in_their_current_version(listing, pending):
    assert tos.state(tos_ok(listing), CHANNELS) == {"absent": False, "pending": pending}
    assert conda_tos_state(tos_ok(listing), CHANNELS) == {"absent": False, "pending": pending}


def test_pending_channels_keep_the_order_given():
    listing = {TOS_R: tos_record(TOS_R, accepted=False), TOS_MAIN: tos_record(TOS_MAIN, accepted=False)}
    assert tos.state(tos_ok(listing), CHANNELS)["pending"] == CHANNELS
    assert tos.state(tos_ok(listing), CHANNELS[::-1])["pending"] == CHANNELS[::-1]


@pytest.mark.parametrize(
    ("result", "absent"),
    [
        (TOS_ARGPARSE, True),
        (TOS_COMMAND_NOT_FOUND, True),
        (TOS_COMMAND_NOT_FOUND_JSON, True),
        (TOS_HTTP_ERROR, False),
        # argparse's message with conda's CommandNotFoundError exit code, and the reverse: not this conda.
        (dict(TOS_ARGPARSE, rc=1), False),
        (dict(TOS_COMMAND_NOT_FOUND, rc=2), False),
        ({"rc": 2, "stdout": "", "stderr": "[Errno 2] No such file or directory: b'/opt/miniconda3/bin/conda'"}, False),
        ({"rc": 137, "stdout": "", "stderr": ""}, False),
    ],
    ids=[
        "conda-24.9",
        "conda-23.5",
        "conda-23.5-json",
        "http-error",
        "rc1-argparse",
        "rc2-command-not-found",
        "no-conda",
        "killed",
    ],
)
def test_a_failed_read_is_an_absent_plugin_only_for_its_own_errors(result, absent):
    assert tos.state(result, CHANNELS) == {"absent": absent, "pending": []}
    assert conda_tos_state(result, CHANNELS) == {"absent": absent, "pending": []}


def test_a_skipped_read_leaves_every_channel_pending():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    assert tos.state(skipped, CHANNELS) == {"absent": False, "pending": CHANNELS}


@pytest.mark.parametrize(
    ("stdout", "match"),
    [
        ("", r"^`conda tos --json` printed something that is not JSON .*: ''$"),
        ("Retrieving notices: done\n{}", r"^`conda tos --json` printed something that is not JSON .*Retrieving"),
        ('["https://repo.anaconda.com/pkgs/main"]', r"^`conda tos --json` printed JSON that is not a mapping"),
    ],
    ids=["empty", "text", "list"],
)
def test_output_that_is_not_a_json_mapping_names_the_command(stdout, match):
    result = {"rc": 0, "stdout": stdout, "stderr": ""}
    with pytest.raises(tos.TermsStateError, match=match):
        tos.state(result, CHANNELS)
    with pytest.raises(AnsibleFilterError, match=match):
        conda_tos_state(result, CHANNELS)


def test_long_output_is_cut_in_the_message():
    with pytest.raises(tos.TermsStateError) as err:
        tos.state({"rc": 0, "stdout": "x" * 5000, "stderr": ""}, CHANNELS)
    assert "x" * 300 + "..." in str(err.value)
    assert "x" * 301 not in str(err.value)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("not a result", CHANNELS), r"^conda_tos_state expects the registered result of the `conda tos --json`"),
        ((tos_ok({}), TOS_MAIN), r"^conda_tos_state: channels must be a list of channel URLs"),
        ((tos_ok({}),), r"^conda_tos_state: .*its options are: channels$"),
    ],
    ids=["not-a-dict", "channels-a-string", "no-channels"],
)
def test_the_filter_refuses_a_call_it_cannot_read(args, match):
    with pytest.raises(AnsibleFilterError, match=match):
        conda_tos_state(*args)
