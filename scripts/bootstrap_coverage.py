"""How often the item bootstrap's 95% intervals of mAP cover the population's mAP, percentile
against BCa (docs/leaderboard.md): simulated tagging test sets (positives' scores shifted by
`mu` standard deviations, 20% prevalence per class), the population's mAP from 400,000 clips.

    python scripts/bootstrap_coverage.py                  # the table of docs/leaderboard.md
    python scripts/bootstrap_coverage.py --sims 100 --settings 60:1.0:12
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import average_precision_score

from benchmark.scoring.bootstrap import (Run, bca_interval, cluster_draws, metric_replicates, percentile_interval,
                                         result_jackknife, result_observed)
from benchmark.scoring.items import ItemOutputs

PREVALENCE = 0.2


def draw(rng: np.random.Generator, n: int, classes: int, mu: float) -> tuple[np.ndarray, np.ndarray]:
    targets = (rng.random((n, classes)) < PREVALENCE).astype(np.uint8)
    return targets, rng.normal(size=(n, classes)) + mu * targets


def coverage(n: int, mu: float, classes: int, sims: int, n_boot: int = 1000, seed: int = 0) -> dict:
    """Coverage of the population mAP by each interval, and the estimator's own bias."""
    rng = np.random.default_rng(seed)
    y, s = draw(rng, 400_000, classes, mu)
    truth = float(np.mean([average_precision_score(y[:, c], s[:, c]) for c in range(classes)]))
    hits, estimates = {"percentile": 0, "BCa": 0}, []
    for k in range(sims):
        y, s = draw(rng, n, classes, mu)
        items = ItemOutputs("clips", {"id": np.arange(n).astype(str), "truth": s.argmax(1),
                                      "prediction": s.argmax(1), "targets": y, "scores": s})
        runs = [Run(None, None, items)]
        reps = metric_replicates(items, "mAP", cluster_draws(items.clusters, n_boot, np.random.default_rng(k)))
        observed = result_observed(runs, "mAP")
        estimates.append(observed)
        for name, (lo, hi) in (("percentile", percentile_interval(reps)),
                               ("BCa", bca_interval(reps, observed, result_jackknife(runs, "mAP", "sim")))):
            hits[name] += lo <= truth <= hi
    return {"truth": truth, "bias": float(np.mean(estimates)) - truth,
            **{name: count / sims for name, count in hits.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=300)
    parser.add_argument("--settings", nargs="+", default=["60:1.0:12", "90:1.0:5", "300:1.0:5", "90:2.0:5"],
                        help="test clips:mu:classes")
    args = parser.parse_args()
    print("| test clips | classes | mu | population mAP | estimator's bias | percentile coverage | BCa coverage |")
    print("|---|---|---|---|---|---|---|")
    for setting in args.settings:
        n, mu, classes = setting.split(":")
        c = coverage(int(n), float(mu), int(classes), args.sims)
        print(f"| {n} | {classes} | {mu} | {c['truth']:.3f} | {c['bias']:+.3f} | {c['percentile']:.2f} | "
              f"{c['BCa']:.2f} |")


if __name__ == "__main__":
    main()
