"""TAU Urban Acoustic Scenes 2020 Mobile, development set (DCASE 2020 task 1A).

23,040 ten-second clips (44.1 kHz), 10 scenes, recorded in 10 cities with real (A, B, C)
and simulated (S1-S6) devices. Layout (Zenodo record 3819968, all zips unpacked together):
    TAU-urban-acoustic-scenes-2020-mobile-development/meta.csv
        filename<TAB>scene_label<TAB>identifier<TAB>source_label
    .../evaluation_setup/fold1_train.csv, fold1_evaluate.csv   filename<TAB>scene_label
    .../audio/*.wav
Task `tau-urban-2020-mobile`: the official development split (train on fold1_train, test
on fold1_evaluate); 10% of the training recording locations (by hash of `identifier`)
held out for validation so that no location is in both; accuracy.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, check_files, check_sample_rate, hold_out, locate, read_table,
                                   write_folder_task)
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "TAU Urban Acoustic Scenes 2020 Mobile (10 scenes, DCASE 2020 task 1A)"
TASKS = ("tau-urban-2020-mobile",)
ZENODO = "https://zenodo.org/record/3819968/files/"
NAME = "TAU-urban-acoustic-scenes-2020-mobile-development"
# Zenodo shows an md5 per file on the record page; none is pinned here, the download records sha256
RESOURCES = (Resource(ZENODO + f"{NAME}.meta.zip"), Resource(ZENODO + f"{NAME}.doc.zip"),
             *(Resource(ZENODO + f"{NAME}.audio.{i}.zip") for i in range(1, 17)))
CITATION = ("T. Heittola, A. Mesaros and T. Virtanen. Acoustic scene classification in DCASE 2020 Challenge: "
            "generalization across devices and low complexity solutions. DCASE 2020 Workshop.")
VALID_FRACTION = 0.1


def download_tau2020(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / NAME


def prepare_tau2020(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "evaluation_setup/fold1_train.csv", "TAU 2020 Mobile",
                  f"Expected the unpacked {NAME}.*.zip archives.")
    meta = read_table(root / "meta.csv", ("filename", "scene_label", "identifier", "source_label"), "TAU 2020 Mobile",
                      sep="\t")
    setup = root / "evaluation_setup"
    train = read_table(setup / "fold1_train.csv", ("filename", "scene_label"), "TAU 2020 Mobile", sep="\t")
    test = read_table(setup / "fold1_evaluate.csv", ("filename", "scene_label"), "TAU 2020 Mobile", sep="\t")
    location = dict(zip(meta["filename"], meta["identifier"]))
    unknown = [f for f in train["filename"] if f not in location]
    if unknown:
        raise LayoutError(f"TAU 2020 Mobile: {len(unknown)} file(s) of fold1_train.csv are not in meta.csv, "
                          f"e.g. {unknown[0]}")
    for frame, name in ((train, "fold1_train.csv"), (test, "fold1_evaluate.csv")):
        files = [root / f for f in frame["filename"]]
        check_files(files, "TAU 2020 Mobile", name)
        check_sample_rate(files, 44100, "TAU 2020 Mobile")
    locations = sorted(set(location[f] for f in train["filename"]))
    held_locations = {loc for loc, h in zip(locations, hold_out(locations, VALID_FRACTION, "tau2020-valid")) if h}
    held = train["filename"].map(lambda f: location[f] in held_locations)
    table = lambda f: pd.DataFrame({"path": [f"corpus/{x}" for x in f["filename"]], "label": list(f["scene_label"])})  # noqa: E731
    splits = {"train": table(train[~held]), "valid": table(train[held]), "test": table(test)}
    info = TaskInfo(name="tau-urban-2020-mobile", family="classification", description=DESCRIPTION,
                    license="Tampere University license: free for academic, non-commercial use (see the dataset's LICENSE)",
                    citation=CITATION, source="https://zenodo.org/record/3819968", version=f"{NAME} 1.0 (Zenodo 3819968)",
                    metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=44100)
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="tau2020", splits=splits,
                              links={"corpus": root})]
