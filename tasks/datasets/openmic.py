"""OpenMIC-2018: 20,000 ten-second Freesound/FMA excerpts, 20 instruments, partial labels.

Layout (`openmic-2018-v1.0.0.tgz` from Zenodo record 1432913, unpacked):
    openmic-2018/openmic-2018-aggregated-labels.csv   sample_key,instrument,relevance,num_responses
    openmic-2018/partitions/split01_train.csv, split01_test.csv   (sample keys, no header)
    openmic-2018/audio/{key[:3]}/{key}.ogg
Task `openmic-2018`: multi-label tagging, an instrument is present when its aggregated
relevance is >= 0.5; the official split01 train/test, 10% of train (by hash) for
validation. OpenMIC labels are partial (an instrument nobody was asked about is unknown,
not absent); this task treats unknown as absent, as a plain multi-label probe must;
mAP and ROC-AUC.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, check_files, drop_unseen_tags, hold_out, locate, read_lines,
                                   read_table, write_folder_task)
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "OpenMIC-2018 instrument recognition (20 instruments, multi-label)"
TASKS = ("openmic-2018",)
RESOURCES = (Resource("https://zenodo.org/record/1432913/files/openmic-2018-v1.0.0.tgz"),)  # no checksum pinned here
THRESHOLD = 0.5
CITATION = ("E. J. Humphrey, S. Durand and B. McFee. OpenMIC-2018: An Open Data-set for Multiple Instrument "
            "Recognition. ISMIR 2018.")


def download_openmic(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir) / "openmic-2018"


def prepare_openmic(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "openmic-2018-aggregated-labels.csv", "OpenMIC-2018",
                  "Expected the unpacked openmic-2018-v1.0.0.tgz.")
    labels = read_table(root / "openmic-2018-aggregated-labels.csv",
                        ("sample_key", "instrument", "relevance", "num_responses"), "OpenMIC-2018")
    try:
        labels["relevance"] = labels["relevance"].astype(float)
    except ValueError as err:
        raise LayoutError(f"OpenMIC-2018: column 'relevance' must be numbers: {err}") from None
    positive = labels[labels["relevance"] >= THRESHOLD].groupby("sample_key")["instrument"].agg(
        lambda s: ";".join(sorted(set(s))))
    partitions = {name: read_lines(root / "partitions" / f"split01_{name}.csv", "OpenMIC-2018", "official split")
                  for name in ("train", "test")}
    tables = {}
    for name, keys in partitions.items():
        keys = [k for k in keys if k != "sample_key"]
        files = [root / "audio" / k[:3] / f"{k}.ogg" for k in keys]
        check_files(files, "OpenMIC-2018", f"partitions/split01_{name}.csv")
        tables[name] = pd.DataFrame({"key": keys, "path": [f"audio/{k[:3]}/{k}.ogg" for k in keys],
                                     "labels": [positive.get(k, "") for k in keys]})
    train = tables["train"]
    held = pd.Series(hold_out(list(train["key"]), 0.1, "openmic-valid"), index=train.index)
    splits = {"train": train[~held], "valid": train[held], "test": tables["test"]}
    dropped = {s: int((f["labels"] == "").sum()) for s, f in splits.items()}
    splits = {s: f[f["labels"] != ""][["path", "labels"]].reset_index(drop=True) for s, f in splits.items()}
    splits, note = drop_unseen_tags(splits)
    info = TaskInfo(name="openmic-2018", family="tagging", description=DESCRIPTION, license="CC BY 4.0 (audio: CC licenses of FMA)",
                    citation=CITATION, source="https://zenodo.org/record/1432913", version="OpenMIC-2018 v1.0.0, split01",
                    metrics=("mAP", "roc_auc"), main_metric="mAP")
    notes = "clips with no instrument >= 0.5 left out: " + ", ".join(f"{s} {n}" for s, n in dropped.items())
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="openmic", splits=splits,
                              links={"audio": root / "audio"}, notes=notes + (f"; {note}" if note else ""))]
