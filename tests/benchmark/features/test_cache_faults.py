"""Fault injection on the embedding cache: a damaged entry or shard is written by hand, the
extraction runs again, and it must name the file in one line, recompute, and give the
embeddings an undamaged run gives (never read the damage, never crash)."""
import json

import numpy as np
import pytest
import torch

from benchmark.features import entry
from benchmark.features.cache import EmbeddingCache, ShardWriter
from benchmark.features.extract import ExtractStats, extract
from benchmark.sources.load import load_task
from benchmark.upstream import Encoded
from models.baselines import LogMel
from tests.support.helpers import Counting


def paths_of(task_dir, split="train"):
    return list(load_task(task_dir).load()[split]["path"])


def embed(upstream, paths, cache, pooling="mean", **kwargs):
    stats = ExtractStats()
    emb = extract(upstream, paths, task="tones", task_version="1", split="train", pooling=pooling, cache=cache,
                  progress=False, stats=stats, **kwargs)
    return np.array(emb.data), stats


def entry_folder(cache):
    (folder,) = [p for p in cache.root.glob("*/*") if p.is_dir() and not p.name.endswith(".partial")
                 and ".bad-" not in p.name]
    return folder


def new_process():
    """What a fresh process knows: no checksum verified yet."""
    entry._verified.clear()


def overwrite(path, offset, payload):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(payload)


def data_offset(path):
    return np.load(path, mmap_mode="r").offset


DAMAGE = {  # name -> (file, how, what the one line says[, the file it names if another])
    "same-size garbage": ("data.npy", lambda p: p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size)),
                          "unreadable"),
    "garbage after the header": ("data.npy", lambda p: overwrite(p, data_offset(p), bytes(range(256)) * 8),
                                 "checksum mismatch"),
    "one NaN": ("data.npy", lambda p: overwrite(p, data_offset(p) + 6, np.float16(np.nan).tobytes()),
                "checksum mismatch"),
    "truncated data": ("data.npy", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "unreadable"),
    "0-byte data": ("data.npy", lambda p: p.write_bytes(b""), "unreadable"),
    "extra bytes": ("data.npy", lambda p: p.write_bytes(p.read_bytes() + b"\0" * 64), "bytes; its header"),
    "missing data": ("data.npy", lambda p: p.unlink(), "missing"),
    "truncated meta": ("meta.json", lambda p: p.write_text(p.read_text()[:40]), "unreadable"),
    "array meta": ("meta.json", lambda p: p.write_text("[1, 2]"), "JSON list"),
    "wrong item count": ("meta.json", lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "num_items": 5})),
                         "items; meta.json says 5", "data.npy"),
    "older format": ("meta.json", lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items()
                                                                     if k not in ("format", "files")})),
                     "cache format None"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_reported_in_one_line_and_recomputed(tone_task, tmp_path, capfd, damage):
    paths = paths_of(tone_task)
    cache = EmbeddingCache(tmp_path / "cache")
    reference, _ = embed(LogMel(), paths, cache)
    name, harm, says, *named = DAMAGE[damage]
    harm(entry_folder(cache) / name)
    culprit = entry_folder(cache) / (named[0] if named else name)
    new_process()
    capfd.readouterr()

    again, stats = embed(LogMel(), paths, cache)
    err = capfd.readouterr().err
    assert stats.forwards > 0 and not stats.cached  # recomputed, not trusted
    np.testing.assert_array_equal(again, reference)
    lines = [line for line in err.splitlines() if "cache entry" in line]
    assert len(lines) == 1 and str(culprit) in lines[0] and says in lines[0] and "recomputed" in lines[0], err
    aside = [p for p in cache.root.glob("*/*") if ".bad-" in p.name]  # the bad entry kept beside, never read
    assert len(aside) == 1 and aside[0].name == f"{entry_folder(cache).name}.bad-1"
    new_process()
    entry.open_entry(entry_folder(cache))  # the recomputed entry passes every check


def test_damaged_frame_offsets_are_caught(tone_task, tmp_path, capfd):
    paths = paths_of(tone_task)
    cache = EmbeddingCache(tmp_path / "cache")
    reference, _ = embed(LogMel(), paths, cache, pooling="frames")
    offsets = entry_folder(cache) / "offsets.npy"
    overwrite(offsets, data_offset(offsets) + 8, np.int64(3).tobytes())
    new_process()
    again, stats = embed(LogMel(), paths, cache, pooling="frames")
    assert stats.forwards > 0 and str(offsets) in capfd.readouterr().err
    np.testing.assert_array_equal(again, reference)


def test_a_verified_entry_is_not_hashed_again_in_the_same_process(tone_task, tmp_path, monkeypatch):
    paths = paths_of(tone_task)
    cache = EmbeddingCache(tmp_path / "cache")
    embed(LogMel(), paths, cache)
    new_process()
    hashed = []
    real = entry.sha256
    monkeypatch.setattr(entry, "sha256", lambda array: hashed.append(array.shape) or real(array))
    for _ in range(3):
        _, stats = embed(LogMel(), paths, cache)
        assert stats.forwards == 0
    assert len(hashed) == 1  # the first load in this process read the data once; later ones trust that


def interrupted(tone_task, tmp_path):
    """An extraction killed after two finished shards: (paths, options, the uninterrupted
    result, the forward calls a full run makes, the cache, its partial entry)."""
    paths = paths_of(tone_task)
    kwargs = dict(batch_seconds=3.0)
    reference, _ = embed(Counting(), paths, EmbeddingCache(tmp_path / "ref"), **kwargs)
    total = Counting()
    embed(total, paths, EmbeddingCache(tmp_path / "count"), **kwargs)
    cache = EmbeddingCache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt):
        embed(Counting(fail_at=3), paths, cache, **kwargs)
    (partial,) = cache.root.glob("*/*.partial")
    return paths, kwargs, reference, total.calls, cache, partial


