"""What a lab admin checks after train.yml ran mnist_cnn across the three fleet hosts."""

from __future__ import annotations

import json
import os
import re

HOSTS = ("tf-fleet-1", "tf-fleet-2", "tf-fleet-3")
TRAINERS = "/opt/torchfleet/trainers"


def _rank_files(report_dir):
    return {host: sorted((report_dir / "metrics" / host).glob("mnist_cnn-ddp.rank*.json")) for host in HOSTS}


def test_every_host_ran_exactly_one_rank_of_a_world_of_three(report_dir, read_json):
    ranks = {}
    for host, files in _rank_files(report_dir).items():
        assert len(files) == 1, f"{host}: {files}"
        result = read_json(files[0])
        assert result["world_size"] == 3
        assert result["status"] == "finished"
        assert result["backend"] == "gloo"
        ranks[result["rank"]] = result
    assert sorted(ranks) == [0, 1, 2]
    # Three containers, three hostnames: the ranks really ran on different hosts.
    assert len({r["hostname"] for r in ranks.values()}) == 3


def test_the_combined_run_finished_on_every_rank_and_the_loss_fell(report_dir, read_json):
    combined = [
        read_json(path) for host in HOSTS for path in (report_dir / "metrics" / host).glob("mnist_cnn-ddp.json")
    ]
    assert len(combined) == 1, "rank 0's host alone writes the combined metrics"
    metrics = combined[0]
    assert metrics["distributed"] is True and metrics["world_size"] == 3
    assert [r["rank"] for r in metrics["ranks"]] == [0, 1, 2]
    assert all(r["status"] == "finished" for r in metrics["ranks"])
    assert metrics["losses"][-1] < metrics["losses"][0]
    assert metrics["test_accuracy"] > 0.2  # a 2-epoch smoke run on 512 real digits; chance is 0.1


def test_linear_regression_loss_fell_on_every_host(report_dir, read_json):
    for host in HOSTS:
        metrics = read_json(report_dir / "metrics" / host / "linear_regression.json")
        assert metrics["losses"][-1] < metrics["losses"][0], host
        assert metrics["hostname"] and metrics["device"] == "cpu"


def test_the_data_on_each_host_is_the_mirror_s_verified_files(hosts):
    for name, host in hosts.items():
        sums = host.check_output(f"cd {TRAINERS}/data/mnist && sha256sum *.gz")
        assert len(sums.splitlines()) == 4, name
        mirrored = host.check_output("python3 -c %s", _FETCH_SUMS)
        assert sorted(sums.split()) == sorted(mirrored.split()), name


_MIRROR = f"http://host.containers.internal:{os.environ.get('TORCHFLEET_MIRROR_PORT', '8765')}"
_FETCH_SUMS = (
    f"import urllib.request; print(urllib.request.urlopen('{_MIRROR}/mnist/SHA256SUMS', timeout=10).read().decode())"
)


def test_the_report_has_a_table_and_a_curve_per_host(report_dir):
    markdown = (report_dir / "fleet-report.md").read_text()
    page = (report_dir / "fleet-report.html").read_text()
    assert "Distributed mnist_cnn: world size 3" in markdown
    assert "3 of 3 ranks finished" in markdown
    for host in HOSTS:
        section = markdown.split(f"## {host}\n", 1)[1].split("\n## ", 1)[0]
        assert re.search(r"^\| linear_regression \| single host \| cpu \|.*\| yes \|", section, re.M), section
        assert re.search(r"^\| mnist_cnn \| rank [0-2] of 3 \|", section, re.M), section
        block = page.split(f'data-host="{host}"', 1)[1].split("</section>", 1)[0]
        assert block.count('<svg class="loss-curve"') >= 2
        assert "<polyline" in block


def test_no_training_process_is_left_behind(hosts, job_processes):
    for name, host in hosts.items():
        assert job_processes(host) == [], name


def test_metrics_on_the_hosts_match_what_the_controller_has(hosts, report_dir, read_json):
    for name, host in hosts.items():
        [path] = host.check_output(f"ls {TRAINERS}/runs/mnist_cnn-ddp-*.rank*.json").split()
        on_host = json.loads(host.file(path).content_string)
        assert on_host == read_json(_rank_files(report_dir)[name][0])


def test_each_host_keeps_torchrun_output_with_its_rank_s_progress(hosts):
    for name, host in hosts.items():
        [path] = host.check_output(f"ls {TRAINERS}/runs/mnist_cnn-ddp-*.log").split()
        log = host.file(path).content_string
        assert re.search(r"^\[mnist_cnn rank [0-2]/3\] epoch 2/2 loss ", log, re.M), (name, log[-2000:])


def test_the_trainers_ran_as_the_unprivileged_account_not_root(hosts):
    # Files a trainer writes belong to the account it ran as; before issue 11 item 9 they were root's.
    for name, host in hosts.items():
        account = host.user("torchfleet-trainer")
        assert account.exists, name
        assert account.uid != 0, name
        assert account.shell == "/usr/sbin/nologin", name
        assert host.file(f"{TRAINERS}/runs").user == "torchfleet-trainer", name
        written = host.check_output(f"ls {TRAINERS}/runs/linear_regression-*.json {TRAINERS}/runs/mnist_cnn-ddp-*.json")
        for path in written.split():
            if not path.endswith(".log"):
                assert host.file(path).user == "torchfleet-trainer", (name, path)
        # The scripts and the data stay root's: the account cannot change what it runs.
        assert host.file(f"{TRAINERS}/scripts/mnist_cnn.py").user == "root", name
        assert host.file(f"{TRAINERS}/data/mnist").user == "root", name
