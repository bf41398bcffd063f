"""The miniconda role's free-space preflight and its message for an installer that ran out of space (issue 11).

The sizes follow the 400 MB the conda documentation gives for Miniconda
(https://docs.conda.io/projects/conda/en/stable/user-guide/install/index.html) and the 50 MB the .sh installer
keeps free (conda/constructor constructor/header.sh, commit f57a3e7, lines 436-450); the installer's failure
texts are the ones that header prints and glibc's strerror(ENOSPC).
"""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci

MB = 1024 * 1024
TINY = {"path": "/srv/tiny", "device": 41, "free_bytes": 16 * MB}
ROOT = {"path": "/var/cache", "device": 2049, "free_bytes": 50_000 * MB}
INSTALLER = "Miniconda3-py313_25.11.1-1-Linux-x86_64.sh"


def test_a_16_mb_filesystem_is_refused_naming_the_space_needed_and_free():
    text = ci.free_space_refusal("/srv/tiny/conda", TINY, "/var/cache/torchfleet", ROOT, ci.MIN_FREE_MB, 150 * MB,
                                 INSTALLER)  # fmt: skip
    assert text.startswith("miniconda_prefix /srv/tiny/conda: its filesystem (/srv/tiny) has 16 MB free; ")
    assert "Miniconda needs at least 450 MB there (miniconda_min_free_mb=450" in text
    assert "lower miniconda_min_free_mb" in text and text.endswith("Nothing was changed.")
    first = text.split(". Free some space", maxsplit=1)[0].split("MB free; Miniconda", maxsplit=1)[0]
    assert "miniconda_cache_dir" not in first


def test_enough_space_passes():
    big = {"path": "/opt", "device": 7, "free_bytes": 451 * MB}
    assert ci.free_space_refusal("/opt/miniconda3", big, "/var/cache/torchfleet", ROOT, 450, 150 * MB) == ""


def test_the_threshold_is_the_variable_and_zero_turns_the_prefix_check_off():
    assert ci.free_space_refusal("/srv/tiny/conda", TINY, "/var/cache/torchfleet", ROOT, 16, 0) == ""
    text = ci.free_space_refusal("/srv/tiny/conda", TINY, "/c", ROOT, 17, 0)
    assert "Miniconda needs at least 17 MB there (miniconda_min_free_mb=17)." in text
    assert ci.free_space_refusal("/srv/tiny/conda", TINY, "/var/cache/torchfleet", ROOT, 0, 0) == ""
    with pytest.raises(ci.InstallerError, match="must be 0 or more"):
        ci.free_space_refusal("/srv/tiny/conda", TINY, "/c", ROOT, -1, 0)


def test_one_filesystem_must_hold_the_installation_and_the_download():
    one = {"path": "/", "device": 3, "free_bytes": 500 * MB}
    text = ci.free_space_refusal("/opt/miniconda3", one, "/var/cache/torchfleet", dict(one), 450, 100 * MB, INSTALLER)
    assert "has 500 MB free; Miniconda needs at least 550 MB there" in text
    assert f"plus 100 MB for {INSTALLER} downloaded to miniconda_cache_dir /var/cache/torchfleet" in text
    # Already downloaded (or size unknown): only the installation counts.
    assert ci.free_space_refusal("/opt/miniconda3", one, "/var/cache/torchfleet", dict(one), 450, 0) == ""


def test_a_small_download_directory_is_refused_on_its_own():
    text = ci.free_space_refusal("/opt/miniconda3", ROOT, "/srv/tiny/cache", TINY, 450, 150 * MB, INSTALLER)
    assert text.startswith(
        f"miniconda_cache_dir /srv/tiny/cache: its filesystem (/srv/tiny) has 16 MB free; {INSTALLER} needs 150 MB"
    )
    assert "miniconda_prefix /opt" not in text


def test_sizes_round_towards_refusal():
    # Free space rounds down, the installer's size up: 450 MB and one byte short is refused.
    short = {"path": "/opt", "device": 1, "free_bytes": 450 * MB - 1}
    assert "has 449 MB free" in ci.free_space_refusal("/opt/m", short, "/c", ROOT, 450, 0)
    text = ci.free_space_refusal("/opt/m", ROOT, "/srv/tiny/c", TINY, 450, 16 * MB + 1, INSTALLER)
    assert f"{INSTALLER} needs 17 MB there" in text


@pytest.mark.parametrize(
    "said",
    [
        # constructor header.sh (f57a3e7) line 447
        "ERROR: Not enough free disk space. Only -34 MB are available, but 20 MB are required "
        "(leaving a 50 MB buffer).",
        # a write that failed with ENOSPC (tar, python)
        "tar: conda_standin.py: Wrote only 4096 of 10240 bytes\ntar: Exiting with failure status due to previous errors"
        "\nOSError: [Errno 28] No space left on device",
    ],
)
def test_an_installer_out_of_space_names_the_space_needed(said):
    text = ci.install_failure(
        1, "PREFIX=/srv/tiny/conda\nUnpacking payload...", said, "/srv/tiny/conda", 450, INSTALLER
    )
    assert text.startswith(f"{INSTALLER} ran out of space in miniconda_prefix /srv/tiny/conda (rc=1): ")
    assert "needs at least 450 MB free there (miniconda_min_free_mb)" in text
    assert said.splitlines()[-1] in text
    assert "removes nothing" in text


def test_another_installer_failure_is_quoted():
    text = ci.install_failure(1, "", "ERROR: could not create the base environment", "/opt/m", 450, INSTALLER)
    assert text.startswith(f"{INSTALLER} failed in miniconda_prefix /opt/m (rc=1): ERROR: could not create")
    assert "space" not in text
