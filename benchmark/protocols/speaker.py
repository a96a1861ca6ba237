"""Speaker verification: cosine scoring of enroll/test clip embeddings (EER, minDCF).

Two ways to get the embeddings: the pooled upstream features as they are (`knn`, no
training: centred with the training mean, then cosine), or a projection trained on the
training speakers with an additive-margin softmax (AM-softmax, Wang et al. 2018; `linear`
or `mlp` projection), the grid chosen on the EER of pairs of valid clips. Trials must
name clips of the test split.

The valid EER is a noisy score: with the probes' rule (patience restarts on any gain) a
projection kept finding gains of a pair or two for a thousand epochs. Here patience restarts
only on a gain of more than `MIN_EER_GAIN`, in minibatches of `PROJECTION_BATCH` clips (many
steps per epoch, so fewer epochs), and pair cosines come from one Gram matrix per grid point.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmark.errors import ProtocolError
from benchmark.scoring.items import ItemOutputs, trial_outputs
from benchmark.scoring.metrics import METRICS
from benchmark.heads.grid import GridHead, fit_grid, grid_points, minibatches, pick_grid
from benchmark.protocols.base import HeadResult, Part, RunContext, reads
from benchmark.protocols.probing import LINEAR, MLP, Pooled, config_for, run_inputs

AM_SCALE, AM_MARGIN = 30.0, 0.2
EMBEDDING_DIM = 256
MAX_VALID_PAIRS = 20_000
#: the least fall of a grid point's valid EER (absolute) that restarts its patience
MIN_EER_GAIN = 0.005
PROJECTION_BATCH = 256
#: the projections' defaults (`-o max_epochs=.. patience=.. batch_size=..` override them)
PROJECTION = {"linear": replace(LINEAR, max_epochs=200, patience=20, batch_size=PROJECTION_BATCH, converge=False),
              "mlp": replace(MLP, max_epochs=200, patience=20, batch_size=PROJECTION_BATCH)}
#: the most floats of one Gram matrix of valid clips; above it pairs are gathered in chunks
GRAM_FLOATS = 16_000_000


class AMSoftmaxGrid(torch.nn.Module):
    """A grid of projections to a speaker space plus, per point, one centre per train speaker.

    forward -> cosines [G, b, S] between projected clips and speaker centres; the margin is
    applied in the loss, which knows the targets.
    """

    def __init__(self, body: GridHead, speakers: int, generator: torch.Generator) -> None:
        super().__init__()
        self.body, self.grid = body, body.grid
        out = body.weights[-1].shape[-1]
        self.centres = torch.nn.Parameter(torch.randn(self.grid, out, speakers, generator=generator) * 0.01)

    def embed(self, *inputs: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.body(*inputs), dim=-1)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.embed(*inputs) @ F.normalize(self.centres, dim=1)

    def penalty(self) -> torch.Tensor:
        return self.body.penalty()

    def layer_weights(self) -> torch.Tensor | None:
        return self.body.layer_weights()

    def pick(self, index: int) -> "AMSoftmaxGrid":
        return pick_grid(self, index, self.grid)


def am_softmax_loss(cosines: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[G]: cross-entropy of s * (cos - m * [target]) (Wang et al., 2018)."""
    G, b, s = cosines.shape
    logits = AM_SCALE * (cosines - AM_MARGIN * F.one_hot(y, s).to(cosines.dtype))
    return F.cross_entropy(logits.reshape(-1, s), y.repeat(G), reduction="none").view(G, b).mean(1)


def trial_indices(ctx: RunContext, test: Part) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(enroll rows, test rows, targets) of the trial list, as rows of the test split."""
    if "trials" not in ctx.manifests:
        raise ProtocolError(f"task {ctx.task.name!r}: speaker verification needs a trial list (trials manifest)")
    trials: pd.DataFrame = ctx.manifests["trials"]
    index = {path: i for i, path in enumerate(test.manifest["path"])}
    for column in ("enroll", "test"):
        unknown = [p for p in trials[column] if p not in index]
        if unknown:
            raise ProtocolError(f"task {ctx.task.name!r}: the trial list names {len(unknown)} {column} file(s) "
                                f"that are not in the test split, e.g. {unknown[0]!r}")
    return (np.array([index[p] for p in trials["enroll"]]), np.array([index[p] for p in trials["test"]]),
            trials["target"].to_numpy().astype(int))


def cosine_trials(embeddings: np.ndarray, enroll: np.ndarray, test: np.ndarray) -> np.ndarray:
    z = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return np.einsum("nd,nd->n", z[enroll], z[test])


def verification_metrics(ctx: RunContext, test: Part, enroll: np.ndarray, probe: np.ndarray, targets: np.ndarray,
                         scores: np.ndarray) -> tuple[dict[str, float], ItemOutputs]:
    """The task's metrics of the trial scores, and the trials (score, target, enrolment speaker)."""
    return ({name: METRICS.get(name)(targets, scores) for name in ctx.task.metrics},
            trial_outputs(list(test.manifest["path"]), list(test.manifest["speaker"]), enroll, probe, targets, scores))


