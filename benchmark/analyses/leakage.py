"""Attribute leakage: how well speaker attributes the task's metadata carries (speaker
identity; gender, age, accent, language where present) can be decoded from the
representation, beside the task score: the privacy / utility trade-off per model.

An attribute is a column of the task's manifests (a folder task's CSVs keep every column)
other than what the task predicts, or of its folder's `speakers.csv` (one row per speaker: a
`speaker` column, then the attributes), joined on the manifests' `speaker` column, or on the
label of a task without one (speaker identification), as corpora ship speaker metadata
(VoxCeleb's meta file, LibriSpeech's SPEAKERS.TXT); clips without a value are left out.
Its probe is an ordinary run of the same protocol on a derived classification task,
`TASK~speaker`: the task's clips with that column as the label, re-split per value (each value's clips in a fixed shuffle: half train, a quarter valid, a
quarter test; values with fewer than three clips left out), since a task's own splits may
keep speakers apart, which would make identity undecodable by design. Beside each
attribute's accuracy stands its chance level: the share of the test split's most common value."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from benchmark.analyses.report import FONT, Analysis, Point, interval_text, markdown, point, write_report
from benchmark.analyses.runs import run_records
from benchmark.errors import EarbenchError, TaskError
from benchmark.family import family_of
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.task import SPLITS, TaskSpec

KIND = "leakage"
ATTRIBUTES = ("speaker", "gender", "age", "accent", "language")
SHARES = (0.5, 0.25)  # train, valid; the rest is test


SPEAKERS = "speakers.csv"


def speaker_table(spec: TaskSpec) -> pd.DataFrame | None:
    """The task folder's speakers.csv (strings; "" where a value is unknown), if it has one."""
    path = Path(spec.root) / SPEAKERS if spec.root is not None else None
    if path is None or not path.is_file():
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise TaskError(f"{path}: not a readable CSV ({error})") from None
    if "speaker" not in table.columns:
        raise TaskError(f"{path}: needs a 'speaker' column (one row per speaker, then its attributes)")
    if table["speaker"].duplicated().any():
        raise TaskError(f"{path}: speaker {table['speaker'][table['speaker'].duplicated()].iloc[0]!r} has two rows")
    return table


def with_speakers(spec: TaskSpec) -> list[pd.DataFrame]:
    """The manifests of `spec`'s splits (or folds), each with its speakers' attributes joined."""
    manifests = spec.load()
    frames = [manifests[s] for s in (spec.folds or SPLITS) if s in manifests]
    table = speaker_table(spec)
    if table is None or not frames:
        return frames
    key = "speaker" if all("speaker" in f.columns for f in frames) else family_of(spec.family).label_column
    columns = [c for c in table.columns if c != "speaker" and all(c not in f.columns for f in frames)]
    rows = table.set_index("speaker")[columns]
    return [f.assign(**{c: f[key].astype(str).map(rows[c]).to_numpy() for c in columns}) if key in f.columns else f
            for f in frames]


def attributes_of(spec: TaskSpec, wanted: Sequence[str] = ATTRIBUTES) -> list[str]:
    """The `wanted` columns every manifest of `spec` has (speakers.csv joined), other than what
    the task predicts."""
    frames = with_speakers(spec)
    label = family_of(spec.family).label_column
    return [a for a in wanted if a != label and frames and all(a in f.columns for f in frames)]


def resplit(clips: pd.DataFrame, attribute: str, key: str) -> dict[str, pd.DataFrame]:
    """train / valid / test manifests (path, label = the attribute) from every clip, per value in
    a shuffle fixed by `key`: half, a quarter, the rest (at least one each); rarer values dropped."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {s: [] for s in SPLITS}
    for value, group in clips.groupby(clips[attribute].astype(str), sort=True):
        paths = sorted(set(group["path"]))
        if len(paths) < 3:
            continue
        order = [paths[i] for i in rng.permutation(len(paths))]
        n_train = max(1, int(round(SHARES[0] * len(order))))
        n_valid = max(1, int(round(SHARES[1] * len(order))))
        n_train = min(n_train, len(order) - 2)
        cuts = {"train": order[:n_train], "valid": order[n_train: n_train + n_valid],
                "test": order[n_train + n_valid:] or order[-1:]}
        for split, chosen in cuts.items():
            parts[split] += [(p, value) for p in chosen]
    return {s: pd.DataFrame(rows, columns=["path", "label"]) for s, rows in parts.items()}


def attribute_task(spec: TaskSpec, attribute: str) -> TaskSpec:
    """The classification task of decoding `attribute` from `spec`'s clips (`TASK~ATTRIBUTE`)."""
    every = pd.concat([f[["path", attribute]] for f in with_speakers(spec)], ignore_index=True)
    known = every[every[attribute].notna() & (every[attribute].astype(str) != "")]
    split = resplit(known, attribute, f"{spec.name}|{attribute}")
    if split["test"]["label"].nunique() < 2:
        raise TaskError(f"task {spec.name!r}: attribute {attribute!r} has fewer than two values with three clips "
                        f"or more; nothing to decode")
    return TaskSpec(name=f"{spec.name}~{attribute}", family="classification", load=lambda: split,
                    version=spec.version, description=f"{attribute} of the clips of {spec.name}", root=spec.root,
                    source=spec.source, license=spec.license)


