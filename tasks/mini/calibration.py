"""Calibration of the mini suite: baseline scores next to each task's chance level.

A benchmark task says nothing when every model is at ceiling or at chance. This report
puts the baselines' test scores (from result records) beside a chance level computed from
the built task's own test labels, so a generator change can be checked against both:

    python -m tasks.mini.calibration RESULTS [--size small] [--model logmel ...]

Chance is the best label-blind guess: the majority class for accuracy, the expected mAP of
a random ranking (exact, per class; above the class prevalence on small test sets), 0.5
for EER, k/N for R@k, 1.0 for WER (an empty transcript) and 0 for event F1 (no detection).

Scores come from linear probes on the last layer, except for ASR: a linear CTC head on
single frames cannot spell, so the literature's probe (SUPERB's BiLSTM) calibrates mini-asr.
"""
from __future__ import annotations

import argparse
from math import lgamma, exp
from pathlib import Path

import pandas as pd

from benchmark.sources.folder import load_folder_task
from leaderboard.direction import direction
from leaderboard.markdown import pipe_table
from leaderboard.records import load_records
from tasks.mini import MINI_TASKS
from tasks.mini_tasks import mini_root


#: the probe each task is calibrated with, where it is not the linear one
CALIBRATION_PROTOCOL = {"mini-asr": "bilstm"}


def _test_manifest(task_dir: Path) -> pd.DataFrame:
    return pd.read_csv(task_dir / "test.csv", keep_default_na=False)


def _log_comb(n: int, k: int) -> float:
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)


def expected_random_ap(n: int, m: int) -> float:
    """Exact expected average precision of a random ranking of n items with m positives:
    the k-th positive lands at rank j with probability C(j-1, k-1) C(n-j, m-k) / C(n, m)."""
    total = _log_comb(n, m)
    return sum(k / j * exp(_log_comb(j - 1, k - 1) + _log_comb(n - j, m - k) - total)
               for k in range(1, m + 1) for j in range(k, n - m + k + 1)) / m


def chance(task_dir: Path, metric: str) -> float | None:
    """The score of a label-blind guess on the task's test split, for its main metric."""
    test = _test_manifest(task_dir)
    if metric in ("accuracy", "pitch_acc"):
        column = "label" if "label" in test.columns else "pitch"
        return float(test[column].value_counts(normalize=True).iloc[0])
    if metric == "mAP":
        labels = test["labels"].str.split(";")
        classes = sorted({c for row in labels for c in row if c})
        positives = [int(labels.map(lambda row, c=c: c in row).sum()) for c in classes]
        return sum(expected_random_ap(len(labels), m) for m in positives) / len(classes)
    if metric == "eer":
        return 0.5
    if metric.startswith("r@"):  # text-to-audio: k of the N test clips
        return min(1.0, int(metric[2:]) / test["path"].nunique())
    if metric in ("wer", "cer"):
        return 1.0
    if metric.startswith("event_"):
        return 0.0
    return None


def calibration_records(records: pd.DataFrame) -> pd.DataFrame:
    """The records each mini task is calibrated with: last-layer linear probes, ASR's BiLSTM."""
    wanted = records["task"].map(lambda task: CALIBRATION_PROTOCOL.get(task, "linear"))
    return records[records["task"].isin(MINI_TASKS) & (records["protocol"] == wanted) & (records["layer"] == "last")]


def calibration_table(results: Path, size: str, models: list[str] | None = None) -> pd.DataFrame:
    """One row per mini task: its main metric, chance, and each model's mean test score."""
    records = calibration_records(load_records(results))
    if models:
        records = records[records["model"].isin(models)]
    means = records.groupby(["task", "model"])["score"].agg(["mean", "std", "count"]).reset_index()
    rows = []
    for name in MINI_TASKS:
        task_dir = mini_root(size) / name
        spec = load_folder_task(task_dir)
        row = {"task": name, "family": spec.family, "probe": CALIBRATION_PROTOCOL.get(name, "linear"), "metric": spec.main_metric,
               "better": "higher" if direction(spec.main_metric).higher_is_better else "lower", "chance": chance(task_dir, spec.main_metric)}
        for _, cell in means[means["task"] == name].iterrows():
            row[cell["model"]] = f"{cell['mean']:.3f} ± {0 if pd.isna(cell['std']) else cell['std']:.3f} (n={cell['count']})"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    def text(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else \
            f"{value:.3f}" if isinstance(value, float) else str(value)
    return pipe_table(list(table.columns), [[text(v) for v in row] for row in table.itertuples(index=False)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--size", default="small")
    parser.add_argument("--model", action="append")
    args = parser.parse_args()
    table = calibration_table(args.results, args.size, args.model)
    print(markdown(table))


if __name__ == "__main__":
    main()
