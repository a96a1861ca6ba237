"""What an upstream or an audio file does wrong during extraction reaches the user as one
line naming the culprit, not as a traceback (from the upstream's code, `torch.stack` or a
DataLoader worker)."""
import pytest
import torch

from benchmark import evaluate
from benchmark.errors import AudioError, UpstreamError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import ForwardError, extract
from benchmark.sources.load import load_task
from benchmark.upstream import UPSTREAMS, Encoded
from benchmark.upstreams.check import check_upstream
from models.baselines import LogMel
from tests.support.helpers import run_cli


class Raising(torch.nn.Module):
    sample_rate, hop_ms = 16000, 10.0

    def forward(self, audio, lengths):  # noqa: ANN001, ANN201
        raise ValueError("shape mismatch\nin block 3")


class Ragged(torch.nn.Module):
    """Two layers of different widths: stacking them would fail inside torch."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio, lengths):  # noqa: ANN001, ANN201
        out = self.inner(audio, lengths)
        h = out.hidden_states[-1]
        return Encoded([h, h[..., :32]], out.lengths)


def test_an_exception_in_forward_is_one_line_naming_the_upstream_and_the_file(tone_task):
    with pytest.raises(ForwardError) as caught:
        evaluate(Raising(), [tone_task], name="raising", protocol="knn", progress=False)
    message = str(caught.value)
    assert message.startswith("upstream 'raising' on ") and ".wav" in message
    assert "forward raised ValueError: shape mismatch in block 3" in message and "\n" not in message
    assert isinstance(caught.value, UpstreamError) and isinstance(caught.value.__cause__, ValueError)


def test_layers_of_different_widths_are_refused_before_they_are_stacked(tone_task):
    paths = list(load_task(tone_task).load()["train"]["path"])
    ragged = Ragged()
    ragged.earbench_name = "ragged"
    with pytest.raises(UpstreamError, match=r"upstream 'ragged' on .*: layers have shapes .*same number of frames T "
                                            r"and width D"):
        extract(ragged, paths, task="tones", task_version="1", split="train", progress=False,
                cache=EmbeddingCache())
    assert not list(EmbeddingCache().root.glob("*/*[!l]"))
    checks = {c.name: c for c in check_upstream(ragged)}
    width = LogMel()(torch.zeros(1, 16000), torch.tensor([16000])).hidden_states[-1].shape[-1]
    assert not checks["equal widths across layers"].ok
    assert f"widths [{width}, 32]" in checks["equal widths across layers"].detail
    assert checks["shapes"].ok  # each layer alone is a fine [B, T, D]


def test_a_factory_that_raises_is_one_line_naming_the_upstream(tone_task, capsys, monkeypatch):
    def exploding():
        raise OSError("weights.bin: no such file")

    monkeypatch.setitem(UPSTREAMS._objects, "exploding", exploding)
    code, _, err = run_cli(capsys, "run", "--model", "exploding", "--task", str(tone_task), "--protocol", "knn")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == "error: upstream 'exploding': its factory raised OSError: weights.bin: no such file"


@pytest.mark.parametrize("workers", [0, 2])
def test_an_unreadable_file_read_in_a_worker_is_one_line_naming_it(tone_task, workers):
    paths = list(load_task(tone_task).load()["train"]["path"])
    bad = paths[3]
    with open(bad, "wb") as f:
        f.write(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioError) as caught:
        extract(LogMel(), paths, task="tones", task_version="1", split="train", progress=False, workers=workers)
    message = str(caught.value)
    assert message.startswith(f"{bad}: cannot read audio") and "\n" not in message and "worker" not in message
