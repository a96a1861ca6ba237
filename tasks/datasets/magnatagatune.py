"""MagnaTagATune: 25,863 clips (~29 s, 16 kHz MP3) with 188 crowd-sourced tags.

Layout (the MIREX copy: `mp3.zip.001-003` joined and unpacked, plus the annotations):
    annotations_final.csv   tab-separated: clip_id, 188 tag columns (0/1), mp3_path
    {0-9,a-f}/{artist-album-track-from-to}.mp3
Task `magnatagatune-top50`: the 50 most frequent tags, the usual split by directory
(0-b train, c valid, d-f test; Dieleman & Schrauwen 2014, Pons et al. 2018); clips
without any top-50 tag and empty MP3s (three in the release) are left out; ROC-AUC and
mAP (PR-AUC).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_files, locate, read_table, write_folder_task
from tasks.datasets.download import Resource, concatenate, extract, fetch

DESCRIPTION = "MagnaTagATune top-50 music tagging"
TASKS = ("magnatagatune-top50",)
BASE = "https://mirg.city.ac.uk/datasets/magnatagatune/"
PARTS = tuple(Resource(BASE + f"mp3.zip.00{i}", extract=False) for i in (1, 2, 3))  # no published checksums
RESOURCES = (*PARTS, Resource(BASE + "annotations_final.csv", extract=False))
SPLIT_OF_DIR = {**{d: "train" for d in "0123456789ab"}, "c": "valid", **{d: "test" for d in "def"}}
TOP = 50
CITATION = ("E. Law, K. West, M. Mandel, M. Bay and J. S. Downie. Evaluation of algorithms using games: the case "
            "of music tagging. ISMIR 2009.")


def download_magnatagatune(target_dir: str | Path) -> Path:
    target = Path(target_dir)
    parts = [fetch(r, target) for r in PARTS]
    extract(concatenate(parts, target / "mp3.zip"), target)
    fetch(RESOURCES[-1], target)
    return target


def prepare_magnatagatune(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "annotations_final.csv", "MagnaTagATune",
                  "Expected annotations_final.csv next to the unpacked mp3 directories 0-9, a-f.")
    table = read_table(root / "annotations_final.csv", ("clip_id", "mp3_path"), "MagnaTagATune", sep="\t")
    tags = [c for c in table.columns if c not in ("clip_id", "mp3_path")]
    if len(tags) < TOP:
        raise LayoutError(f"MagnaTagATune: annotations_final.csv has {len(tags)} tag columns, expected 188")
    try:
        counts = table[tags].astype(int).sum().sort_values(ascending=False, kind="stable")
    except ValueError as err:
        raise LayoutError(f"MagnaTagATune: tag columns of annotations_final.csv must be 0/1: {err}") from None
    top = list(counts.index[:TOP])
    present = table[top].astype(int)
    files = [root / p for p in table["mp3_path"]]
    check_files(files, "MagnaTagATune", "annotations_final.csv")
    directory = table["mp3_path"].str.split("/").str[0]
    unknown = sorted(set(directory) - set(SPLIT_OF_DIR))
    if unknown:
        raise LayoutError(f"MagnaTagATune: mp3_path directories {', '.join(unknown[:5])} are not 0-9/a-f")
    frame = pd.DataFrame({"path": [f"corpus/{p}" for p in table["mp3_path"]],
                          "labels": [";".join(t for t in top if row[t]) for _, row in present.iterrows()],
                          "split": directory.map(SPLIT_OF_DIR), "size": [f.stat().st_size for f in files]})
    empty_mp3 = int((frame["size"] == 0).sum())
    untagged = int((frame["labels"] == "").sum())
    frame = frame[(frame["labels"] != "") & (frame["size"] > 0)]
    splits = {s: frame[frame["split"] == s][["path", "labels"]] for s in ("train", "valid", "test")}
    info = TaskInfo(name="magnatagatune-top50", family="tagging", description=DESCRIPTION, license="CC BY-NC-SA 1.0 (Magnatune)",
                    citation=CITATION, source="https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset",
                    version="MagnaTagATune (MIREX mp3.zip + annotations_final.csv), top-50, split 0-b/c/d-f",
                    metrics=("roc_auc", "mAP"), main_metric="roc_auc")
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="magnatagatune", splits=splits,
                              links={"corpus": root},
                              notes=f"left out: {untagged} clip(s) without a top-50 tag, {empty_mp3} empty mp3")]
