"""FSD50K: 51,197 Freesound clips (0.3-30 s, 44.1 kHz), 200 AudioSet classes, multi-label.

Layout (Zenodo record 4060432, split zips merged and unpacked):
    FSD50K.ground_truth/dev.csv         fname,labels,mids,split   (split: train | val)
    FSD50K.ground_truth/eval.csv        fname,labels,mids
    FSD50K.ground_truth/vocabulary.csv  (no header) index,label,mid
    FSD50K.dev_audio/{fname}.wav   FSD50K.eval_audio/{fname}.wav
Task `fsd50k`: train on dev/train, select on dev/val, test on eval (the paper's
protocol), mAP and d' (as HEAR).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import (LayoutError, TaskInfo, drop_unseen_tags, check_files, check_sample_rate, locate, read_table, rel,
                                   write_folder_task)
from tasks.datasets.download import Resource, download_all, extract, fetch, merge_split_zip

DESCRIPTION = "FSD50K sound event tagging (200 classes)"
TASKS = ("fsd50k",)
ZENODO = "https://zenodo.org/record/4060432/files/"
# md5s as published on Zenodo (and pinned by soundata)
DEV_AUDIO = tuple(Resource(ZENODO + name, name, md5=md5, extract=False) for name, md5 in (
    ("FSD50K.dev_audio.z01", "faa7cf4cc076fc34a44a479a5ed862a3"),
    ("FSD50K.dev_audio.z02", "8f9b66153e68571164fb1315d00bc7bc"),
    ("FSD50K.dev_audio.z03", "1196ef47d267a993d30fa98af54b7159"),
    ("FSD50K.dev_audio.z04", "d088ac4e11ba53daf9f7574c11cccac9"),
    ("FSD50K.dev_audio.z05", "81356521aa159accd3c35de22da28c7f"),
    ("FSD50K.dev_audio.zip", "c480d119b8f7a7e32fdb58f3ea4d6c5a"),
))
EVAL_AUDIO = tuple(Resource(ZENODO + name, name, md5=md5, extract=False) for name, md5 in (
    ("FSD50K.eval_audio.z01", "3090670eaeecc013ca1ff84fe4442aeb"),
    ("FSD50K.eval_audio.zip", "6fa47636c3a3ad5c7dfeba99f2637982"),
))
RESOURCES = (
    Resource(ZENODO + "FSD50K.ground_truth.zip", "FSD50K.ground_truth.zip", md5="ca27382c195e37d2269c4c866dd73485"),
    Resource(ZENODO + "FSD50K.metadata.zip", "FSD50K.metadata.zip", md5="b9ea0c829a411c1d42adb9da539ed237"),
    *DEV_AUDIO, *EVAL_AUDIO,
)
CITATION = ("E. Fonseca, X. Favory, J. Pons, F. Font and X. Serra. FSD50K: An Open Dataset of Human-Labeled "
            "Sound Events. IEEE/ACM Transactions on Audio, Speech, and Language Processing, 30:829-852, 2022.")


def download_fsd50k(target_dir: str | Path) -> Path:
    target = Path(target_dir)
    download_all(RESOURCES[:2], target)
    for parts, merged in ((DEV_AUDIO, "FSD50K.dev_audio.merged.zip"), (EVAL_AUDIO, "FSD50K.eval_audio.merged.zip")):
        paths = [fetch(r, target) for r in parts]
        extract(merge_split_zip(paths[-1], target / merged), target)
    return target


def _labels(frame: pd.DataFrame) -> list[str]:
    return [";".join(x.strip() for x in labels.split(",") if x.strip()) for labels in frame["labels"]]


def prepare_fsd50k(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "FSD50K.ground_truth/dev.csv", "FSD50K",
                  "Expected FSD50K.ground_truth/, FSD50K.dev_audio/ and FSD50K.eval_audio/ side by side.")
    truth = root / "FSD50K.ground_truth"
    dev = read_table(truth / "dev.csv", ("fname", "labels", "mids", "split"), "FSD50K")
    ev = read_table(truth / "eval.csv", ("fname", "labels", "mids"), "FSD50K")
    bad = sorted(set(dev["split"]) - {"train", "val"})
    if bad:
        raise LayoutError(f"FSD50K: {truth / 'dev.csv'} column 'split' has value(s) {', '.join(bad)}; "
                          f"expected train or val")
    splits = {}
    for split, frame, folder in (("train", dev[dev["split"] == "train"], "FSD50K.dev_audio"),
                                 ("valid", dev[dev["split"] == "val"], "FSD50K.dev_audio"),
                                 ("test", ev, "FSD50K.eval_audio")):
        audio = [root / folder / f"{name}.wav" for name in frame["fname"]]
        check_files(audio, "FSD50K", f"{folder} (from FSD50K.ground_truth)")
        check_sample_rate(audio, 44100, "FSD50K")
        link = "dev_audio" if folder.endswith("dev_audio") else "eval_audio"
        splits[split] = pd.DataFrame({"path": [rel(p, root / folder, link) for p in audio],
                                      "labels": _labels(frame)})
    splits, notes = drop_unseen_tags(splits)
    info = TaskInfo(name="fsd50k", family="tagging", description=DESCRIPTION,
                    license="CC BY 4.0 (clips under their own CC licenses, see FSD50K.metadata)", citation=CITATION,
                    source="https://zenodo.org/record/4060432", version="FSD50K v1.0 (Zenodo 4060432)",
                    metrics=("mAP", "d_prime", "roc_auc"), main_metric="mAP",
                    checksums={r.name: r.published for r in RESOURCES if r.published})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="fsd50k", splits=splits,
                              links={"dev_audio": root / "FSD50K.dev_audio",
                                     "eval_audio": root / "FSD50K.eval_audio"}, notes=notes)]
