"""HEAR 2021 task directories as earbench tasks.

A HEAR task directory (what `hearpreprocess` writes) holds

    task_metadata.json     task_name, version, embedding_type (scene | event), prediction_type
                           (multiclass | multilabel), split_mode, evaluation (metric names), ...
    labelvocabulary.csv    idx,label
    {split}.json           {file name: [label, ...]} (scene) or
                           {file name: [{"start": ms, "end": ms, "label": ...}, ...]} (event)
    {sample_rate}/{split}/*.wav   the same audio at several rates

Splits are `train`, `valid`, `test` or k folds `fold00`, `fold01`, ... (for which, as in the
HEAR kit, each run tests on fold i, validates on fold i+1 and trains on the rest: this is
what `TaskSpec.runs` does for k-fold tasks). The metadata's metric names are mapped to
earbench's (`top1_acc` -> `accuracy`, ...) and the first one is the main metric, as in HEAR.

A run reads the task's own audio at the upstream's rate when the task has that rate, as the
HEAR kit does (`TaskSpec.audio_at`), else the highest rate present, which the harness
resamples; `sample_rate=` picks one rate for every upstream instead.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from benchmark.errors import TaskError
from benchmark.family import FAMILIES, Family, check_metrics
from benchmark.task import TaskSpec

#: HEAR metric name -> earbench metric name
METRIC_NAMES: dict[str, str] = {
    "top1_acc": "accuracy",
    "pitch_acc": "pitch_acc",
    "chroma_acc": "chroma_acc",
    "mAP": "mAP",
    "d_prime": "d_prime",
    "aucroc": "roc_auc",
    "event_onset_200ms_fms": "event_onset_200ms_fms",
    "event_onset_50ms_fms": "event_onset_50ms_fms",
    "event_onset_offset_50ms_20perc_fms": "event_onset_offset_50ms_20perc_fms",
    "segment_1s_er": "segment_1s_er",
}
REQUIRED_KEYS = ("task_name", "embedding_type", "prediction_type", "evaluation")
FIXED_SPLITS = ("train", "valid", "test")


def read_metadata(root: Path) -> dict[str, Any]:
    path = root / "task_metadata.json"
    if not path.is_file():
        raise TaskError(f"{root}: not a HEAR task directory (no task_metadata.json)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise TaskError(f"{path}: invalid JSON: {err}") from err
    if not isinstance(meta, dict):
        raise TaskError(f"{path}: expected a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise TaskError(f"{path}: missing key(s) {', '.join(missing)} (HEAR 2021 task metadata)")
    if meta["embedding_type"] not in ("scene", "event"):
        raise TaskError(f"{path}: embedding_type must be 'scene' or 'event', got {meta['embedding_type']!r}")
    if meta["prediction_type"] not in ("multiclass", "multilabel"):
        raise TaskError(f"{path}: prediction_type must be 'multiclass' or 'multilabel', "
                        f"got {meta['prediction_type']!r}")
    if meta["embedding_type"] == "event" and meta["prediction_type"] != "multilabel":
        raise TaskError(f"{path}: event (timestamp) tasks are multilabel in HEAR, got {meta['prediction_type']!r}")
    return meta


def read_vocabulary(root: Path) -> list[str]:
    path = root / "labelvocabulary.csv"
    if not path.is_file():
        raise TaskError(f"{root}: missing labelvocabulary.csv (columns idx,label)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "label" not in rows[0]:
        raise TaskError(f"{path}: expected columns idx,label")
    return [str(r["label"]) for r in rows]


def metric_names(meta: dict[str, Any], path: Path) -> tuple[str, ...]:
    names = meta["evaluation"]
    if isinstance(names, str) or not names:
        raise TaskError(f"{path}: 'evaluation' must be a non-empty list of metric names")
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise TaskError(f"{path}: unknown HEAR metric(s) {', '.join(unknown)}; known: {', '.join(METRIC_NAMES)}")
    return tuple(dict.fromkeys(METRIC_NAMES[n] for n in names))


def family_predicting(meta: dict[str, Any], metrics: tuple[str, ...]) -> Family:
    """The family that predicts what HEAR's `prediction_type` names (per frame for event tasks);
    of those that share it, the one with the most of the task's metrics among its defaults
    (pitch for `pitch_acc`, classification for `top1_acc`)."""
    predicts = ("frame_" if meta["embedding_type"] == "event" else "") + meta["prediction_type"]
    candidates = [f for f in FAMILIES.values() if f.prediction_type == predicts]
    return max(candidates, key=lambda f: len(set(metrics) & set(f.metrics)))  # ties: the first


def split_names(root: Path, meta: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """(split names, is k-fold), from `split_mode` and `splits` as the HEAR kit reads them."""
    mode = meta.get("split_mode") or ("new_split_kfold" if (root / "fold00.json").is_file() else "trainvaltest")
    if mode not in ("trainvaltest", "new_split_kfold", "presplit_kfold"):
        raise TaskError(f"{root / 'task_metadata.json'}: unknown split_mode {mode!r}; "
                        f"expected trainvaltest, new_split_kfold or presplit_kfold")
    if mode == "trainvaltest":
        names: tuple[str, ...] = FIXED_SPLITS
    elif meta.get("splits"):
        names = tuple(sorted(str(s) for s in meta["splits"]))  # the kit sorts the folds too
    else:
        n = int(meta.get("nfolds", len(list(root.glob("fold*.json")))))
        names = tuple(f"fold{i:02d}" for i in range(n))
    missing = [s for s in names if not (root / f"{s}.json").is_file()]
    if missing:
        raise TaskError(f"{root}: missing {', '.join(m + '.json' for m in missing)} (split_mode {mode!r})")
    if mode != "trainvaltest" and len(names) < 3:
        raise TaskError(f"{root}: k-fold tasks need at least 3 folds, found {len(names)}")
    return names, mode != "trainvaltest"


def audio_rates(root: Path) -> list[int]:
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def choose_rate(root: Path, sample_rate: int | None) -> int:
    rates = audio_rates(root)
    if not rates:
        raise TaskError(f"{root}: no audio directory ({{sample_rate}}/{{split}}/*.wav, e.g. 16000/train/)")
    if sample_rate is None:
        return rates[-1]
    if sample_rate not in rates:
        raise TaskError(f"{root}: no {sample_rate} Hz audio; available: {', '.join(map(str, rates))}")
    return sample_rate


def read_split(root: Path, split: str, rate: int, family: Family, vocabulary: set[str]) -> pd.DataFrame:
    """One {split}.json -> a manifest with the family's label column, every file and label checked."""
    column = family.label_column
    path = root / f"{split}.json"
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise TaskError(f"{path}: invalid JSON: {err}") from err
    if not isinstance(entries, dict) or not entries:
        raise TaskError(f"{path}: expected a non-empty object {{file name: labels}}")
    audio_dir = root / str(rate) / split
    rows = []
    for name, labels in entries.items():
        audio = audio_dir / name
        if not audio.is_file():
            raise TaskError(f"{path}: entry {name!r}: audio file not found (looked for {audio})")
        if not isinstance(labels, list):
            raise TaskError(f"{path}: entry {name!r}: expected a list of labels, got {type(labels).__name__}")
        if column == "events":
            try:
                events = sorted((float(e["start"]) / 1000.0, float(e["end"]) / 1000.0, str(e["label"])) for e in labels)
            except (KeyError, TypeError, ValueError):
                raise TaskError(f"{path}: entry {name!r}: events must be "
                                f"{{\"start\": ms, \"end\": ms, \"label\": ...}}") from None
            names = [e[2] for e in events]
            bad = [(a, b) for a, b, _ in events if not 0 <= a < b]
            if bad:
                raise TaskError(f"{path}: entry {name!r}: event {bad[0]} s ends before it starts or starts before 0")
            value: Any = events
        else:
            names = [str(x) for x in labels]
            value = names
        unknown = sorted(set(names) - vocabulary)
        if unknown:
            raise TaskError(f"{path}: entry {name!r}: label(s) {', '.join(unknown[:5])} not in labelvocabulary.csv")
        rows.append((str(audio.resolve()), value))
    frame = pd.DataFrame(rows, columns=["path", "value"])
    if column == "events":
        return frame.rename(columns={"value": "events"})
    if column == "labels":
        return frame.assign(labels=[sorted(set(v)) for v in frame["value"]]).drop(columns="value")
    single = [len(v) == 1 for v in frame["value"]]
    if not all(single):
        bad = frame["value"][[not s for s in single]].index[0]
        raise TaskError(f"{path}: multiclass entry {Path(frame.at[bad, 'path']).name!r} has "
                        f"{len(frame.at[bad, 'value'])} labels, expected exactly one")
    labels = [v[0] for v in frame["value"]]
    if column == "pitch":
        try:
            return frame.assign(pitch=[int(round(float(x))) for x in labels]).drop(columns="value")
        except ValueError as err:
            raise TaskError(f"{path}: pitch task labels must be MIDI numbers: {err}") from err
    return frame.assign(label=labels).drop(columns="value")