def chance(spec: TaskSpec) -> float:
    """The share of the test split's most common label."""
    labels = spec.load()["test"]["label"]
    return float(labels.value_counts().iloc[0] / len(labels))


def leakage(models: Sequence[str | torch.nn.Module], tasks: Sequence[str | Path | TaskSpec], settings: RunSettings,
            *, attributes: Sequence[str] = ATTRIBUTES, seeds: int = 3, out: str | Path = "analyses") -> Analysis:
    """Each model's task score and the decodability of each attribute its tasks' metadata carry;
    write OUT/leakage.md and the trade-off plot (attribute accuracy against task score). The
    points are the attributes' (x: the task score), the summary each attribute's accuracy."""
    if settings.results is None:
        raise EarbenchError("leakage: give a results folder (its records are the plot's points)")
    specs = [load_task(t) for t in tasks]
    probes = {s.name: [attribute_task(s, a) for a in attributes_of(s, attributes)] for s in specs}
    if not any(probes.values()):
        raise EarbenchError(f"leakage: no task among {', '.join(s.name for s in specs)} has an attribute column "
                            f"({', '.join(attributes)}) in every split")
    rows, points, pairs, summary = [], [], [], {}
    for model in models:
        scores = run_records(model, [s for s in specs if probes[s.name]], settings, seeds)
        decoded = run_records(model, [p for ps in probes.values() for p in ps], settings, seeds)
        for spec in specs:
            if not probes[spec.name]:
                continue
            task_records = scores[spec.name]
            utility = point(task_records, settings.results, series=task_records[0].model, panel=spec.name, x=0)
            for probe in probes[spec.name]:
                attribute = probe.name.split("~", 1)[1]
                records = decoded[probe.name]
                leak = point(records, settings.results, series=utility.series, panel=f"{spec.name}: {attribute}",
                             x=utility.score)
                points.append(leak)
                pairs.append((utility, leak))
                summary[utility.series, leak.panel] = (leak.score, leak.lo, leak.hi)
                rows.append((utility.series, spec.name, task_records[0].main_metric, utility.score,
                             interval_text(utility.lo, utility.hi), attribute, probe.load()["train"]["label"].nunique(),
                             leak.score, interval_text(leak.lo, leak.hi), chance(probe)))
    table = markdown(("model", "task", "metric", "task score", "95% interval", "attribute", "values",
                      "attribute accuracy", "95% interval", "chance"), rows)
    notes = [f"Attribute accuracy: the same protocol as the task's ({settings.protocol}), trained to predict the "
             f"attribute from the task's clips re-split per value (half train, a quarter valid, a quarter test); "
             f"{seeds} seed(s); intervals: 95% bootstrap over test items (and seeds). Chance: the test split's most "
             f"common value. High attribute accuracy with a high task score is utility that leaks; the plot puts "
             f"each model at (attribute accuracy, task score)."]
    report = write_report(Path(out), KIND, "Attribute leakage", table, trade_off(pairs), notes)
    return Analysis(KIND, points, summary, report)


def trade_off(pairs: Sequence[tuple[Point, Point]]) -> Figure:
    """One panel per (task, attribute): each model at (attribute accuracy, task score), both intervals
    (`pairs`: the task's point and the attribute's, per model)."""
    panels = list(dict.fromkeys(leak.panel for _, leak in pairs))
    ncols, nrows = min(3, len(panels)), (len(panels) + 2) // 3
    fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows))
    series = list(dict.fromkeys(leak.series for _, leak in pairs))
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for utility, leak in (pair for pair in pairs if pair[1].panel == panel):
            x, y = leak.score, utility.score
            xerr = [[max(x - leak.lo, 0)], [max(leak.hi - x, 0)]] if np.isfinite(leak.lo) else None
            yerr = [[max(y - utility.lo, 0)], [max(utility.hi - y, 0)]] if np.isfinite(utility.lo) else None
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", markersize=4, capsize=2,
                        color=f"C{series.index(leak.series) % 10}", label=leak.series)
        ax.set_title(panel, fontsize=FONT)
        ax.set_xlabel("attribute accuracy (leakage)", fontsize=FONT)
        ax.set_ylabel("task score", fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=FONT - 1, frameon=False)
    fig.tight_layout()
    return fig
