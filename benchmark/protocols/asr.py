"""Speech recognition: a CTC head over characters on frame embeddings, greedy decoding.

`linear` and `mlp` train a grid of frame-wise heads at once (CTC loss per grid point);
`bilstm` trains SUPERB's 2-layer BiLSTM. Both are chosen on the valid split's character
error rate and scored on test with the task's metrics (WER, CER through jiwer).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from benchmark.heads.ctc import BiLSTMHead, CharVocabulary, ctc_infeasible, greedy, grid_ctc_loss, targets_of
from benchmark.errors import ProtocolError
from benchmark.device import device_of, to_device
from benchmark.heads.fit import fit_module
from benchmark.scoring.items import ItemOutputs, transcript_outputs
from benchmark.scoring.metrics import METRICS
from benchmark.heads.grid import minibatches
from benchmark.protocols.base import HeadResult, Part, RunContext, streams
from benchmark.protocols.probing import HeadConfig, Sequences, config_for, fit_heads, sequence_inputs

#: per-item minibatches (items, not frames) and shorter schedules than clip heads: CTC steps cost more
ASR_BATCH_ITEMS = 32
#: the BiLSTM takes more, smaller steps: CTC first learns to emit only blanks, and a 560-utterance
#: task gives few steps per epoch to leave that phase
BILSTM_BATCH_ITEMS = 16
#: a smaller L2 grid than clip heads (each grid point's CTC loss costs as much as a whole clip head)
CTC_WEIGHT_DECAYS = (1e-4, 1e-2)
#: the frame rate of SUPERB's upstreams; the BiLSTM stacks finer frames up to it and repeats coarser ones
SUPERB_HOP_MS = 20.0


def transcripts(part: Part) -> list[str]:
    return [str(t) for t in part.manifest["transcript"]]


def decode_grid(head: torch.nn.Module, inputs: Sequences, vocab: CharVocabulary, chunk: int = 64) -> list[list[str]]:
    """Greedy transcripts of every item for every grid point: [G][n]."""
    texts: list[list[str]] | None = None
    device = device_of(head)
    with torch.no_grad():
        for start in range(0, len(inputs), chunk):
            x, mask = inputs.batch(torch.arange(start, min(start + chunk, len(inputs))))
            logits = head(x.to(device), mask.to(device)).float().cpu()
            logits = logits if logits.ndim == 4 else logits[None]
            lengths = output_mask(head, mask).sum(1).tolist()
            decoded = [[vocab.decode(ids) for ids in greedy(g, lengths)] for g in logits]
            texts = decoded if texts is None else [a + b for a, b in zip(texts, decoded)]
    return texts or []


def output_mask(head: torch.nn.Module, mask: torch.Tensor) -> torch.Tensor:
    """Valid output frames: heads that change the frame rate say how (BiLSTMHead.output_mask)."""
    return head.output_mask(mask) if hasattr(head, "output_mask") else mask


def asr_metrics(names: tuple[str, ...], test: Part, hypotheses: list[str]) -> tuple[dict[str, float], ItemOutputs]:
    """The task's metrics of the test transcripts, and the per-file edit counts behind them."""
    references = transcripts(test)
    return ({name: METRICS.get(name)(references, hypotheses) for name in names},
            transcript_outputs(list(test.manifest["path"]), references, hypotheses))


def check_feasible(ctx: RunContext, encoded: list[list[int]], frames: list[int], protocol: str) -> float:
    """The fraction of training transcripts too long for their output frames (they teach
    nothing): an error when it is all of them, a warning when some."""
    short = ctc_infeasible(encoded, frames)
    where = f"{ctx.task.name} with {ctx.upstream_name} ({ctx.hop_ms:g} ms frames, {protocol} probe)"
    if short == 1.0:
        raise ProtocolError(f"{where}: every training transcript has more characters than output frames, so no "
                            f"CTC alignment exists; use --protocol bilstm, which repeats frames up to "
                            f"{SUPERB_HOP_MS:g} ms")
    if short > 0:
        warnings.warn(f"{where}: {short:.0%} of training transcripts are longer than their frames and "
                      f"are not learnt from", stacklevel=2)
    return short


