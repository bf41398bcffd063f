# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback: at the end of a run, name every host that failed or could not be reached, with the play, the task and
why, after Ansible's PLAY RECAP (which only counts)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_summary
type: aggregate
short_description: Name the failed and unreachable hosts of a run, and why, at its end
version_added: 1.0.0
description:
  - After the C(PLAY RECAP), prints one line per host that failed or could not be reached in the run, failed hosts
    first, then unreachable ones, each with the play, the task and the reason (the task's message, with the
    credentials in URLs hidden), then how many hosts completed without failing.
  - A failure that a C(rescue) handled, or that C(ignore_errors) let pass, is not a failure of the host and is not
    listed.
  - Optionally writes the same summary as JSON, for a cron job, CI or a dashboard.
  - Enable it with C(callbacks_enabled = torchfleet.lab.fleet_summary) in C(ansible.cfg) (the collection's
    C(docs/ansible.cfg) does), or C(ANSIBLE_CALLBACKS_ENABLED). It works beside any stdout callback.
author: torchfleet.lab contributors (!UNKNOWN)
options:
  path:
    description:
      - Where to write the summary as JSON. Unset, no file is written.
      - 'The file holds C(hosts): a list of C(host), C(state) (V(failed) or V(unreachable)), C(play), C(task) and
        C(reason); and C(completed): the names of the hosts that finished without failing.'
    type: path
    env:
      - name: TORCHFLEET_SUMMARY_PATH
    ini:
      - section: torchfleet_fleet_summary
        key: path
"""

import json
import os

from ansible.plugins.callback import CallbackBase
from ansible_collections.torchfleet.lab.plugins.module_utils._validate import redact_text

# How much of a reason is shown on the summary's one line per host (the whole reason is in the task's own output).
REASON_CHARS = 400


def _part(result, name):
    """``result.host``, ``result.task``, ``result.result`` (ansible-core 2.19) or the older private names."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name)


def reason_of(data):
    """The one-line reason of a failed task's result: the first failed loop item's, else its msg, else the last
    line of stderr or stdout."""
    data = data or {}
    reason = None
    # A loop's own msg is only "One or more items failed": the failed item's says why.
    if isinstance(data.get("results"), list):
        failed = [item for item in data["results"] if isinstance(item, dict) and item.get("failed")]
        if failed:
            reason = reason_of(failed[0])
    reason = reason or data.get("msg")
    if not reason:
        reason = (data.get("stderr") or data.get("stdout") or "").strip().splitlines()[-1:] or ["no message"]
        reason = reason[0]
    text = " ".join(redact_text(str(reason)).split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "torchfleet.lab.fleet_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._play = ""
        # host -> the last failure or unreachable event seen for it: a host stops at its fatal one.
        self._last = {}

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()

    def _record(self, result, state):
        host = _part(result, "host").get_name()
        task = _part(result, "task").get_name().strip()
        self._last[host] = {
            "host": host,
            "state": state,
            "play": self._play,
            "task": task,
            "reason": reason_of(_part(result, "result")),
        }

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def summary(self, stats):
        """The hosts that failed or were unreachable in the run (Ansible's own counts decide), and those that
        completed."""
        bad, completed = [], []
        for host in sorted(stats.processed):
            counts = stats.summarize(host)
            state = "unreachable" if counts["unreachable"] else "failed" if counts["failures"] else None
            if state is None:
                completed.append(host)
                continue
            entry = self._last.get(host) or {"host": host, "play": "", "task": "", "reason": "no message"}
            bad.append({**entry, "state": state})
        bad.sort(key=lambda e: (e["state"] != "failed", e["host"]))
        return {"hosts": bad, "completed": completed}

    def v2_playbook_on_stats(self, stats):
        summary = self.summary(stats)
        self._display.banner("TORCHFLEET FLEET SUMMARY")
        for entry in summary["hosts"]:
            where = " > ".join(part for part in (entry["play"], entry["task"]) if part)
            self._display.display(f"{entry['state'].upper()}: {entry['host']}: {where}: {entry['reason']}")
        total = len(summary["hosts"]) + len(summary["completed"])
        self._display.display(f"{len(summary['completed'])} of {total} hosts completed without failing")
        path = self.get_option("path")
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(summary, handle, indent=2, sort_keys=True)
                handle.write("\n")
