"""Pre-training cost of EAT-, MATPAC- and Audio-MAE-tiny at equal width and depth (192 x 4).

One process, one run, steps interleaved round-robin between the objectives so that load
from other processes falls on all of them alike; each objective's figure is the median
step time. Two comparisons:
- `recipe`: each tiny recipe as shipped (EAT and Audio-MAE on 128-bin fbank = 128 patches
  per 2.56 s crop; MATPAC on 80-bin log-mel = 80 patches);
- `equal input`: MATPAC moved to the same 128-bin fbank, so all three see 128 patches.
Samples are clips (EAT's clones of a clip count once). Data loading is excluded (synthetic
audio in memory): this measures the objectives. Wall-clock figures on a shared CPU are
noisy, so the report also gives the matrix FLOPs of one training step (see `step_flops`),
which do not depend on load; with EARBENCH_PERF_BASE=1 it also counts them for the ViT-B
recipes at one clip per step (a minute or two of CPU).

    make perf    or    .venv/bin/python -m pytest -m perf -s tests/perf/test_pretrain_cost.py
"""
from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

import pytest
import torch

from torch.utils.flop_counter import FlopCounterMode

from models.recipes import KALDI_128, RECIPES, build_objective
from models.trainer import make_optimizer

STEPS = int(os.environ.get("EARBENCH_PERF_STEPS", "8"))
WARMUP = 2
REPORT_TITLE = "Pre-training cost of the spectrogram objectives"
REPORT_INTRO = f"""EAT-, MATPAC- and Audio-MAE-tiny (192 x 4) in one process, {STEPS} timed steps each after
{WARMUP} of warm-up, interleaved round-robin; median step time. `matpac-tiny@fbank128` is
MATPAC on the same 128-bin fbank as the other two. GFLOP/clip: the matrix FLOPs of one
training step per clip (forward + 2 x forward for the backward of what is trained, +
the EMA teachers' forward), which do not depend on load. `EARBENCH_PERF_BASE=1` adds the
ViT-B recipes' FLOPs at one clip per step."""


def _setups() -> dict[str, object]:
    matpac = RECIPES["matpac-tiny"]
    equal = dataclasses.replace(matpac, name="matpac-tiny@fbank128",
                                encoder=dataclasses.replace(matpac.encoder, frontend=KALDI_128))
    return {"eat-tiny": RECIPES["eat-tiny"], "matpac-tiny": matpac, "audiomae-tiny": RECIPES["audiomae-tiny"],
            "matpac-tiny@fbank128": equal}


def step_flops(recipe, batch: int | None = None) -> float:
    """Matrix FLOPs of one training step of `recipe` on `batch` clips: 3 x the forward FLOPs
    of what is trained (forward + backward) + 1 x those of the EMA teachers (forward only).

    The forward is counted and the backward estimated as 2 x forward, because
    torch.utils.flop_counter over-counts the backward of grouped convolutions (EAT's decoder)
    several times over."""
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=1000)
    audio = 0.1 * torch.randn(batch or recipe.optim.batch_size, objective.crop_samples())
    with torch.no_grad(), FlopCounterMode(display=False, depth=2) as counter:
        objective(audio, 0)
    counts = counter.get_flop_counts()
    root = type(objective).__name__
    teachers = {f"{root}.{name}" for name, module in objective.named_children() if name.startswith("teacher")}
    teacher = sum(sum(ops.values()) for name, ops in counts.items() if name in teachers)
    total = float(counter.get_total_flops())
    return 3 * (total - teacher) + teacher


def measure(steps: int = STEPS) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    runs = {}
    for name, recipe in _setups().items():
        objective = build_objective(recipe, total_steps=1000)
        optimizer = make_optimizer(objective, recipe.optim)
        audio = 0.1 * torch.randn(recipe.optim.batch_size, objective.crop_samples())
        runs[name] = (objective, optimizer, audio, [])

    def step(objective, optimizer, audio, index: int) -> None:
        loss, _ = objective(audio, index)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        objective.after_step(index)

    for index in range(WARMUP + steps):
        for objective, optimizer, audio, times in runs.values():
            start = time.perf_counter()
            step(objective, optimizer, audio, index)
            if index >= WARMUP:
                times.append(time.perf_counter() - start)
    report = {}
    for name, (objective, _, audio, times) in runs.items():
        median = statistics.median(times)
        enc = objective.encoder
        report[name] = {"steps_per_s": 1 / median, "samples_per_s": audio.shape[0] / median,
                        "median_step_s": median, "min_step_s": min(times), "max_step_s": max(times),
                        "clips_per_step": audio.shape[0],
                        "patches_per_clip": enc.freq_patches * enc.max_time_patches,
                        "encoder_params": sum(p.numel() for p in enc.parameters()),
                        "gflops_per_clip": step_flops(_setups()[name]) / audio.shape[0] / 1e9,
                        "trainable_params": sum(p.numel() for p in objective.parameters() if p.requires_grad)}
    return report


def render(report: dict[str, dict[str, float]]) -> str:
    lines = [f"{'objective':24} {'steps/s':>8} {'samples/s':>10} {'step s (min-max)':>20} {'patches':>8} "
             f"{'trainable':>10} {'GFLOP/clip':>11}"]
    for name, r in report.items():
        if "steps_per_s" not in r:
            lines.append(f"{name:24} {'':8} {'':10} {'':20} {r['patches_per_clip']:8d} "
                         f"{'':10} {r['gflops_per_clip']:11.1f}")
            continue
        lines.append(f"{name:24} {r['steps_per_s']:8.3f} {r['samples_per_s']:10.2f} "
                     f"{r['median_step_s']:8.3f} ({r['min_step_s']:.2f}-{r['max_step_s']:.2f}) "
                     f"{r['patches_per_clip']:8d} {r['trainable_params'] / 1e6:9.2f}M {r['gflops_per_clip']:11.2f}")
    return "\n".join(lines)


@pytest.mark.perf
def test_pretraining_cost_eat_matpac_audiomae(tmp_path, perf_report):
    report = measure()
    if os.environ.get("EARBENCH_PERF_BASE"):
        for name in ("eat-base", "matpac-base", "audiomae-base"):
            recipe = RECIPES[name]
            enc = recipe.encoder
            report[name] = {"gflops_per_clip": step_flops(recipe, batch=1) / 1e9,
                            "patches_per_clip": (enc.frontend.n_mels // enc.patch) * (enc.max_frames // enc.patch)}
    print(f"\npre-training cost, CPU, {torch.get_num_threads()} threads, {STEPS} timed steps each "
          f"(batch = clips per step):\n" + render(report))
    out = Path(os.environ.get("EARBENCH_PERF_OUT", tmp_path)) / "pretrain_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__,
                               "steps": STEPS, "report": report}, indent=2))
    print(f"written to {out}")
    for name, r in report.items():
        timed = "steps_per_s" in r
        perf_report.row(["objective", "steps/s", "clips/s", "median step s (min-max)", "patches/clip",
                         "trainable params", "GFLOP/clip"],
                        [name, f"{r['steps_per_s']:.3f}" if timed else "", f"{r['samples_per_s']:.2f}" if timed else "",
                         f"{r['median_step_s']:.3f} ({r['min_step_s']:.2f}-{r['max_step_s']:.2f})" if timed else "",
                         r["patches_per_clip"], f"{r['trainable_params'] / 1e6:.2f}M" if timed else "",
                         f"{r['gflops_per_clip']:.2f}"])
    assert all(r["steps_per_s"] > 0 and r["gflops_per_clip"] > 0 for r in report.values() if "steps_per_s" in r)


if __name__ == "__main__":
    print(render(measure()))
