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
from benchmark.family import Family, family_of
from benchmark.task import SPLITS, TaskSpec

TRIAL_COLUMNS = ("enroll", "test", "target")
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
    try:
        family_of(config["family"])
    except TaskError as err:
        raise TaskError(f"{toml_path}: {err}") from None
    return config


def read_csv(csv_path: Path, columns: tuple[str, ...], blank_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of `csv_path`, every one of `columns` present and filled in (but `blank_columns`)."""
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
        if len(blank) and column not in blank_columns:
            raise TaskError(f"{csv_path} line {line(blank[0])}: empty {column!r}")
    return frame


def resolve_paths(frame: pd.DataFrame, root: Path, csv_path: Path) -> pd.DataFrame:
    resolved = [(root / p).resolve() for p in frame["path"]]
    for index, path in zip(frame.index, resolved):
        if not path.is_file():
            raise TaskError(f"{csv_path} line {line(index)}: audio file {frame.at[index, 'path']!r} not found "
                            f"(looked for {path})")
    return frame.assign(path=[str(p) for p in resolved])


def one_per_row(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    return frame.reset_index(drop=True)


def label_sets(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    return frame.assign(labels=[sorted({x.strip() for x in s.split(";") if x.strip()}) for s in frame["labels"]])


def midi_numbers(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    try:
        return frame.assign(pitch=frame["pitch"].astype(float).round().astype(int))
    except ValueError as err:
        raise TaskError(f"{csv_path}: column 'pitch' must hold MIDI numbers: {err}") from err


def caption_lists(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    return frame.groupby("path", sort=False)["caption"].agg(list).rename("captions").reset_index()


def event_lists(frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
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


#: how the CSV rows of a family become one manifest row per clip, by the manifest column its
#: labels land in (`Family.label_column`); any other column is one value per row, as written
LAYOUTS = {"labels": label_sets, "pitch": midi_numbers, "captions": caption_lists, "events": event_lists}


def to_manifest(family: Family, frame: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    """The family's CSV rows -> one row per audio file."""
    return LAYOUTS.get(family.label_column, one_per_row)(frame, csv_path)


def check_vocabulary(family: Family, manifests: dict[str, pd.DataFrame], train_names: list[str], root: Path) -> None:
    if not family.closed_vocabulary:
        return
    seen = set().union(*(family.labels(manifests[n]) for n in train_names))
    for name, manifest in manifests.items():
        if name in train_names or name == "trials":
            continue
        unseen = sorted(map(str, family.labels(manifest) - seen))
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


def load_manifests(root: Path, family: Family) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """Read, resolve and validate every split; returns the manifests and the fold names."""
    columns = family.columns
    data_csv = root / "data.csv"
    if data_csv.is_file():
        frame = read_csv(data_csv, columns + ("fold",), family.blank_columns)
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
        frame = resolve_paths(read_csv(csv_path, columns, family.blank_columns), root, csv_path)
        manifests[split] = to_manifest(family, frame, csv_path)
    check_vocabulary(family, manifests, ["train"], root)
    if family.trials:
        manifests["trials"] = read_trials(root, manifests)
    return manifests, ()


def load_folder_task(root: str | Path) -> TaskSpec:
    """Parse `root/task.toml` and validate all its CSVs now, so errors come before any work."""
    root = Path(root).resolve()
    config = read_config(root)
    manifests, folds = load_manifests(root, family_of(config["family"]))
    return TaskSpec(
        name=config["name"], family=config["family"], load=lambda: manifests,
        version=str(config.get("version", "1")), description=config.get("description", ""),
        folds=folds, metrics=tuple(config.get("metrics", ())), main_metric=config.get("main_metric", ""),
        sample_rate=config.get("sample_rate"), license=config.get("license", ""),
        citation=config.get("citation", ""), source=config.get("source", str(root)), root=root)
