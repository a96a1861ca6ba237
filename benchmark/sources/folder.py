"""Bring-your-own data: the folder task format (docs/tasks.md), parsed and validated.

Every problem is reported with the file and CSV line it comes from, so a user can fix
their data without reading harness code.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.task import FAMILIES, SPLITS, TaskSpec

#: family -> CSV columns each row must have
COLUMNS: dict[str, tuple[str, ...]] = {
    "classification": ("path", "label"),
    "tagging": ("path", "labels"),
    "sed": ("path", "onset", "offset", "label"),
    "asr": ("path", "transcript"),
    "speaker_verification": ("path", "speaker"),
    "retrieval": ("path", "caption"),
    "pitch": ("path", "pitch"),
}
TRIAL_COLUMNS = ("enroll", "test", "target")
#: families whose test labels must all have been seen in train
CLOSED_VOCABULARY = {"classification", "tagging", "sed", "pitch"}
#: an event may end this many seconds past the clip's end (rounding in annotations)
EVENT_TOLERANCE_S = 0.01


def line(index: int) -> int:
    """CSV line number of a DataFrame row (1 = header)."""
    return int(index) + 2


def read_config(root: Path) -> dict:
    toml_path = root / "task.toml"
    if not toml_path.is_file():
        raise TaskError(f"{root}: not a folder task (no task.toml)")
    try:
        config = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise TaskError(f"{toml_path}: invalid TOML: {err}") from err
    for key in ("name", "family"):
        if key not in config:
            raise TaskError(f"{toml_path}: missing required key {key!r}")
    if config["family"] not in FAMILIES:
        raise TaskError(f"{toml_path}: unknown family {config['family']!r}; expected one of {', '.join(FAMILIES)}")
    return config


def read_csv(csv_path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise TaskError(f"{csv_path}: cannot parse CSV: {err}") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TaskError(f"{csv_path}: missing column(s) {', '.join(missing)}; "
                        f"expected {','.join(columns)}, found {','.join(frame.columns)}")
    if frame.empty:
        raise TaskError(f"{csv_path}: no rows (empty split)")
    for column in columns:
        blank = frame.index[frame[column].str.strip() == ""]
        if column in ("onset", "offset", "label") and "onset" in columns:
            continue  # sed: a clip without events is a row with blank onset/offset/label
        if len(blank):
            raise TaskError(f"{csv_path} line {line(blank[0])}: empty {column!r}")
    return frame


def resolve_paths(frame: pd.DataFrame, root: Path, csv_path: Path) -> pd.DataFrame:
    resolved = [(root / p).resolve() for p in frame["path"]]
    for index, path in zip(frame.index, resolved):
        if not path.is_file():
            raise TaskError(f"{csv_path} line {line(index)}: audio file {frame.at[index, 'path']!r} not found "
                            f"(looked for {path})")
    return frame.assign(path=[str(p) for p in resolved])


def to_manifest(family: str, frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    """Family-specific parsing to one row per audio file."""
    if family == "tagging":
        return frame.assign(labels=[sorted({x.strip() for x in s.split(";") if x.strip()}) for s in frame["labels"]])
    if family == "pitch":
        try:
            return frame.assign(pitch=frame["pitch"].astype(float).round().astype(int))
        except ValueError as err:
            raise TaskError(f"{csv_path}: column 'pitch' must hold MIDI numbers: {err}") from err
    if family == "retrieval":
        return frame.groupby("path", sort=False)["caption"].agg(list).rename("captions").reset_index()
    if family == "sed":
        return sed_manifest(frame, csv_path)
    return frame.reset_index(drop=True)


def sed_manifest(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    rows: dict[str, list[tuple[float, float, str]]] = {}
    durations: dict[str, float] = {}
    for index, row in frame.iterrows():
        events = rows.setdefault(row["path"], [])
        if row["label"].strip() == "":
            continue
        try:
            onset, offset = float(row["onset"]), float(row["offset"])
        except ValueError:
            raise TaskError(f"{csv_path} line {line(index)}: onset/offset must be seconds, "
                            f"got {row['onset']!r}, {row['offset']!r}") from None
        if row["path"] not in durations:
            info = sf.info(row["path"])
            durations[row["path"]] = info.frames / info.samplerate
        duration = durations[row["path"]]
        if not (0 <= onset < offset <= duration + EVENT_TOLERANCE_S):
            raise TaskError(f"{csv_path} line {line(index)}: event {row['label']!r} [{onset}, {offset}] s lies "
                            f"outside the clip (0 to {duration:.3f} s) or ends before it starts")
        events.append((onset, offset, row["label"].strip()))
    return pd.DataFrame({"path": list(rows), "events": list(rows.values())})


def labels_of(family: str, manifest: pd.DataFrame) -> set:
    if family == "classification":
        return set(manifest["label"])
    if family == "pitch":
        return set(manifest["pitch"])
    if family == "tagging":
        return {x for labels in manifest["labels"] for x in labels}
    if family == "sed":
        return {e[2] for events in manifest["events"] for e in events}
    return set()


def check_vocabulary(family: str, manifests: dict[str, pd.DataFrame], train_names: list[str], root: Path) -> None:
    if family not in CLOSED_VOCABULARY:
        return
    seen = set().union(*(labels_of(family, manifests[n]) for n in train_names))
    for name, manifest in manifests.items():
        if name in train_names or name == "trials":
            continue
        unseen = sorted(map(str, labels_of(family, manifest) - seen))
        if unseen:
            raise TaskError(f"{root}: split {name!r} has label(s) never seen in training: {', '.join(unseen[:10])}"
                            + (" ..." if len(unseen) > 10 else ""))


def read_trials(root: Path, manifests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    csv_path = root / "trials.csv"
    if not csv_path.is_file():
        raise TaskError(f"{root}: speaker_verification task needs trials.csv (enroll,test,target)")
    trials = read_csv(csv_path, TRIAL_COLUMNS)
    known = {p for m in manifests.values() for p in m["path"]}
    for column in ("enroll", "test"):
        resolved = [str((root / p).resolve()) for p in trials[column]]
        for index, path in zip(trials.index, resolved):
            if path not in known and not Path(path).is_file():
                raise TaskError(f"{csv_path} line {line(index)}: {column} file {trials.at[index, column]!r} not found")
        trials[column] = resolved
    try:
        trials["target"] = trials["target"].astype(int)
    except ValueError as err:
        raise TaskError(f"{csv_path}: column 'target' must be 0 or 1: {err}") from err
    if not set(trials["target"]) <= {0, 1}:
        raise TaskError(f"{csv_path}: column 'target' must be 0 or 1")
    return trials


def load_manifests(root: Path, family: str) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """Read, resolve and validate every split; returns the manifests and the fold names."""
    columns = COLUMNS[family]
    data_csv = root / "data.csv"
    if data_csv.is_file():
        frame = read_csv(data_csv, columns + ("fold",))
        frame = resolve_paths(frame, root, data_csv)
        folds = tuple(sorted(frame["fold"].unique()))
        manifests = {f: to_manifest(family, frame[frame["fold"] == f].drop(columns="fold"), data_csv) for f in folds}
        if len(folds) < 3:
            raise TaskError(f"{data_csv}: k-fold tasks need at least 3 folds, found {len(folds)}")
        for fold in folds:
            check_vocabulary(family, manifests, [f for f in folds if f != fold], root)
        return manifests, folds
    manifests = {}
    for split in SPLITS:
        csv_path = root / f"{split}.csv"
        if not csv_path.is_file():
            raise TaskError(f"{root}: missing {split}.csv (or a data.csv with a fold column)")
        frame = resolve_paths(read_csv(csv_path, columns), root, csv_path)
        manifests[split] = to_manifest(family, frame, csv_path)
    check_vocabulary(family, manifests, ["train"], root)
    if family == "speaker_verification":
        manifests["trials"] = read_trials(root, manifests)
    return manifests, ()


def load_folder_task(root: str | Path) -> TaskSpec:
    """Parse `root/task.toml` and validate all its CSVs now, so errors come before any work."""
    root = Path(root).resolve()
    config = read_config(root)
    family = config["family"]
    manifests, folds = load_manifests(root, family)
    return TaskSpec(
        name=config["name"], family=family, load=lambda: manifests,
        version=str(config.get("version", "1")), description=config.get("description", ""),
        folds=folds, metrics=tuple(config.get("metrics", ())), main_metric=config.get("main_metric", ""),
        sample_rate=config.get("sample_rate"), license=config.get("license", ""),
        citation=config.get("citation", ""), source=config.get("source", str(root)), root=root)
