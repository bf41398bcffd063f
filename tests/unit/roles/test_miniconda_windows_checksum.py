r"""Miniforge's Windows .sha256 files against the miniconda role's Windows download (install-Windows.yml).

Fixtures, written from the sources that produce or read them (digests are placeholders):
- Miniforge >= 26.3.2-1, Windows: after signing, the release workflow rewrites each sidecar with PowerShell 7
  (`"<hex>  <name>" | Out-File`, CRLF on Windows): conda-forge/miniforge scripts/verify_signatures_and_checksums.ps1
  lines 26-30, run by .github/workflows/ci.yml with `shell: pwsh` (commit 3fbc493, first in tag 26.3.2-1).
- Miniforge before that, Windows: scripts/build.sh lines 103-104 (`sha256sum "./Miniforge3-...exe"`) run by
  build_miniforge_win.sh in MSYS2 bash; sha256sum reads in binary mode by default on Windows and marks it with "*"
  (GNU coreutils md5sum/sha256sum documentation: "-b, --binary  read in binary mode (default on DOS/Windows)").
  Not checked against a downloaded asset (no internet in the lab).
- Miniforge on Linux: the same build.sh line in bash on Linux, "<hex>  ./<name>".
- ansible.windows.win_get_url's checksum_url parser (ansible-collections/ansible.windows 3.7.0, commit a1e2a84,
  plugins/modules/win_get_url.ps1 lines 62-70): keeps the lines matching `\s+\.?\/?\\?<name>\s*$`, takes the text
  before the first space of the first one and drops non-word characters.  Ported below to show which forms it reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.torchfleet.lab.plugins.filter.sha256sum_digest import sha256sum_digest

ROLE = Path(__file__).resolve().parents[3] / "roles" / "miniconda"
HEX = "0123456789abcdef" * 4
EXE = "Miniforge3-26.3.2-3-Windows-x86_64.exe"
OLD_EXE = "Miniforge3-25.3.0-3-Windows-x86_64.exe"

SIDECARS = {
    "windows-pwsh": (EXE, f"{HEX}  {EXE}\r\n"),
    "windows-msys2-sha256sum": (OLD_EXE, f"{HEX} *./{OLD_EXE}\n"),
    "linux-sha256sum": ("Miniforge3-26.3.2-3-Linux-x86_64.sh", f"{HEX}  ./Miniforge3-26.3.2-3-Linux-x86_64.sh\n"),
}


def win_get_url_reads(text: str, name: str):
    """What win_get_url.ps1 (lines 62-70) takes from a checksum file, or None where it fails the task."""
    lines = [line for line in re.split(r"\r?\n", text) if re.search(r"\s+\.?/?\\?" + re.escape(name) + r"\s*$", line)]
    if not lines:
        return None
    return re.sub(r"\W+", "", lines[0].split(" ", 1)[0].strip())


def test_win_get_url_misses_the_older_windows_sidecars():
    assert win_get_url_reads(*reversed(SIDECARS["windows-pwsh"])) == HEX
    assert win_get_url_reads(*reversed(SIDECARS["windows-msys2-sha256sum"])) is None  # the "*" defeats the match


@pytest.mark.parametrize("kind", sorted(SIDECARS))
def test_the_role_reads_every_published_form(kind):
    name, text = SIDECARS[kind]
    assert sha256sum_digest(text, name) == HEX


def test_windows_download_hands_win_get_url_a_digest_not_a_checksum_url():
    tasks = yaml.safe_load((ROLE / "tasks" / "install-Windows.yml").read_text())
    install = next(t for t in tasks if "block" in t and t.get("name", "").startswith("Install "))
    download = next(t for t in install["block"] if t.get("name") == "Download and verify the installer")
    by_module = {next(k for k in t if k.startswith("ansible.")): t for t in download["block"]}
    get_url = by_module["ansible.windows.win_get_url"]["ansible.windows.win_get_url"]
    assert "checksum_url" not in get_url
    assert "torchfleet.lab.sha256sum_digest(__miniconda.filename)" in get_url["checksum"]
    assert "__miniconda.sha256" in get_url["checksum"]
    read = by_module["ansible.windows.win_uri"]
    assert read["ansible.windows.win_uri"]["url"] == "{{ __miniconda.checksum_url }}"
    assert read["when"] == "not __miniconda.sha256"
