"""What every dataset preparer shares: reading a corpus's own layout with clear errors, and writing
an earbench folder task (task.toml + CSVs + links to the corpus audio).

Preparers never copy the corpus: the folder task links to the audio directories of the
corpus (`audio -> /data/ESC-50-master/audio`) and its CSVs name files through those
links, so a prepared task costs a few megabytes. Only audio the corpus does not contain
as files (e.g. Speech Commands' 1 s silence clips cut from its background noise) is
written into the task folder.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd
import soundfile as sf

from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from benchmark.storage import atomic_dir


class LayoutError(TaskError):
    """The corpus directory does not look like the published dataset."""


@dataclass(frozen=True)
class TaskInfo:
    """The task.toml of a prepared task (see the folder task format)."""

    name: str
    family: str
    description: str
    license: str
    citation: str
    source: str
    version: str
    metrics: tuple[str, ...] = ()
    main_metric: str = ""
    sample_rate: int | None = None
    #: archive name -> "md5:..." / "sha256:..." as published
    checksums: Mapping[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- reading


def locate(corpus_dir: str | Path, marker: str, dataset: str, hint: str = "") -> Path:
    """The dataset's root: `corpus_dir` itself, or the one directory below it (up to two
    levels, e.g. the folder an archive unpacks to) that contains `marker`."""
    corpus_dir = Path(corpus_dir).expanduser().resolve()
    if not corpus_dir.is_dir():
        raise LayoutError(f"{dataset}: corpus directory {corpus_dir} does not exist")
    if (corpus_dir / marker).exists():
        return corpus_dir
    up = len(Path(marker).parts) - 1
    found = sorted({p.parents[up] for depth in ("*/", "*/*/") for p in corpus_dir.glob(depth + marker)})
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise LayoutError(f"{dataset}: several copies of {marker} under {corpus_dir}: "
                          f"{', '.join(map(str, found[:4]))}; pass the one to use as --corpus-dir")
    listing = ", ".join(sorted(p.name for p in corpus_dir.iterdir())[:12]) or "(empty)"
    raise LayoutError(f"{dataset}: {marker} not found in {corpus_dir} (nor one or two levels below); "
                      f"it contains: {listing}. {hint}".rstrip())


def need(path: Path, dataset: str, what: str = "") -> Path:
    """`path` must exist; the error says what it is for."""
    if not path.exists():
        raise LayoutError(f"{dataset}: missing {path}" + (f" ({what})" if what else ""))
    return path


def read_table(path: Path, columns: Sequence[str], dataset: str, *, sep: str = ",",
               names: Sequence[str] | None = None, comment: str | None = None) -> pd.DataFrame:
    """A metadata table with the columns the dataset publishes, read as strings."""
    need(path, dataset, "metadata file")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, header=None if names else "infer",
                            names=list(names) if names else None, comment=comment, skipinitialspace=True,
                            engine="python" if sep not in (",", "\t") else "c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise LayoutError(f"{dataset}: cannot parse {path}: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LayoutError(f"{dataset}: {path} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}, "
                          f"found {', '.join(frame.columns)}")
    if frame.empty:
        raise LayoutError(f"{dataset}: {path} has no rows")
    return frame


def read_lines(path: Path, dataset: str, what: str = "") -> list[str]:
    need(path, dataset, what)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def check_files(paths: Iterable[Path], dataset: str, source: str) -> None:
    """Every audio file a metadata table names must exist (first few missing are listed)."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:3])
        raise LayoutError(f"{dataset}: {len(missing)} audio file(s) listed in {source} are missing, e.g. {shown}")


