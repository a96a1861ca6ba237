"""Sound event detection: frame targets, post-processing by hand, and the frame head end to end."""
import numpy as np
import pandas as pd
import pytest

from benchmark import evaluate
from benchmark.heads.postprocess import PostProcessing, choose, decode, score_frames
from benchmark.protocols.sed import frame_targets
from tests.support.family_tasks import write_sed_task

HOP = 0.1  # seconds per frame in the hand-worked cases


def test_decode_thresholds_filters_and_drops_short_events():
    p = np.zeros((20, 2), dtype=np.float32)
    p[2:8, 0] = 0.9        # an event of 0.6 s
    p[5, 0] = 0.1          # a one-frame dropout inside it: the median filter closes it
    p[12, 0] = 0.8         # a one-frame blip: the median filter removes it
    p[10:12, 1] = 0.6      # 0.2 s of class b: kept at threshold 0.5, dropped by a 0.3 s minimum
    assert decode(p, HOP, ["a", "b"], PostProcessing(0.5, median_ms=0, min_duration_ms=0)) == [
        (0.2, 0.5, "a"), (0.6, 0.8, "a"), (1.0, 1.2, "b"), (1.2, 1.3, "a")]
    assert decode(p, HOP, ["a", "b"], PostProcessing(0.5, median_ms=300, min_duration_ms=0)) == [
        (0.2, 0.8, "a"), (1.0, 1.2, "b")]
    assert decode(p, HOP, ["a", "b"], PostProcessing(0.5, median_ms=300, min_duration_ms=300)) == [(0.2, 0.8, "a")]
    assert decode(p, HOP, ["a", "b"], PostProcessing((0.5, 0.7), median_ms=300)) == [(0.2, 0.8, "a")]


def test_frame_targets_label_frames_whose_centre_lies_in_an_event():
    manifest = pd.DataFrame({"events": [[(0.15, 0.35, "b")], []]})
    y = frame_targets(manifest, np.array([0, 5, 8]), HOP, ["a", "b"])
    # centres 0.05 0.15 0.25 0.35 0.45: frames 1 and 2 are inside [0.15, 0.35)
    assert y[:, 1].tolist() == [0, 1, 1, 0, 0, 0, 0, 0] and not y[:, 0].any()


def test_choose_adapts_the_threshold_to_a_badly_calibrated_head():
    rng = np.random.default_rng(0)
    probs, reference = {}, {}
    for i in range(6):
        p = rng.uniform(0, 0.05, (40, 1)).astype(np.float32)
        on = int(rng.integers(0, 25))
        p[on: on + 10, 0] = 0.25  # confident but scaled down: 0.5 would detect nothing
        probs[f"f{i}"], reference[f"f{i}"] = p, [(on * HOP, (on + 10) * HOP, "a")]
    pp, score = choose(probs, reference, HOP, ["a"], "event_onset_200ms_fms")
    assert pp.threshold <= 0.2 and score == pytest.approx(1.0)


def test_score_frames_are_in_sed_scores_eval_format():
    frame = score_frames(np.array([[0.1, 0.9], [0.2, 0.8]]), HOP, ["a", "b"])
    assert list(frame.columns) == ["onset", "offset", "a", "b"]
    assert frame["offset"].tolist() == pytest.approx([0.1, 0.2])


@pytest.fixture(scope="module")
def sed_task(tmp_path_factory):
    root = write_sed_task(tmp_path_factory.mktemp("sed") / "events")
    toml = root / "task.toml"
    toml.write_text(toml.read_text() + 'metrics = ["event_onset_200ms_fms", "segment_1s_er", "psds1"]\n')
    return root


@pytest.mark.parametrize("protocol", ["linear", "knn"])
def test_frame_head_detects_tone_events(sed_task, protocol):
    options = {"max_epochs": 150, "patience": 20} if protocol == "linear" else {}  # knn trains nothing
    (record,) = evaluate("logmel", [sed_task], protocol=protocol, options=options, progress=False)
    metrics, chosen = record["metrics"], record["protocol"]["chosen"]
    assert metrics["event_onset_200ms_fms"] >= 0.8 and metrics["segment_1s_er"] <= 0.4
    assert 0.3 <= metrics["psds1"] <= 1.0
    assert set(chosen["postprocessing"]) == {"threshold", "median_ms", "min_duration_ms"}
    assert chosen["postprocessing_metric"] == "event_onset_200ms_fms"
