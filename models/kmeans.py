"""k-means in torch (HuBERT's discrete targets): k-means++ seeding and Lloyd iterations,
deterministic under a seed (its own generator: the global RNG is left alone).

An empty cluster is re-seeded with the point farthest from its centroid, so all k
clusters are used.
"""
from __future__ import annotations

import torch


def assign(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Nearest centroid of each row of `x` [N, D] -> labels [N] (long)."""
    out = []
    c = centroids.float()
    c_sq = c.square().sum(1)
    for start in range(0, x.shape[0], chunk):
        part = x[start: start + chunk].float()
        d = c_sq[None, :] - 2 * part @ c.T  # |x|^2 is constant per row
        out.append(d.argmin(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=x.device)


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    first = int(torch.randint(n, (1,), generator=generator))
    centroids = [x[first]]
    dist = (x - x[first]).square().sum(1)
    for _ in range(1, k):
        total = dist.sum()
        if float(total) <= 0:
            pick = int(torch.randint(n, (1,), generator=generator))
        else:
            pick = int(torch.multinomial((dist / total).cpu(), 1, generator=generator))
        centroids.append(x[pick])
        dist = torch.minimum(dist, (x - x[pick]).square().sum(1))
    return torch.stack(centroids)


@torch.no_grad()
def kmeans(x: torch.Tensor, k: int, iterations: int = 30, seed: int = 0) -> torch.Tensor:
    """Centroids [k, D] of `x` [N, D] (N >= k)."""
    x = x.float()
    if x.shape[0] < k:
        raise ValueError(f"k-means needs at least k = {k} points, got {x.shape[0]}")
    generator = torch.Generator().manual_seed(seed)
    centroids = kmeans_plus_plus(x.cpu(), k, generator).to(x.device)
    for _ in range(iterations):
        labels = assign(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=k).float()
        new = sums / counts.clamp_min(1)[:, None]
        empty = (counts == 0).nonzero().flatten()
        if len(empty):
            far = (x - new[labels]).square().sum(1).topk(len(empty)).indices
            new[empty] = x[far]
        if torch.allclose(new, centroids):
            centroids = new
            break
        centroids = new
    return centroids