def prepare(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> tuple:
    ctx.require_frames()
    train, valid, test = (ctx.part(roles, role, seed) for role in ("train", "valid", "test"))
    vocab = CharVocabulary(transcripts(train))
    inputs = sequence_inputs(ctx, [train, valid, test])
    encoded = [vocab.encode(t) for t in transcripts(train)]
    return (train, valid, test), vocab, inputs, encoded


@streams
def run_ctc_grid(ctx: RunContext, roles: dict[str, list[str]], seed: int, kind: str) -> HeadResult:
    """Linear or MLP CTC heads, a grid trained at once; the best on valid CER decodes test."""
    (train, valid, test), vocab, (x_train, x_valid, x_test), encoded = prepare(ctx, roles, seed)
    base = config_for(ctx, kind)
    weight_decays = CTC_WEIGHT_DECAYS if kind == "linear" else base.weight_decays
    config = HeadConfig(base.hidden_layers, base.hidden, base.dropout, base.lrs, weight_decays,
                        ctx.option("max_epochs", 300), ctx.option("patience", 30),
                        ctx.option("batch_size", ASR_BATCH_ITEMS) * 64, converge=False, solver="adam")
    references = transcripts(valid)
    infeasible = check_feasible(ctx, encoded, x_train.lengths.tolist(), kind)

    def loss(out: torch.Tensor, target: Any) -> torch.Tensor:
        mask, flat_lengths = target
        return grid_ctc_loss(out, mask, flat_lengths)

    def targets(idx: torch.Tensor) -> tuple:
        _, mask = x_train.batch(idx)
        return mask, targets_of([encoded[int(i)] for i in idx])

    def score(hypotheses: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        cer = torch.tensor([METRICS.get("cer")(references, h) for h in hypotheses])
        return -cer, cer

    fit = fit_heads(config, x_train, targets, x_valid, len(vocab), loss=loss, score=score, seed=seed,
                    valid_outputs=lambda h, inputs: decode_grid(h, inputs, vocab), device=ctx.probe_device)
    hypotheses = decode_grid(fit.head, x_test, vocab)[0]
    fit.chosen["valid_cer"] = -fit.chosen.pop("valid_score")
    metrics, items = asr_metrics(ctx.task.metrics, test, hypotheses)
    return metrics, {**fit.chosen, "vocabulary": len(vocab), "ctc_infeasible": infeasible}, items


@streams
def run_bilstm(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    """SUPERB's BiLSTM CTC head (one model, Adam, early stopping on valid CER)."""
    (train, valid, test), vocab, (x_train, x_valid, x_test), encoded = prepare(ctx, roles, seed)
    torch.manual_seed(seed)
    hidden, lr = ctx.option("hidden", 128), ctx.option("lr", 2e-3)
    stack = ctx.option("stack", max(1, round(SUPERB_HOP_MS / ctx.hop_ms)))
    upsample = ctx.option("upsample", max(1, math.ceil(ctx.hop_ms / SUPERB_HOP_MS - 1e-6)))
    head = BiLSTMHead(x_train.dim, len(vocab), hidden=hidden, layers=x_train.layers, stack=stack, upsample=upsample)
    device = ctx.probe_device
    head.to(device)
    lengths = torch.as_tensor(x_train.lengths)
    frames = head.output_mask(torch.arange(int(lengths.max()))[None, :] < lengths[:, None]).sum(1)
    infeasible = check_feasible(ctx, encoded, frames.tolist(), "bilstm")
    batch_items = ctx.option("batch_size", BILSTM_BATCH_ITEMS)
    references = transcripts(valid)

    def batches(gen: torch.Generator):
        for idx in minibatches(len(x_train), batch_items, gen):
            yield x_train.batch(idx), targets_of([encoded[int(i)] for i in idx])

    def step_loss(batch: tuple) -> torch.Tensor:
        (x, mask), target = to_device(batch, device)
        return grid_ctc_loss(head(x, mask)[None], head.output_mask(mask), target)[0]

    def validate() -> float:
        return -METRICS.get("cer")(references, decode_grid(head, x_valid, vocab)[0])

    chosen = fit_module(head, [{"params": list(head.parameters()), "lr": lr}], batches, step_loss, validate,
                        seed=seed, max_epochs=ctx.option("max_epochs", 30), patience=ctx.option("patience", 15))
    hypotheses = decode_grid(head, x_test, vocab)[0]
    chosen = {"lr": lr, "hidden": hidden, "stack": stack, "upsample": upsample, "epochs": chosen["epochs"],
              "valid_cer": -chosen["valid_score"], "vocabulary": len(vocab), "ctc_infeasible": infeasible}
    if head.layer_weights() is not None:
        chosen["layer_weights"] = head.layer_weights()
    metrics, items = asr_metrics(ctx.task.metrics, test, hypotheses)
    return metrics, chosen, items

