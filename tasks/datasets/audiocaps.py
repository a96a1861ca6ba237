"""AudioCaps: ~50k AudioSet clips with human captions (one per training clip, five per
validation/test clip), for users who have the audio (it is distributed as YouTube IDs).

Layout expected by `prepare_audiocaps` (the CSVs of github.com/cdjkim/audiocaps, `dataset/`):
    train.csv, val.csv, test.csv     audiocap_id,youtube_id,start_time,caption
    audio files anywhere below, named after the YouTube ID (ID.wav, YID.wav, ID_30.wav, ...)
Task `audiocaps`: text-audio retrieval, train / val / test, R@1/5/10 and mAP@10. Clips
without audio are left out and counted in the provenance notes.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, find_youtube_audio, locate, read_table, rel, write_folder_task
from tasks.datasets.download import Resource, download_all, manual_download

DESCRIPTION = "AudioCaps text-audio retrieval (bring your own AudioSet audio)"
TASKS = ("audiocaps",)
BASE = "https://raw.githubusercontent.com/cdjkim/audiocaps/master/dataset/"
RESOURCES = tuple(Resource(BASE + f"{s}.csv", extract=False) for s in ("train", "val", "test"))  # no published checksums
COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
CITATION = ("C. D. Kim, B. Kim, H. Lee and G. Kim. AudioCaps: Generating Captions for Audios in The Wild. "
            "NAACL-HLT 2019.")


def download_audiocaps(target_dir: str | Path) -> Path:
    download_all(RESOURCES, target_dir)
    print(str(manual_download("AudioCaps audio", "the release holds YouTube IDs only; put the clips (named by "
                                                 "YouTube ID) under " + str(target_dir) + "/audio/")))
    return Path(target_dir)


def prepare_audiocaps(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "train.csv", "AudioCaps", "Expected train.csv, val.csv and test.csv of AudioCaps.")
    tables = {split: read_table(root / f"{name}.csv", COLUMNS, "AudioCaps")
              for split, name in (("train", "train"), ("valid", "val"), ("test", "test"))}
    found = find_youtube_audio(root, {y for t in tables.values() for y in t["youtube_id"]})
    splits, notes = {}, []
    for split, table in tables.items():
        present = table[table["youtube_id"].isin(found) & (table["caption"].str.strip() != "")]
        clips = table["youtube_id"].nunique()
        notes.append(f"{split}: {present['youtube_id'].nunique()} of {clips} clips have audio")
        if present.empty:
            raise LayoutError(f"AudioCaps: no audio found under {root} for the {clips} clips of {split} "
                              f"(expected files named after the YouTube ID, e.g. {table['youtube_id'].iloc[0]}.wav)")
        splits[split] = pd.DataFrame({"path": [rel(found[y], root, "corpus") for y in present["youtube_id"]],
                                      "caption": list(present["caption"].str.strip())})
    info = TaskInfo(name="audiocaps", family="retrieval", description=DESCRIPTION,
                    license="captions MIT (AudioCaps repository); audio from YouTube under its uploaders' terms",
                    citation=CITATION, source="https://audiocaps.github.io/", version="AudioCaps v1 (cdjkim/audiocaps master)",
                    metrics=("r@1", "r@5", "r@10", "mAP@10"), main_metric="r@1")
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="audiocaps", splits=splits,
                              links={"corpus": root}, notes="; ".join(notes))]
