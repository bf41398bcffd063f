"""The gpu_driver role's Secure Boot steps against Debian 12's real dkms (3.0.10) and mokutil (0.6.0).

Both run as root in a private mount namespace (``unshare -m``) so that nothing on the machine changes:
- dkms: tmpfs over /etc/dkms, /var/lib/dkms and /usr/src; a placeholder module whose "build" writes a file, an
  empty kernel source tree given with --kernelsourcedir, and ``sign_file`` pointed at a script that records
  its arguments (the kernel's sign-file comes with kernel headers, which this machine does not have).
- mokutil: tmpfs over /sys/firmware holding libefivar's "vars" layout (efi/vars/new_var, 2084 bytes, the
  64-bit kernel layout; efi/vars/<Name>-<GUID>/raw_var; rhboot/efivar src/vars.c at tag 37), with SecureBoot=1
  and the test certificate in MokListRT, MokNew or db.  mokutil reads these through libefivar exactly as it
  reads the kernel's files.

Skipped unless run as root with unshare, dkms, mokutil and openssl present (``apt-get install dkms mokutil``).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest
from ansible_collections.torchfleet.lab.plugins.module_utils import _driver as dr

_MISSING = os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "dkms", "mokutil", "openssl"))
_WHY = "needs root, unshare, dkms, mokutil and openssl (Debian 12: apt-get install dkms mokutil)"
# .ci/run installs the tools and sets TORCHFLEET_REQUIRE_REAL_TOOLS, so CI can never skip these tests unnoticed.
if _MISSING and os.environ.get("TORCHFLEET_REQUIRE_REAL_TOOLS"):
    raise RuntimeError(f"TORCHFLEET_REQUIRE_REAL_TOOLS is set, but this test {_WHY}")
pytestmark = pytest.mark.skipif(_MISSING, reason=_WHY)

GPU = {
    "vendor": "nvidia",
    "devices": [{"vendor": "nvidia", "pci_id": "10de:20b2", "compute_capability": "8.0"}],
    "secure_boot": True,
}
FACTS = {
    "system": "Linux",
    "os_family": "Debian",
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_release": "bookworm",
    "machine": "x86_64",
    "kernel": "6.1.0-28-amd64",
    "torchfleet_gpu": GPU,
}


def in_namespace(script: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["unshare", "-m", "bash", "-ec", script], capture_output=True, text=True, check=False, timeout=120, **kwargs
    )


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    keys = tmp_path_factory.mktemp("mok")
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=torchfleet test MOK",
            "-outform",
            "DER",
            "-keyout",
            str(keys / "mok.key"),
            "-out",
            str(keys / "mok.der"),
        ],
        check=True,
        capture_output=True,
    )
    return keys / "mok.key", keys / "mok.der"


# --- dkms ------------------------------------------------------------------------------------------------------

DKMS_MODULE = textwrap.dedent("""\
    PACKAGE_NAME="tfdummy"
    PACKAGE_VERSION="1.0"
    MAKE[0]="printf 'placeholder' > tfdummy.ko"
    CLEAN="rm -f tfdummy.ko"
    BUILT_MODULE_NAME[0]="tfdummy"
    DEST_MODULE_LOCATION[0]="/updates/dkms"
    STRIP[0]="no"
    """)


def dkms_build(tmp_path, conf_before: str, conf_after: str = "") -> tuple:
    """Build the placeholder module twice; the role's config is written before the first or between the two."""
    work = tmp_path / "w"
    (work / "ksrc" / "include").mkdir(parents=True)
    (work / "ksrc" / ".config").write_text("")
    (work / "dkms.conf").write_text(DKMS_MODULE)
    log = work / "signed.log"
    (work / "sign-file").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (work / "sign-file").chmod(0o755)
    (work / "before.conf").write_text(conf_before)
    (work / "after.conf").write_text(conf_after)
    conf = "/etc/dkms/framework.conf.d/torchfleet-mok.conf"
    build = f"dkms build -m tfdummy -v 1.0 -k 6.1.0-tf --kernelsourcedir {work}/ksrc"
    script = f"""
        for d in /etc/dkms /var/lib/dkms /usr/src; do mount -t tmpfs none $d; done
        mkdir -p /etc/dkms/framework.conf.d /usr/src/tfdummy-1.0
        echo '/* placeholder */' > /usr/src/tfdummy-1.0/tfdummy.c
        cp {work}/dkms.conf /usr/src/tfdummy-1.0/dkms.conf
        echo 'sign_file={work}/sign-file' > /etc/dkms/framework.conf.d/00-test-sign-file.conf
        if [ -s {work}/before.conf ]; then cp {work}/before.conf {conf}; fi
        dkms add -m tfdummy -v 1.0
        {build}
        if [ -s {work}/after.conf ]; then cp {work}/after.conf {conf}; {build}; fi
    """
    result = in_namespace(script)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, log.read_text().splitlines() if log.exists() else []


def _role_config(key, cert) -> str:
    return dr.plan(FACTS, branch="535", mok_key=str(key), mok_cert=str(cert))["mok"]["dkms_content"]


