"""DESED (DCASE task 4, domestic sound event detection), strongly labelled parts.

DESED's real recordings come from YouTube and its soundscapes are generated with
Scaper, so it is obtained with the organisers' tools (`pip install desed`, then the
DESED_task scripts); `prepare_desed` reads the resulting `dataset/` directory:
    metadata/train/synthetic21_train/soundscapes.tsv             filename onset offset event_label
    metadata/validation/synthetic21_validation/soundscapes.tsv
    metadata/validation/validation.tsv  (+ validation_durations.tsv: filename duration)
    audio/train/synthetic21_train/soundscapes[_16k]/*.wav
    audio/validation/synthetic21_validation/soundscapes[_16k]/*.wav
    audio/validation/validation[_16k]/*.wav
Task `desed`: train on the synthetic training soundscapes, select on the synthetic
validation soundscapes, test on the real validation set (the public set the DCASE
baseline reports); PSDS1, PSDS2 and event-based F1.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.datasets import default_out_dir
from tasks.datasets.common import LayoutError, TaskInfo, check_files, locate, read_table, write_folder_task
from tasks.datasets.download import manual_download

DESCRIPTION = "DESED / DCASE task 4 domestic sound event detection (10 classes)"
TASKS = ("desed",)
RESOURCES = ()
PARTS = {  # split -> (metadata tsv, audio directory without the optional _16k suffix)
    "train": ("metadata/train/synthetic21_train/soundscapes.tsv", "audio/train/synthetic21_train/soundscapes"),
    "valid": ("metadata/validation/synthetic21_validation/soundscapes.tsv",
              "audio/validation/synthetic21_validation/soundscapes"),
    "test": ("metadata/validation/validation.tsv", "audio/validation/validation"),
}
CITATION = ("N. Turpault, R. Serizel, A. Parag Shah and J. Salamon. Sound event detection in domestic environments "
            "with weakly labeled data and soundscape synthesis. DCASE 2019 Workshop.")


def download_desed(target_dir: str | Path) -> Path:
    raise manual_download("DESED", "its real clips come from YouTube and its soundscapes are synthesised; follow "
                                   "https://github.com/DCASE-REPO/DESED_task (`pip install desed`, then "
                                   "`python generate_dcase_task4_2022.py --basedir " + str(target_dir) + "`) and run "
                                   "`earbench data prepare desed --corpus-dir " + str(target_dir) + "/dcase/dataset`")


def _audio_dir(root: Path, base: str) -> Path:
    for candidate in (root / f"{base}_16k", root / base):
        if candidate.is_dir():
            return candidate
    raise LayoutError(f"DESED: neither {root / base} nor {root / base}_16k exists")


def prepare_desed(corpus_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    root = locate(corpus_dir, "metadata/validation/validation.tsv", "DESED",
                  "Expected DESED_task's dcase/dataset directory (metadata/ and audio/).")
    splits, links = {}, {}
    for split, (tsv, audio_base) in PARTS.items():
        events = read_table(root / tsv, ("filename", "onset", "offset", "event_label"), "DESED", sep="\t")
        audio_dir = _audio_dir(root, audio_base)
        links[f"{split}_audio"] = audio_dir
        names = list(dict.fromkeys(events["filename"]))
        durations = root / tsv.replace(".tsv", "_durations.tsv")
        if split == "test" and durations.is_file():  # clips without any event are listed only there
            names += [n for n in read_table(durations, ("filename", "duration"), "DESED", sep="\t")["filename"]
                      if n not in set(names)]
        check_files([audio_dir / n for n in names], "DESED", tsv)
        rows = [(f"{split}_audio/{r.filename}", r.onset, r.offset, r.event_label)
                for r in events.itertuples() if r.event_label.strip()]
        rows += [(f"{split}_audio/{n}", "", "", "") for n in names if n not in set(events.loc[events["event_label"].str.strip() != "", "filename"])]
        splits[split] = pd.DataFrame(rows, columns=["path", "onset", "offset", "label"])
    info = TaskInfo(name="desed", family="sed", description=DESCRIPTION,
                    license="synthetic soundscapes CC BY 4.0 (Freesound sources under their CC licenses); real clips: YouTube",
                    citation=CITATION, source="https://project.inria.fr/desed/", version="DESED 2021 (synthetic21 + validation)",
                    metrics=("psds1", "psds2", "event_onset_200ms_fms", "segment_1s_er"), main_metric="psds1",
                    sample_rate=16000)
    return [write_folder_task(out_dir or default_out_dir(), info, dataset="desed", splits=splits, links=links)]
