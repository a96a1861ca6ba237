"""Frame caches against a disk budget: the estimate, the choice to stream, and streamed heads
scoring as the cached ones do."""
import numpy as np
import pytest

from benchmark import evaluate
from benchmark.errors import EarbenchError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.frame_budget import estimate_frames, parse_size
from benchmark.protocols import RunContext
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.upstream import load_upstream
from tests.support.family_tasks import write_asr_task, write_sed_task, write_tagging_task


def test_sizes_parse_in_decimal_and_binary_units():
    assert parse_size("40GB") == 40 * 10 ** 9
    assert parse_size("1.5 TiB") == int(1.5 * 2 ** 40)
    assert parse_size("500mb") == 500 * 10 ** 6 and parse_size(2048) == 2048
    for bad in ("lots", "-3GB", "0", "12 parsecs"):
        with pytest.raises(EarbenchError, match="--cache-budget"):
            parse_size(bad)


@pytest.fixture(scope="module")
def asr_task(tmp_path_factory):
    return write_asr_task(tmp_path_factory.mktemp("asr") / "letters")


def entry_bytes(cache: EmbeddingCache) -> int:
    """What the frame entries' data arrays take on disk."""
    return sum(f.stat().st_size for f in cache.root.rglob("*.npy") if f.name.startswith("data"))


def test_the_estimate_is_the_size_of_the_entries_made(asr_task, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    spec = load_task(asr_task)
    upstream = load_upstream("logmel")
    ctx = RunContext(upstream, spec, spec.load(), RunSettings(protocol="bilstm", progress=False), cache=cache)
    estimate = ctx.frame_estimate
    assert estimate.layers == 1 and estimate.dim == 64
    paths = [p for split in ("test", "train", "valid") for p in spec.load()[split]["path"]]
    assert estimate == estimate_frames(upstream, paths, "last")
    evaluate("logmel", [asr_task], protocol="bilstm", cache=cache, progress=False,
             options={"hidden": 8, "max_epochs": 1, "patience": 1})
    made = entry_bytes(cache)
    assert made > 0 and abs(estimate.bytes - made) / made < 0.05  # a frame per hop of audio, float16
    assert RunContext(upstream, spec, spec.load(), RunSettings(protocol="bilstm"), cache=cache).frame_estimate is None


def test_over_the_budget_a_ctc_head_streams_its_frames_and_scores_as_cached(asr_task, tmp_path):
    options = {"hidden": 8, "max_epochs": 3, "patience": 3}
    cached = evaluate("logmel", [asr_task], protocol="bilstm", cache=EmbeddingCache(tmp_path / "a"),
                      progress=False, options=options)[0]
    streamed_cache = EmbeddingCache(tmp_path / "b")
    plan = plan_suite(["logmel"], [asr_task], RunSettings(protocol="bilstm", cache_budget=1000, progress=False,
                                                          options=options, cache_root=streamed_cache.root))
    assert [j.kind for j in plan.jobs] == ["probe"]  # nothing to extract
    (note,) = plan.notes
    assert "= 438 kB against a cache budget of 1 kB: streamed" in note and "34.3 s of audio, ~3,418 frames x 1 layer(s) x 64" in note
    streamed = evaluate("logmel", [asr_task], protocol="bilstm", cache=streamed_cache, progress=False,
                        options=options, cache_budget=1000)[0]
    assert not any(streamed_cache.root.rglob("*.npy"))  # no frame entry written
    assert streamed["metrics"]["cer"] == pytest.approx(cached["metrics"]["cer"], abs=0.02)
    assert streamed["protocol"]["chosen"]["valid_cer"] == pytest.approx(cached["protocol"]["chosen"]["valid_cer"],
                                                                        abs=0.02)


def test_attention_pooling_streams_with_every_layer_for_weighted(tmp_path):
    task = write_tagging_task(tmp_path / "tags", n=24)
    kwargs = dict(pooling="attention", layer="weighted", progress=False, options={"max_epochs": 5, "patience": 5})
    cached = evaluate("random-cnn", [task], cache=EmbeddingCache(tmp_path / "a"), **kwargs)[0]
    streamed = evaluate("random-cnn", [task], cache=EmbeddingCache(tmp_path / "b"), cache_budget="1kB", **kwargs)[0]
    assert len(streamed["protocol"]["chosen"]["layer_weights"]) == len(cached["protocol"]["chosen"]["layer_weights"])
    assert streamed["metrics"]["mAP"] == pytest.approx(cached["metrics"]["mAP"], abs=0.03)
    assert np.allclose(streamed["protocol"]["chosen"]["layer_weights"], cached["protocol"]["chosen"]["layer_weights"],
                       atol=0.02)


def test_a_head_that_reads_cached_frames_is_refused_over_the_budget_before_any_work(tmp_path):
    task = write_sed_task(tmp_path / "events", n=8)
    cache = EmbeddingCache(tmp_path / "cache")
    with pytest.raises(EarbenchError, match=r"events.*over the cache budget of 1 kB.*raise --cache-budget"):
        evaluate("logmel", [task], cache=cache, cache_budget=1000, progress=False)
    assert not any(cache.root.rglob("*.npy"))


def test_the_command_line_prints_the_estimate_before_the_run(asr_task, tmp_path, capsys, monkeypatch):
    from tests.support.helpers import run_cli
    monkeypatch.setenv("EARBENCH_HOME", str(tmp_path / "home"))
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(asr_task), "--protocol", "bilstm",
                             "-o", "hidden=8", "-o", "max_epochs=1", "--cache-budget", "100kB",
                             "--results", str(tmp_path / "r"))
    assert code == 0, err
    text = " ".join((out + err).split())
    assert "frames of letters with logmel: 34.3 s of audio" in text and "budget of 100 kB: streamed" in text
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(asr_task), "--cache-budget", "lots")
    assert code != 0 and "--cache-budget 'lots'" in err


