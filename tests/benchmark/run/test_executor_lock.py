"""The embedding cache's cross-process lock: two processes extracting the same entry at
once give one extraction, and both read the same, complete embeddings."""
import multiprocessing
import time

import numpy as np
import torch

from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import ExtractStats, extract
from tests.support.tone_task import write_tone_task
from models.baselines import LogMel


class SlowLogMel(torch.nn.Module):
    """LogMel that takes its time, so that two extractions surely overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()
        self.sample_rate, self.hop_ms = self.inner.sample_rate, self.inner.hop_ms

    def forward(self, audio, lengths):  # noqa: ANN001, ANN201
        time.sleep(0.15)
        return self.inner(audio, lengths)


def extract_in_child(paths, cache_root, barrier, results) -> None:
    upstream = SlowLogMel()
    stats = ExtractStats()
    barrier.wait()  # start together
    emb = extract(upstream, paths, task="tones", task_version="1", split="train", cache=EmbeddingCache(cache_root),
                  batch_seconds=2.0, progress=False, stats=stats)
    results.put((stats.forwards, np.asarray(emb.data, dtype=np.float32).tolist()))


def test_two_processes_extracting_the_same_entry_extract_it_once(tmp_path):
    task = write_tone_task(tmp_path / "tones", per_class=5)
    paths = sorted(str(p) for p in (task / "audio").iterdir())
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    children = [context.Process(target=extract_in_child, args=(paths, tmp_path / "cache", barrier, results))
                for _ in range(2)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    forwards = sorted(f for f, _ in outcomes)
    assert forwards[0] == 0 and forwards[1] > 1  # the second waited for the first, then read its entry
    assert outcomes[0][1] == outcomes[1][1]
    entries = [p for p in (tmp_path / "cache").glob("*/*")]
    assert len(entries) == 1 and entries[0].is_dir() and (entries[0] / "meta.json").is_file()  # no partial left
    reference = extract(LogMel(), paths, task="tones", task_version="1", split="train",
                        cache=EmbeddingCache(tmp_path / "other"), progress=False)
    np.testing.assert_array_equal(np.asarray(reference.data, dtype=np.float32), np.array(outcomes[0][1]))
