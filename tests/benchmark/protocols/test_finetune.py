"""Fine-tuning: end-to-end training on a copy of the encoder, layer-wise learning rates."""
import pytest
import torch

from benchmark import evaluate
from benchmark.protocols.finetune import encoder_groups, layer_depths
from tests.support.tone_task import write_tone_task
from models.baselines import RandomCNN, RandomTransformer


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return write_tone_task(tmp_path_factory.mktemp("ft") / "tones", per_class=8)


def test_finetune_trains_a_copy_and_leaves_the_upstream_untouched(tones):
    upstream = RandomCNN()
    before = {k: v.clone() for k, v in upstream.state_dict().items()}
    (record,) = evaluate(upstream, [tones], protocol="finetune", layer="weighted",
                         options={"max_epochs": 20, "patience": 10, "batch_size": 4, "head_lr": 3e-3, "encoder_lr": 1e-4,
                                  "layer_decay": 0.5},
                         name="cnn", progress=False)
    chosen = record["protocol"]["chosen"]
    assert record["metrics"]["accuracy"] >= 0.6
    assert chosen["encoder_lr"] == 1e-4 and chosen["head_lr"] == 3e-3 and chosen["layer_decay"] == 0.5 and chosen["encoder_params"] > 0
    assert len(chosen["layer_weights"]) == 4 and chosen["autocast"] == "off"
    assert all(torch.equal(before[k], v) for k, v in upstream.state_dict().items())


def test_layer_depths_give_lower_layers_smaller_learning_rates():
    model = RandomTransformer(layers=2)
    depths, top = layer_depths(model)
    assert depths["project.weight"] == 0 and depths["layers.0.linear1.weight"] == 1
    assert depths["layers.1.norm2.bias"] == 2 and top == 3
    groups = encoder_groups(model, lr=1.0, decay=0.5)
    assert [g["lr"] for g in groups] == [0.125, 0.25, 0.5]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
