"""Bring-your-own data: the folder task format (docs/tasks.md), parsed and validated.

Every problem is reported with the file and CSV line it comes from, so a user can fix
their data without reading harness code.
"""
from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.family import Family, check_metrics, family_of
from benchmark.task import SPLITS, TaskSpec

TRIAL_COLUMNS = ("enroll", "test", "target")
#: an event may end this many seconds past the clip's end (rounding in annotations)
EVENT_TOLERANCE_S = 0.01
#: the task.toml keys the harness reads, with the TOML types each may take
FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,), "family": (str,), "version": (str, int, float), "description": (str,), "metrics": (list,),
    "main_metric": (str,), "sample_rate": (int,), "license": (str,), "citation": (str,), "source": (str,)}
TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
#: how many CSV lines a warning names before "..."
SHOWN = 5


class TaskWarning(UserWarning):
    """Data a careful user would want to know about (duplicates, leaks, conflicts); the run goes on."""


def toml_type(value: object) -> str:
    return TOML_TYPES.get(type(value), type(value).__name__)


def lines(indices: list[int]) -> str:
    """CSV line numbers of DataFrame rows, the first few."""
    shown = [str(line(i)) for i in indices[:SHOWN]]
    return ", ".join(shown) + (" ..." if len(indices) > SHOWN else "")


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
    check_types(config, toml_path)
    try:
        family = family_of(config["family"])
        check_metrics(family, config.get("metrics", family.metrics), config.get("main_metric", ""))
    except TaskError as err:
        raise TaskError(f"{toml_path}: {err}") from None
    return config


def check_types(config: dict, toml_path: Path) -> None:
    """Each key the harness reads holds its type (a bool is no integer; names are not empty)."""
    for key, types in FIELDS.items():
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(TOML_TYPES[t] for t in types)
            raise TaskError(f"{toml_path}: key {key!r} must be {'an' if expected[0] in 'ai' else 'a'} {expected}, "
                            f"got {toml_type(value)} {value!r}")
    for key in ("name", "family"):
        if not config[key].strip():
            raise TaskError(f"{toml_path}: key {key!r} is empty")
    if "metrics" in config:
        bad = [m for m in config["metrics"] if not isinstance(m, str) or not m]
        if not config["metrics"] or bad:
            raise TaskError(f"{toml_path}: key 'metrics' must be a non-empty array of metric names"
                            + (f", got {bad[0]!r} in it" if bad else ", got []"))
    if config.get("sample_rate", 1) <= 0:
        raise TaskError(f"{toml_path}: key 'sample_rate' must be a positive number of Hz, got {config['sample_rate']}")


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
    if trials["target"].nunique() < 2:
        kind = "target (1)" if trials["target"].iloc[0] == 1 else "non-target (0)"
        raise TaskError(f"{csv_path}: all {len(trials)} trials are {kind}; EER and minDCF need both target (1) "
                        f"and non-target (0) trials")
    return trials


def trial_clips(trials: pd.DataFrame, root: Path, family: Family) -> pd.DataFrame:
    """The test split of a verification task without test.csv: every clip its trials name,
    enrolment clips first, each once. Their speakers are unknown, so each clip stands for its own
    (the item bootstrap then resamples trials by enrolment clip)."""
    paths = list(dict.fromkeys([*trials["enroll"], *trials["test"]]))
    return pd.DataFrame({"path": paths, family.label_column: [os.path.relpath(p, root) for p in paths]})


def warn(message: str) -> None:
    warnings.warn(message, TaskWarning, stacklevel=2)


def as_written(path: str, csv_path: Path) -> str:
    """A resolved audio path as the CSV spells it (relative to its folder)."""
    return os.path.relpath(path, csv_path.parent)


def label_key(family: Family, value: str) -> str:
    """A CSV label as compared between rows (a label set in any order is the same set)."""
    if family.label_column == "labels":
        return ";".join(sorted({x.strip() for x in value.split(";") if x.strip()}))
    return value.strip()


