"""Robustness: the head trained on clean data, tested on test audio corrupted at graded
severities (`benchmark.analyses.corruptions`), metric vs severity with item-level intervals
and the area under that curve.

Each (corruption, severity) is a derived task, `TASK~noise-10`: the task's train and valid
splits as they are, its test files replaced by corrupted copies. The copies are made once
per (task data, corruption, severity, seed) under `$EARBENCH_HOME/analyses/corrupted/`
(published whole, so an interrupted sweep never reads half a folder), with the test files'
relative layout, so a corrupted item keeps its id and the bootstrap draws the same test
items at every severity (paired). The derived task's runs are ordinary runs: the head is
fitted on the clean train split (the same features, hence the same head, as the clean run)
and its records say which task they scored. The area is under metric vs severity level:
the clean run, then each severity mildest first, equally spaced on [0, 1]."""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
import torch

from benchmark.analyses.corruptions import CORRUPTIONS, Corruption
from benchmark.analyses.report import Analysis, curve_area, curves, interval_text, markdown, point, write_report
from benchmark.analyses.runs import run_records
from benchmark.errors import EarbenchError, TaskError
from benchmark.features.audio import read_audio
from benchmark.features.digest import task_digest
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.storage import atomic_dir, file_lock, home
from benchmark.task import TaskSpec

KIND = "robustness"
#: the manifests of a fixed-split task that name test files
TEST_MANIFESTS = {"test": ("path",), "trials": ("enroll", "test")}


