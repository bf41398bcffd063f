# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of Anaconda's channel terms in a conda installation, read from ``conda tos --json``.

Private to torchfleet.lab. Plain standard library, Python 3.8 syntax: the ``conda_tos_state`` filter calls it
on the controller with the registered result of the miniconda role's ``conda tos --json --ignore-cache
--override-channels --channel=...`` task (roles/miniconda/tasks/accept-tos.yml, accept-tos-Windows.yml).
"""

from __future__ import annotations

import json

COMMAND = "conda tos --json"


class TermsStateError(ValueError):
    """``conda tos --json`` succeeded but printed something this module cannot read."""


def terms_absent(rc, stdout, stderr):
    """Whether this conda has no ``tos`` command at all, and so enforces no channel terms.

    The terms plugin (conda-anaconda-tos) needs conda >= 24.11. Without it, conda >= 23.7 leaves the unknown
    subcommand to argparse, which exits 2 with "invalid choice: 'tos'" on stderr; older conda raises
    CommandNotFoundError "No command 'conda tos'." and exits 1 (conda/conda 23.5.2 conda/cli/conda_argparse.py:176-213,
    conda/exceptions.py:331-342). Any other failure is a real error, not an absent plugin.
    """
    if rc == 2:
        return "invalid choice: 'tos'" in (stderr or "")
    if rc == 1:
        return "No command 'conda tos'" in (stderr or "") + (stdout or "")
    return False


def _accepted(record):
    # A record the plugin lists is accepted for its current version only when tos_accepted is true and the
    # channel serves no newer version ("outdated": false). A channel without a local record lists the served
    # metadata, which has no tos_accepted; a channel without terms lists null.
    return (
        isinstance(record, dict)
        and bool(record)
        and bool(record.get("tos_accepted"))
        and "outdated" in record
        and not record["outdated"]
    )


def pending_channels(stdout, channels):
    """The channels, in the order given, whose current terms are not accepted.

    ``conda tos --json`` (no subcommand) prints a mapping of each channel's base URL to its newest local record,
    or to the served metadata when none is recorded, plus "outdated" (true when the channel serves a newer version
    than the record) and "path"; or to null for a channel without terms (anaconda/conda-anaconda-tos 0.2.2,
    conda_anaconda_tos/console/render.py:94-148, render_list). ``conda tos view`` shows the local record alone,
    which still says accepted while a revised version is pending (render.py:151-180), so it is not used.
    A channel missing from the listing counts as pending.
    """
    try:
        listing = json.loads(stdout or "")
    except ValueError as exc:
        raise TermsStateError(f"`{COMMAND}` printed something that is not JSON ({exc}): {_excerpt(stdout)}") from exc
    if not isinstance(listing, dict):
        raise TermsStateError(
            f"`{COMMAND}` printed JSON that is not a mapping of channel to terms record: {_excerpt(stdout)}"
        )
    return [channel for channel in channels if not _accepted(listing.get(channel))]


def _excerpt(text, limit=300):
    text = (text or "").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def state(result, channels):
    """``{'absent': bool, 'pending': [channel, ...]}`` from the registered result of ``conda tos --json``.

    A skipped read (check mode before the installation exists) lists every channel as pending. A failed read,
    absent plugin or not, is not parsed: the role stops on a failure that is not an absent plugin.
    """
    channels = list(channels)
    if result.get("skipped"):
        return {"absent": False, "pending": channels}
    rc = result.get("rc")
    if rc != 0:
        return {"absent": terms_absent(rc, result.get("stdout"), result.get("stderr")), "pending": []}
    return {"absent": False, "pending": pending_channels(result.get("stdout"), channels)}
