# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters on the credentials in URLs: ``redact_url`` hides them in messages, records and reports, and
``url_has_credentials`` tells whether a task must be ``no_log`` (thin wrappers over module_utils/_mirror.py)."""

from __future__ import annotations

from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

_mirror = ModuleUtils("_mirror")


def redact_url(value):
    """A string with its credentials hidden; a mapping or list is redacted entry by entry, keeping its shape."""
    if isinstance(value, dict):
        return {key: redact_url(entry) for key, entry in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_url(entry) for entry in value]
    if isinstance(value, str):
        return _mirror.redact_url(value)
    return value


def url_has_credentials(*urls):
    return _mirror.has_credentials(*urls)


class FilterModule:
    def filters(self):
        return checked_filters({"redact_url": redact_url, "url_has_credentials": url_has_credentials})
