"""The digest of a task's data: every manifest row and column and the audio content count,
where the folder lies does not, and the audio is hashed once for it and the cache together."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

import benchmark.features.digest as digest_module
from benchmark.features.digest import DigestIndex, task_digest
from benchmark.features.extract import embedding_key
from benchmark.sources.load import load_task
from tests.support.tone_task import write_tone_task


def digest_of(root) -> str:
    spec = load_task(root)
    return task_digest(spec.load(), spec.root)


@pytest.fixture
def task(tmp_path):
    return write_tone_task(tmp_path / "a" / "tones", per_class=4)


def test_a_moved_task_has_the_same_digest(task, tmp_path):
    assert digest_of(shutil.copytree(task, tmp_path / "b" / "tones")) == digest_of(task)


@pytest.mark.parametrize("change", ["label", "row order", "a row moved to another split", "audio"])
def test_any_change_of_rows_or_audio_changes_it(task, change):
    before = digest_of(task)
    test = (task / "test.csv").read_text().splitlines()
    if change == "label":
        path, label = test[1].split(",")
        test[1] = f"{path},{'low' if label != 'low' else 'mid'}"
    elif change == "row order":
        test[1], test[2] = test[2], test[1]
    elif change == "a row moved to another split":
        valid = (task / "valid.csv").read_text().splitlines()
        (task / "valid.csv").write_text("\n".join(valid + [test.pop()]) + "\n")
    else:
        path = task / test[1].split(",")[0]
        samples, rate = sf.read(path, dtype="float32")
        sf.write(path, np.flip(samples).copy(), rate)  # the same length and labels, other samples
    (task / "test.csv").write_text("\n".join(test) + "\n")
    assert digest_of(task) != before


def test_every_column_counts(task):
    spec = load_task(task)
    manifests = spec.load()
    tagged = {**manifests, "test": manifests["test"].assign(extra=1)}
    assert task_digest(tagged, spec.root) != task_digest(manifests, spec.root)
    assert task_digest(tagged, spec.root) != task_digest({**manifests, "test": manifests["test"].assign(extra=2)},
                                                         spec.root)


def test_the_audio_is_hashed_once_for_the_record_and_the_cache(task, monkeypatch):
    hashed = []
    real = digest_module.file_digest
    monkeypatch.setattr(digest_module, "file_digest", lambda path: hashed.append(path) or real(path))
    spec = load_task(task)
    manifests = spec.load()
    paths = [p for m in manifests.values() for p in m["path"]]
    first = task_digest(manifests, spec.root)
    assert sorted(hashed) == sorted(paths)
    hashed.clear()
    assert task_digest(manifests, spec.root) == first
    for split, manifest in manifests.items():  # the embedding cache's keys read the same memo
        embedding_key("sha256:x", spec.name, spec.version, split, "mean", list(manifest["path"]))
    assert hashed == []
    assert len(DigestIndex().entries) == len(paths)
