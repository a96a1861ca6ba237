"""Fine-tuning: the encoder and a clip head trained end to end (the upper bound of probing).

The upstream is copied (the caller's model is left untouched) and trained with a lower
learning rate than the head (`-o encoder_lr=1e-4 head_lr=1e-3`), optionally with
layer-wise learning-rate decay (`-o layer_decay=0.75`: each layer below the top gets that
factor less, as in BEiT/data2vec fine-tuning). Pooling is mean/max/CLS over the valid
frames of the chosen layer or of the learned weighted sum of layers. The epoch is chosen
on the valid split's main score; on CUDA the forward runs under bf16 autocast. The
task's audio is decoded once and held in memory.
"""
from __future__ import annotations

import copy
import re

import torch
import torch.nn.functional as F

from benchmark.family import family_of
from benchmark.features.audio import bucket_batches, iterate_batches
from benchmark.device import device_of
from benchmark.features.extract import validate_output
from benchmark.device import autocast
from benchmark.heads.featurizer import WeightedLayerSum
from benchmark.heads.fit import fit_module
from benchmark.heads.grid import grid_accuracy, grid_average_precision
from benchmark.protocols.base import HeadResult, Part, Protocol, RunContext, reads
from benchmark.protocols.clip import clip_metrics, encode
from benchmark.protocols.options import Option

LAYER_NUMBER = re.compile(r"\.(\d+)\.")


def layer_depths(module: torch.nn.Module) -> tuple[dict[str, int], int]:
    """Depth of each parameter for layer-wise decay: 1 + the first index in its name
    (`blocks.3.` -> 4); unnumbered parameters before any numbered one (front-end,
    embeddings) get 0, after them (final norm) the top. Returns (depths, top)."""
    depths, deepest, pending_top = {}, 0, []
    for name, _ in module.named_parameters():
        match = LAYER_NUMBER.search(f".{name}")
        if match:
            depths[name] = int(match.group(1)) + 1
            deepest = max(deepest, depths[name])
        elif deepest:
            pending_top.append(name)
        else:
            depths[name] = 0
    top = deepest + 1
    depths.update({name: top for name in pending_top})
    return depths, top


def encoder_groups(module: torch.nn.Module, lr: float, decay: float) -> list[dict]:
    depths, top = layer_depths(module)
    groups: dict[int, list] = {}
    for name, p in module.named_parameters():
        if p.requires_grad:
            groups.setdefault(depths[name], []).append(p)
    return [{"params": ps, "lr": lr * decay ** (top - d)} for d, ps in sorted(groups.items())]


class ClipModel(torch.nn.Module):
    """upstream -> (one layer | weighted sum of layers) -> pooled over valid frames -> LayerNorm -> linear."""

    def __init__(self, upstream: torch.nn.Module, layer: int | None, layers: int, dim: int, out: int,
                 pooling: str) -> None:
        super().__init__()
        self.upstream, self.layer, self.pooling = upstream, layer, pooling
        self.mix = WeightedLayerSum(layers) if layer is None else None
        # a LayerNorm in front of the classifier, as fine-tuning heads do (AST, BEATs): raw
        # encoder features can sit far from zero mean / unit scale, which stalls a linear head
        self.head = torch.nn.Sequential(torch.nn.LayerNorm(dim), torch.nn.Linear(dim, out))

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = validate_output(self.upstream(audio, lengths), len(audio), "finetuned", ["(training batch)"])
        if self.mix is not None:
            h = self.mix(torch.stack([s.float() for s in out.hidden_states], dim=2))
        else:
            h = out.hidden_states[self.layer].float()
        mask = (torch.arange(h.shape[1], device=h.device)[None, :] < out.lengths.to(h.device)[:, None])
        if self.pooling == "cls":
            pooled = h[:, 0]
        elif self.pooling == "max":
            pooled = h.masked_fill(~mask[..., None], float("-inf")).amax(1)
        else:
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        return self.head(pooled)


def load_audio(ctx: RunContext, part: Part) -> list[torch.Tensor]:
    paths = list(part.manifest["path"])
    rate = int(ctx.upstream.sample_rate)
    audio: list[torch.Tensor] = [torch.empty(0)] * len(paths)
    batches = [list(range(i, min(i + 32, len(paths)))) for i in range(0, len(paths), 32)]
    for indices, wave, lengths in iterate_batches(paths, rate, batches, ctx.settings.workers):
        for i, w, n in zip(indices, wave, lengths):
            audio[i] = w[: int(n)].clone()
    return audio


