"""`earbench pretrain`: the plugin command that pre-trains an encoder from a recipe."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def pretrain(
    recipe: str = typer.Option(..., "--recipe", "-r", help="A recipe, e.g. eat-tiny or matpac-base "
                                                           "(all of them: `earbench list recipes`)."),
    data: str = typer.Option(..., "--data", "-d", help="A folder of audio (wav/flac/ogg, recursive; its train.csv "
                                                       "if any), a task name, or a corpus built under $EARBENCH_HOME "
                                                       "such as mini-pretrain. Audio-text recipes (clap-*) train on "
                                                       "its captions (or tagging labels) when it has them."),
    max_steps: Optional[int] = typer.Option(None, min=1, help="Steps of the run: the schedules follow it, warm-up scaled "
                                                              "in proportion (default: the recipe's)."),
    max_minutes: Optional[float] = typer.Option(None, min=0.0, help="Wall-clock budget: a new run's schedule is sized "
                                                                    "by a timing probe to complete within it (at most "
                                                                    "--max-steps or the recipe's steps); stop and save "
                                                                    "if it is spent."),
    out: Optional[Path] = typer.Option(None, help="Run folder (default runs/RECIPE)."),
    resume: bool = typer.Option(False, help="Continue from the newest checkpoint in --out."),
    batch_size: Optional[int] = typer.Option(None, min=1, help="Clips per optimizer step over all processes."),
    accum: int = typer.Option(1, min=1, help="Gradient accumulation: micro-batches per optimizer step."),
    save_every: Optional[int] = typer.Option(None, min=1, help="Checkpoint every N steps (default: the recipe's)."),
    log_every: Optional[int] = typer.Option(None, min=1, help="Log every N steps (default: the recipe's)."),
    diagnose_every: Optional[int] = typer.Option(None, min=1, help="Collapse diagnostics every N steps "
                                                                  "(default: 5 x --log-every)."),
    keep: int = typer.Option(3, min=0, help="Newest checkpoints to keep (0: all)."),
    workers: int = typer.Option(2, min=0, help="DataLoader processes reading audio."),
    seed: int = typer.Option(0, help="Seed of data order, masks and initialisation."),
    device: Optional[str] = typer.Option(None, help="cpu, cuda, cuda:1 ... (default: this process's GPU, else CPU)."),
) -> None:
    """Pre-train an SSL encoder; its checkpoints are upstreams: `earbench run --model ckpt:OUT`.

    Multi-GPU: `torchrun --nproc_per_node 8 -m models.cli --recipe eat-base --data DIR`
    (or `torchrun ... $(which earbench) pretrain ...`).
    """
    import os

    from models.trainer import TrainSettings
    from models.trainer import pretrain as run
    result = run(TrainSettings(recipe=recipe, data=data, out=out, max_steps=max_steps, max_minutes=max_minutes,
                               resume=resume, batch_size=batch_size, accum=accum, save_every=save_every,
                               log_every=log_every, diagnose_every=diagnose_every, keep=keep, seed=seed,
                               workers=workers, device=device))
    if os.environ.get("RANK", "0") == "0":
        loss = result.history[-1]["loss"] if result.history else float("nan")
        typer.echo(f"{recipe}: step {result.step}, loss {loss:.4f}, {result.steps_per_s:.2f} steps/s, "
                   f"{result.samples_per_s:.1f} samples/s; checkpoint {result.checkpoint}; "
                   f"evaluate it with --model ckpt:{result.out}")
        if result.collapse:
            typer.echo(f"warning: the run collapsed: {'; '.join(result.collapse)} (see {result.out}/train.log)",
                       err=True)


def main() -> None:
    """`python -m models.cli ...`: the same command without the earbench front door (handy under torchrun)."""
    from benchmark.cli import guarded
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(guarded(pretrain))
    app()


if __name__ == "__main__":
    main()
