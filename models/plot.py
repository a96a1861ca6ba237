"""Loss curves and collapse diagnostics from a run's `log.jsonl` (one JSON object per logged
step, and one per diagnostics measurement: models/diagnostics.py)."""
from __future__ import annotations

import json
from pathlib import Path

#: diagnostics drawn in panels of their own; the objective's others share the last panel
PANELS = (("dim_std", "per-dimension std (log)"), ("effective_rank", "effective rank"),
          ("mean_cosine", "mean pairwise cosine"))


def read_log(path: Path) -> list[dict]:
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash
    return rows


def plot_loss(log: Path, out: Path, title: str = "") -> Path | None:
    """Write the loss (and its components) against the step to `out`, with the collapse
    diagnostics underneath when the run logged them; None if nothing logged."""
    rows = read_log(log)
    losses = [r for r in rows if "loss" in r]
    diagnosed = [r for r in rows if "diagnostics" in r]
    if not losses:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(11, 7.5 if diagnosed else 4))
    grid = fig.add_gridspec(2 if diagnosed else 1, 4, height_ratios=[1.4, 1] if diagnosed else [1])
    ax = fig.add_subplot(grid[0, :])
    steps = [r["step"] for r in losses]
    ax.plot(steps, [r["loss"] for r in losses], label="loss", linewidth=1.8)
    for key in sorted({k for r in losses for k in r.get("parts", {})}):
        ax.plot(steps, [r.get("parts", {}).get(key, float("nan")) for r in losses], label=key, linewidth=1, alpha=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title(title or Path(log).parent.name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if diagnosed:
        _plot_diagnostics(fig, grid, diagnosed)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _plot_diagnostics(fig, grid, rows: list[dict]) -> None:  # noqa: ANN001 - matplotlib objects
    steps = [r["step"] for r in rows]
    collapsed = [r["step"] for r in rows if r.get("collapse")]
    keys = sorted({k for r in rows for k in r["diagnostics"]} - {k for k, _ in PANELS})
    panels = (*PANELS, ("", "objective diagnostics (log)")) if keys else PANELS
    for i, (key, label) in enumerate(panels):
        ax = fig.add_subplot(grid[1, i])
        for k in ([key] if key else keys):
            ax.plot(steps, [r["diagnostics"].get(k, float("nan")) for r in rows], marker=".", linewidth=1,
                    label=k if not key else None)
        if key in ("dim_std", ""):
            ax.set_yscale("log")
        for s in collapsed:
            ax.axvline(s, color="red", alpha=0.4, linewidth=1)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if not key and keys:
            ax.legend(fontsize=6)
