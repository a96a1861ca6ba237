"""Convert one official file and write it as an earbench checkpoint folder."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from benchmark.errors import EarbenchError
from models.checkpoint import save_encoder, sha256_file
from models.convert import eat, matpac
from models.convert.encoder import Converted
from models.convert.safe_load import read_state

#: model -> converter(state dict, file name for errors, heads) of its authors' checkpoints
CONVERTERS: dict[str, Callable[..., Converted]] = {"eat": eat.convert, "matpac": matpac.convert}


def convert_file(model: str, source: Path, out: Path, name: str | None = None, heads: int | None = None) -> Converted:
    """Convert `source` and write `out/` (model.safetensors + config.json), loadable as `ckpt:OUT`;
    config.json records where the weights came from (`converted_from`)."""
    if model not in CONVERTERS:
        raise EarbenchError(f"convert: unknown model {model!r}; known: {', '.join(CONVERTERS)}")
    source = Path(source)
    converted = CONVERTERS[model](read_state(source), str(source), heads)
    save_encoder(Path(out), converted.encoder, {
        "name": name or f"{model}:{source.stem}",
        "converted_from": {"model": model, "file": source.name, "sha256": sha256_file(source),
                           "layout": converted.layout, "tensors": converted.mapped,
                           "training_only_left_out": converted.skipped}})
    return converted
