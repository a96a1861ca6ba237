"""AudioSet (balanced train + eval segments), for users who have the audio.

AudioSet is distributed as YouTube IDs: `download_audioset` fetches the segment CSVs and
the ontology's class list; the audio itself must come from elsewhere (your own crawl, a
mirror). Layout expected by `prepare_audioset`:
    balanced_train_segments.csv, eval_segments.csv   (3 comment lines, then
        YTID, start_seconds, end_seconds, positive_labels   with labels "/m/..,/m/..")
    class_labels_indices.csv   index,mid,display_name
    audio files anywhere below, named after the YouTube ID: ID.wav, YID.wav,
        ID_30.000.flac, YID_30.000_40.000.wav, ... (the usual downloaders' names)
Task `audioset-balanced`: train on balanced_train (10% held out, by ID hash, for
validation), test on eval; mAP (as PANNs, AST, BEATs, ...) and d'. Clips without audio
are left out and counted in the task's provenance notes.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, drop_unseen_tags, find_youtube_audio, hold_out, locate,
                                   read_table, rel, write_folder_task)
from tasks.datasets.download import Resource, download_all, manual_download

DESCRIPTION = "AudioSet balanced-train / eval tagging (527 classes; bring your own audio)"
TASKS = ("audioset-balanced",)
BASE = "http://storage.googleapis.com/us_ytid_audioset/v1/csv/"
RESOURCES = (  # no checksums are published for these files; the download records sha256
    Resource(BASE + "balanced_train_segments.csv", extract=False),
    Resource(BASE + "eval_segments.csv", extract=False),
    Resource(BASE + "class_labels_indices.csv", extract=False),
)
HEADER = ["YTID", "start_seconds", "end_seconds", "positive_labels"]
CITATION = ("J. F. Gemmeke, D. P. W. Ellis, D. Freedman, A. Jansen, W. Lawrence, R. C. Moore, M. Plakal and "
            "M. Ritter. Audio Set: An ontology and human-labeled dataset for audio events. ICASSP 2017.")
VALID_FRACTION = 0.1


def download_audioset(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    print(str(manual_download("AudioSet audio", "the release holds YouTube IDs only; put the clips (named by "
                                                "YouTube ID) under " + str(target_dir) + "/audio/")))
    return Path(target_dir)


def read_segments(path: Path) -> pd.DataFrame:
    """An AudioSet segments CSV -> YTID, start, end, mids (list)."""
    if not path.is_file():
        raise LayoutError(f"AudioSet: missing {path} (download it with `earbench data download audioset`)")
    rows, header_seen = [], False
    with path.open(newline="") as f:
        for number, row in enumerate(csv.reader(f, skipinitialspace=True), start=1):
            if not row:
                continue
            if row[0].startswith("#"):
                header_seen |= [c.strip("# ").strip() for c in row] == HEADER
                continue
            if len(row) != 4:
                raise LayoutError(f"AudioSet: {path} line {number}: expected 4 fields "
                                  f"({', '.join(HEADER)}), got {len(row)}")
            rows.append((row[0], row[1], row[2], [m.strip() for m in row[3].split(",") if m.strip()]))
    if not header_seen:
        raise LayoutError(f"AudioSet: {path} lacks the header comment '# {', '.join(HEADER)}': "
                          f"not an AudioSet segments CSV")
    if not rows:
        raise LayoutError(f"AudioSet: {path} has no segments")
    return pd.DataFrame(rows, columns=["ytid", "start", "end", "mids"])


def prepare_audioset(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "balanced_train_segments.csv", "AudioSet",
                  "Expected the segment CSVs from `earbench data download audioset` next to the audio.")
    classes = read_table(root / "class_labels_indices.csv", ("index", "mid", "display_name"), "AudioSet")
    known = set(classes["mid"])
    segments = {"balanced_train": read_segments(root / "balanced_train_segments.csv"),
                "eval": read_segments(root / "eval_segments.csv")}
    for name, frame in segments.items():
        unknown = sorted({m for mids in frame["mids"] for m in mids} - known)
        if unknown:
            raise LayoutError(f"AudioSet: {name}_segments.csv uses label(s) {', '.join(unknown[:5])} "
                              f"absent from class_labels_indices.csv (mismatched releases?)")
    found = find_youtube_audio(root, {y for f in segments.values() for y in f["ytid"]})
    notes, splits = [], {}
    for name, frame in segments.items():
        present = frame[frame["ytid"].isin(found)]
        notes.append(f"{name}: {len(present)} of {len(frame)} clips have audio")
        if present.empty:
            raise LayoutError(f"AudioSet: none of the {len(frame)} clips of {name}_segments.csv has an audio file "
                              f"under {root} (expected files named after the YouTube ID, e.g. "
                              f"{frame['ytid'].iloc[0]}.wav or Y{frame['ytid'].iloc[0]}.wav)")
        table = pd.DataFrame({"path": [rel(found[y], root, "corpus") for y in present["ytid"]],
                              "labels": [";".join(m) for m in present["mids"]], "ytid": list(present["ytid"])})
        if name == "eval":
            splits["test"] = table
        else:
            held = pd.Series(hold_out(list(table["ytid"]), VALID_FRACTION, "audioset-valid"), index=table.index)
            splits["train"], splits["valid"] = table[~held], table[held]
    splits, dropped = drop_unseen_tags({k: v.drop(columns="ytid").reset_index(drop=True) for k, v in splits.items()})
    notes += [dropped] if dropped else []
    info = TaskInfo(name="audioset-balanced", family="tagging", description=DESCRIPTION,
                    license="labels CC BY 4.0 (Google); audio from YouTube under its uploaders' terms",
                    citation=CITATION, source="https://research.google.com/audioset/",
                    version="AudioSet v1 segments (balanced_train + eval)",
                    metrics=("mAP", "d_prime", "roc_auc"), main_metric="mAP")
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="audioset", splits=splits,
                              links={"corpus": root}, notes="; ".join(notes))]
