"""The pre-training loop shared by every objective.

One optimizer step = `accum` micro-batches per process (DDP averages gradients over
processes when launched by torchrun), bf16 autocast on CUDA, gradient clipping if the
recipe asks, AdamW with a linear warm-up + cosine learning rate, then the objective's EMA
updates. Randomness (masks, augmentations, dropout) is seeded per (seed, step, rank) and the
data per (seed, rank, micro-batch), so `--resume` continues exactly where a run stopped:
same step count, same schedules, same batches.

Writes to the run folder (rank 0 only): `run.json` (settings), `train.log` (human lines),
`log.jsonl` (one JSON object per logged step, and one per diagnostics measurement),
`loss.png` (the loss curve with the collapse diagnostics), and `step-XXXXXXXX/` checkpoints
every `save_every` steps and at the end.

Collapse diagnostics (models/diagnostics.py) are measured on fixed probe crops at step 0,
every `diagnose_every` steps and at the end; a broken collapse rule is warned once. A time
budget (`max_minutes`) sizes the schedule of a new run: a short timing probe (a few steps on
a copy of the objective) gives the seconds per step, and the run's length, with its warm-up,
cosine decay and EMA / temperature schedules, is set to what fits the budget (at most
`max_steps` or the recipe's), so every schedule completes. The probe sees no data loading
and a quiet machine, so after `REFIT_STEPS` real steps (at most half the first length) the
schedule is fitted once more to their measured pace, shorter or longer (up to the cap, which
the data are planned to); the budget is still enforced.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import difflib
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from rich.console import Console
from torch.nn.parallel import DistributedDataParallel

from benchmark.errors import EarbenchError
from benchmark.progress import progress_bar
from benchmark.storage import write_json
from models import distributed
from models.checkpoint import (INIT, CheckpointError, TRAIN_CONFIG, list_checkpoints, load_train_state, pretraining_facts,
                               prune_checkpoints, read_json, save_checkpoint, save_encoder)
from models.data import CropBatches, resolve_data, sample_clips, scan
from models.diagnostics import CollapseMonitor
from models.frontends import Frontend, feature_stats, feature_stats_per_bin
from models.objective import Objective
from models.plot import plot_loss, read_log
from models.recipes import RECIPES, OptimConfig, Recipe, build_objective, recipe_from_dict, recipe_to_dict
from models.schedules import cosine_with_warmup

console = Console(stderr=True)


@dataclass
class TrainSettings:
    recipe: str | Recipe
    data: str
    out: Path | None = None  # default runs/<recipe>
    max_steps: int | None = None  # the schedule's length (default: the recipe's)
    max_minutes: float | None = None  # a wall-clock budget: sizes a new run's schedule to fit, stops when spent
    stop_after: int | None = None  # stop (and save) after this many steps of this session; the schedule stays
    resume: bool = False
    batch_size: int | None = None  # clips per optimizer step over all processes (default: the recipe's)
    accum: int = 1
    save_every: int | None = None
    log_every: int | None = None
    diagnose_every: int | None = None  # collapse diagnostics every N steps (default: 5 x log_every)
    keep: int = 3  # newest checkpoints kept (0: all)
    seed: int = 0
    workers: int = 2
    device: str | None = None
    progress: bool = True


@dataclass
class TrainResult:
    objective: Objective
    step: int
    out: Path
    checkpoint: Path | None
    plot: Path | None
    steps_per_s: float = 0.0
    samples_per_s: float = 0.0
    history: list[dict] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)
    collapse: list[str] = field(default_factory=list)  # every collapse warning of the run


def get_recipe(name: str | Recipe) -> Recipe:
    if isinstance(name, Recipe):
        return name
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise EarbenchError(f"unknown recipe {name!r}{hint or '; known: ' + ', '.join(RECIPES)}")
    return RECIPES[name]


def pairs_from_data(recipe: Recipe, data: str, log: RunLog | None = None) -> Recipe:
    """Audio-text recipes (CLAP: `params.pairs`) train on `--data` when it gives captions, i.e. a
    folder task (path or name, e.g. mini-tagging) whose training CSV has `caption`, `labels` or `label`;
    otherwise on `params.pairs`, and `--data` serves only the normalisation statistics."""
    params = recipe.params
    if not dataclasses.is_dataclass(params) or not hasattr(params, "pairs"):
        return recipe
    from models.paired_data import find_pairs_folder, has_captions
    split = getattr(params, "split", "train")
    if has_captions(data, split):
        folder = str(find_pairs_folder(data))
        if log is not None:
            log.line(f"caption pairs from --data {data} ({folder}, split {split})")
        return dataclasses.replace(recipe, params=dataclasses.replace(params, pairs=folder))
    if log is not None:
        log.line(f"--data {data} has no captions: caption pairs from params.pairs = {params.pairs}; "
                 f"--data gives only the normalisation statistics")
    return recipe


def step_seed(seed: int, step: int, rank: int) -> int:
    return ((seed * 1_000_003 + step) * 1009 + rank) % (2 ** 63)


def make_optimizer(objective: Objective, optim: OptimConfig) -> torch.optim.Optimizer:
    """AdamW; biases, norms, positions, CLS and mask tokens get no weight decay."""
    decay, no_decay = [], []
    for name, p in objective.named_parameters():
        if not p.requires_grad:
            continue
        leaf = name.rsplit(".", 1)[-1]
        (no_decay if p.ndim <= 1 or any(s in leaf for s in objective.no_decay_names) else decay).append(p)
    groups = [{"params": decay, "weight_decay": optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=tuple(optim.betas))


class RunLog:
    """train.log + log.jsonl on the main process; echoes lines to stderr when not on a terminal."""

    def __init__(self, out: Path, enabled: bool) -> None:
        self.enabled = enabled
        self.text, self.jsonl = out / "train.log", out / "log.jsonl"
        self.echo = enabled and not sys.stderr.isatty()

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        with open(self.text, "a") as f:
            f.write(f"{stamp} {text}\n")
        if self.echo:
            console.print(text, highlight=False, soft_wrap=True)

    def record(self, row: dict) -> None:
        if self.enabled:
            with open(self.jsonl, "a") as f:
                f.write(json.dumps(row) + "\n")


def pretrain(settings: TrainSettings) -> TrainResult:
    """Pre-train `settings.recipe` on `settings.data`; returns the trained objective and run facts."""
    import os
    requested = get_recipe(settings.recipe)
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(settings.device) if settings.device else distributed.default_device(local)
    info = distributed.setup(device)
    try:
        return _pretrain(settings, requested, device, info)
    finally:
        distributed.teardown(info)


def _pretrain(settings: TrainSettings, requested: Recipe, device: torch.device,
              info: distributed.DistInfo) -> TrainResult:
    session_start = time.perf_counter()  # the time budget covers set-up, probe and training
    out = Path(settings.out or Path("runs") / requested.name)
    existing = list_checkpoints(out)
    if existing and not settings.resume:
        raise EarbenchError(f"{out} already holds checkpoints (newest {existing[-1].name}); "
                            f"pass --resume to continue that run, or choose another --out")
    resume_from = existing[-1] if settings.resume and existing else None
    if info.main:
        out.mkdir(parents=True, exist_ok=True)
    distributed.barrier(info)
    log = RunLog(out, info.main)

    if resume_from is not None:
        stored = read_json(resume_from / TRAIN_CONFIG)
        try:
            recipe = recipe_from_dict(stored["recipe"], f"{resume_from / TRAIN_CONFIG}: recipe")
        except (KeyError, ValueError, TypeError) as err:
            raise CheckpointError(f"{resume_from / TRAIN_CONFIG}: cannot rebuild the recipe ({err})") from None
        if recipe.name != requested.name:
            raise EarbenchError(f"{resume_from}: this run was trained with recipe {recipe.name!r}, not {requested.name!r}")
        total = settings.max_steps or int(stored["total_steps"])
        batch = settings.batch_size or int(stored["batch_size"])
    else:
        if settings.resume:
            log.line(f"nothing to resume in {out}: starting from step 0")
        recipe = pairs_from_data(requested, settings.data, log)
        total = settings.max_steps or recipe.optim.steps
        batch = settings.batch_size or recipe.optim.batch_size
    per_step = info.world * settings.accum
    if batch % per_step:
        raise EarbenchError(f"batch size {batch} is not divisible by processes x accumulation = {per_step}")
    micro = batch // per_step
    save_every = settings.save_every or recipe.save_every
    log_every = settings.log_every or recipe.log_every
    diagnose_every = settings.diagnose_every or 5 * log_every

    paths, where = resolve_data(settings.data)
    files, problems = scan(paths)
    for problem in problems[:20]:
        log.line(f"warning: skipping unreadable audio {problem}")
    if len(problems) > 20:
        log.line(f"warning: ... and {len(problems) - 20} more unreadable files")

    torch.manual_seed(settings.seed)
    objective = build_objective(recipe, total)
    rate = int(objective.encoder.sample_rate)
    save_s = 0.0
    if resume_from is None:
        clips = sample_clips(files, recipe.stats_clips, objective.crop_samples(), rate, settings.seed)
        frontend = objective.encoder.frontend
        per_bin = isinstance(frontend, Frontend) and frontend.config.per_feature
        mean, std = (feature_stats_per_bin if per_bin else feature_stats)(frontend, clips)
        for module in objective.modules():
            if isinstance(module, Frontend):
                module.set_stats(mean, std)
        log.line(f"feature statistics from {len(clips)} crops{' per mel bin' if per_bin else ''}: "
                 f"mean {float(torch.as_tensor(mean).mean()):.4f}, std {float(torch.as_tensor(std).mean()):.4f}")
        if info.main:  # the random-init baseline: same architecture and normalisation, no training
            saving = time.perf_counter()
            save_encoder(out / INIT, objective.encoder, {
                "step": 0, "recipe": recipe.name, "init": True, "name": f"{recipe.name}@init",
                "pretraining": pretraining_facts(recipe.name, 0, batch, 0.0, str(device), where, info.world, init=True)})
            save_s = time.perf_counter() - saving
    objective.to(device)
    if resume_from is None:
        for text in objective.prepare(files, settings.seed):
            log.line(text)
    optimizer = make_optimizer(objective, recipe.optim)
    start = 0
    if resume_from is not None:
        start = int(load_train_state(resume_from, objective, optimizer)["step"])
        log.line(f"resumed from {resume_from} at step {start}")
    data = CropBatches(files, micro, objective.crop_samples(), rate, settings.seed, info.rank)
    monitor = CollapseMonitor(CropBatches(files, PROBE_CLIPS, objective.crop_samples(), rate, settings.seed,
                                          rank=2 ** 31 - 2)[0], first_diagnostics(out) if resume_from else None)
    diagnostics: list[dict] = []
    collapse: list[str] = []

    def measure(at: int) -> float:
        """Diagnostics at step `at` (main process); returns the seconds they took."""
        if not info.main:
            return 0.0
        started = time.perf_counter()
        row, warnings = monitor.measure(objective, at)
        record = {"step": at, "diagnostics": row, **({"collapse": warnings} if warnings else {})}
        diagnostics.append(record)
        log.record(record)
        log.line(f"diagnostics at step {at}: " + " ".join(f"{k} {v:.4g}" for k, v in row.items()))
        for warning in warnings:
            log.line(f"warning: collapse at step {at}: {warning}")
        collapse.extend(warnings)
        return time.perf_counter() - started

    diagnose_s = measure(start) if resume_from is None else 0.0
    cap = total  # --max-steps or the recipe's: no budgeted schedule is longer
    if settings.max_minutes is not None and resume_from is None:
        step_s = time_steps(objective, recipe.optim, [data[i] for i in range((PROBE_STEPS + 1) * settings.accum)],
                            settings.accum, device, info)
        budget = settings.max_minutes * 60 - (time.perf_counter() - session_start)
        # the main process alone diagnoses and saves; every process must agree on the length
        diagnose_s, save_s = (distributed.mean_across(torch.tensor([diagnose_s, save_s], device=device), info)
                              * info.world).tolist()
        total = fit_schedule(budget, step_s, diagnose_s, diagnose_every, 3 * save_s, save_every, cap)
        total = int(distributed.mean_across(torch.tensor([float(total)], device=device), info).item())
        if total < 1:
            raise EarbenchError(f"--max-minutes {settings.max_minutes}: no room for a step after set-up "
                                f"({budget:.0f} s left, a step takes {step_s:.2f} s)")
        objective.set_total_steps(total)
        log.line(f"schedule sized to the time budget: {total} steps (at most {cap}); a step takes {step_s:.3f} s "
                 f"(timed over {PROBE_STEPS} steps), diagnostics {diagnose_s:.2f} s every {diagnose_every}, "
                 f"{budget:.0f} s left")
    model: torch.nn.Module = objective
    if info.world > 1:
        model = DistributedDataParallel(objective, device_ids=[device.index] if device.type == "cuda" else None)

    # wall-clock seconds of earlier sessions of this run (resumed runs add theirs to the compute recorded)
    earlier_s = float(stored.get("wall_seconds", stored.get("elapsed_s", 0.0))) if resume_from is not None else 0.0
    run_facts = {"recipe": recipe_to_dict(recipe), "total_steps": total, "batch_size": batch, "accum": settings.accum,
                 "micro_batch": micro, "world_size": info.world, "seed": settings.seed, "data": where,
                 "files": len(files), "device": str(device), "torch": torch.__version__, "earlier_s": earlier_s}
    if info.main:
        (out / "run.json").write_text(json.dumps({**run_facts, "started": datetime.now(timezone.utc).isoformat(),
                                                  "resumed_from": str(resume_from) if resume_from else None},
                                                 indent=2) + "\n")
    params = sum(p.numel() for p in objective.encoder.parameters())
    log.line(f"{recipe.name}: {recipe.description}; encoder {params / 1e6:.2f}M parameters; data {where}; "
             f"{total} steps x {batch} clips ({info.world} process(es) x {settings.accum} accumulation x {micro}); "
             f"device {device}")

    refit_at = (start + min(REFIT_STEPS, max(1, total // 2))
                if settings.max_minutes is not None and resume_from is None and REFIT_STEPS else None)
    # a budgeted run may be re-fitted longer, up to the cap: its data are planned that far (lazily)
    planned = cap if refit_at is not None else total
    loader = torch.utils.data.DataLoader(
        data, batch_size=None, sampler=range(start * settings.accum, planned * settings.accum),
        num_workers=settings.workers, pin_memory=device.type == "cuda",
        prefetch_factor=4 if settings.workers else None, persistent_workers=False)
    batches = iter(loader)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext())
    trainable = [p for p in objective.parameters() if p.requires_grad]
    optim = recipe.optim
    warmup = round(optim.warmup_steps * total / optim.steps)  # a shorter or longer run keeps the proportion
    history: list[dict] = []
    step, last_saved, checkpoint = start, start, None
    began = window_start = time.perf_counter()
    window_steps, sums, names = 0, None, None
    diagnosed_s = 0.0  # diagnostics time inside the loop, left out of the measured pace
    fields: dict[str, str] = {}
    objective.train()
    with progress_bar(f"pretrain {recipe.name}", total, enabled=settings.progress and info.main,
                      completed=start) as advance:
        while step < total:
            lr = cosine_with_warmup(step, optim.lr, warmup, total, optim.final_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            torch.manual_seed(step_seed(settings.seed, step, info.rank))
            for i in range(settings.accum):
                audio = next(batches).to(device, non_blocking=True)
                last = i == settings.accum - 1
                sync = model.no_sync() if isinstance(model, DistributedDataParallel) and not last else contextlib.nullcontext()
                with sync:
                    with autocast:
                        loss, parts = model(audio, step)
                    (loss / settings.accum).backward()
                values = torch.stack([loss.detach().float(), *(v.detach().float().to(loss.device) for v in parts.values())])
                names = ["loss", *parts]
                sums = values / settings.accum if sums is None else sums + values / settings.accum
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, optim.clip_grad) if optim.clip_grad else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            extra = objective.after_step(step)
            step += 1
            window_steps += 1
            spent = settings.max_minutes is not None and time.perf_counter() - session_start > settings.max_minutes * 60
            stop = step < total and distributed.any_across(
                spent or (settings.stop_after is not None and step - start >= settings.stop_after), info, device)
            if step % log_every == 0 or step == total or stop:
                means = distributed.mean_across(sums / window_steps, info).tolist()
                elapsed = time.perf_counter() - window_start
                row = {"step": step, "loss": means[0], "parts": dict(zip(names[1:], means[1:])), "lr": lr,
                       **{k: float(v) for k, v in extra.items()},
                       "steps_per_s": window_steps / elapsed, "samples_per_s": window_steps * batch / elapsed,
                       "elapsed_s": time.perf_counter() - began}
                if grad_norm is not None:
                    row["grad_norm"] = float(grad_norm)
                history.append(row)
                log.record(row)
                parts_text = " ".join(f"{k} {v:.4f}" for k, v in row["parts"].items())
                log.line(f"step {step}/{total} loss {row['loss']:.4f} {parts_text} lr {lr:.3g} "
                         + " ".join(f"{k} {float(v):.6g}" for k, v in extra.items())
                         + f" samples/s {row['samples_per_s']:.1f}")
                fields = {"loss": f"{row['loss']:.4f}", "samples/s": f"{row['samples_per_s']:.1f}"}
                window_start, window_steps, sums = time.perf_counter(), 0, None
            advance(1, total=total, **fields)
            if step % diagnose_every == 0 or step == total or stop:
                diagnosed_s += measure(step)
            if step == refit_at and step < total:
                step_s = (time.perf_counter() - began - diagnosed_s) / (step - start)
                step_s = float(distributed.mean_across(torch.tensor([step_s], device=device), info).item())
                left = settings.max_minutes * 60 - (time.perf_counter() - session_start)
                refit = step + fit_schedule(left, step_s, diagnose_s, diagnose_every, 3 * save_s, save_every,
                                            cap - step)
                refit = max(step + 1, int(distributed.mean_across(torch.tensor([float(refit)], device=device),
                                                                  info).item()))
                if refit != total:
                    log.line(f"schedule re-fitted to the measured pace: {refit} steps, not {total} "
                             f"(a step takes {step_s:.3f} s over the first {step - start}, data loading included)")
                    total = refit
                    objective.set_total_steps(total)
                    warmup = round(optim.warmup_steps * total / optim.steps)
                    run_facts["total_steps"] = total
                    if info.main:
                        write_json(out / "run.json", {**json.loads((out / "run.json").read_text()), "total_steps": total})
            if step % save_every == 0 or step == total or stop:
                checkpoint = _save(out, step, objective, optimizer, run_facts, began, settings.keep, log, info)
                last_saved = step
            if stop:
                why = f"time budget of {settings.max_minutes} min spent" if spent else f"stop_after = {settings.stop_after} steps"
                log.line(f"{why}: stopped at step {step}/{total}, before the schedule completed")
                break
    if last_saved != step:
        checkpoint = _save(out, step, objective, optimizer, run_facts, began, settings.keep, log, info)
    plot = plot_loss(out / "log.jsonl", out / "loss.png", recipe.name) if info.main and history else None
    if collapse:
        log.line(f"warning: this run collapsed ({len(collapse)} rule(s) broken; see the diagnostics above)")
    distributed.barrier(info)
    elapsed = time.perf_counter() - began
    done = step - start
    return TrainResult(objective, step, out, checkpoint, plot, done / elapsed, done * batch / elapsed, history,
                       diagnostics, collapse)


PROBE_CLIPS = 32  # crops the collapse diagnostics are measured on
PROBE_STEPS = 3  # timed steps (after one warm-up step) that size a schedule to --max-minutes
REFIT_STEPS = 40  # real steps (at most half the first length) after which a budgeted schedule is re-fitted (0: never)


def first_diagnostics(out: Path) -> dict | None:
    """The first diagnostics row of a run's log.jsonl (the reference of a resumed run)."""
    log = out / "log.jsonl"
    rows = read_log(log) if log.exists() else []
    return next((r["diagnostics"] for r in rows if "diagnostics" in r), None)


