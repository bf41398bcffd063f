"""gpu_driver's tasks/epel-signature.yml (included by setup-RedHat.yml before EPEL's release package is installed),
run by a real ansible-playbook on local hosts against Debian 12's real rpm (4.18.0), rpmbuild, rpmsign and gpg.

The test builds one small noarch package, keeps one copy unsigned and signs three with three fresh keys: the
"pinned" key stands for EPEL's, the "other" key is imported into the rpm database too (as the Red Hat or NVIDIA
keys are on a real host), the "absent" key is not. Only the copy signed by the pinned key may pass. With the
check the role had before (`rpm --checksig`, failing on rc or on NOT OK / NOKEY), the unsigned copy and the copy
signed by the other key both passed: rpm prints "digests OK" and "digests signatures OK" for them, with rc 0.

The rpm database is the test's own: rpm reads ``%_dbpath`` from ``$HOME/.rpmmacros`` (rpm's macros file list,
``~/.rpmmacros`` last). Skipped unless rpm, rpmbuild, rpmsign, rpmkeys and gpg are installed
(``apt-get install rpm``); .ci/run installs them and sets TORCHFLEET_REQUIRE_REAL_TOOLS.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .local_play import run_play

TOOLS = ("ansible-playbook", "rpm", "rpmbuild", "rpmsign", "rpmkeys", "gpg")
_MISSING = [tool for tool in TOOLS if not shutil.which(tool)]
_WHY = f"needs {', '.join(TOOLS)} (Debian 12: apt-get install rpm); missing: {', '.join(_MISSING)}"
if _MISSING and os.environ.get("TORCHFLEET_REQUIRE_REAL_TOOLS"):
    raise RuntimeError(f"TORCHFLEET_REQUIRE_REAL_TOOLS is set, but this test {_WHY}")
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=_WHY)

PLAY = """\
- name: Check EPEL's release package as setup-RedHat.yml does
  hosts: all
  gather_facts: false
  tasks:
    - name: Include the role's signature check
      ansible.builtin.include_role:
        name: torchfleet.lab.gpu_driver
        tasks_from: epel-signature.yml
"""

SPEC = """\
Name: epel-release
Version: 9
Release: 1
Summary: a stand-in for EPEL's release package
License: MIT
BuildArch: noarch
%description
A stand-in for EPEL's release package.
%files
"""


def _run(argv, env, cwd):
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)


def _fingerprint(env, email, cwd):
    listing = _run(["gpg", "--with-colons", "--list-keys", email], env, cwd).stdout
    return re.search(r"^fpr:+([0-9A-F]{40}):", listing, re.M).group(1)


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """The four packages, an rpm database that trusts the pinned and the other key, and the pinned fingerprint."""
    root = tmp_path_factory.mktemp("epel")
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = dict(os.environ, HOME=str(root), GNUPGHOME=str(gnupg), LC_ALL="C.UTF-8")
    (root / ".rpmmacros").write_text(f"%_dbpath {root / 'rpmdb'}\n%__gpg {shutil.which('gpg')}\n")
    (root / "rpmdb").mkdir()
    fingerprints = {}
    for key in ("pinned", "other", "absent"):
        email = f"{key}@example.invalid"
        _run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"{key} <{email}>", "rsa2048", "sign", "never"],
             env, root)  # fmt: skip
        fingerprints[key] = _fingerprint(env, email, root)
        if key != "absent":
            (root / f"{key}.asc").write_text(_run(["gpg", "--armor", "--export", email], env, root).stdout)
            _run(["rpmkeys", "--import", str(root / f"{key}.asc")], env, root)
    (root / "SPECS").mkdir()
    (root / "SPECS" / "epel.spec").write_text(SPEC)
    _run(["rpmbuild", "-bb", "--define", f"_topdir {root}", str(root / "SPECS" / "epel.spec")], env, root)
    built = root / "RPMS" / "noarch" / "epel-release-9-1.noarch.rpm"
    paths = {"unsigned": root / "unsigned.rpm"}
    shutil.copy(built, paths["unsigned"])
    for key in fingerprints:
        paths[key] = root / f"signed-by-{key}.rpm"
        shutil.copy(built, paths[key])
        _run(["rpmsign", "--addsign", "--define", f"_gpg_name {key}@example.invalid", str(paths[key])], env, root)
    return {"root": root, "env": env, "paths": paths, "fingerprints": fingerprints}


def test_only_a_package_signed_by_the_pinned_key_passes(packages, tmp_path):
    pinned = packages["fingerprints"]["pinned"]
    # EPEL's keys are given in fedoraproject.org/security's grouped form: spaces every 4 digits.
    grouped = " ".join(pinned[i : i + 4] for i in range(0, 40, 4))
    hosts = {
        name: {"__gpu_driver_epel_rpm": str(path), "__gpu_driver_plan": {"repo": {"epel_fingerprint": grouped}}}
        for name, path in packages["paths"].items()
    }
    # rpm reads the test's rpm database from $HOME/.rpmmacros: the packages' environment.
    failed, out = run_play(tmp_path, PLAY, hosts, env=packages["env"])
    assert failed == {"unsigned": 1, "pinned": 0, "other": 1, "absent": 1}, out[-4000:]
    # Each refusal says which package and which key, and why.
    assert re.search(r"unsigned\.rpm is not signed by the EPEL key .*no signature at all", out), out[-4000:]
    other_id = packages["fingerprints"]["other"][-8:].lower()
    assert re.search(rf"signed-by-other\.rpm is not signed .*signatures: {other_id} OK", out), out[-4000:]
    absent_id = packages["fingerprints"]["absent"][-8:].lower()
    assert re.search(rf"signed-by-absent\.rpm is not signed .*{absent_id} NOKEY; rpm -Kv exited 1", out), out[-4000:]


def test_the_old_checksig_rule_let_the_unsigned_and_the_foreign_package_through(packages):
    """What rpm itself says, so that the reason for the check above stays on record: ``rpm --checksig`` exits 0
    for a package with no signature and for one signed by any key in the database."""
    for name in ("unsigned", "other"):
        run = subprocess.run(["rpm", "--checksig", str(packages["paths"][name])], env=packages["env"],
                             capture_output=True, text=True, check=False)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert not re.search("NOT OK|MISSING KEYS|NOKEY", run.stdout), run.stdout
