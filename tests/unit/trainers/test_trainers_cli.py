"""The trainers run end to end as a user (or the role) runs them: a subprocess writing JSON."""

from __future__ import annotations

import json
import math

import pytest
import torch

COMMON_KEYS = {"losses", "final_loss", "device", "torch_version", "seconds", "epochs", "seed", "model"}


def _no_traceback(result):
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def test_linear_recipe_points(run, tmp_path, linear_mod):
    output = tmp_path / "out" / "linear.json"
    result = run("linear_regression.py", "--epochs", 150, "--device", "cpu", "--output", output)
    assert result.returncode == 0, result.stderr
    assert "epoch 150/150 loss" in result.stdout
    metrics = json.loads(output.read_text())
    assert metrics.keys() >= COMMON_KEYS | {"weights", "bias"}
    assert metrics["data"] == "recipe"
    assert metrics["epochs"] == 150
    assert len(metrics["losses"]) == 150
    assert metrics["final_loss"] == metrics["losses"][-1]
    assert metrics["final_loss"] < metrics["losses"][0] / 1000
    assert metrics["weights"] == [pytest.approx(2.0, abs=0.01)]
    assert metrics["bias"] == pytest.approx(0.0, abs=0.01)
    assert metrics["device"] == "cpu"
    assert metrics["torch_version"] == torch.__version__
    assert metrics["seed"] == 0
    assert metrics["seconds"] > 0
    # The state_dict lies beside the JSON and predicts in the data's own units.
    assert metrics["model"] == str(tmp_path / "out" / "linear.pt")
    model = torch.nn.Linear(1, 1)
    model.load_state_dict(torch.load(metrics["model"]))
    assert model(torch.tensor([[10.0]])).item() == pytest.approx(20.0, abs=0.1)


def test_linear_recovers_a_known_function(run, tmp_path, harness_dir):
    data = tmp_path / "linear.csv"
    made = run(
        harness_dir / "make_linear_csv.py",
        *("--out", data, "--weights", "2,-3.5", "--bias", 0.5, "--rows", 256, "--noise", 0.01, "--seed", 0),
    )
    assert made.returncode == 0, made.stderr
    lines = data.read_text().splitlines()
    assert lines[0] == "x1,x2,y"
    assert len(lines) == 257
    output = tmp_path / "fit.json"
    model = tmp_path / "models" / "fit.pt"
    result = run("linear_regression.py", "--data", data, "--output", output, "--model", model, "--seed", 3)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(output.read_text())
    assert metrics["rows"] == 256
    assert metrics["features"] == ["x1", "x2"]
    assert metrics["seed"] == 3
    assert metrics["weights"] == [pytest.approx(2.0, abs=0.05), pytest.approx(-3.5, abs=0.05)]
    assert metrics["bias"] == pytest.approx(0.5, abs=0.05)
    assert metrics["final_loss"] < 0.001  # noise variance is 1e-4
    assert model.is_file()
    assert metrics["model"] == str(model)


def test_linear_without_output_prints_json_only_on_stdout(linear_mod, capsys):
    assert linear_mod.main(["--epochs", "3"]) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    assert len(metrics["losses"]) == 3
    assert "model" not in metrics
    assert "epoch 3/3 loss" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/data.csv"], "linear_regression: error: /nonexistent/data.csv: cannot read"),
        (["--device", "quantum"], "linear_regression: error: --device 'quantum' is not a device name"),
    ],
    ids=["missing-csv", "bad-device"],
)
def test_linear_errors_exit_2(linear_mod, capsys, args, message):
    assert linear_mod.main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[0].startswith(message)
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
@pytest.mark.parametrize("module", ["linear_mod", "cnn_mod"])
def test_unavailable_cuda_is_a_clear_error(request, capsys, module, mnist_files):
    mod = request.getfixturevalue(module)
    args = ["--device", "cuda"]
    if module == "cnn_mod":
        args += ["--data-dir", str(mnist_files()["train_images"].parent)]
    assert mod.main(args) == 2
    assert "--device cuda requested but CUDA is not available" in capsys.readouterr().err


def test_cnn_small_run(run, tmp_path, digits_gz_dir, cnn_mod):
    data_dir = digits_gz_dir
    output = tmp_path / "cnn.json"
    result = run("mnist_cnn.py", "--data-dir", data_dir, "--epochs", 1, "--limit", 200, "--output", output)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1 loss" in result.stdout
    assert "test accuracy" in result.stdout
    metrics = json.loads(output.read_text())
    assert metrics.keys() >= COMMON_KEYS | {"test_accuracy", "train_samples", "test_samples"}
    assert metrics["train_samples"] == 200
    assert metrics["test_samples"] == 200
    assert metrics["epochs"] == 1
    assert len(metrics["losses"]) == 1
    assert math.isfinite(metrics["final_loss"])
    assert metrics["final_loss"] < math.log(10) + 0.1  # below chance after one epoch
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["device"] == str(cnn_mod.select_device("auto"))
    assert metrics["distributed"] is False
    model = cnn_mod.MnistCNN()
    model.load_state_dict(torch.load(tmp_path / "cnn.pt"))
    assert model.classifier.weight.shape == (10, 32 * 7 * 7)


def test_cnn_runs_are_reproducible_on_plain_files(cnn_mod, digits_dir, tmp_path, capsys):
    outputs = [tmp_path / "a.json", tmp_path / "b.json"]
    for output in outputs:
        argv = ["--data-dir", str(digits_dir), "--epochs", "1", "--limit", "128", "--device", "cpu", "--seed", "7"]
        assert cnn_mod.main([*argv, "--output", str(output)]) == 0
    first, second = (json.loads(path.read_text()) for path in outputs)
    assert first["seed"] == 7
    assert first["losses"] == second["losses"]
    assert first["test_accuracy"] == second["test_accuracy"]
    assert capsys.readouterr().out.count("epoch 1/1 loss") == 2


def test_cnn_corrupt_data_exits_2_naming_the_file(run, mnist_files):
    paths = mnist_files(train=12)
    paths["train_labels"].write_bytes(paths["train_labels"].read_bytes()[:-3])
    result = run("mnist_cnn.py", "--data-dir", paths["train_labels"].parent, "--epochs", 1)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"mnist_cnn: error: {paths['train_labels']}: truncated payload, the header promises 12 = 12 bytes"
        " but only 9 follow"
    ]
    _no_traceback(result)


def test_cnn_missing_data_exits_2(cnn_mod, tmp_path, capsys):
    assert cnn_mod.main(["--data-dir", str(tmp_path), "--epochs", "1"]) == 2
    assert f"mnist_cnn: error: {tmp_path / 'train-images-idx3-ubyte'}: missing" in capsys.readouterr().err


def test_distributed_outside_torchrun_is_a_clear_error(cnn_mod, digits_dir, tmp_path, capsys, monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    argv = ["--distributed", "--data-dir", str(digits_dir), "--limit", "16", "--output", str(tmp_path / "m.json")]
    assert cnn_mod.main(argv) == 2
    assert "--distributed must be launched by torchrun" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


@pytest.mark.slow
def test_cnn_reaches_90_percent_on_digits_in_5_epochs(run, digits_dir, tmp_path):
    output = tmp_path / "digits.json"
    result = run("mnist_cnn.py", "--data-dir", digits_dir, "--epochs", 5, "--device", "cpu", "--output", output)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(output.read_text())
    assert metrics["train_samples"] == 1437
    assert metrics["test_samples"] == 360
    assert len(metrics["losses"]) == 5
    assert metrics["losses"][-1] < metrics["losses"][0] / 4
    assert metrics["test_accuracy"] >= 0.90, metrics
