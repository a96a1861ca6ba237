"""A HEAR 2021 module written here, loaded as `hear:MODULE`, checked and evaluated."""
import sys
import textwrap

import pytest

from benchmark import evaluate
from benchmark.upstreams.check import check_upstream
from benchmark.errors import UpstreamError
from benchmark.upstream import load_upstream

MODULE = '''
import torch

class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 32
    timestamp_embedding_size = 32

    def __init__(self, scale=1.0):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(160, 32)
        self.scale = scale


def load_model(model_file_path=""):
    return Model(2.0 if model_file_path else 1.0)


def get_timestamp_embeddings(audio, model):
    n = audio.shape[1] // 160
    frames = audio[:, : n * 160].reshape(audio.shape[0], n, 160)
    emb = torch.tanh(model.proj(frames * 10)) * model.scale
    stamps = (torch.arange(n) * 10.0 + 5.0).expand(audio.shape[0], n)
    return emb, stamps


def get_scene_embeddings(audio, model):
    return get_timestamp_embeddings(audio, model)[0].mean(1)
'''


@pytest.fixture
def hear_module(tmp_path, monkeypatch):
    (tmp_path / "tiny_hear.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tiny_hear"
    sys.modules.pop("tiny_hear", None)


def test_hear_module_is_an_upstream(hear_module, tmp_path):
    up = load_upstream(f"hear:{hear_module}")
    assert up.sample_rate == 16000 and up.hop_ms == pytest.approx(10.0)
    assert all(c.ok for c in check_upstream(up)), [c for c in check_upstream(up) if not c.ok]


def test_weights_argument_reaches_load_model(hear_module, tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x")
    up = load_upstream(f"hear:{hear_module}:{weights}")
    assert up.model.scale == 2.0 and up.earbench_source == f"hear:{hear_module}:{weights}"


def test_hear_module_evaluates(hear_module, tone_task):
    (record,) = evaluate(f"hear:{hear_module}", [tone_task], progress=False)
    assert record["upstream"]["name"] == f"hear:{hear_module}" and record["metrics"]["accuracy"] > 0.5


def test_missing_hear_module_is_clear():
    with pytest.raises(UpstreamError, match="HEAR module 'no_such_hear_mod' cannot be imported"):
        load_upstream("hear:no_such_hear_mod")
