"""The embedding cache: warm runs do no forward, interrupted runs resume, nothing half-written."""
import numpy as np
import pytest

from benchmark import evaluate
from benchmark.features.cache import EmbeddingCache
from benchmark.errors import UpstreamError
from benchmark.features.extract import ExtractStats, extract
from benchmark.sources.load import load_task
from tests.support.helpers import Broken, Counting


def paths_of(task_dir, split="train"):
    return list(load_task(task_dir).load()[split]["path"])


def test_warm_cache_makes_no_forward_call(tone_task):
    first = Counting()
    a = evaluate(first, [tone_task], name="counting", progress=False)
    assert first.calls > 0
    second = Counting()
    b = evaluate(second, [tone_task], name="counting", progress=False)
    assert second.calls == 0
    assert a[0]["metrics"] == b[0]["metrics"]


def test_cache_is_float16_memmap_with_all_layers(tone_task):
    from models.baselines import RandomCNN
    emb = extract(RandomCNN(), paths_of(tone_task), task="tones", task_version="1", split="train", progress=False)
    assert emb.data.dtype == np.float16 and isinstance(emb.data, np.memmap)
    assert emb.data.shape == (len(paths_of(tone_task)), 4, 256)


def test_frames_are_cached_per_item(tone_task):
    from models.baselines import LogMel
    paths = paths_of(tone_task)
    emb = extract(LogMel(), paths, task="tones", task_version="1", split="train", pooling="frames", progress=False)
    import soundfile as sf
    for i, path in enumerate(paths):
        n = sf.info(path).frames
        assert len(emb.item(i)) == 1 + (n - 400) // 160  # 25 ms windows, 10 ms hop, not centred


def test_interrupted_extraction_resumes_and_gives_the_same_embeddings(tone_task):
    paths = paths_of(tone_task)
    kwargs = dict(task="tones", task_version="1", split="train", batch_seconds=3.0, progress=False)
    reference = np.array(extract(Counting(), paths, cache=EmbeddingCache(tone_task.parent / "ref"), **kwargs).data)

    crashing = Counting(fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        extract(crashing, paths, **kwargs)
    assert not list(EmbeddingCache().root.glob("*/*[!l]"))  # no finished entry was published
    resumed, stats = Counting(), ExtractStats()
    emb = extract(resumed, paths, stats=stats, **kwargs)
    uninterrupted_batches = Counting()
    extract(uninterrupted_batches, paths, cache=EmbeddingCache(tone_task.parent / "fresh"), **kwargs)
    assert resumed.calls == uninterrupted_batches.calls - 2  # the two finished batches were kept
    np.testing.assert_array_equal(np.array(emb.data), reference)


@pytest.mark.parametrize("how,message", [
    ("nan", "returned NaN or infinite values for"),
    ("rank", r"layer 0 has shape \(\d+, 64\); expected \[B=\d+, T, D\]"),
    ("lengths", "inconsistent with"),
])
def test_broken_upstreams_fail_clearly_and_cache_nothing(tone_task, how, message):
    with pytest.raises(UpstreamError, match=f"upstream 'broken-{how}' .*{message}|{message}"):
        evaluate(Broken(how), [tone_task], name=f"broken-{how}", progress=False)
    assert not list(EmbeddingCache().root.glob("*/*[!l]"))