def time_steps(objective: Objective, optim: OptimConfig, batches: list[torch.Tensor], accum: int,
               device: torch.device, info: distributed.DistInfo) -> float:
    """Seconds per optimizer step, timed on a copy of the objective (the run itself is untouched)
    over the batches after the first step's; averaged over processes."""
    probe = copy.deepcopy(objective)
    optimizer = make_optimizer(probe, optim)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    trainable = [p for p in probe.parameters() if p.requires_grad]
    began = 0.0
    for i in range(len(batches) // accum):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            began = time.perf_counter()
        for audio in batches[i * accum: (i + 1) * accum]:
            with autocast:
                loss, _ = probe(audio.to(device), i)
            (loss / accum).backward()
        if optim.clip_grad:
            torch.nn.utils.clip_grad_norm_(trainable, optim.clip_grad)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        probe.after_step(i)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - began) / max(1, len(batches) // accum - 1)
    del probe, optimizer
    return float(distributed.mean_across(torch.tensor([seconds], device=device), info).item())


def fit_schedule(budget_s: float, step_s: float, diagnose_s: float, diagnose_every: int, save_s: float,
                 save_every: int, cap: int, margin: float = 0.9) -> int:
    """Steps that fit `budget_s` (with a margin) when a step takes `step_s`, diagnostics `diagnose_s`
    every `diagnose_every` steps and a checkpoint `save_s` every `save_every` (and once at the end)."""
    per_step = step_s + diagnose_s / diagnose_every + save_s / save_every
    room = margin * budget_s - diagnose_s - save_s
    return max(0, min(cap, math.floor(room / per_step))) if per_step > 0 else cap


def _save(out: Path, step: int, objective: Objective, optimizer: torch.optim.Optimizer, facts: dict, began: float,
          keep: int, log: RunLog, info: distributed.DistInfo) -> Path:
    path = out / f"step-{step:08d}"
    distributed.average_buffers(objective, info)
    if info.main:
        elapsed = time.perf_counter() - began
        wall = facts.get("earlier_s", 0.0) + elapsed
        name = facts["recipe"]["name"]
        compute = pretraining_facts(name, step, facts["batch_size"], wall, facts["device"], facts["data"],
                                    facts["world_size"])
        path = save_checkpoint(out, step, objective.encoder, objective, optimizer,
                               {**facts, "elapsed_s": elapsed, "wall_seconds": wall},
                               {"name": name, "pretraining": compute})
        prune_checkpoints(out, keep)
        if (out / "log.jsonl").exists():
            plot_loss(out / "log.jsonl", out / "loss.png", facts["recipe"]["name"])
        log.line(f"saved {path}")
    distributed.barrier(info)
    return path
