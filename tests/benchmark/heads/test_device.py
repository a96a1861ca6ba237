"""Heads train on the device a run names (`--device`): batches move there, outputs come back
to the host, and a bf16-autocast training step gives the scores of float32 within tolerance
(checked here with the CPU's bf16 autocast; `scripts/gpu_check.sh` runs the CUDA side)."""
import pytest
import torch

from benchmark import evaluate
from benchmark.errors import ProtocolError
from benchmark.heads import grid
from benchmark.device import probe_device, to_device
from benchmark.settings import RunSettings
from tests.support.tone_task import write_tone_task


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return write_tone_task(tmp_path_factory.mktemp("tones") / "tones", per_class=16)


def test_to_device_moves_tensors_in_nested_batches_and_keeps_the_rest():
    batch = ((torch.ones(2), torch.zeros(2, dtype=torch.bool)), {"y": torch.arange(2)}, [3, "a"])
    moved = to_device(batch, torch.device("meta"))
    assert moved[0][0].device.type == "meta" and moved[0][1].dtype == torch.bool
    assert moved[1]["y"].device.type == "meta" and moved[2] == [3, "a"]


def test_the_default_device_is_the_gpu_when_one_is_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert probe_device(None) == torch.device("cuda") and probe_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert probe_device(None) == torch.device("cpu")


def test_a_named_device_gives_the_same_record_and_is_no_part_of_its_identity(tones, tmp_path):
    (default,) = evaluate("logmel", [tones], protocol="mlp", options={"hidden": 32, "max_epochs": 30},
                          progress=False)
    (named,) = evaluate("logmel", [tones], protocol="mlp", options={"hidden": 32, "max_epochs": 30},
                        progress=False, device="cpu")
    assert named["metrics"] == default["metrics"] and named["protocol"] == default["protocol"]
    assert RunSettings(device="cpu").identity() == RunSettings().identity()


def test_a_bf16_autocast_training_step_scores_as_float32_within_tolerance(monkeypatch):
    """An MLP grid on overlapping Gaussian classes, trained as on CUDA (bf16 autocast, here the
    CPU's) and in float32: the weights differ, the valid accuracies agree within 0.03."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(6, 32, generator=gen)
    y = torch.randint(0, 6, (1200,), generator=gen)
    x = centres[y] + 3.0 * torch.randn(1200, 32, generator=gen)
    train, valid = slice(0, 900), slice(900, None)

    def fit():
        head = grid.GridHead(2, 32, 6, hidden=[64], generator=torch.Generator().manual_seed(0))
        batches = lambda g: [((x[train][i],), y[train][i]) for i in grid.minibatches(900, 128, g)]  # noqa: E731
        validate = lambda h: (grid.grid_accuracy(h(x[valid]), y[valid]),  # noqa: E731
                              grid.grid_cross_entropy(h(x[valid]), y[valid]))
        return grid.fit_grid(head, [{"lr": 1e-3}, {"lr": 3e-3}], batches, grid.grid_cross_entropy, validate,
                             max_epochs=60, patience=10, converge=False)

    full = fit()
    monkeypatch.setattr(grid, "autocast", lambda device: torch.autocast("cpu", dtype=torch.bfloat16))
    half = fit()
    assert not torch.equal(full.head.weights[0], half.head.weights[0])  # bf16 did run
    assert 0.4 < full.chosen["valid_score"] < 0.95  # neither trivial nor hopeless
    assert abs(full.chosen["valid_score"] - half.chosen["valid_score"]) <= 0.03


@pytest.mark.parametrize("name, message", [("nonsense", "--device 'nonsense' is not a device"),
                                           ("cuda:0", "--device 'cuda:0': no CUDA device is visible")])
def test_a_bad_device_is_refused_before_any_work(name, message, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ProtocolError, match=message):
        RunSettings(device=name)
