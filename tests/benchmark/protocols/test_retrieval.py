"""Retrieval (two-tower, caption neighbours) and zero-shot scoring in a shared audio-text space."""
import pytest
import torch

from benchmark import evaluate
from benchmark.errors import ProtocolError
from benchmark.heads.text_encoder import WordVocabulary
from tests.support.tone_task import write_tone_task
from tests.support.family_tasks import TONES, write_retrieval_task, write_tagging_task
from models.baselines import LogMel


class ToneCLAP(torch.nn.Module):
    """A toy audio-text model: both towers map to 'how much low / mid / high tone'."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio, lengths):
        return self.inner(audio, lengths)

    def embed_audio(self, audio, lengths):
        spectrum = torch.fft.rfft(audio).abs()
        freqs = torch.fft.rfftfreq(audio.shape[1], 1 / self.sample_rate)
        bands = [((freqs - f).abs() < 0.06 * f).float() for f in TONES.values()]
        return torch.stack([(spectrum * b).sum(1) for b in bands], dim=1)

    def embed_text(self, texts):
        words = {"low": {"low", "deep"}, "mid": {"mid", "middle"}, "high": {"high", "shrill"}}
        return torch.tensor([[float(bool(words[name] & set(t.split()))) + 1e-3 for name in TONES] for t in texts])


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrieval")
    return {"retrieval": write_retrieval_task(root / "captions"), "classification": write_tone_task(root / "tones"),
            "tagging": write_tagging_task(root / "tags")}


def test_two_tower_alignment_beats_chance(tasks):
    (record,) = evaluate("logmel", [tasks["retrieval"]], options={"max_epochs": 60, "patience": 20}, progress=False)
    chance_r5 = 5 / record["task"]["n"]["test"]
    assert record["metrics"]["r@5"] > chance_r5 + 0.2
    assert set(record["metrics"]) == {"r@1", "r@5", "r@10", "mAP@10"}
    assert record["protocol"]["chosen"]["text_encoder"] == "bag-of-words"


def test_caption_neighbours_need_no_training(tasks):
    (record,) = evaluate("logmel", [tasks["retrieval"]], protocol="knn", progress=False)
    assert record["metrics"]["r@5"] > 5 / record["task"]["n"]["test"] + 0.2
    assert record["protocol"]["chosen"]["k"] >= 1


@pytest.mark.parametrize("family,metric,floor", [("classification", "accuracy", 0.95), ("tagging", "mAP", 0.9),
                                                 ("retrieval", "mAP@10", 0.6)])
def test_zeroshot_uses_the_upstreams_text_tower(tasks, family, metric, floor):
    (record,) = evaluate(ToneCLAP(), [tasks[family]], protocol="zeroshot", prompts=["a {label} tone"],
                         progress=False)
    assert record["metrics"][metric] >= floor
    if family != "retrieval":
        assert record["protocol"]["chosen"]["prompts"] == ["a {label} tone"]


def test_zeroshot_without_a_text_tower_is_refused_before_any_work(tasks):
    with pytest.raises(ProtocolError, match="needs an upstream with a text tower, but 'logmel' has no embed_text"):
        evaluate("logmel", [tasks["classification"]], protocol="zeroshot", progress=False)


def test_prompt_templates_must_name_the_label(tasks):
    with pytest.raises(ProtocolError, match="no {label} placeholder"):
        evaluate(ToneCLAP(), [tasks["classification"]], protocol="zeroshot", prompts=["a tone"], progress=False)


def test_word_vocabulary_maps_unknown_words_to_unk():
    vocab = WordVocabulary(["A low tone", "a high tone"])
    ids, offsets = vocab.encode(["low tone", "purple"])
    assert vocab.words == ["a", "high", "low", "tone"]
    assert ids.tolist() == [3, 4, 0] and offsets.tolist() == [0, 2]
