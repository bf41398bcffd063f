# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What verifies a download, and when the user must hear that it is weak.

A checksum file (``<file>.sha256``, ``SHA256SUMS``) fetched from the server that serves the file proves only that
the download was not cut short: whoever controls that server, or the network path to it, can change both. Over
plain ``http`` anyone on the path can. So the roles keep the sums they know even when a mirror is used
(a mirror serves byte-identical copies of the public files), let the user pin the rest, and warn when a file is
checked only by a checksum file fetched over plain ``http``.

Standard library only, Python 3.8 syntax: module_utils may be shipped to hosts.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_CREDENTIALS_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]*)@")


def redact_url(url):
    """``https://user:***@host/`` for a URL with a password, ``https://***@host/`` for one with only a user
    (a token is often given as the user name; pip redacts it the same way, pip
    src/pip/_internal/utils/misc.py ``redact_netloc``)."""
    return redact_text(url)


def redact_text(text):
    """Every ``scheme://user:password@`` in ``text`` with the password (or a lone user) replaced by ``***``."""

    def _replace(match):
        userinfo = match.group("userinfo")
        userinfo = userinfo.split(":", 1)[0] + ":***" if ":" in userinfo else "***"
        return match.group("scheme") + userinfo + "@"

    return _CREDENTIALS_RE.sub(_replace, str(text))


def plain_http(url):
    """True when ``url`` is fetched over plain http: whatever comes with it can be replaced on the way."""
    return urlsplit(str(url)).scheme.lower() == "http"


def sidecar_warning(what, url, sha256, checksum_url, variable):
    """A warning (a string) when ``url`` is verified only by ``checksum_url`` and that comes over plain http,
    else None. ``variable`` names the setting that pins the sum."""
    if sha256 or not checksum_url:
        return None
    if not plain_http(checksum_url):
        return None
    return (
        f"{what} ({redact_url(url)}) is checked only against {redact_url(checksum_url)}, which comes over plain "
        f"http from the same server as the file, so anyone on the network path can replace both. Set {variable} "
        "to the file's SHA-256 (from its publisher), or serve torchfleet_mirror_url over https."
    )


def has_credentials(*urls):
    """True when any of the URLs (or texts) holds ``scheme://user[:password]@``: the tasks that use it are then
    ``no_log``, and messages, records and reports show it through :func:`redact_url`."""
    return any(redact_url(url) != str(url) for url in urls if url)
