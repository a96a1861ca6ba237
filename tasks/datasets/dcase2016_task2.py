"""DCASE 2016 task 2 (sound event detection in synthetic office scenes), as in HEAR 2021.

Layout (the archive.org copies HEAR used):
    dcase2016_task2_train_dev/dcase2016_task2_dev/sound/*.wav, annotation/*.txt
    dcase2016_task2_test_public/sound/*.wav, annotation/*.txt
    annotation lines: onset<TAB>offset<TAB>label (seconds)
Task `dcase2016-task2`: HEAR's variant: the isolated training sounds are ignored and the
dev and public test scenes (72 two-minute files) are pooled and re-partitioned 60/20/20
(here by a hash of the file name; HEAR's exact partition is not reproduced); metrics
event-based onset F1 (200 ms) and segment error rate (1 s), HEAR's primary score first.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, check_sample_rate, fraction, locate, rel,
                                   write_folder_task)
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "DCASE 2016 task 2 office sound event detection (HEAR 2021 variant)"
TASKS = ("dcase2016-task2",)
RESOURCES = (  # md5 as pinned by hearpreprocess
    Resource("https://archive.org/download/dcase2016_task2_train_dev/dcase2016_task2_train_dev.zip",
             md5="4e1b5e8887159193e8624dec801eb9e7"),
    Resource("https://archive.org/download/dcase2016_task2_test_public/dcase2016_task2_test_public.zip",
             md5="ac98768b39a08fc0c6c2ddd15a981dd7"),
)
PARTS = ("dcase2016_task2_train_dev/dcase2016_task2_dev", "dcase2016_task2_test_public")
CITATION = ("A. Mesaros, T. Heittola, E. Benetos, P. Foster, M. Lagrange, T. Virtanen and M. D. Plumbley. "
            "Detection and Classification of Acoustic Scenes and Events: Outcome of the DCASE 2016 Challenge. "
            "IEEE/ACM TASLP 26(2):379-393, 2018.")


def download_dcase2016_task2(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir)


def split_of(names: list[str]) -> dict[str, str]:
    """60/20/20 by rank of a hash of the file name (every split non-empty from 3 files)."""
    order = sorted(names, key=lambda n: fraction(n, "dcase2016-task2"))
    cut_valid, cut_test = round(0.6 * len(order)), round(0.8 * len(order))
    return {n: "train" if i < cut_valid else "valid" if i < cut_test else "test" for i, n in enumerate(order)}


def prepare_dcase2016_task2(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, PARTS[1], "DCASE 2016 task 2",
                  "Expected the unpacked dcase2016_task2_train_dev.zip and dcase2016_task2_test_public.zip side by side.")
    rows, audio = [], []
    for part in PARTS:
        base = root / part
        if not (base / "annotation").is_dir() or not (base / "sound").is_dir():
            raise LayoutError(f"DCASE 2016 task 2: {base} must hold annotation/ and sound/")
        annotations = sorted((base / "annotation").glob("*.txt"))
        if not annotations:
            raise LayoutError(f"DCASE 2016 task 2: no annotation/*.txt in {base}")
        for annotation in annotations:
            wav = base / "sound" / f"{annotation.stem}.wav"
            if not wav.is_file():
                raise LayoutError(f"DCASE 2016 task 2: {annotation} has no audio {wav}")
            audio.append(wav)
            path = rel(wav, root, "corpus")
            for number, line in enumerate(annotation.read_text().splitlines(), start=1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 3:
                    raise LayoutError(f"DCASE 2016 task 2: {annotation} line {number}: expected onset offset label, "
                                      f"got {line!r}")
                rows.append((wav.stem, path, float(fields[0]), float(fields[1]), fields[2]))
    check_sample_rate(audio, 44100, "DCASE 2016 task 2")
    frame = pd.DataFrame(rows, columns=["split", "path", "onset", "offset", "label"])
    frame["split"] = frame["split"].map(split_of([w.stem for w in audio]))
    splits = {s: frame[frame["split"] == s].drop(columns="split") for s in ("train", "valid", "test")}
    empty = [s for s, f in splits.items() if f.empty]
    if empty:
        raise LayoutError(f"DCASE 2016 task 2: split(s) {', '.join(empty)} received no file (too few scenes?)")
    info = TaskInfo(name="dcase2016-task2", family="sed", description=DESCRIPTION, license="unknown (DCASE 2016 challenge data; research use)",
                    citation=CITATION, source="https://dcase.community/challenge2016/task-sound-event-detection-in-synthetic-audio",
                    version="hear2021 (dev + public test, re-partitioned)",
                    metrics=("event_onset_200ms_fms", "segment_1s_er"), main_metric="event_onset_200ms_fms",
                    sample_rate=44100, checksums={r.name: r.published for r in RESOURCES})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="dcase2016_task2", splits=splits,
                              links={"corpus": root})]