def audio_reader(root: Path, read_rate: int, names: tuple[str, ...], family: Family,
                 vocabulary: set[str]) -> Callable[[dict[str, pd.DataFrame], int], dict[str, pd.DataFrame]]:
    """`audio_at` for manifests read at `read_rate`: the same rows reading `{rate}/` where the
    task has that rate (every file checked), else unchanged."""
    rates = set(audio_rates(root))
    paths: dict[int, dict[str, pd.Series]] = {}

    def audio_at(manifests: dict[str, pd.DataFrame], rate: int) -> dict[str, pd.DataFrame]:
        if rate == read_rate or rate not in rates:
            return manifests
        if rate not in paths:
            paths[rate] = {s: read_split(root, s, rate, family, vocabulary)["path"] for s in names}
        return {s: m.assign(path=paths[rate][s].to_numpy()) for s, m in manifests.items()}

    return audio_at


def load_hear_task(root: str | Path, sample_rate: int | None = None) -> TaskSpec:
    """Read and validate a HEAR 2021 task directory now, so errors come before any work."""
    root = Path(root).resolve()
    meta = read_metadata(root)
    metrics = metric_names(meta, root / "task_metadata.json")
    family = family_predicting(meta, metrics)
    try:
        check_metrics(family, metrics, metrics[0])
    except TaskError as err:
        raise TaskError(f"{root / 'task_metadata.json'}: {err}") from None
    vocabulary = set(read_vocabulary(root))
    names, kfold = split_names(root, meta)
    rate = choose_rate(root, sample_rate)
    manifests = {s: read_split(root, s, rate, family, vocabulary) for s in names}
    return TaskSpec(
        name=str(meta["task_name"]), family=family.name, load=lambda: manifests,
        version=str(meta.get("version", "1")),
        description=f"HEAR 2021 task {meta['task_name']} ({meta['embedding_type']}, {meta['prediction_type']})",
        folds=names if kfold else (),
        metrics=metrics, main_metric=metrics[0], sample_rate=rate,
        license=str(meta.get("license", "")), citation=str(meta.get("citation", "")),
        source=f"hear:{root}", root=root,
        audio_at=None if sample_rate is not None else audio_reader(root, rate, names, family, vocabulary))