def batch_of(audio: list[torch.Tensor], idx: list[int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(audio[i]) for i in idx])
    padded = torch.zeros(len(idx), int(lengths.max()))
    for row, i in enumerate(idx):
        padded[row, : lengths[row]] = audio[i]
    return padded.to(device), lengths.to(device)


@reads()  # it runs the upstream on the audio itself
def run(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    family = family_of(ctx.task.family)
    torch.manual_seed(seed)
    train, valid, test = (ctx.part(roles, role, seed, family.stratify) for role in ("train", "valid", "test"))
    vocab = family.vocabulary(ctx.manifest(roles["train"]))
    y_train = torch.as_tensor(encode(family, train.manifest, vocab))
    y_valid = torch.as_tensor(encode(family, valid.manifest, vocab))
    audio = {p.role: load_audio(ctx, p) for p in (train, valid, test)}
    upstream = copy.deepcopy(ctx.upstream)
    device = device_of(upstream)
    with torch.no_grad(), autocast(device):
        probe = upstream(*batch_of(audio["train"], [0], device))
    layers, dim = len(probe.hidden_states), probe.hidden_states[0].shape[-1]
    layer = None if ctx.weighted else ctx.layer_index(layers)
    model = ClipModel(upstream, layer, layers, dim, len(vocab), ctx.settings.pooling).to(device)
    head_lr, encoder_lr = ctx.option("head_lr", 1e-3), ctx.option("encoder_lr", 1e-4)
    decay = ctx.option("layer_decay", 1.0)
    head_params = list(model.head.parameters()) + (list(model.mix.parameters()) if model.mix is not None else [])
    groups = [{"params": head_params, "lr": head_lr}] + encoder_groups(upstream, encoder_lr, decay)
    batch_seconds = ctx.option("batch_seconds", 32.0)
    durations = [len(a) / ctx.upstream.sample_rate for a in audio["train"]]
    buckets = bucket_batches(durations, batch_seconds, max_items=ctx.option("batch_size", 8))

    def batches(gen: torch.Generator):
        for k in torch.randperm(len(buckets), generator=gen).tolist():
            idx = buckets[k]
            yield batch_of(audio["train"], idx, device), y_train[idx].to(device)

    def step_loss(batch: tuple) -> torch.Tensor:
        (x, lengths), y = batch
        with autocast(device):
            logits = model(x, lengths).float()
        if family.multilabel:
            return F.binary_cross_entropy_with_logits(logits, y.float())
        return F.cross_entropy(logits, y)

    def scores_of(role: str) -> torch.Tensor:
        out = []
        with torch.no_grad(), autocast(device):
            for i in range(0, len(audio[role]), 16):
                idx = list(range(i, min(i + 16, len(audio[role]))))
                out.append(model(*batch_of(audio[role], idx, device)).float().cpu())
        return torch.cat(out)

    def validate() -> float:
        s = scores_of("valid")[None]
        return float((grid_average_precision(s, y_valid) if family.multilabel else grid_accuracy(s, y_valid))[0])

    chosen = fit_module(model, groups, batches, step_loss, validate, seed=seed,
                        max_epochs=ctx.option("max_epochs", 30), patience=ctx.option("patience", 5))
    metrics, items = clip_metrics(ctx, test.manifest, scores_of("test").numpy(), vocab)
    chosen.update(head_lr=head_lr, encoder_lr=encoder_lr, layer_decay=decay,
                  encoder_params=int(sum(p.numel() for p in upstream.parameters())), device=str(device),
                  autocast="bf16" if device.type == "cuda" else "off")
    if model.mix is not None:
        chosen["layer_weights"] = model.mix.weights()
    return metrics, chosen, items


FINETUNE = Protocol("finetune", poolings=("mean", "max", "cls"), encodes=True, options=(
    Option("head_lr", float, "learning rate of the head (and of the layer weights)", minimum=0, above=True),
    Option("encoder_lr", float, "learning rate of the encoder's top layer (0 freezes it)", minimum=0),
    Option("layer_decay", float, "factor by which each lower layer's learning rate shrinks", minimum=0, above=True,
           maximum=1),
    Option("batch_seconds", float, "audio seconds per minibatch (padded)", minimum=0, above=True),
    Option("batch_size", int, "the most clips per minibatch", minimum=1),
    Option("max_epochs", int, "the most epochs of training", minimum=1),
    Option("patience", int, "epochs without a better valid score before training stops", minimum=1),
))
