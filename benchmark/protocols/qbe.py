"""Query-by-example retrieval over labels: no training, a direct look at the embedding space.

Each test clip queries all other test clips, ranked by cosine similarity of standardised
embeddings; a clip is relevant if it shares the query's label (any label, for tagging;
the speaker, for speaker tasks). The score is the mean over queries of average precision
(`mAP`), as in query-by-example spoken term and sound retrieval.
"""
from __future__ import annotations

import numpy as np

from benchmark.family import Family, family_of
from benchmark.scoring.items import qbe_outputs
from benchmark.scoring.metrics import METRICS, average_precisions
from benchmark.protocols.base import HeadResult, Protocol, RunContext, reads
from benchmark.task import TaskSpec


def relevance(family: Family, labels: list) -> np.ndarray:
    """[n, n] 1 where two clips share a label, 0 on the diagonal (a query is not its own answer)."""
    sets = [set(family.label_names(x)) for x in labels]
    n = len(sets)
    rel = np.array([[float(bool(sets[i] & sets[j])) for j in range(n)] for i in range(n)], dtype=np.float32)
    np.fill_diagonal(rel, 0.0)
    return rel


@reads("train", "test")
def run(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    train, test = ctx.part(roles, "train", seed), ctx.part(roles, "test", seed)
    x_train, x_test = ctx.clip(train), ctx.clip(test)
    z = (x_test - x_train.mean(0)) / np.maximum(x_train.std(0), 1e-6)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    similarity = z @ z.T
    np.fill_diagonal(similarity, similarity.min() - 1.0)  # self ranked last, and not relevant: AP unchanged
    family = family_of(ctx.task.family)
    rel = relevance(family, list(test.manifest[family.label_column]))
    queries = rel.sum(0) > 0
    # columns are queries: metrics.mAP averages AP over the columns that have a relevant item
    items = qbe_outputs(list(test.manifest["path"][queries]), average_precisions(rel, similarity))
    return {"mAP": METRICS.get("mAP")(rel, similarity)}, {"queries": int(queries.sum()), "similarity": "cosine"}, items


def main_metric(task: TaskSpec) -> str:
    return "mAP"


QBE = Protocol("qbe", trains=False, main_metric=main_metric)
