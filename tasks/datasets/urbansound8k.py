"""UrbanSound8K: 8732 urban sound excerpts (<= 4 s, mixed rates), 10 classes, 10 folds.

Layout (`UrbanSound8K.tar.gz` from Zenodo record 1203745):
    UrbanSound8K/metadata/UrbanSound8K.csv
        slice_file_name,fsID,start,end,salience,fold,classID,class
    UrbanSound8K/audio/fold{1..10}/*.wav
Task `urbansound8k`: 10-fold cross-validation on the published folds (the authors'
protocol: never reshuffle), accuracy.
"""
from __future__ import annotations

from pathlib import Path

from tasks.datasets import default_out_dir
from tasks.datasets.common import TaskInfo, check_files, locate, read_table, rel, require_folds, write_folder_task
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "UrbanSound8K urban sound classification (10 classes, 10 folds)"
TASKS = ("urbansound8k",)
RESOURCES = (
    # md5 as published on Zenodo (and pinned by soundata)
    Resource("https://zenodo.org/record/1203745/files/UrbanSound8K.tar.gz", "UrbanSound8K.tar.gz",
             md5="9aa69802bbf37fb986f71ec1483a196e"),
)
COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
CITATION = ("J. Salamon, C. Jacoby and J. P. Bello. A Dataset and Taxonomy for Urban Sound Research. "
            "22nd ACM International Conference on Multimedia, Orlando, USA, 2014.")


def download_urbansound8k(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / "UrbanSound8K"


def prepare_urbansound8k(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "metadata/UrbanSound8K.csv", "UrbanSound8K",
                  "Expected the unpacked UrbanSound8K.tar.gz.")
    table = root / "metadata" / "UrbanSound8K.csv"
    meta = read_table(table, COLUMNS, "UrbanSound8K")
    audio = [root / "audio" / f"fold{fold}" / name for fold, name in zip(meta["fold"], meta["slice_file_name"])]
    check_files(audio, "UrbanSound8K", str(table))
    require_folds(meta["fold"].unique(), range(1, 11), "UrbanSound8K", table)
    data = meta.assign(path=[rel(p, root / "audio", "audio") for p in audio], label=meta["class"],
                       fold="fold" + meta["fold"].str.zfill(2))[["path", "label", "fold"]]
    info = TaskInfo(name="urbansound8k", family="classification", description=DESCRIPTION,
                    license="CC BY-NC 4.0 (Zenodo record 1203745)", citation=CITATION,
                    source="https://urbansounddataset.weebly.com/urbansound8k.html", version="UrbanSound8K v1.0 (Zenodo 1203745)",
                    metrics=("accuracy", "macro_f1"), main_metric="accuracy",
                    checksums={r.name: r.published for r in RESOURCES if r.published})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="urbansound8k", data=data,
                              links={"audio": root / "audio"})]
