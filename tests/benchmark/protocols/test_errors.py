"""Bad input to protocols: one clear error each, before any extraction where possible."""
import pytest
import torch

from benchmark import evaluate
from benchmark.errors import ProtocolError
from benchmark.upstream import Encoded
from tests.support.tone_task import write_tone_task
from tests.support.family_tasks import write_sed_task
from tests.support.helpers import Counting, run_cli
from models.baselines import LogMel


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    return {"classification": write_tone_task(root / "tones", per_class=4), "sed": write_sed_task(root / "sed", n=8)}


@pytest.mark.parametrize("kwargs,message", [
    ({"protocol": "bilstm"}, "protocol 'bilstm' does not apply to task 'tones' (family 'classification'); it handles: asr"),
    ({"protocol": "knn", "layer": "weighted"}, "--layer weighted needs a trained head; protocol 'knn' trains nothing"),
    ({"protocol": "qbe", "pooling": "attention"}, "protocol 'qbe' cannot use --pooling attention"),
    ({"pooling": "median"}, "--pooling must be one of mean, max, cls, scene, attention"),
    ({"layer": "top"}, "--layer must be 'last', 'weighted' or an integer, got 'top'"),
    ({"pooling": "cls"}, "--pooling cls needs an upstream whose first frame is a CLS token"),
    ({"train_fraction": 0.0}, "--train-fraction must be in (0, 1], got 0.0"),
])
def test_bad_protocol_settings_fail_before_any_forward(tasks, kwargs, message):
    counting = Counting()
    with pytest.raises(ProtocolError) as err:
        evaluate(counting, [tasks["classification"]], name="counting", progress=False, **kwargs)
    assert message in str(err.value)
    assert counting.calls == 0


def test_layer_index_out_of_range_names_the_upstream_and_its_layers(tasks):
    with pytest.raises(ProtocolError, match=r"layer 4 is out of range: upstream 'random-cnn' has 4 layers \(0\.\.3\)"):
        evaluate("random-cnn", [tasks["classification"]], layer=4, progress=False)


class SceneOnly(torch.nn.Module):
    """An upstream that pools internally: one frame per clip, whatever its length."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio, lengths):
        out = self.inner(audio, lengths)
        return Encoded([out.hidden_states[0].mean(1, keepdim=True)], torch.ones_like(out.lengths))


def test_frame_task_on_an_upstream_without_frames(tasks):
    with pytest.raises(ProtocolError, match="needs frame embeddings, but upstream 'scene-only' returned a single frame"):
        evaluate(SceneOnly(), [tasks["sed"]], name="scene-only", progress=False)
    flagged = SceneOnly()
    flagged.frames = False
    with pytest.raises(ProtocolError, match="needs frame embeddings, but upstream 'flagged' gives one embedding per clip"):
        evaluate(flagged, [tasks["sed"]], name="flagged", progress=False)


def test_cli_exposes_protocol_options_and_reports_errors_in_one_line(tasks, tmp_path, capsys):
    task = str(tasks["classification"])
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", task, "--protocol", "knn", "--layer", "weighted",
                             "--results", str(tmp_path))
    assert code == 2 and "--layer weighted needs a trained head" in " ".join(err.split())
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", task, "-o", "max_epochs", "--results", str(tmp_path))
    assert code == 2 and "--option expects KEY=VALUE" in err
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", task, "--protocol", "mlp", "-o", "max_epochs=20",
                             "-o", "hidden=32", "--train-fraction", "0.5", "--seeds", "2", "--results", str(tmp_path))
    assert code == 0, err
    assert "mlp frac=0.5" in out and "items+seeds" in out
    import json
    records = [json.loads(p.read_text()) for p in tmp_path.rglob("seed*.json")]
    assert len(records) == 2 and all(r["protocol"]["options"] == {"max_epochs": 20, "hidden": 32} for r in records)
    code, out, _ = run_cli(capsys, "list", "protocols")
    assert out.split() == ["bilstm", "finetune", "knn", "linear", "mlp", "qbe", "zeroshot"]
