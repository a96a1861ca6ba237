"""Loss curves from a run's `log.jsonl` (one JSON object per logged step)."""
from __future__ import annotations

import json
from pathlib import Path


def read_log(path: Path) -> list[dict]:
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash
    return rows


def plot_loss(log: Path, out: Path, title: str = "") -> Path | None:
    """Write the loss (and its components) against the step to `out`; None if nothing logged."""
    rows = [r for r in read_log(log) if "loss" in r]
    if not rows:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["loss"] for r in rows], label="loss", linewidth=1.8)
    for key in sorted({k for r in rows for k in r.get("parts", {})}):
        ax.plot(steps, [r.get("parts", {}).get(key, float("nan")) for r in rows], label=key, linewidth=1, alpha=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title(title or Path(log).parent.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