def file_rng(seed: int, corruption: str, severity: float, relative: str) -> np.random.Generator:
    """The generator of one file's corruption: determined by the seed, the corruption, its
    severity and the file's path among the test files, nothing else."""
    digest = hashlib.sha256(f"{corruption}|{severity!r}|{relative}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def corrupted_copies(paths: Sequence[str], corruption: Corruption, severity: float, seed: int, key: str) -> dict:
    """{original path: its corrupted copy}, made once under $EARBENCH_HOME/analyses/corrupted/ (a
    folder per `key`: the task data, corruption, severity and seed), as float WAV at its rate."""
    paths = list(dict.fromkeys(paths))
    common = os.path.commonpath([os.path.dirname(p) for p in paths])
    folder = home() / "analyses" / "corrupted" / key
    relative = {p: os.path.relpath(p, common) for p in paths}
    if not folder.is_dir():
        with file_lock(folder.parent / f".{key}.lock"):
            if not folder.is_dir():
                with atomic_dir(folder) as staged:
                    for path, rel in relative.items():
                        wave, rate = read_audio(path)
                        out = corruption.apply(wave, rate, severity, file_rng(seed, corruption.name, severity, rel))
                        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                        sf.write(staged / rel, out, rate, subtype="FLOAT")
    return {p: str(folder / rel) for p, rel in relative.items()}


def corrupted_name(task: str, corruption: str, severity: float) -> str:
    return f"{task}~{corruption}-{severity:g}"


def corrupted_task(spec: TaskSpec, corruption: Corruption, severity: float, seed: int = 0) -> TaskSpec:
    """`spec` with its test files corrupted (train and valid as they are): the task `NAME~CORRUPTION-SEVERITY`."""
    if spec.is_kfold:
        raise TaskError(f"task {spec.name!r}: robustness needs a fixed test split (train, valid, test); "
                        f"a k-fold task tests every fold")
    manifests = spec.load()
    tool = corruption.tool() if corruption.tool else ""  # another encoder build, other copies
    key = hashlib.sha256(f"{task_digest(manifests, spec.root)}|{corruption.name}|{severity!r}|{seed}|{tool}".encode()
                         ).hexdigest()[:24]
    copies = corrupted_copies(list(manifests["test"]["path"]), corruption, severity, seed, key)
    derived = dict(manifests)
    for name, columns in TEST_MANIFESTS.items():
        if name in derived:
            frame = derived[name].copy()
            for column in columns:
                frame[column] = [copies.get(p, p) for p in frame[column]]
            derived[name] = frame
    return replace(spec, name=corrupted_name(spec.name, corruption.name, severity), load=lambda: derived, audio_at=None,
                   description=f"{spec.description} (test audio: {corruption.label(severity)}"
                               f"{', ' + tool if tool else ''})".strip())


def check_corruptions(corruptions: Sequence[str], severities: Sequence[float] | None) -> dict[str, str]:
    """{corruption: the external tool it uses}, after applying each requested severity to a
    short noise burst: a missing encoder or a severity it cannot take stops the sweep before
    any work, in one line."""
    burst = np.random.default_rng(0).uniform(-0.1, 0.1, 1600).astype(np.float32)
    tools = {}
    for name in corruptions:
        corruption = CORRUPTIONS[name]
        if corruption.tool:
            tools[name] = corruption.tool()
        for severity in severities if severities is not None else corruption.severities:
            try:
                corruption.apply(burst, 16000, severity, np.random.default_rng(0))
            except (ValueError, ZeroDivisionError) as error:
                raise EarbenchError(f"robustness: {corruption.label(severity)} is not a valid severity: {error}") from None
    return tools


def robustness(models: Sequence[str | torch.nn.Module], tasks: Sequence[str | Path | TaskSpec],
               settings: RunSettings, *, corruptions: Sequence[str] = tuple(CORRUPTIONS),
               severities: Sequence[float] | None = None, seeds: int = 3, corruption_seed: int = 0,
               out: str | Path = "analyses") -> Analysis:
    """Each model on each task, clean and under each corruption at each severity (its defaults,
    or `severities` with one corruption); write OUT/robustness.md and its plot."""
    unknown = [c for c in corruptions if c not in CORRUPTIONS]
    if unknown or not corruptions:
        raise EarbenchError(f"robustness: unknown corruption(s) {', '.join(unknown) or '(none given)'}; "
                            f"choose from {', '.join(CORRUPTIONS)}")
    if severities is not None and len(corruptions) != 1:
        raise EarbenchError("robustness: severities apply to one corruption; give exactly one")
    if settings.results is None:
        raise EarbenchError("robustness: give a results folder (its records are the curve's points)")
    tools = check_corruptions(corruptions, severities)
    specs = [load_task(t) for t in tasks]
    points, rows, summary, ticks = [], [], {}, {}
    for model in models:
        clean = run_records(model, specs, settings, seeds)
        for name in corruptions:
            corruption = CORRUPTIONS[name]
            levels = list(severities if severities is not None else corruption.severities)
            runs = [clean] + [run_records(model, [corrupted_task(s, corruption, v, corruption_seed) for s in specs],
                                          settings, seeds) for v in levels]
            for spec in specs:
                mine = []
                for level, (severity, grouped) in enumerate(zip([corruption.clean, *levels], runs)):
                    records = grouped[spec.name if level == 0 else corrupted_name(spec.name, name, severity)]
                    first = records[0]
                    p = point(records, settings.results, series=first.model, panel=f"{spec.name}: {name}", x=level,
                              key=spec.name)
                    mine.append(p)
                    shown = "clean" if level == 0 else f"{severity:g} {corruption.unit}"
                    rows.append((first.model, spec.name, name, shown, first.main_metric, p.score,
                                 interval_text(p.lo, p.hi), p.over, p.runs))
                points += mine
                ticks[mine[0].panel] = ["clean", *(f"{v:g}" for v in levels)], corruption.unit
                summary[mine[0].series, mine[0].panel] = curve_area(mine)
    table = markdown(("model", "task", "corruption", "severity", "metric", "score", "95% interval", "over", "runs"),
                     rows)
    table += "\n" + markdown(("model", "task: corruption", "area under the curve", "95% interval"),
                             [(s, panel, a, interval_text(lo, hi)) for (s, panel), (a, lo, hi) in summary.items()])
    encoders = "; ".join(f"{name}: {tool}" for name, tool in tools.items())
    notes = [f"The head is trained on the clean training split and tested on corrupted test audio (corruption seed "
             f"{corruption_seed}{'; ' + encoders if encoders else ''}; {seeds} seed(s) per point); intervals: 95% bootstrap over test items (and seeds), "
             f"the same items drawn at every severity. The area is under the metric vs severity level (clean, then "
             f"each severity mildest first), equally spaced on [0, 1]: the mean score over the sweep."]
    figure = curves(points, xlabel="severity", ylabel="test score (the task's main metric)")
    for ax, panel in zip(figure.axes, dict.fromkeys(p.panel for p in points)):
        labels, unit = ticks[panel]
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(f"severity ({unit})", fontsize=ax.xaxis.label.get_fontsize())
    report = write_report(Path(out), KIND, "Robustness to corruptions", table, figure, notes)
    return Analysis(KIND, points, summary, report)
