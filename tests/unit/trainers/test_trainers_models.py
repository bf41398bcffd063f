"""Models and training steps, in process: shapes, falling loss, the recipe's y = 2x."""

from __future__ import annotations

import pytest
import torch


def test_cnn_shapes(cnn_mod):
    model = cnn_mod.MnistCNN()
    batch = torch.zeros(3, 1, 28, 28)
    assert tuple(model.features(batch).shape) == (3, 32, 7, 7)
    assert model.classifier.in_features == 32 * 7 * 7
    assert tuple(model(batch).shape) == (3, 10)


def test_cnn_loss_falls_on_a_fixed_batch(cnn_mod):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (16, 28, 28), dtype=torch.uint8)
    labels = torch.arange(16) % 10
    inputs = cnn_mod.to_inputs(images)
    assert tuple(inputs.shape) == (16, 1, 28, 28)
    model = cnn_mod.MnistCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _step in range(15):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(2.3, abs=0.3)  # chance level for 10 classes: ln 10
    assert losses[-1] < 0.5 * losses[0]


def test_recipe_points_give_weight_two(linear_mod):
    x = torch.tensor(linear_mod.RECIPE_X)
    y = torch.tensor(linear_mod.RECIPE_Y)
    assert tuple(y.shape) == (3, 1)
    model, losses = linear_mod.train(x, y, linear_mod.Fit(epochs=200, lr=0.1, batch_size=64, seed=0), device="cpu")
    assert len(losses) == 200
    assert losses[-1] < losses[0] / 1000
    assert model.weight.item() == pytest.approx(2.0, abs=0.01)
    assert model.bias.item() == pytest.approx(0.0, abs=0.01)
    assert model(torch.tensor([[4.0]])).item() == pytest.approx(8.0, abs=0.02)


def test_linear_loss_falls_in_a_few_steps_and_fits_off_scale_data(linear_mod):
    torch.manual_seed(1)
    x = torch.randn(32, 3) * 10 + 5  # features far from unit scale, where a fixed raw-scale SGD step diverges
    y = x @ torch.tensor([[1.5], [-2.0], [0.25]]) + 3.0
    losses = linear_mod.train(x, y, linear_mod.Fit(epochs=5, lr=0.1, batch_size=8, seed=0), device="cpu")[1]
    assert losses[-1] < losses[0] / 3
    model, losses = linear_mod.train(x, y, linear_mod.Fit(epochs=150, lr=0.1, batch_size=8, seed=0), device="cpu")
    assert model.weight[0].tolist() == pytest.approx([1.5, -2.0, 0.25], abs=0.01)
    assert model.bias.item() == pytest.approx(3.0, abs=0.05)
    assert losses[-1] < 1e-4


def test_linear_refuses_the_recipes_flat_target(linear_mod):
    x = torch.tensor(linear_mod.RECIPE_X)
    with pytest.raises(ValueError, match=r"target must have shape \(3, 1\)"):
        linear_mod.train(
            x, torch.tensor([2.0, 4.0, 6.0]), linear_mod.Fit(epochs=1, lr=0.1, batch_size=4, seed=0), device="cpu"
        )


def test_linear_training_is_deterministic(linear_mod):
    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    y = 3 * x - 1
    first = linear_mod.train(x, y, linear_mod.Fit(epochs=3, lr=0.1, batch_size=4, seed=5), device="cpu")[1]
    second = linear_mod.train(x, y, linear_mod.Fit(epochs=3, lr=0.1, batch_size=4, seed=5), device="cpu")[1]
    assert first == second


@pytest.mark.parametrize("module", ["linear_mod", "cnn_mod"])
def test_device_selection(module, request):
    mod = request.getfixturevalue(module)
    assert mod.select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if mod.mps_available() else "cpu")
    assert mod.select_device("auto").type == expected
    with pytest.raises(mod.UsageError, match=r"'tpu9' is not a device name"):
        mod.select_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(mod.UsageError, match=r"--device cuda requested but CUDA is not available"):
            mod.select_device("cuda")
    else:
        with pytest.raises(mod.UsageError, match=r"CUDA device\(s\) exist"):
            mod.select_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty file"),
        ("x1,x2\n1,2\n", r"must name the features then y"),
        ("x1,y\n1,2\n3\n", r"line 3 has 1 columns, the header has 2"),
        ("x1,y\n1,2\n3,abc\n", r"line 3: could not convert string to float"),
        ("x1,y\n1,nan\n", r"line 2: values must be finite"),
        ("x1,y\n", r"no data rows"),
    ],
    ids=["empty", "no-y", "ragged", "text", "nan", "header-only"],
)
def test_csv_errors(linear_mod, tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(linear_mod.UsageError, match=message):
        linear_mod.read_csv(str(path))


def test_csv_reads_features_and_target(linear_mod, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,2,3\n4,5,6\n\n")
    assert linear_mod.read_csv(str(path)) == (["a", "b"], [[1.0, 2.0], [4.0, 5.0]], [[3.0], [6.0]])
