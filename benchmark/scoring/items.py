"""Per-item outputs: what one run predicted for each test item, so that its metrics can be
recomputed, resampled and compared item by item (the record's sidecar).

One `ItemOutputs` per run: a `kind` and named arrays with one row per item, always with
`id` (a stable name of the item: the clip's path relative to the split's folder, a query's
clip and caption number, a trial's two clips). The kinds:

- `clips` (classification, tagging, pitch): `truth` and `prediction` as the top-1 metrics
  compare them (class indices, or label values for pitch), and, when the task has a
  ranking metric (mAP, ROC-AUC, d'), `targets` [n, C] and `scores` [n, C];
- `transcripts` (ASR): per file `word_edits`, `words`, `char_edits`, `chars`;
- `queries` (retrieval): per caption query the 1-based `rank` of the clip it describes,
  and that `clip`: captions of one clip are not independent, so they are resampled together;
- `trials` (speaker verification): per trial `score`, `target` (1 = same speaker) and the
  enrolment clip's `speaker`, by which trials are resampled;
- `events` (SED): per file the sed_eval counts of each event metric (`METRIC.Ntp`,
  `.Nref`, `.Nsys` for an F-measure; `.S`, `.D`, `.I`, `.Nref` for an error rate);
- `qbe` (query by example): per query clip its average precision `ap`.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

#: the clip metrics computed from class scores rather than from the top-1 prediction
RANKING = ("mAP", "roc_auc", "d_prime")
#: kind -> the array whose values group items that are resampled together (None: each item alone)
CLUSTERS: dict[str, str | None] = {"clips": None, "transcripts": None, "queries": "clip", "trials": "speaker",
                                   "events": None, "qbe": None}


@dataclass(frozen=True)
class ItemOutputs:
    kind: str
    arrays: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        if self.kind not in CLUSTERS:
            raise ValueError(f"unknown kind of item outputs {self.kind!r}; expected one of {', '.join(CLUSTERS)}")
        if "id" not in self.arrays:
            raise ValueError(f"{self.kind} item outputs need an 'id' array")
        lengths = {name: len(a) for name, a in self.arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{self.kind} item outputs: arrays of different lengths {lengths}")
        cluster = CLUSTERS[self.kind]
        if cluster is not None and cluster not in self.arrays:
            raise ValueError(f"{self.kind} item outputs need a {cluster!r} array (the resampling unit)")

    def __len__(self) -> int:
        return len(self.arrays["id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def ids(self) -> np.ndarray:
        return self.arrays["id"]

    @property
    def clusters(self) -> np.ndarray:
        """Cluster index of each item (0..G-1): the unit the bootstrap draws."""
        name = CLUSTERS[self.kind]
        if name is None:
            return np.arange(len(self), dtype=np.int64)
        return np.unique(self.arrays[name], return_inverse=True)[1].astype(np.int64).ravel()

    def to_npz(self) -> bytes:
        """The outputs as a compressed .npz of plain arrays (no pickles; the kind is its `kind` array)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, kind=np.array(self.kind), **{k: np.asarray(v) for k, v in self.arrays.items()})
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> "ItemOutputs":
        """Inverse of `to_npz`; ValueError if it is not one (never unpickles)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        if "kind" not in arrays:
            raise ValueError("no 'kind' array")
        return cls(str(arrays.pop("kind")), arrays)


def item_names(paths: Sequence[str]) -> np.ndarray:
    """Stable item ids: paths relative to the folder that holds them all (machine-independent)."""
    paths = [str(p) for p in paths]
    if not paths:
        return np.array([], dtype=str)
    root = os.path.commonpath([os.path.dirname(p) for p in paths])
    return np.array([os.path.relpath(p, root) for p in paths])


def clip_outputs(paths: Sequence[str], *, truth: np.ndarray | None = None, prediction: np.ndarray | None = None,
                 targets: np.ndarray | None = None, scores: np.ndarray | None = None) -> ItemOutputs:
    arrays = {"id": item_names(paths)}
    for name, value in (("truth", truth), ("prediction", prediction), ("targets", targets), ("scores", scores)):
        if value is not None:
            arrays[name] = np.asarray(value)
    return ItemOutputs("clips", arrays)


def transcript_outputs(paths: Sequence[str], references: Sequence[str], hypotheses: Sequence[str]) -> ItemOutputs:
    """Per file edit counts, as jiwer counts them for the corpus WER and CER."""
    import jiwer

    words = [jiwer.process_words(r, h) for r, h in zip(references, hypotheses)]
    chars = [jiwer.process_characters(r, h) for r, h in zip(references, hypotheses)]

    def edits(out: object) -> int:
        return int(out.substitutions + out.deletions + out.insertions)

    def length(out: object) -> int:
        return int(out.hits + out.substitutions + out.deletions)

    return ItemOutputs("transcripts", {"id": item_names(paths),
                                       "word_edits": np.array([edits(w) for w in words], dtype=np.int64),
                                       "words": np.array([length(w) for w in words], dtype=np.int64),
                                       "char_edits": np.array([edits(c) for c in chars], dtype=np.int64),
                                       "chars": np.array([length(c) for c in chars], dtype=np.int64)})


def query_outputs(paths: Sequence[str], similarity: np.ndarray, relevant: Sequence[set[int]]) -> ItemOutputs:
    """Per query the rank of the one clip it describes (ties: lower index first, as the metrics)."""
    if any(len(r) != 1 for r in relevant):
        raise ValueError("retrieval item outputs need exactly one relevant clip per query")
    similarity = np.asarray(similarity)
    order = np.argsort(-similarity, axis=1, kind="stable")
    target = np.array([next(iter(r)) for r in relevant], dtype=np.int64)
    rank = np.argmax(order == target[:, None], axis=1).astype(np.int64) + 1
    clips = item_names(paths)[target] if len(target) else np.array([], dtype=str)
    number = np.zeros(len(target), dtype=np.int64)
    seen: dict[int, int] = {}
    for q, t in enumerate(target):
        number[q] = seen.get(int(t), 0)
        seen[int(t)] = number[q] + 1
    ids = np.array([f"{c}#{k}" for c, k in zip(clips, number)])
    return ItemOutputs("queries", {"id": ids, "rank": rank, "clip": clips})


def trial_outputs(paths: Sequence[str], speakers: Sequence[str], enroll: np.ndarray, test: np.ndarray,
                  targets: np.ndarray, scores: np.ndarray) -> ItemOutputs:
    names, speakers = item_names(paths), np.asarray([str(s) for s in speakers])
    ids = np.array([f"{names[a]}|{names[b]}" for a, b in zip(enroll, test)])
    return ItemOutputs("trials", {"id": ids, "score": np.asarray(scores), "target": np.asarray(targets, np.int8),
                                  "speaker": speakers[np.asarray(enroll, dtype=np.int64)]})


def event_outputs(paths: Sequence[str], counts: Mapping[str, Mapping[str, Sequence[float]]]) -> ItemOutputs:
    """`counts`: metric -> count name -> one value per file (in `paths` order)."""
    arrays = {"id": item_names(paths)}
    for metric, by_name in counts.items():
        for name, values in by_name.items():
            arrays[f"{metric}.{name}"] = np.asarray(values, dtype=np.float64)
    return ItemOutputs("events", arrays)


def qbe_outputs(paths: Sequence[str], ap: np.ndarray) -> ItemOutputs:
    return ItemOutputs("qbe", {"id": item_names(paths), "ap": np.asarray(ap, dtype=np.float64)})