def test_frames_pooled_by_hand_keep_their_cls_frames():
    from benchmark.features.extract import pool_frames
    item = np.arange(12, dtype=np.float32).reshape(6, 1, 2)  # frame t holds [2t, 2t + 1]
    pooled = pool_frames(item, 2, skip=1)  # CLS frame 0 kept; frames 1-2, 3-4 and 5 (alone) averaged
    assert pooled.shape == (4, 1, 2)
    assert pooled[:, 0, 0].tolist() == [0.0, 3.0, 7.0, 10.0]
    assert pool_frames(item, 1) is item


def test_a_frame_hop_pools_the_cached_frames_and_names_the_variant(tmp_path):
    task = write_sed_task(tmp_path / "events", n=8)
    base, pooled = EmbeddingCache(tmp_path / "a"), EmbeddingCache(tmp_path / "b")
    evaluate("logmel", [task], cache=base, progress=False)
    (record,) = evaluate("logmel", [task], cache=pooled, progress=False, frame_hop=40, results=tmp_path / "r")
    assert record["protocol"]["frame_hop"] == 40.0
    assert (tmp_path / "r" / "logmel" / "events" / "linear-hop_40-layer_last-mean" / "seed0.json").is_file()
    assert 0.22 < entry_bytes(pooled) / entry_bytes(base) < 0.28  # 10 ms frames averaged 4 at a time
    spec = load_task(task)
    ctx = RunContext(load_upstream("logmel"), spec, spec.load(), RunSettings(frame_hop=40),
                     cache=EmbeddingCache(tmp_path / "c"))
    assert ctx.hop_ms == 40.0 and abs(ctx.frame_estimate.bytes - entry_bytes(pooled)) / entry_bytes(pooled) < 0.05


@pytest.mark.parametrize("hop, task, message", [
    (15, "sed", r"--frame-hop 15: upstream 'logmel' has 10 ms frames; the hop must be a whole multiple"),
    (40, "tagging", r"--frame-hop applies to frame embeddings, but task 'tags' \(tagging\)"),
])
def test_a_frame_hop_that_cannot_apply_is_refused_before_any_work(tmp_path, hop, task, message):
    path = write_sed_task(tmp_path / "events", n=8) if task == "sed" else write_tagging_task(tmp_path / "tags", n=12)
    cache = EmbeddingCache(tmp_path / "cache")
    with pytest.raises(EarbenchError, match=message):
        evaluate("logmel", [path], cache=cache, progress=False, frame_hop=hop)
    assert not any(cache.root.rglob("*.npy"))
