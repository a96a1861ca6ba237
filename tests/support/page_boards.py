"""Boards for the page's tests: a benchmark-sized main board (every mini task, nine models,
per-item outputs so that every cell has an item interval) and one other protocol's."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.benchmarks import BENCHMARKS
from leaderboard.board import Board, build_from
from tests.support.records import correct_clips, write_record

TASKS = ["mini-asr", "mini-instrument", "mini-kws", "mini-lid", "mini-pitch", "mini-retrieval", "mini-scenes",
         "mini-sed", "mini-speaker", "mini-sv", "mini-tagging"]
#: model -> (skill: its accuracy over the floor's, params, clips/s); the names as long as the zoo's
MODELS = {"logmel": (0.0, 0, 400.0), "random-cnn": (0.02, 640_000, 38.0),
          "random-transformer": (-0.05, 3_180_000, 4.7), "audiomae-tiny": (0.06, 1_830_000, 22.0),
          "audiomae-tiny@init": (0.01, 1_830_000, 21.0), "ssm-matpac-tiny": (0.12, 2_900_000, 30.0),
          "ssm-matpac-tiny@init": (0.03, 2_900_000, 31.0), "byola-tiny": (0.09, 151_000, 56.0),
          "wav2vec2-tiny": (0.04, 4_100_000, 9.0)}
WEIGHTED = "ssm-matpac-tiny"  # its runs learn layer weights
N_CLIPS = 40


def write_benchmark(root: Path, tasks: list[str] = TASKS, models: dict = MODELS, seeds: int = 2,
                    protocol: str = "linear") -> None:
    """Records with per-item outputs: on each task a floor accuracy, each model's skill above it."""
    rng = np.random.default_rng(0)
    for t, task in enumerate(tasks):
        floor = 0.35 + 0.04 * (t % 5)
        for model, (skill, params, speed) in models.items():
            for seed in range(seeds):
                correct = (rng.random(N_CLIPS) < floor + skill).astype(int)
                extra = {"layer": "weighted", "layer_weights": [0.1, 0.2 + 0.05 * t, 0.7 - 0.05 * t]} \
                    if model == WEIGHTED else {}
                write_record(root, model, task, float(correct.mean()), seed=seed, params=params, clips_per_s=speed,
                             protocol=protocol, outputs=correct_clips(list(correct)), **extra)


def boards(tmp: Path, n_boot: int = 200) -> list[Board]:
    """The main board of the `mini` benchmark (its protocols: linear, BiLSTM on mini-asr), then
    the board of another protocol (linear on mini-asr), as `leaderboard.boards` builds them."""
    write_benchmark(tmp / "benchmark", [t for t in TASKS if t != "mini-asr"])
    write_benchmark(tmp / "benchmark", ["mini-asr"], protocol="bilstm")
    write_benchmark(tmp / "linear", ["mini-asr"], {m: MODELS[m] for m in ("logmel", "audiomae-tiny", "byola-tiny")},
                    seeds=1)
    main = build_from(tmp / "benchmark", n_boot=n_boot, by_model=True, title="benchmark mini", benchmark="mini")
    main.declarations = {t.task: t.label for t in BENCHMARKS.get("mini").tasks}  # as leaderboard.boards sets them
    other = build_from(tmp / "linear", n_boot=n_boot, by_model=True, title="linear, layer last, mean")
    return [main, other]
