"""NSynth: 305,979 four-second notes (16 kHz) of 1,006 instruments, with pitch and family.

Layout (the `nsynth-{train,valid,test}.jsonwav.tar.gz` archives unpacked together):
    nsynth-{split}/examples.json   {note_str: {"pitch": 60, "instrument_family_str": "keyboard",
                                     "velocity": 100, "sample_rate": 16000, ...}}
    nsynth-{split}/audio/{note_str}.wav
Tasks:
  `nsynth-pitch`        HEAR's pitch task: MIDI pitches 21-108 (piano range), pitch and
                        chroma accuracy; training set capped at 5 hours (HEAR's "5h" task)
  `nsynth-instrument`   instrument family (11 classes), accuracy; same training cap
Both cap the training set (default 5 h = 4,500 notes, a deterministic hash sample; pass
`max_train_hours=None` for all 289,205) and keep the official valid and test sets whole.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_files, check_sample_rate, fraction, locate, write_folder_task
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "NSynth pitch (HEAR) and instrument family classification"
TASKS = ("nsynth-pitch", "nsynth-instrument")
BASE = "http://download.magenta.tensorflow.org/datasets/nsynth/"
RESOURCES = tuple(Resource(BASE + f"nsynth-{s}.jsonwav.tar.gz") for s in ("train", "valid", "test"))  # no published checksums
SPLITS = {"train": "nsynth-train", "valid": "nsynth-valid", "test": "nsynth-test"}
NOTE_SECONDS = 4.0
PITCH_RANGE = (21, 108)
CITATION = ("J. Engel, C. Resnick, A. Roberts, S. Dieleman, D. Eck, K. Simonyan and M. Norouzi. Neural Audio "
            "Synthesis of Musical Notes with WaveNet Autoencoders. ICML 2017.")


def download_nsynth(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir)


def read_examples(root: Path, folder: str) -> pd.DataFrame:
    path = root / folder / "examples.json"
    if not path.is_file():
        raise LayoutError(f"NSynth: missing {path} (unpack {folder}.jsonwav.tar.gz into {root})")
    try:
        examples = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise LayoutError(f"NSynth: {path} is not valid JSON: {err}") from err
    rows = []
    for note, fields in examples.items():
        try:
            rows.append((note, int(fields["pitch"]), str(fields["instrument_family_str"])))
        except (KeyError, TypeError, ValueError):
            raise LayoutError(f"NSynth: {path}: entry {note!r} lacks 'pitch' or 'instrument_family_str'") from None
    frame = pd.DataFrame(rows, columns=["note", "pitch", "family"]).sort_values("note", ignore_index=True)
    frame["path"] = [f"corpus/{folder}/audio/{n}.wav" for n in frame["note"]]
    return frame


def cap(frame: pd.DataFrame, hours: float | None, salt: str) -> pd.DataFrame:
    if hours is None:
        return frame
    keep = int(hours * 3600 / NOTE_SECONDS)
    order = frame["note"].map(lambda n: fraction(n, salt)).sort_values().index
    return frame.loc[sorted(order[:keep])].reset_index(drop=True)


def prepare_nsynth(corpus_dir: str | Path, out_dir: str | Path | None = None,
                   max_train_hours: float | None = 5.0) -> list[Path]:
    root = locate(corpus_dir, "nsynth-test/examples.json", "NSynth",
                  "Expected nsynth-train/, nsynth-valid/ and nsynth-test/ (the jsonwav archives) side by side.")
    tables = {split: read_examples(root, folder) for split, folder in SPLITS.items()}
    for split, frame in tables.items():
        files = [root / p.removeprefix("corpus/") for p in frame["path"]]
        check_files(files[:: max(1, len(files) // 200)], "NSynth", f"{SPLITS[split]}/examples.json")
        check_sample_rate(files, 16000, "NSynth")
    out = out_dir or default_out_dir()
    written = []
    in_range = {s: f[f["pitch"].between(*PITCH_RANGE)] for s, f in tables.items()}
    pitch = {s: (cap(f, max_train_hours, "nsynth-pitch") if s == "train" else f) for s, f in in_range.items()}
    pitch = {s: f[f["pitch"].isin(set(pitch["train"]["pitch"]))][["path", "pitch"]] for s, f in pitch.items()}
    base = dict(license="CC BY 4.0", citation=CITATION, source="https://magenta.tensorflow.org/datasets/nsynth",
                sample_rate=16000)
    hours = "all" if max_train_hours is None else f"{max_train_hours:g} h"
    info = TaskInfo(name="nsynth-pitch", family="pitch", description=f"NSynth pitch, MIDI 21-108 (train: {hours})",
                    version=f"NSynth v2.2 jsonwav; train {hours}", metrics=("pitch_acc", "chroma_acc"),
                    main_metric="pitch_acc", **base)
    written.append(write_folder_task(out, info, dataset="nsynth", splits=pitch, links={"corpus": root}))
    family = {s: (cap(f, max_train_hours, "nsynth-family") if s == "train" else f) for s, f in tables.items()}
    family = {s: f[f["family"].isin(set(family["train"]["family"]))].rename(columns={"family": "label"})[["path", "label"]]
              for s, f in family.items()}
    info = TaskInfo(name="nsynth-instrument", family="classification",
                    description=f"NSynth instrument family, 11 classes (train: {hours})",
                    version=f"NSynth v2.2 jsonwav; train {hours}", metrics=("accuracy", "macro_f1"),
                    main_metric="accuracy", **base)
    written.append(write_folder_task(out, info, dataset="nsynth", splits=family, links={"corpus": root}))
    return written
