"""ESC-50: 2000 environmental recordings (5 s, 44.1 kHz), 50 classes, 5 published folds.

Layout (the GitHub archive `ESC-50-master.zip`):
    ESC-50-master/meta/esc50.csv   filename,fold,target,category,esc10,src_file,take
    ESC-50-master/audio/*.wav
Task `esc50`: 5-fold cross-validation on the published folds, accuracy (as HEAR and
every paper since Piczak 2015).
"""
from __future__ import annotations

from pathlib import Path

from tasks.datasets import default_out_dir
from tasks.datasets.common import (TaskInfo, check_files, check_sample_rate, locate, read_table, rel,
                                   require_folds, write_folder_task)
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "ESC-50 environmental sound classification (50 classes, 5 folds)"
TASKS = ("esc50",)
RESOURCES = (
    # md5 as pinned by soundata (the archive of the repository's master branch)
    Resource("https://github.com/karoldvl/ESC-50/archive/master.zip", "ESC-50-master.zip",
             md5="7771e4b9d86d0945acce719c7a59305a"),
)
COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
CITATION = ("K. J. Piczak. ESC: Dataset for Environmental Sound Classification. Proceedings of the 23rd "
            "Annual ACM Conference on Multimedia, Brisbane, Australia, 2015. doi:10.1145/2733373.2806390")


def download_esc50(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / "ESC-50-master"


def prepare_esc50(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "meta/esc50.csv", "ESC-50", "Expected the unpacked ESC-50-master.zip.")
    meta = read_table(root / "meta" / "esc50.csv", COLUMNS, "ESC-50")
    audio = [root / "audio" / f for f in meta["filename"]]
    check_files(audio, "ESC-50", "meta/esc50.csv")
    check_sample_rate(audio, 44100, "ESC-50")
    require_folds(meta["fold"].unique(), range(1, 6), "ESC-50", root / "meta" / "esc50.csv")
    data = meta.assign(path=[rel(p, root / "audio", "audio") for p in audio], label=meta["category"],
                       fold="fold" + meta["fold"])[["path", "label", "fold"]]
    info = TaskInfo(name="esc50", family="classification", description=DESCRIPTION,
                    license="CC BY-NC 3.0 (ESC-10 subset: CC BY)", citation=CITATION,
                    source="https://github.com/karolpiczak/ESC-50", version="ESC-50 master (2000 clips, 5 folds)",
                    metrics=("accuracy", "macro_f1"), main_metric="accuracy", sample_rate=44100,
                    checksums={r.name: r.published for r in RESOURCES if r.published})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="esc50", data=data,
                              links={"audio": root / "audio"})]