def valid_pairs(speakers: pd.Series, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs of valid clips (a fixed random sample if there are too many)."""
    n = len(speakers)
    a, b = np.triu_indices(n, k=1)
    if len(a) > MAX_VALID_PAIRS:
        keep = np.random.default_rng(seed).choice(len(a), MAX_VALID_PAIRS, replace=False)
        a, b = a[keep], b[keep]
    labels = speakers.to_numpy()
    return a, b, (labels[a] == labels[b]).astype(int)


def pair_cosines(z: torch.Tensor, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[G, pairs]: cosines of unit rows z [G, n, d] at the pairs (a, b), from each point's
    Gram matrix when it is small (gathering both rows of every pair costs far more)."""
    if z.shape[1] ** 2 <= GRAM_FLOATS:
        return torch.stack([(zg @ zg.T)[a, b] for zg in z]).numpy()
    chunk = max(1, GRAM_FLOATS // (z.shape[0] * z.shape[2]))  # pairs a gather of both rows holds
    return torch.cat([(z[:, a[i:i + chunk]] * z[:, b[i:i + chunk]]).sum(-1) for i in range(0, len(a), chunk)],
                     dim=1).numpy()


@reads("train", "test")
def run_cosine(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    """No training: cosine of pooled embeddings centred with the training mean."""
    train, test = ctx.part(roles, "train", seed, "speaker"), ctx.part(roles, "test", seed)
    enroll, probe, targets = trial_indices(ctx, test)
    mean = ctx.clip(train).mean(0)
    scores = cosine_trials(ctx.clip(test) - mean, enroll, probe)
    metrics, items = verification_metrics(ctx, test, enroll, probe, targets, scores)
    return metrics, {"scoring": "cosine", "centring": "train mean"}, items


def run_projection(ctx: RunContext, roles: dict[str, list[str]], seed: int, kind: str) -> HeadResult:
    """AM-softmax projection (linear or MLP) trained on train speakers, chosen on valid pair EER."""
    train, valid, test = (ctx.part(roles, role, seed, "speaker") for role in ("train", "valid", "test"))
    enroll, probe, targets = trial_indices(ctx, test)
    arrays = [ctx.clip(p) for p in (train, valid, test)]
    stats = Pooled.stats(arrays[0])
    x_train, x_valid, x_test = (Pooled(a, stats) for a in arrays)
    speakers = sorted(set(train.manifest["speaker"]))
    y_train = torch.tensor(train.manifest["speaker"].map({s: i for i, s in enumerate(speakers)}).to_numpy())
    a, b, same = valid_pairs(valid.manifest["speaker"], seed=0)
    if len(set(same)) < 2:
        raise ProtocolError(f"task {ctx.task.name!r}: the valid split needs clips of at least two speakers, "
                            f"some of them more than once, to choose the projection")
    config = config_for(ctx, kind, PROJECTION[kind])
    dim = ctx.option("embedding_dim", EMBEDDING_DIM)
    points = grid_points(lr=config.lrs, weight_decay=config.weight_decays)
    depth = min(config.hidden_layers)  # mlp: one hidden layer before the speaker space
    if depth:
        points = [{"hidden_layers": depth, "hidden": config.hidden, "dropout": config.dropout, **p} for p in points]
    gen = torch.Generator().manual_seed(seed)
    body = GridHead(len(points), x_train.dim, dim, hidden=[config.hidden] * depth, dropout=config.dropout,
                    layers=x_train.layers, weight_decay=[p["weight_decay"] for p in points], generator=gen)
    model = AMSoftmaxGrid(body, len(speakers), gen).to(ctx.probe_device)

    def batches(g: torch.Generator):
        for idx in minibatches(len(x_train), config.batch_size, g):
            yield x_train.batch(idx), y_train[idx]

    def validate(m: AMSoftmaxGrid) -> tuple[torch.Tensor, torch.Tensor]:
        cos = pair_cosines(F.normalize(run_inputs(m.body, x_valid), dim=-1), a, b)
        eers = torch.tensor([METRICS.get("eer")(same, c) for c in cos])
        return -eers, eers

    fit = fit_grid(model, points, batches, am_softmax_loss, validate, seed=seed, max_epochs=config.max_epochs,
                   patience=config.patience, converge=config.converge, min_delta=MIN_EER_GAIN)
    embeddings = F.normalize(run_inputs(fit.head.body, x_test)[0], dim=-1).numpy()
    valid_eer = -fit.chosen.pop("valid_score")
    chosen = {**fit.chosen, "valid_eer": valid_eer, "loss": "am-softmax",
              "scale": AM_SCALE, "margin": AM_MARGIN, "embedding_dim": dim, "train_speakers": len(speakers)}
    metrics, items = verification_metrics(ctx, test, enroll, probe, targets, cosine_trials(embeddings, enroll, probe))
    return metrics, chosen, items
