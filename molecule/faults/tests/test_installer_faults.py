"""Faults of the conda installer (issue 11): a truncated or corrupted installer from the mirror, the installer
killed half-way, and a prefix on a filesystem too small for it.

The faults host runs the uv manager, so it has no conda after converge: each case runs the miniconda role alone
(a two-line playbook in tmp_path) with ``miniconda_prefix`` under /opt, against the lab mirror's conda stand-in
(a TEST DOUBLE of constructor's .sh installer, tests/harness/conda_standin, which follows constructor's
header.sh) served through the fault mirror. The installer is pinned by its SHA-256 (``miniconda_installer_sha256``,
read from the lab mirror's own build of it), as a user pins a known sum: a mirror serving other bytes cannot
make the role run them.

One never-interrupted install of the same prefix is made first; each recovered prefix is compared with its
listing (every entry's type, mode and size, every file's SHA-256). Left out of the comparison, because they
legitimately differ between two installs: the SHA-256 of conda-meta/history (its first line is the install's
time stamp) and of the channel-terms record the role's acceptance writes under conda-meta/tos/ (it holds the
acceptance's time stamp, as conda-anaconda-tos's records do); their sizes are still compared. Python's
__pycache__ (byte-code caches written when the stand-in's conda first runs) is left out too. The prefix path
inside files needs no exclusion: both installs use the same prefix.
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import HOST, MIRROR_DIR, differences, finish, kill_on_host, play, podman, snapshot, start_play

VERSION = "py311_25.11.1-1"  # the lab mirror's Miniconda stand-in (tests/harness/build_mirror.py)
INSTALLER = f"Miniconda3-{VERSION}-Linux-x86_64.sh"
PREFIX = "/opt/faults-conda"
CACHE = "/var/cache/torchfleet"  # the role's default download directory at system scope
TINY = "/srv/tiny"  # a 16 MiB tmpfs (molecule.yml)
# Files whose bytes differ between two good installs (see the module docstring); their size is still compared.
VOLATILE = re.compile(r"^\./conda-meta/(history|tos/[0-9a-f]{64}/[0-9.]+\.json)$")


def pin() -> str:
    return (MIRROR_DIR / "miniconda" / f"{INSTALLER}.sha256").read_text().split()[0]


def common() -> list:
    return [
        f"miniconda_version={VERSION}",
        "miniconda_accept_anaconda_tos=true",
        f"miniconda_installer_sha256={pin()}",
        "miniconda_download_delay=0",
    ]


def playbook(tmp_path) -> str:
    path = tmp_path / "miniconda.yml"
    path.write_text(
        "- name: Install conda only\n"
        f"  hosts: {HOST}\n"
        "  tasks:\n"
        "    - name: Install Miniconda\n"
        "      ansible.builtin.include_role:\n"
        "        name: torchfleet.lab.miniconda\n"
    )
    return str(path)


def listing(host, path: str = PREFIX) -> dict:
    entries = snapshot(host, path)
    for name in entries:
        if VOLATILE.match(name):
            entries[name] = re.sub(r" sha256:\w+$", "", entries[name])
    return entries


def remove_role_made(host) -> None:
    """Remove what the role made in earlier cases (its prefix and its download), never anything else."""
    host.run(f"rm -rf {PREFIX} && rm -f {CACHE}/{INSTALLER}")


def output(run) -> str:
    return run.output


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return playbook(tmp_path_factory.mktemp("installer-faults"))


@pytest.fixture(scope="module")
def reference(host, mirror, work, converged, book):
    """The listing of a never-interrupted install of PREFIX."""
    mirror.clear()
    remove_role_made(host)
    first = play(book, f"miniconda_prefix={PREFIX}", *common())
    assert first.rc == 0, first.tail()
    assert host.file(f"{PREFIX}/bin/conda").exists
    entries = listing(host)
    assert "./install_tmp" not in entries
    yield entries
    remove_role_made(host)


def nothing_installed(host) -> str:
    """What a refused download left: no prefix, no installer under its final name, no stray download."""
    assert not host.file(PREFIX).exists, f"{PREFIX} was created"
    assert not host.file(f"{CACHE}/{INSTALLER}").exists, "a bad installer stayed in the cache under its final name"
    stray = host.run(f"ls -A {CACHE} | grep -i miniconda || true").stdout.split()
    assert stray == [], stray
    return f"nothing: no {PREFIX}, no {INSTALLER} in {CACHE}"


def test_a_small_filesystem_is_refused_before_anything_changes(host, mirror, book, lost, record, request):
    prefix = f"{TINY}/conda"
    mirror.clear()
    remove_role_made(host)
    assert host.run(f"findmnt -n -o FSTYPE,SIZE {TINY}").stdout.split() == ["tmpfs", "16M"]
    before = snapshot(host, TINY)
    run = play(book, f"miniconda_prefix={prefix}", *common())
    assert run.rc != 0, run.tail()
    text = output(run)
    refusal = (
        f"miniconda_prefix {prefix}: its filesystem ({TINY}) has 16 MB free; Miniconda needs at least 450 MB there "
        "(miniconda_min_free_mb=450: the 400 MB the conda documentation gives for Miniconda and the 50 MB the "
        "installer keeps free)."
    )
    assert refusal in text, run.tail()
    assert "lower miniconda_min_free_mb" in text and "Nothing was changed." in text
    assert snapshot(host, TINY) == before, "the refusal changed the small filesystem"
    assert not host.file(f"{CACHE}/{INSTALLER}").exists, "the installer was downloaded before the refusal"

    # With the check lowered, the installer itself runs out of room and the role names the space needed.
    forced = play(book, f"miniconda_prefix={prefix}", *common(), "miniconda_min_free_mb=1")
    assert forced.rc != 0, forced.tail()
    assert f"{INSTALLER} ran out of space in miniconda_prefix {prefix} (rc=1): Miniconda needs at least 1 MB" in (
        forced.output
    ), forced.tail()
    # The installer made the prefix before it found the filesystem too small (as constructor's header.sh does,
    # lines 438-450): the role made it, so the test may remove it.
    host.run(f"rm -rf {prefix}")
    assert snapshot(host, TINY) == before

    # The next run, with a prefix on a large enough filesystem, installs: it is the never-interrupted install
    # that the cases below compare with (the module's ``reference``).
    request.getfixturevalue("reference")
    assert host.file(f"{PREFIX}/bin/conda").exists
    assert lost() == "nothing"
    record(
        "small-filesystem",
        f'the run stopped before anything changed: "{refusal} Free some space, choose a miniconda_prefix (or '
        "miniconda_cache_dir) on a larger filesystem, or lower miniconda_min_free_mb if you know this installation "
        "needs less. Nothing was changed.\" With the check lowered (miniconda_min_free_mb=1) the installer's own "
        f'out-of-space failure is reported as "{INSTALLER} ran out of space in miniconda_prefix {prefix} (rc=1): '
        'Miniconda needs at least 1 MB free there (miniconda_min_free_mb) ..."',
        f"nothing: {TINY} as it was, no installer downloaded (after the lowered-check run, the empty {prefix} the "
        "installer made before its own check)",
        f"the next run, with miniconda_prefix={PREFIX} on a larger filesystem, installed; its listing is the "
        "never-interrupted install the other cases compare with (check-mode after the killed-installer case: "
        "0 changed)",
        lost(),
    )


BAD_INSTALLERS = [
    ("installer-truncated", {"match": re.escape(INSTALLER) + "$", "fault": "truncate", "at": 0.5}),
    ("installer-corrupt", {"match": re.escape(INSTALLER) + "$", "fault": "corrupt", "at": 0.5}),
]


def test_a_bad_installer_is_refused_by_its_checksum(host, mirror, reference, book, lost, record):
    """The truncated and the corrupted installer one after the other (each refusal leaves nothing), then one
    recovery run whose prefix must match the never-interrupted install."""
    remove_role_made(host)
    left = {}
    for fault, rule in BAD_INSTALLERS:
        mirror.set(rule)
        run = play(book, f"miniconda_prefix={PREFIX}", *common(), "miniconda_download_retries=2")
        assert run.rc != 0, run.tail()
        assert any(hit["path"].endswith(INSTALLER) for hit in mirror.hits()), "the fault was not met"
        text = output(run)
        assert f"Checksum mismatch: http://127.0.0.1:{mirror.port}/miniconda/{INSTALLER} is not the installer " in text
        assert "Nothing was installed." in text
        left[fault] = nothing_installed(host)
    mirror.clear()
    again = play(book, f"miniconda_prefix={PREFIX}", *common())
    assert again.rc == 0, again.tail()
    assert differences(reference, listing(host)) == []
    assert lost() == "nothing"
    for fault, _rule in BAD_INSTALLERS:
        record(
            fault,
            f'the run stopped at the download: "Checksum mismatch: <mirror>/miniconda/{INSTALLER} is not the '
            "installer expected (sha256:<pinned sum>). Check miniconda_installer_sha256 or the mirror copy. Nothing "
            'was installed."',
            left[fault],
            ("the corrupt-installer case ran next and was refused the same way; " if fault == "installer-truncated"
             else "")
            + "the next run with a good mirror downloaded and installed it; its listing matches a never-interrupted "
            "install (the check-mode run after the killed-installer case below: 0 changed)",
            lost(),
        )  # fmt: skip


def _wait_for_marker(path: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if podman("exec", HOST, "test", "-d", path, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} did not appear on {HOST} within {timeout} s")


def test_the_installer_killed_half_way_is_finished_by_the_next_run(
    host, mirror, reference, book, back_to_converged, lost, record
):
    remove_role_made(host)
    mirror.clear()
    proc = start_play(book, f"miniconda_prefix={PREFIX}", *common())
    try:
        # The installer makes PREFIX/install_tmp when it unpacks its payload and removes it at the very end
        # (constructor header.sh f57a3e7, lines 536-538 and 678): while it is there the install is half-way.
        _wait_for_marker(f"{PREFIX}/install_tmp")
        # Every process of the installer (the shell running the .sh and what it started), as a machine's OOM
        # killer or a power cut would end them: each has the prefix on its command line.
        kill_on_host(f"{PREFIX}( |/|$)")
    finally:
        run = finish(proc)
    assert run.rc != 0, run.tail()
    text = output(run)
    assert f"{INSTALLER} failed in miniconda_prefix {PREFIX} (rc=-9)" in text, run.tail()
    # What was left: a half-made prefix, not taken as done.
    assert host.file(f"{PREFIX}/install_tmp").is_directory
    assert not host.file(f"{PREFIX}/bin/conda").exists
    assert not host.file(f"{PREFIX}/conda-meta/torchfleet-install.json").exists
    left = f"a half-made {PREFIX}: install_tmp/ still there, no bin/conda, no install record"

    mirror.clear()
    again = play(book, f"miniconda_prefix={PREFIX}", *common())
    assert again.rc == 0, again.tail()
    assert f"{PREFIX} was left half-made (" in again.output
    assert (
        "the installer will run again over it with -u, which finishes the install and removes nothing" in again.output
    )
    assert differences(reference, listing(host)) == []
    phrase = back_to_converged(book, extra=(f"miniconda_prefix={PREFIX}", *common()))
    assert lost() == "nothing"
    record(
        "installer-killed",
        f'the run failed: "{INSTALLER} failed in miniconda_prefix {PREFIX} (rc=-9): ... Run the role again once '
        'the cause is fixed: it finishes a half-made prefix with -u and removes nothing."',
        left,
        f"the next run recognised the interrupted prefix and ran the installer over it with -u, removing nothing; "
        f"its listing matches a never-interrupted install; {phrase}",
        lost(),
    )
