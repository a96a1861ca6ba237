"""Every family's runs write per-item outputs beside the record, and every metric the
outputs cover recomputes from them to the value the record holds."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark import evaluate
from benchmark.record import Record, RecordError
from benchmark.scoring import resampled
from tests.support.family_tasks import (write_asr_task, write_pitch_task, write_retrieval_task, write_sed_task,
                                        write_sv_task, write_tagging_task)
from tests.support.tone_task import write_tone_task

FAST = {"max_epochs": 40, "patience": 10}
#: (family, writer, protocol, options, the kind of outputs, metrics they must cover)
CASES = {
    "classification": (write_tone_task, "linear", {}, "clips", {"accuracy", "macro_f1"}),
    "classification-knn": (write_tone_task, "knn", {}, "clips", {"accuracy", "macro_f1"}),
    "classification-qbe": (write_tone_task, "qbe", {}, "qbe", {"mAP"}),
    "tagging": (write_tagging_task, "knn", {}, "clips", {"mAP", "roc_auc", "d_prime"}),
    "pitch": (write_pitch_task, "knn", {}, "clips", {"pitch_acc", "chroma_acc"}),
    "sed": (write_sed_task, "knn", {}, "events", {"event_onset_200ms_fms", "segment_1s_er"}),
    "asr": (write_asr_task, "linear", FAST, "transcripts", {"wer", "cer"}),
    "speaker_verification": (write_sv_task, "knn", {}, "trials", {"eer", "min_dcf"}),
    "retrieval": (write_retrieval_task, "knn", {}, "queries", {"r@1", "r@5", "r@10", "mAP@10"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("items")
    out, tasks = {}, {}
    for case, (writer, protocol, options, _, _) in CASES.items():
        family = case.split("-")[0]
        task = tasks[family] = tasks.get(family) or writer(root / "tasks" / family)
        results = root / "results" / case
        (record,) = evaluate("logmel", [task], protocol=protocol, options=options, results=results, progress=False)
        out[case] = (record, next(results.rglob("seed0.json")))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_every_metric_recomputes_from_the_sidecar(runs, case):
    record, path = runs[case]
    kind, covered = CASES[case][3], CASES[case][4]
    items = Record.read(path).outputs(path)
    assert record["items"]["kind"] == kind == items.kind and record["items"]["n"] == len(items)
    assert record["items"]["file"].startswith("seed0.items-") and (path.parent / record["items"]["file"]).is_file()
    assert {m for m in record["metrics"] if resampled.supports(items, m)} == covered
    for metric in covered:
        assert resampled.value(items, metric) == pytest.approx(record["metrics"][metric], rel=1e-12, abs=1e-12), metric
    assert len(set(items.ids)) == len(items)  # ids name items, without machine paths
    assert not any(str(i).startswith("/") for i in items.ids)


def test_sizes_and_clusters_match_the_task(runs):
    record, path = runs["speaker_verification"]
    items = Record.read(path).outputs(path)
    assert len(items) == 16 * 15 // 2  # all pairs of the 4 x 4 test clips
    assert len(np.unique(items.clusters)) == 4  # trials are resampled by enrolment speaker
    record, path = runs["retrieval"]
    items = Record.read(path).outputs(path)
    assert len(items) == 2 * record["task"]["n"]["test"] and len(np.unique(items.clusters)) == record["task"]["n"]["test"]


def test_an_altered_sidecar_is_refused_naming_it(runs, tmp_path):
    record, path = runs["classification"]
    copy = tmp_path / "seed0.json"
    copy.write_text(path.read_text())
    sidecar = tmp_path / record["items"]["file"]
    sidecar.write_bytes((path.parent / record["items"]["file"]).read_bytes())
    assert Record.read(copy).outputs(copy) is not None
    data = bytearray(sidecar.read_bytes())
    data[len(data) // 2] ^= 0xFF
    sidecar.write_bytes(bytes(data))
    with pytest.raises(RecordError, match=rf"{sidecar.name}: per-item outputs do not match the sha256"):
        Record.read(copy).outputs(copy)
    sidecar.unlink()
    with pytest.raises(RecordError, match="unreadable"):
        Record.read(copy).outputs(copy)
    data = json.loads(copy.read_text())
    data["items"]["file"] = "../elsewhere.npz"
    copy.write_text(json.dumps(data))
    bad = Record.read(copy)
    assert bad.outputs(copy) is None and "'items.file' must be a sidecar file name" in bad.ignored()[0]


def test_a_rerun_replaces_the_sidecar_and_leaves_no_stale_one(runs, tmp_path):
    task = write_tone_task(tmp_path / "tones", per_class=6)
    first = evaluate("logmel", [task], protocol="knn", results=tmp_path / "r", progress=False)[0]
    again = evaluate("logmel", [task], protocol="knn", results=tmp_path / "r", progress=False, rerun=True)[0]
    sidecars = sorted(p.name for p in (tmp_path / "r").rglob("*.npz"))
    assert sidecars == [again["items"]["file"]] and first["items"]["sha256"] == again["items"]["sha256"]
