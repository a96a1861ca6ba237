"""`earbench convert`: an official EAT or MATPAC checkpoint -> an earbench checkpoint folder.

The command module imports only typer (the CLI loads every plugin command at start-up); the
conversion itself is `models/convert/write.py`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

MODELS = ("eat", "matpac")  # models.convert.write.CONVERTERS


def convert(
    model: str = typer.Argument(..., help=f"Whose checkpoint: {' or '.join(MODELS)}."),
    source: Path = typer.Argument(..., help="The official file: .safetensors, or a PyTorch .pt/.pth state dict "
                                            "(read with weights_only=True; files that need unpickling are refused)."),
    out: Path = typer.Option(..., "--out", "-o", help="Checkpoint folder to write (model.safetensors + config.json)."),
    name: Optional[str] = typer.Option(None, help="How results name it (default MODEL:FILE-STEM)."),
    heads: Optional[int] = typer.Option(None, min=1, help="Attention heads (default: width / 64, as ViT-B and ViT-L)."),
) -> None:
    """Convert the authors' released weights of EAT or MATPAC into an earbench encoder."""
    from models.convert.write import convert_file
    converted = convert_file(model, source, out, name, heads)
    left = ", ".join(f"{part} {n}" for part, n in converted.skipped.items()) or "none"
    typer.echo(f"{model}: {converted.mapped} tensors mapped ({converted.layout} layout); training-only tensors left "
               f"out: {left}; wrote {out}; evaluate it with --model ckpt:{out}")
