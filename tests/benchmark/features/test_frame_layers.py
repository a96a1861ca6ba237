"""Frame caches keep only the layers a run needs: one for `--layer last` or an index, every
one for `--layer weighted`, for `frame_layers="all"` (the layer-wise analysis), or where an
entry of all is already cached; scores do not depend on which was kept."""
import numpy as np
import pytest

from benchmark import evaluate
from benchmark.errors import ProtocolError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import extract
from models.baselines import RandomCNN
from tests.support.family_tasks import write_sed_task


@pytest.fixture(scope="module")
def sed_task(tmp_path_factory):
    return write_sed_task(tmp_path_factory.mktemp("sed") / "events", n=12)


def entries(cache: EmbeddingCache) -> dict[str, tuple[int, ...]]:
    """The frame entries of the cache: their `layers` and data shape."""
    found = {}
    for meta in cache.root.rglob("meta.json"):
        emb = cache.load(meta.parent.name)
        if emb is not None and emb.meta["pooling"] == "frames":
            found.setdefault(emb.meta["layers"], set()).add(emb.data.shape[1])
    return found


def test_extract_keeps_one_layer_or_all(tmp_path):
    import soundfile as sf
    path = tmp_path / "a.wav"
    sf.write(path, np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1, 16000)
    cache, model = EmbeddingCache(tmp_path / "cache"), RandomCNN()
    common = dict(task="t", task_version="1", split="test", pooling="frames", cache=cache, progress=False)
    every = extract(model, [str(path)], **common)
    last = extract(model, [str(path)], layers="last", **common)
    second = extract(model, [str(path)], layers=1, **common)
    assert every.num_layers == 4 and last.num_layers == 1 == second.num_layers
    assert np.array_equal(last.data[:, 0], every.data[:, 3]) and np.array_equal(second.data[:, 0], every.data[:, 1])
    with pytest.raises(ProtocolError, match="layer 7 is out of range: upstream 'RandomCNN' has 4 layers"):
        extract(model, [str(path)], layers=7, **common)


def test_a_frame_task_caches_only_the_runs_layer_with_the_same_scores(sed_task, tmp_path):
    lean, full = EmbeddingCache(tmp_path / "lean"), EmbeddingCache(tmp_path / "full")
    (one,) = evaluate("random-cnn", [sed_task], cache=lean, progress=False)
    assert set(entries(lean)) == {"last"} and entries(lean)["last"] == {1}
    (weighted,) = evaluate("random-cnn", [sed_task], layer="weighted", cache=lean, progress=False)
    assert entries(lean) == {"last": {1}, "all": {4}}  # weighted needs every layer: extracted once more
    (again,) = evaluate("random-cnn", [sed_task], layer=2, cache=lean, progress=False)
    assert set(entries(lean)) == {"last", "all"}  # an entry of all layers serves any one layer
    (reference,) = evaluate("random-cnn", [sed_task], layer=2, cache=full, progress=False)
    assert again["metrics"] == reference["metrics"]
    (last_from_all,) = evaluate("random-cnn", [sed_task], cache=full, progress=False)
    assert last_from_all["metrics"] == one["metrics"]
