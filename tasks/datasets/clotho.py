"""Clotho v2.1: 6,974 Freesound clips (15-30 s, 44.1 kHz), five captions each.

Layout (Zenodo record 4783391, the 7z archives unpacked next to the CSVs):
    clotho_captions_{development,validation,evaluation}.csv
        file_name,caption_1,caption_2,caption_3,caption_4,caption_5
    development/*.wav  validation/*.wav  evaluation/*.wav
Task `clotho-v2`: language-based audio retrieval (DCASE 2022 task 6b protocol): train on
development, select on validation, test on evaluation; text-to-audio R@1/5/10, mAP@10.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import TaskInfo, check_files, check_sample_rate, locate, read_table, write_folder_task
from tasks.datasets.download import Resource, download_all

DESCRIPTION = "Clotho v2.1 text-audio retrieval (5 captions per clip)"
TASKS = ("clotho-v2",)
ZENODO = "https://zenodo.org/record/4783391/files/"
SUBSETS = {"train": "development", "valid": "validation", "test": "evaluation"}
MD5 = {  # as published on Zenodo (pinned by aac-datasets)
    "clotho_audio_development.7z": "c8b05bc7acdb13895bb3c6a29608667e",
    "clotho_audio_validation.7z": "7dba730be08bada48bd15dc4e668df59",
    "clotho_audio_evaluation.7z": "4569624ccadf96223f19cb59fe4f849f",
    "clotho_captions_development.csv": "d4090b39ce9f2491908eebf4d5b09bae",
    "clotho_captions_validation.csv": "5879e023032b22a2c930aaa0528bead4",
    "clotho_captions_evaluation.csv": "1b16b9e57cf7bdb7f13a13802aeb57e2",
}
RESOURCES = tuple(Resource(ZENODO + name, md5=md5, extract=name.endswith(".7z")) for name, md5 in MD5.items())
CAPTIONS = tuple(f"caption_{i}" for i in range(1, 6))
CITATION = ("K. Drossos, S. Lipping and T. Virtanen. Clotho: An Audio Captioning Dataset. ICASSP 2020.")


def download_clotho(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    return Path(target_dir)


def prepare_clotho(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "clotho_captions_development.csv", "Clotho",
                  "Expected the Clotho v2.1 caption CSVs and the unpacked development/, validation/, evaluation/.")
    splits = {}
    for split, subset in SUBSETS.items():
        table = read_table(root / f"clotho_captions_{subset}.csv", ("file_name", *CAPTIONS), "Clotho")
        audio = [root / subset / name for name in table["file_name"]]
        check_files(audio, "Clotho", f"clotho_captions_{subset}.csv")
        check_sample_rate(audio, 44100, "Clotho")
        long = table.melt(id_vars="file_name", value_vars=list(CAPTIONS), value_name="caption")
        long = long[long["caption"].str.strip() != ""].sort_values(["file_name", "variable"])
        splits[split] = pd.DataFrame({"path": [f"corpus/{subset}/{n}" for n in long["file_name"]],
                                      "caption": list(long["caption"].str.strip())})
    info = TaskInfo(name="clotho-v2", family="retrieval", description=DESCRIPTION,
                    license="audio: the Freesound clips' CC licenses (see clotho_metadata_*.csv); captions: see Zenodo 4783391",
                    citation=CITATION, source="https://zenodo.org/record/4783391", version="Clotho v2.1",
                    metrics=("r@1", "r@5", "r@10", "mAP@10"), main_metric="r@1", sample_rate=44100,
                    checksums={k: f"md5:{v}" for k, v in MD5.items()})
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="clotho", splits=splits,
                              links={"corpus": root})]
