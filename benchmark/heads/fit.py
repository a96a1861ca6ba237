"""Training of one ordinary module with early stopping on valid: the heads a grid cannot stack.

BiLSTM CTC heads, two-tower retrieval and fine-tuning train one model at a time with
AdamW; like the grid they keep the best epoch on valid and report it. On CUDA the
forward runs under bf16 autocast.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch

from benchmark.device import autocast, device_of
from benchmark.heads.grid import small_work_threads
from benchmark.progress import progress_bar


def fit_module(module: torch.nn.Module, param_groups: list[dict], batches: Callable[[torch.Generator], Iterable[Any]],
               step_loss: Callable[[Any], torch.Tensor], validate: Callable[[], float], *, seed: int = 0,
               max_epochs: int = 100, patience: int = 10, weight_decay: float = 0.0,
               clip_norm: float | None = 5.0, on_epoch: Callable[[int, float], None] | None = None) -> dict:
    """Train `module` (params in `param_groups`, each with its "lr"); restore its best epoch.

    `validate()` returns a higher-is-better score on valid, computed in eval mode. Returns
    {"epochs": best epoch, "valid_score": its score}.
    """
    before = torch.get_num_threads()
    try:
        return _fit_module(module, param_groups, batches, step_loss, validate, seed=seed, max_epochs=max_epochs,
                           patience=patience, weight_decay=weight_decay, clip_norm=clip_norm, on_epoch=on_epoch)
    finally:
        torch.set_num_threads(before)


def _fit_module(module: torch.nn.Module, param_groups: list[dict], batches: Callable[[torch.Generator], Iterable[Any]],
                step_loss: Callable[[Any], torch.Tensor], validate: Callable[[], float], *, seed: int,
                max_epochs: int, patience: int, weight_decay: float, clip_norm: float | None,
                on_epoch: Callable[[int, float], None] | None) -> dict:
    gen = torch.Generator().manual_seed(seed)
    optimizer = AdamW(param_groups, weight_decay=weight_decay)
    params = [p for group in param_groups for p in group["params"]]
    with progress_bar(f"training {type(module).__name__}", max_epochs) as advance:
        return _epochs(module, optimizer, params, gen, batches, step_loss, validate, max_epochs, patience,
                       clip_norm, on_epoch, advance)


def _epochs(module: torch.nn.Module, optimizer: AdamW, params: list[torch.Tensor], gen: torch.Generator,
            batches: Callable[[torch.Generator], Iterable[Any]], step_loss: Callable[[Any], torch.Tensor],
            validate: Callable[[], float], max_epochs: int, patience: int, clip_norm: float | None,
            on_epoch: Callable[[int, float], None] | None, advance: Callable[..., None]) -> dict:
    best_score, best_epoch = -float("inf"), 0
    best_state = copy.deepcopy(module.state_dict())
    device = device_of(module)
    step = 0
    for epoch in range(1, max_epochs + 1):
        module.train()
        for batch in batches(gen):
            if step == 0:
                small_work_threads(sum(p.numel() for p in params), _rows(batch))
            step += 1
            optimizer.zero_grad()
            with autocast(device):
                loss = step_loss(batch)
            if not torch.isfinite(loss):
                continue  # e.g. a CTC target longer than its input: skip the step, not the run
            loss.backward()
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(params, clip_norm)
            optimizer.step()
        module.eval()
        with torch.no_grad():
            score = float(validate())
        if on_epoch:
            on_epoch(epoch, score)
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(module.state_dict())
        advance(valid=f"{score:.4g}", best=f"{best_score:.4g}@{best_epoch}")
        if epoch > best_epoch and epoch - best_epoch >= patience:
            break
    module.load_state_dict(best_state)
    module.eval()
    return {"epochs": best_epoch, "valid_score": best_score}


class AdamW:
    """AdamW (decoupled weight decay, Loshchilov & Hutter) over parameter groups with their own lr.

    Written out because constructing any torch.optim optimizer first imports torch._dynamo,
    several seconds per process (far more than a small head's whole training).
    """

    def __init__(self, groups: list[dict], weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.groups = [{**g, "params": list(g["params"])} for g in groups]
        self.weight_decay, self.betas, self.eps, self.step_count = weight_decay, betas, eps, 0
        self.state = {id(p): (torch.zeros_like(p), torch.zeros_like(p)) for g in self.groups for p in g["params"]}

    def zero_grad(self) -> None:
        for g in self.groups:
            for p in g["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        (b1, b2), t = self.betas, self.step_count
        for g in self.groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                m, v = self.state[id(p)]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                if self.weight_decay:
                    p.mul_(1 - g["lr"] * self.weight_decay)
                p.addcdiv_(m / (1 - b1 ** t), (v / (1 - b2 ** t)).sqrt_().add_(self.eps), value=-g["lr"])


def _rows(batch: Any) -> int:
    """Frames or items in a batch (the first tensor's leading dims but the last), for sizing threads."""
    while isinstance(batch, (tuple, list)) and batch:
        batch = batch[0]
    return int(batch.numel() // batch.shape[-1]) if isinstance(batch, torch.Tensor) and batch.ndim > 1 else 1
