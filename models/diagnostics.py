"""Collapse diagnostics of a pre-training run, measured on a fixed set of probe crops.

A self-supervised objective can reach a low loss by making every clip look the same. The
trainer measures, every few hundred steps and at step 0, on the same probe crops:

- `dim_std`: the median over dimensions of the standard deviation across clips of the clip
  embedding (the encoder's last hidden state mean-pooled over valid frames);
- `effective_rank`: exp of the entropy of the normalised singular values of the *centred*
  clip embeddings (RankMe, Garrido et al. 2023): how many directions the clips spread along;
- `mean_cosine`: the mean cosine similarity of distinct clips' (un-centred) embeddings;
- the objective's own (`Objective.diagnose`): codebook perplexity and the fraction of codewords
  used (wav2vec 2.0), target-label perplexity (HuBERT, BEST-RQ), and for DINO heads the
  teacher-target entropy, per token and of the batch-mean distribution, as fractions of log K.

A run *collapses* when any of these holds (each warned once, in `train.log` and the row):

| rule | threshold |
|---|---|
| spread | `dim_std` below 5% of its step-0 value |
| rank | `effective_rank` below min(2, a quarter of its step-0 value) |
| identical clips | `mean_cosine` above 0.99 with 1 - `mean_cosine` below 10% of its step-0 value |
| codebook | `codes_used` below 10% of the codewords |
| DINO, one prototype | `teacher_mean_entropy` (entropy of the mean target) below 0.1 x log K |
| DINO, uniform targets | `teacher_entropy` (per-token) above 0.99 x log K |
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.clap import masked_mean

SPREAD_FRACTION = 0.05
RANK_FLOOR, RANK_FRACTION = 2.0, 0.25
COSINE_FLOOR, COSINE_GAP_FRACTION = 0.99, 0.1
CODES_FLOOR = 0.10
DINO_MEAN_FLOOR, DINO_TOKEN_CEILING = 0.1, 0.99


@torch.no_grad()
def clip_embeddings(encoder: torch.nn.Module, audio: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """Last hidden state mean-pooled over valid frames, per clip: `[N, D]` (float32)."""
    out = []
    for start in range(0, audio.shape[0], batch):
        part = audio[start: start + batch]
        lengths = torch.full((part.shape[0],), part.shape[1], device=part.device)
        encoded = encoder(part, lengths)
        out.append(masked_mean(encoded.hidden_states[-1].float(), encoded.lengths))
    return torch.cat(out)


def effective_rank(x: torch.Tensor) -> float:
    """RankMe of the centred rows of `x` [N, D]: exp(entropy of singular values / their sum)."""
    x = x.double() - x.double().mean(0)
    s = torch.linalg.svdvals(x)
    if float(s.sum()) <= 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def embedding_stats(x: torch.Tensor) -> dict[str, float]:
    """`dim_std`, `effective_rank` and `mean_cosine` of clip embeddings `x` [N, D], N >= 2."""
    x = x.double()
    n = x.shape[0]
    unit = F.normalize(x, dim=1)
    cos = unit @ unit.T
    mean_cosine = float((cos.sum() - cos.diagonal().sum()) / (n * (n - 1)))
    return {"dim_std": float(x.std(0).quantile(0.5)), "effective_rank": effective_rank(x), "mean_cosine": mean_cosine}


def code_stats(codes: torch.Tensor, entries: int) -> dict[str, float]:
    """Hard codes `[N, G]` of G codebooks of `entries` -> `code_perplexity` (summed over the
    codebooks, fairseq's `code_perplexity`) and `codes_used` (fraction of the G x V codewords)."""
    codes = codes.reshape(codes.shape[0], -1)
    perplexity, used = 0.0, 0
    for g in range(codes.shape[1]):
        counts = torch.bincount(codes[:, g], minlength=entries).double()
        p = counts / counts.sum()
        p = p[p > 0]
        perplexity += float(torch.exp(-(p * p.log()).sum()))
        used += int((counts > 0).sum())
    return {"code_perplexity": perplexity, "codes_used": used / (entries * codes.shape[1])}


def label_perplexity(labels: torch.Tensor) -> float:
    """exp(entropy) of the label histogram: how many targets the labels effectively use."""
    counts = torch.bincount(labels.reshape(-1)).double()
    p = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def target_entropies(probs: torch.Tensor) -> dict[str, float]:
    """Soft targets `[N, K]` -> mean per-row entropy and entropy of the mean row, over log K."""
    probs = probs.double().reshape(-1, probs.shape[-1])
    log_k = math.log(probs.shape[-1])

    def entropy(p: torch.Tensor) -> torch.Tensor:
        return -(p * p.clamp_min(1e-30).log()).sum(-1)

    return {"teacher_entropy": float(entropy(probs).mean()) / log_k,
            "teacher_mean_entropy": float(entropy(probs.mean(0))) / log_k}


@torch.no_grad()
def dino_teacher_targets(objective: torch.nn.Module, audio: torch.Tensor, step: int) -> torch.Tensor | None:
    """The teacher's centred, sharpened DINO targets on every patch of `audio`, for objectives
    with a DINO head on a patch encoder (MATPAC, SSM-MATPAC: `teacher`, `teacher_head`,
    `criterion.centre`, `config.tau_teacher`); None for the others."""
    head, criterion = getattr(objective, "teacher_head", None), getattr(objective, "criterion", None)
    if head is None or not hasattr(criterion, "centre"):
        return None
    teacher = objective.teacher.module
    feats, _ = teacher.frontend(audio)
    tokens = teacher.encode(teacher.embed(teacher.pad_frames(feats, teacher.spec.patch)))[:, teacher.prefix:]
    tau = objective.config.tau_teacher.at(step, objective.total_steps)
    return F.softmax((head(tokens).float() - criterion.centre) / tau, dim=-1)


@torch.no_grad()
def diagnose(objective: torch.nn.Module, audio: torch.Tensor, step: int) -> dict[str, float]:
    """Every diagnostic of `objective` on probe crops `audio` [N, samples] (eval mode, float32)."""
    was_training = objective.training
    objective.eval()
    try:
        with torch.autocast(audio.device.type, enabled=False):
            row = embedding_stats(clip_embeddings(objective.encoder, audio))
            row.update(objective.diagnose(audio, step))
            targets = dino_teacher_targets(objective, audio, step)
            if targets is not None:
                row.update(target_entropies(targets))
    finally:
        objective.train(was_training)
    return row


def collapse_warnings(row: dict[str, float], first: dict[str, float]) -> list[str]:
    """The collapse rules (module docstring) that `row` breaks, against the step-0 row `first`."""
    found = []
    if "dim_std" in row and row["dim_std"] < SPREAD_FRACTION * first.get("dim_std", 0.0):
        found.append(f"spread: median per-dimension std {row['dim_std']:.3g} < {SPREAD_FRACTION:.0%} of "
                     f"its step-0 value {first['dim_std']:.3g}")
    if "effective_rank" in row:
        floor = min(RANK_FLOOR, RANK_FRACTION * first.get("effective_rank", 0.0))
        if row["effective_rank"] < floor:
            found.append(f"rank: effective rank of clip embeddings {row['effective_rank']:.2f} < {floor:.2f}")
    gap, first_gap = 1.0 - row.get("mean_cosine", 0.0), 1.0 - first.get("mean_cosine", 0.0)
    if row.get("mean_cosine", 0.0) > COSINE_FLOOR and gap < COSINE_GAP_FRACTION * first_gap:
        found.append(f"identical clips: mean pairwise cosine {row['mean_cosine']:.5f}, 1 - cosine below "
                     f"{COSINE_GAP_FRACTION:.0%} of its step-0 value {first_gap:.3g}")
    if row.get("codes_used", 1.0) < CODES_FLOOR:
        found.append(f"codebook: {row['codes_used']:.1%} of the codewords used (< {CODES_FLOOR:.0%})")
    if row.get("teacher_mean_entropy", 1.0) < DINO_MEAN_FLOOR:
        found.append(f"DINO, one prototype: entropy of the mean teacher target {row['teacher_mean_entropy']:.3f} "
                     f"x log K < {DINO_MEAN_FLOOR}")
    if row.get("teacher_entropy", 0.0) > DINO_TOKEN_CEILING:
        found.append(f"DINO, uniform targets: teacher entropy {row['teacher_entropy']:.3f} x log K > "
                     f"{DINO_TOKEN_CEILING}")
    return found


class CollapseMonitor:
    """Diagnostics of one run on fixed probe crops, each collapse rule warned once.

    `first` is the step-0 row the relative rules compare with (on `--resume`, the run's first
    logged diagnostics)."""

    def __init__(self, audio: torch.Tensor, first: dict[str, float] | None = None) -> None:
        self.audio, self.first = audio, first
        self.warned: set[str] = set()

    def measure(self, objective: torch.nn.Module, step: int) -> tuple[dict[str, float], list[str]]:
        """The diagnostics at `step` and the collapse rules newly broken there."""
        row = diagnose(objective, self.audio.to(next(objective.parameters()).device), step)
        if self.first is None:
            self.first = dict(row)
        broken = collapse_warnings(row, self.first)
        new = [w for w in broken if w.split(":")[0] not in self.warned]
        self.warned.update(w.split(":")[0] for w in broken)
        return row, new