def test_a_truncated_temporary_shard_left_by_a_kill_does_not_block_the_resume(tone_task, tmp_path):
    paths, kwargs, reference, total_calls, cache, partial = interrupted(tone_task, tmp_path)
    finished = sorted(partial.glob("shard-*.npz"))
    assert len(finished) == 2
    leftover = partial / ".shard-000002.npz.k1ll3d.tmp"  # what atomic_path leaves when killed mid-write
    leftover.write_bytes(finished[0].read_bytes()[:100])

    resumed = Counting()
    emb, _ = embed(resumed, paths, cache, **kwargs)
    assert resumed.calls == total_calls - 2  # both finished shards were kept
    np.testing.assert_array_equal(emb, reference)
    assert not partial.exists()


@pytest.mark.parametrize("which", [0, 1])
def test_an_unreadable_finished_shard_is_reported_and_its_items_recomputed(tone_task, tmp_path, capfd, which):
    paths, kwargs, reference, total_calls, cache, partial = interrupted(tone_task, tmp_path)
    bad = sorted(partial.glob("shard-*.npz"))[which]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    capfd.readouterr()

    resumed = Counting()
    emb, _ = embed(resumed, paths, cache, **kwargs)
    assert resumed.calls == total_calls - 1  # the good shard was kept, the bad one's items recomputed
    np.testing.assert_array_equal(emb, reference)
    err = capfd.readouterr().err
    assert f"cache shard {bad}: unreadable" in err and len(err.strip().splitlines()) == 1


class Loud(torch.nn.Module):
    """Two layers: log-mel, and log-mel scaled past float16's range on the items that are long."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio, lengths):  # noqa: ANN001, ANN201
        h = self.inner(audio, lengths).hidden_states[-1]
        loud = h * torch.where(lengths > 14000, 1e6, 1.0).to(h)[:, None, None]
        return Encoded([h, loud], self.inner(audio, lengths).lengths)


def test_values_beyond_float16_are_stored_as_float32_not_clipped(tone_task, tmp_path, capfd):
    paths = paths_of(tone_task)
    upstream = Loud()
    upstream.earbench_name = "loud"
    data, _ = embed(upstream, paths, EmbeddingCache(tmp_path / "cache"), batch_seconds=3.0)
    assert data.dtype == np.float32
    assert np.abs(data[:, 1]).max() > 1e5  # not clipped to 65504
    err = capfd.readouterr().err
    assert "upstream 'loud' layer(s) [1]" in err and "stored as float32" in err and len(err.strip().splitlines()) == 1
    # items that fit keep float16's rounding whatever batch they shared, so a resume gives the same values
    quiet = np.abs(data[:, 1]).max(axis=1) < 6e4
    assert quiet.any() and (~quiet).any()
    np.testing.assert_array_equal(data[quiet], data[quiet].astype(np.float16).astype(np.float32))
    plain, _ = embed(LogMel(), paths, EmbeddingCache(tmp_path / "plain"))
    np.testing.assert_array_equal(data[quiet, 0], plain[quiet, 0].astype(np.float32))
    np.testing.assert_allclose(data[~quiet, 0], plain[~quiet, 0].astype(np.float32), atol=2e-2, rtol=2e-3)


def test_writer_rounds_to_float16_per_item_and_keeps_overflowing_items_exact(tmp_path):
    writer = ShardWriter(tmp_path / "entry", 3, {"upstream": "u", "task": "t", "split": "s"})
    small, large = np.full((2, 4), 0.1, np.float32), np.full((2, 4), 1e6, np.float32)
    writer.write([0], [small])
    writer.write([1, 2], [small, large])
    writer.finish()
    new_process()
    emb = entry.open_entry(tmp_path / "entry")
    assert emb.data.dtype == np.float32
    np.testing.assert_array_equal(emb.data[0], np.float16(0.1).astype(np.float32))
    np.testing.assert_array_equal(emb.data[1], emb.data[0])
    np.testing.assert_array_equal(emb.data[2], large)


def test_a_rerun_recomputes_a_damaged_entry_rather_than_scoring_it(tone_task, tmp_path, capfd):
    from benchmark import evaluate
    run = dict(protocol="knn", results=tmp_path / "results", progress=False)
    first = evaluate("logmel", [tone_task], **run)
    for folder in EmbeddingCache().root.glob("*/*"):
        if folder.is_dir() and not folder.name.endswith(".partial"):
            data = folder / "data.npy"
            start = data_offset(data)
            overwrite(data, start, np.random.default_rng(1).bytes(data.stat().st_size - start))  # same size
    new_process()
    capfd.readouterr()
    again = evaluate("logmel", [tone_task], rerun=True, **run)
    assert [r["metrics"] for r in again] == [r["metrics"] for r in first]
    assert "checksum mismatch" in capfd.readouterr().err


def test_the_command_line_reports_an_empty_data_file_and_finishes(tone_task, tmp_path, capsys):
    from tests.support.helpers import run_cli
    args = ("run", "--model", "logmel", "--task", str(tone_task), "--protocol", "knn",
            "--results", str(tmp_path / "results"))
    code, first, _ = run_cli(capsys, *args)
    assert code == 0
    data = next(p for p in EmbeddingCache().root.glob("*/*/data.npy"))
    data.write_bytes(b"")
    new_process()
    code, again, err = run_cli(capsys, *args, "--rerun")
    assert code == 0 and "Traceback" not in err
    assert f"warning: cache entry {data}: unreadable" in err
    assert again.splitlines()[-3:] == first.splitlines()[-3:]  # the same scores in the summary
