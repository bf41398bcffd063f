"""The redact_url and url_has_credentials filters (issue 11, item 8)."""

from __future__ import annotations

import pytest
from ansible_collections.torchfleet.lab.plugins.filter.url_credentials import FilterModule

FILTERS = FilterModule().filters()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("http://lab:pw@mirror.lab:8765/uv", "http://lab:***@mirror.lab:8765/uv"),
        ("https://tok3n@pypi.lab/simple", "https://***@pypi.lab/simple"),  # a token as the user name
        ("Could not download http://a:b@m/x and https://c:d@n/y", "Could not download http://a:***@m/x and https://c:***@n/y"),
        ("https://mirror.lab/simple", "https://mirror.lab/simple"),
        ({"index_url": "http://a:b@m/whl/cpu", "n": 3}, {"index_url": "http://a:***@m/whl/cpu", "n": 3}),
        (["http://a:b@m/", None], ["http://a:***@m/", None]),
        (None, None),
    ],
)  # fmt: skip
def test_redact_url(value, shown):
    assert FILTERS["redact_url"](value) == shown


@pytest.mark.parametrize(
    ("urls", "secret"),
    [
        (("http://a:b@m/",), True),
        (("", "https://tok@pypi.lab/simple"), True),
        (("https://mirror.lab", ""), False),
        ((None, None), False),
    ],
)
def test_url_has_credentials(urls, secret):
    assert FILTERS["url_has_credentials"](*urls) is secret
