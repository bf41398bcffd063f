"""Anaconda publishes revised channel terms after the host was converged; the next run accepts them.

conda-anaconda-tos (0.2.2, commit 06c5dfa) treats a channel whose served terms are newer than the accepted record as
not accepted (conda_anaconda_tos/console/render.py:275-302) and refuses every non-interactive command
(CondaToSNonInteractiveError, :338-341), while `conda tos view` still shows the old, accepted record (:151-180).
The conda stand-in (a TEST DOUBLE) serves a revised version when /etc/torchfleet-standin/anaconda-terms.json holds
one: that file plays repo.anaconda.com's terms.json here.  The case reuses the converged tf-conda host and runs the
miniconda role alone, through the scenario's inventory.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess

CONDA = "/opt/miniconda3/bin/conda"
CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
SERVED = "/etc/torchfleet-standin/anaconda-terms.json"
# Written from the plugin's RemoteToSMetadata fields (conda_anaconda_tos/models.py:17-31).
REVISED = {
    "version": "2026-06-01T00:00:00Z",
    "text": "Revised terms (molecule fixture).",
    "support": "anaconda.com/legal",
}
PLAYBOOK = """\
- name: Run the miniconda role again
  hosts: tf-conda
  gather_facts: true
  roles:
    - role: torchfleet.lab.miniconda
"""
PLAIN = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


def _json(host, cmd):
    out = host.run(cmd)
    return out.rc, (json.loads(out.stdout) if out.stdout.strip() else None), out


def _listing(host):
    args = " ".join(f"--channel={c}" for c in CHANNELS)
    rc, doc, out = _json(host, f"{CONDA} tos --json --ignore-cache --override-channels {args}")
    assert rc == 0, out.stderr
    return doc


def _probe(host):
    # A command the terms plugin checks (plugin.py:352-369) that fails fast afterwards: an unknown package.
    return _json(host, f"{CONDA} install --json -y -n base torchfleet-no-such-package")[1]["exception_name"]


def test_revised_terms_are_accepted_on_the_next_run(conda_host, tmp_path):
    before = _listing(conda_host)
    assert all(before[c]["tos_accepted"] and not before[c]["outdated"] for c in CHANNELS), before
    assert _probe(conda_host) == "PackagesNotFoundError"
    text = shlex.quote(json.dumps(REVISED))
    assert conda_host.run(f"install -d /etc/torchfleet-standin && printf %s {text} > {SERVED}").rc == 0
    try:
        view = _json(conda_host, f"{CONDA} tos view --json")[1]
        assert all(view[c]["tos_accepted"] is True for c in CHANNELS)  # what misled the role before
        assert all(_listing(conda_host)[c]["outdated"] is True for c in CHANNELS)
        assert _probe(conda_host) == "CondaToSNonInteractiveError"

        playbook = tmp_path / "miniconda.yml"
        playbook.write_text(PLAYBOOK)
        cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", "tf-conda", str(playbook)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=PLAIN)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        task = output.split("Accept the current version of Anaconda's channel terms", 1)
        assert len(task) == 2 and task[1].split("TASK [", 1)[0].count("changed: [tf-conda]") == 1, output[-3000:]

        after = _listing(conda_host)
        assert all(after[c]["version"] == REVISED["version"] and not after[c]["outdated"] for c in CHANNELS), after
        assert all(after[c]["path"].startswith("/opt/miniconda3/conda-meta/tos/") for c in CHANNELS)
        assert _probe(conda_host) == "PackagesNotFoundError"
    finally:
        conda_host.run(f"rm -f {SERVED} && rmdir /etc/torchfleet-standin")
