"""Upstream specs for trained checkpoints: `ckpt:PATH` and `hf:REPO[@REVISION]`.

`ckpt:PATH` takes a step folder (`model.safetensors` + `config.json`), one of those files,
or a run folder (its newest step). `hf:REPO` downloads such a folder from the Hugging Face
Hub (only the two files are fetched); a REPO that is an existing local folder is used as is.
A `config.json` that is not earbench's own but a transformers one (it has a `model_type`)
makes the folder a transformers encoder (benchmark/upstreams/hf_transformers.py), whose
other files are then fetched too. Every layer of the encoder is exposed.
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from benchmark.upstreams.hf_hub import fetch_files, fetch_transformers_repo, read_config, split_spec
from benchmark.upstreams.hf_transformers import load_transformers_upstream
from models.checkpoint import CONFIG, FORMAT, WEIGHTS, CheckpointError, load_encoder


def load_ckpt_upstream(path: str) -> nn.Module:
    if not path:
        raise CheckpointError("ckpt: needs a path, e.g. ckpt:runs/eat-tiny or ckpt:runs/eat-tiny/step-00000600")
    return load_encoder(path)


def load_hf_upstream(spec: str) -> nn.Module:
    local = Path(spec).expanduser()
    if spec and local.is_dir():
        return load_folder(local, spec)
    repo, _ = split_spec(spec)
    if not repo:
        raise CheckpointError("hf: needs a repository, e.g. hf:user/eat-tiny or hf:user/eat-tiny@main")
    folder = fetch_files(spec, [WEIGHTS, CONFIG], error=CheckpointError)
    if transformers_config(folder) is not None:
        folder = fetch_transformers_repo(spec)
    return load_folder(folder, spec)


def load_folder(folder: Path, spec: str) -> nn.Module:
    """An earbench checkpoint, or a transformers encoder if config.json says so."""
    config = transformers_config(folder)
    if config is None:
        return load_encoder(folder)
    return load_transformers_upstream(folder, config, f"hf:{spec}")


def transformers_config(folder: Path) -> dict | None:
    """config.json when it describes a transformers model (not an earbench encoder), else None."""
    if not (folder / CONFIG).is_file():
        return None  # a run folder, or not a checkpoint: load_encoder says which
    config = read_config(folder / CONFIG)
    return config if config.get("format") != FORMAT and "model_type" in config else None
