"""A Hugging Face transformers audio encoder (a local folder or a fetched repo) as an upstream.

The repo's `config.json` `model_type` picks the adapter; every adapter prepares audio with the
repo's own feature extractor (`preprocessor_config.json`: sampling rate, normalisation), so
nothing about a model's input is re-invented here. `transformers` is an optional extra
(`pip install 'earbench[transformers]'`); the adapters' modules import it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmark.errors import UpstreamError
from benchmark.registry import import_string

#: config.json `model_type` -> the adapter class (module:attr, imported on first use)
ADAPTERS: dict[str, str] = {
    "wav2vec2": "benchmark.upstreams.hf_wav2vec2:ConvTransformerEncoder",
    "hubert": "benchmark.upstreams.hf_wav2vec2:ConvTransformerEncoder",
    "wavlm": "benchmark.upstreams.hf_wav2vec2:ConvTransformerEncoder",
    "data2vec-audio": "benchmark.upstreams.hf_wav2vec2:ConvTransformerEncoder",
    "whisper": "benchmark.upstreams.hf_whisper:WhisperEncoder",
    "audio-spectrogram-transformer": "benchmark.upstreams.hf_ast:SpectrogramTransformer",
    "clap": "benchmark.upstreams.hf_clap:ClapAudioText",
}


def load_transformers_upstream(folder: Path, config: dict[str, Any], source: str) -> torch.nn.Module:
    """The adapter for `config`'s model type, built from `folder`; `source` names it in errors."""
    model_type = config.get("model_type")
    target = ADAPTERS.get(str(model_type))
    if target is None:
        raise UpstreamError(f"{source}: transformers model type {model_type!r} has no earbench adapter "
                            f"(supported: {', '.join(sorted(ADAPTERS))})")
    try:
        adapter = import_string(target)
    except ImportError as err:
        raise UpstreamError(f"{source}: a transformers model, but {err.name or 'transformers'} cannot be imported; "
                            f"install the extra: pip install 'earbench[transformers]'") from None
    return adapter(folder, source)


def preprocessor_folder(folder: Path, source: str) -> Path:
    """`folder`, once it is known to hold the repo's own feature-extractor config."""
    if not (folder / "preprocessor_config.json").is_file():
        raise UpstreamError(f"{source}: no preprocessor_config.json in {folder}: the repo does not say how its "
                            f"audio is prepared (sampling rate, normalisation)")
    return folder


def describe(model_config: Any, extractor: Any, **extra: Any) -> dict[str, Any]:
    """An adapter's `config` (part of its fingerprint): what shapes its embeddings, not where it was
    loaded from, so a repo fetched by name and the same files in a folder fingerprint alike."""
    model = {k: v for k, v in model_config.to_dict().items() if k != "_name_or_path"}
    return {"transformers": model_config.model_type, **extra, "model": model, "preprocessor": extractor.to_dict()}