def test_dkms_signs_with_the_key_the_role_configured_before_the_build(tmp_path, keypair):
    key, cert = keypair
    stdout, signed = dkms_build(tmp_path, _role_config(key, cert))
    assert f"Signing key: {key}" in stdout
    assert signed == [f"sha512 {key} {cert} /var/lib/dkms/tfdummy/1.0/build/tfdummy.ko"]


def test_dkms_ignores_a_key_configured_after_the_build(tmp_path, keypair):
    # What the role did before: the packages' postinst built the module first.  dkms then signs with a key of
    # its own (dkms.in prepare_signing: /var/lib/dkms/mok.key) and skips the second build.
    key, cert = keypair
    stdout, signed = dkms_build(tmp_path, "", _role_config(key, cert))
    assert "Signing key: /var/lib/dkms/mok.key" in stdout
    assert "already built for kernel 6.1.0-tf" in stdout
    assert signed == ["sha512 /var/lib/dkms/mok.key /var/lib/dkms/mok.pub /var/lib/dkms/tfdummy/1.0/build/tfdummy.ko"]


def test_dkms_runs_what_a_path_in_its_config_would_expand(tmp_path):
    # Why the role refuses such paths (check_shell_safe_path): dkms sources the file as shell.
    marker = tmp_path / "ran"
    stdout, _signed = dkms_build(tmp_path, f"mok_signing_key=/tmp/$(touch {marker})k\nmok_certificate=/tmp/c\n")
    assert marker.exists(), stdout
    with pytest.raises(dr.DriverPlanError, match="gpu_driver_mok_key"):
        dr.plan(FACTS, branch="535", mok_key=f"/tmp/$(touch {marker})k", mok_cert="/tmp/c")


# --- mokutil ---------------------------------------------------------------------------------------------------

X509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")  # EFI_CERT_X509_GUID
SHIM = uuid.UUID("605dab50-e046-4300-abb6-3dd810dd8b23")  # shim's vendor GUID (MokListRT, MokNew)
SECURITY = uuid.UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")  # EFI_IMAGE_SECURITY_DATABASE_GUID (db)
GLOBAL = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")  # EFI_GLOBAL_VARIABLE (SecureBoot)


def _signature_list(cert: bytes) -> bytes:
    data = SHIM.bytes_le + cert  # EFI_SIGNATURE_DATA: owner, then the DER certificate
    return X509.bytes_le + struct.pack("<III", 28 + len(data), 0, len(data)) + data


def _raw_var(name: str, guid: uuid.UUID, data: bytes, attributes: int = 7) -> bytes:
    # efi_kernel_variable_64_t (efivar src/vars.c): name[1024], guid, u64 size, data[1024], u64 status, u32 attrs
    return (
        name.encode("utf-16-le").ljust(1024, b"\0")
        + guid.bytes_le
        + struct.pack("<Q", len(data))
        + data.ljust(1024, b"\0")
        + struct.pack("<QI", 0, attributes)
    )


def efi_tree(base: Path, cert: Path, where: str) -> Path:
    variables = base / "efi" / "vars"
    variables.mkdir(parents=True)
    (variables / "new_var").write_bytes(b"\0" * 2084)
    stored = {"SecureBoot": (GLOBAL, b"\x01", 6)}
    if where:
        stored[where] = ({"db": SECURITY}.get(where, SHIM), _signature_list(cert.read_bytes()), 7)
    for name, (guid, data, attributes) in stored.items():
        (variables / f"{name}-{guid}").mkdir()
        (variables / f"{name}-{guid}" / "raw_var").write_bytes(_raw_var(name, guid, data, attributes))
    return base


def mokutil(tmp_path, cert, where, *args, stdin=None):
    base = tmp_path / "fw"
    shutil.rmtree(base, ignore_errors=True)
    tree = efi_tree(base, cert, where)
    script = (
        f"mount -t tmpfs none /sys/firmware && cp -a {tree}/efi /sys/firmware/ && mokutil {' '.join(args)}"
        f" && ls /sys/firmware/efi/vars"
    )
    return in_namespace(script, input=stdin)


@pytest.mark.parametrize(
    ("where", "state"), [("", "absent"), ("MokListRT", "enrolled"), ("MokNew", "pending"), ("db", "firmware")]
)
def test_real_mokutil_answers_are_read_as_the_role_needs(tmp_path, keypair, where, state):
    _key, cert = keypair
    result = mokutil(tmp_path, cert, where, "--test-key", str(cert))
    answer = result.stdout.splitlines()[0] if result.stdout else ""
    assert dr.mok_state(answer, result.stderr, str(cert))["state"] == state


def test_real_mokutil_takes_the_password_from_stdin_as_the_role_sends_it(tmp_path, keypair):
    _key, cert = keypair
    password = "correct horse"
    # The command module sends stdin plus one newline (stdin_add_newline defaults to true).
    result = mokutil(tmp_path, cert, "", "--import", str(cert), stdin=f"{password}\n{password}" + "\n")
    assert result.returncode == 0, result.stderr
    assert "password doesn't match" not in result.stderr
    # Without the final newline mokutil cuts the last character of the second line and refuses.
    result = mokutil(tmp_path, cert, "", "--import", str(cert), stdin=f"{password}\n{password}")
    assert result.returncode != 0 and "password doesn't match" in result.stderr