def check_rows(family: Family, frame: pd.DataFrame, csv_path: Path) -> None:
    """Warn of rows repeated verbatim (counted twice) and of files labelled two ways."""
    repeated = frame.index[frame.duplicated()].tolist()
    if repeated:
        warn(f"{csv_path}: {len(repeated)} duplicate row(s) at line(s) {lines(repeated)}; each counts again")
    if family.label_column not in family.columns:  # several rows per file are the format (events, captions)
        return
    keys = frame[family.label_column].map(lambda v: label_key(family, v))
    conflicting = [path for path, group in keys.groupby(frame["path"], sort=False) if group.nunique() > 1]
    if conflicting:
        rows = frame.index[frame["path"] == conflicting[0]].tolist()
        values = ", ".join(repr(v) for v in dict.fromkeys(frame.loc[rows, family.label_column]))
        warn(f"{csv_path}: {len(conflicting)} file(s) with conflicting labels, e.g. "
             f"{as_written(conflicting[0], csv_path)!r} at line(s) {lines(rows)} ({values})")


def check_shared(frames: dict[str, tuple[pd.DataFrame, Path]]) -> None:
    """Warn of files in two splits: a test file also trained on measures memory, not generalisation."""
    names = list(frames)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            (a, _), (b, b_path) = frames[first], frames[second]
            shared = b.index[b["path"].isin(set(a["path"]))].tolist()
            if shared:
                files = b.loc[shared, "path"].unique()
                warn(f"{b_path} line(s) {lines(shared)}: {len(files)} file(s) of {second!r} also in {first!r}, "
                     f"e.g. {as_written(files[0], b_path)!r}")


def check_classes(family: Family, manifests: dict[str, pd.DataFrame], trained: list[str],
                  csv_of: dict[str, Path]) -> None:
    """A training set of one class teaches nothing (an error where a single label is predicted);
    a split of one class leaves per-class metrics undefined or trivial (a warning)."""
    if not (family.closed_vocabulary or family.trials):
        return
    seen = set().union(*(family.labels(manifests[n]) for n in trained))
    if len(seen) < 2:
        message = (f"{csv_of[trained[0]]}: the training data hold {len(seen)} class(es) ({classes(seen)}); "
                   f"a one-class {family.name} task has nothing to learn")
        if family.prediction_type == "multiclass":
            raise TaskError(message)
        warn(message)
    if not family.closed_vocabulary:
        return
    for name, manifest in manifests.items():
        labels = family.labels(manifest)
        if trained != [name] and len(labels) < 2:
            warn(f"{csv_of[name]}: split {name!r} holds {len(labels)} class(es) ({classes(labels)}); "
                 f"per-class metrics are undefined or trivial on it")


def classes(labels: set) -> str:
    return ", ".join(repr(str(x)) for x in sorted(labels, key=str)) or "none"


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
        check_classes(family, manifests, list(folds), dict.fromkeys(folds, data_csv))
        check_rows(family, frame, data_csv)
        check_shared({f: (frame[frame["fold"] == f], data_csv) for f in folds})
        return manifests, folds
    manifests, frames = {}, {}
    for split in SPLITS:
        csv_path = root / f"{split}.csv"
        if split == "test" and family.trials and not csv_path.is_file():  # the test split is what the trials name
            manifests["trials"] = read_trials(root, manifests)
            frame, csv_path = trial_clips(manifests["trials"], root, family), root / "trials.csv"
            manifests[split], frames[split] = frame, (frame, csv_path)
            continue
        if not csv_path.is_file():
            raise TaskError(f"{root}: missing {split}.csv (or a data.csv with a fold column)")
        frame = resolve_paths(read_csv(csv_path, columns, family.blank_columns), root, csv_path)
        manifests[split], frames[split] = to_manifest(family, frame, csv_path), (frame, csv_path)
    check_vocabulary(family, manifests, ["train"], root)
    if family.trials and "trials" not in manifests:
        manifests["trials"] = read_trials(root, manifests)
    check_classes(family, {s: manifests[s] for s in SPLITS}, ["train"], {s: frames[s][1] for s in SPLITS})
    for frame, csv_path in frames.values():
        check_rows(family, frame, csv_path)
    check_shared(frames)
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