def check_sample_rate(paths: Sequence[Path], expected: int | Sequence[int], dataset: str, probe: int = 200) -> None:
    """The published sample rate, checked on a spread of `probe` files (headers only)."""
    allowed = {expected} if isinstance(expected, int) else set(expected)
    step = max(1, len(paths) // probe)
    for path in list(paths)[::step][:probe]:
        try:
            rate = sf.info(str(path)).samplerate
        except RuntimeError as err:
            raise LayoutError(f"{dataset}: cannot read {path}: {err}") from err
        if rate not in allowed:
            raise LayoutError(f"{dataset}: {path} is {rate} Hz but the published corpus is "
                              f"{'/'.join(map(str, sorted(allowed)))} Hz: a resampled or different copy? "
                              f"Point --corpus-dir at the original files")


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aiff", ".au")


def find_youtube_audio(directory: Path, ids: Iterable[str]) -> dict[str, Path]:
    """Audio files named after YouTube IDs, as the common AudioSet/AudioCaps downloaders name
    them: `ID.wav`, `YID.wav`, `ID_30.000.wav`, `YID_30.000_40.000.flac`, ... -> {ID: path}."""
    wanted = set(ids)
    found: dict[str, Path] = {}
    for path in sorted(Path(d) / f for d, _, names in os.walk(directory) for f in names):  # no symlink loops
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        stem = path.stem
        candidates = []
        if len(stem) == 11 or (len(stem) > 11 and stem[11] in "_."):
            candidates.append(stem[:11])
        if stem.startswith("Y") and (len(stem) == 12 or (len(stem) > 12 and stem[12] in "_.")):
            candidates.append(stem[1:12])
        for ytid in candidates:
            if ytid in wanted and ytid not in found:
                found[ytid] = path
                break
    return found


def fraction(key: str, salt: str = "earbench") -> float:
    """A stable pseudo-random number in [0, 1) for `key` (deterministic splits)."""
    digest = hashlib.sha1(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def hold_out(keys: Sequence[str], share: float, salt: str, minimum: int = 1) -> list[bool]:
    """Deterministically mark about `share` of `keys` (at least `minimum`, never all) for validation."""
    scores = [fraction(k, salt) for k in keys]
    held = [x < share for x in scores]
    if len(keys) >= 2 and (sum(held) < minimum or all(held)):
        order = sorted(range(len(keys)), key=scores.__getitem__)
        held = [False] * len(keys)
        for i in order[: max(minimum, min(len(keys) - 1, round(share * len(keys))))]:
            held[i] = True
    return held


def require_folds(found: Iterable[object], expected: Sequence[object], dataset: str, source: Path) -> None:
    missing = [str(f) for f in expected if str(f) not in {str(x) for x in found}]
    if missing:
        raise LayoutError(f"{dataset}: {source} has no clip in fold(s) {', '.join(missing)}; "
                          f"the published corpus has folds {', '.join(map(str, expected))}")


def drop_unseen_tags(splits: Mapping[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], str]:
    """Tagging: remove from valid/test the labels train never has (a probe cannot learn them;
    the folder format rejects them), and clips left with no label. Returns a note."""
    seen = {t for labels in splits["train"]["labels"] for t in labels.split(";")}
    out, notes = {"train": splits["train"]}, []
    for name, frame in splits.items():
        if name == "train":
            continue
        kept = [";".join(t for t in labels.split(";") if t in seen) for labels in frame["labels"]]
        frame = frame.assign(labels=kept)
        dropped = int((frame["labels"] == "").sum())
        lost = sorted({t for labels in splits[name]["labels"] for t in labels.split(";")} - seen)
        if lost:
            notes.append(f"{name}: {len(lost)} label(s) absent from train removed, {dropped} clip(s) dropped")
        out[name] = frame[frame["labels"] != ""].reset_index(drop=True)
    return out, "; ".join(notes)


# ----------------------------------------------------------------------------- writing


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def task_toml(info: TaskInfo, provenance: Mapping[str, object]) -> str:
    keys: dict[str, object] = {
        "name": info.name, "family": info.family, "description": info.description, "version": info.version,
        "license": info.license, "citation": info.citation, "source": info.source}
    if info.metrics:
        keys["metrics"] = list(info.metrics)
    if info.main_metric:
        keys["main_metric"] = info.main_metric
    if info.sample_rate:
        keys["sample_rate"] = info.sample_rate
    lines = [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
    lines += ["", "[provenance]"] + [f"{k} = {_toml_value(v)}" for k, v in provenance.items()]
    if info.checksums:
        lines += ["", "[provenance.checksums]"] + [f"{_toml_value(k)} = {_toml_value(v)}"
                                                   for k, v in sorted(info.checksums.items())]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def rel(path: Path, base: Path, link: str) -> str:
    """The CSV path of a corpus file `path` under `base`, seen through the task's `link`."""
    return f"{link}/{Path(path).relative_to(base).as_posix()}"


def write_folder_task(out_dir: str | Path, info: TaskInfo, *, dataset: str,
                      splits: Mapping[str, pd.DataFrame] | None = None, data: pd.DataFrame | None = None,
                      trials: pd.DataFrame | None = None, links: Mapping[str, Path] | None = None,
                      files: Mapping[str, Path] | None = None, notes: str = "") -> Path:
    """Write `out_dir/<info.name>/` atomically and validate it as a folder task.

    `splits` ({train,valid,test}: frame) or `data` (one frame with a `fold` column) hold
    the family's CSV columns; `links` maps a name inside the task folder to a corpus
    directory (a symlink); `files` maps a relative path to a file to move in (generated
    audio). The folder only replaces an older one once it validates.
    """
    if (splits is None) == (data is None):
        raise ValueError("give exactly one of splits= or data=")
    final = Path(out_dir).expanduser().resolve() / info.name
    with atomic_dir(final) as staged:
        for name, target in (links or {}).items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(Path(target).resolve(), staged / name, target_is_directory=True)
        for name, source in (files or {}).items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), staged / name)
        tables = dict(splits) if splits is not None else {"data": data}
        if trials is not None:
            tables["trials"] = trials
        digest = hashlib.sha256()
        for split, frame in tables.items():
            _write_csv(staged / f"{split}.csv", frame)
            digest.update((staged / f"{split}.csv").read_bytes())
        provenance = {"dataset": dataset, "prepared": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "links": [f"{k} -> {Path(v).resolve()}" for k, v in (links or {}).items()],
                      "manifest_sha256": digest.hexdigest()}
        if notes:
            provenance["notes"] = notes
        (staged / "task.toml").write_text(task_toml(info, provenance))
        load_folder_task(staged)  # validate before publishing
    return final
