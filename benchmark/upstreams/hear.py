"""Adapter: any HEAR 2021 module (`hear:MODULE[:WEIGHTS]`) as an earbench upstream.

HEAR modules see one padded batch; to stay batch independent the adapter calls the module
on groups of equal-length clips only. Its frames are the module's timestamp embeddings
(what the HEAR kit gives timestamp tasks), keeping those whose timestamps fall inside each
clip. The kit gives scene tasks the module's own `get_scene_embeddings` instead, which need
not be the mean of the timestamp frames (hearbaseline's is the mean of 250 ms frames, its
timestamp hop 50 ms): `scene_embeddings` calls it, and `SceneEmbeddings` presents it as an
upstream of one frame, so that clip tasks cache and probe exactly the kit's embeddings
(`--pooling scene`, the default of clip tasks for upstreams with `scene_embeddings`).
"""
from __future__ import annotations

import importlib
from pathlib import Path

import torch

from benchmark.errors import UpstreamError
from benchmark.features.digest import file_digest
from benchmark.upstream import Encoded
from benchmark.upstreams.items import length_groups

REQUIRED = ("load_model", "get_timestamp_embeddings", "get_scene_embeddings")


class HearUpstream(torch.nn.Module):
    def __init__(self, module_name: str, weights: str | None = None) -> None:
        super().__init__()
        try:
            self.hear = importlib.import_module(module_name)
        except ImportError as err:
            raise UpstreamError(f"HEAR module {module_name!r} cannot be imported: {err}") from err
        missing = [f for f in REQUIRED if not hasattr(self.hear, f)]
        if missing:
            raise UpstreamError(f"HEAR module {module_name!r} lacks {', '.join(missing)} (HEAR 2021 API)")
        self.model = self.hear.load_model(weights) if weights else self.hear.load_model()
        if not hasattr(self.model, "sample_rate"):
            raise UpstreamError(f"HEAR module {module_name!r}: load_model() returned a model without sample_rate")
        self.sample_rate = int(self.model.sample_rate)
        self.config = {"hear_module": module_name, "weights": weights}
        self.fingerprint_extra = file_digest(weights) if weights and Path(weights).is_file() else None
        self.hop_ms = self._measure_hop()

    def _measure_hop(self) -> float:
        with torch.inference_mode():
            _, stamps = self.hear.get_timestamp_embeddings(torch.zeros(1, self.sample_rate * 2), self.model)
        stamps = torch.as_tensor(stamps)[0]
        if stamps.numel() < 2:
            raise UpstreamError(f"HEAR module {self.config['hear_module']!r}: fewer than 2 timestamps for 2 s of audio")
        return float((stamps[1:] - stamps[:-1]).float().mean())

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        outputs: dict[int, torch.Tensor] = {}
        counts: dict[int, int] = {}
        for length, rows in length_groups(lengths):
            emb, stamps = self.hear.get_timestamp_embeddings(audio[rows, :length], self.model)
            emb, stamps = torch.as_tensor(emb), torch.as_tensor(stamps)
            valid = int((stamps[0] <= 1000.0 * length / self.sample_rate).sum().clamp_min(1))
            for k, row in enumerate(rows):
                outputs[row], counts[row] = emb[k], valid
        frames = max(o.shape[0] for o in outputs.values())
        batch = torch.zeros(len(lengths), frames, outputs[0].shape[-1])
        for row, emb in outputs.items():
            batch[row, : emb.shape[0]] = emb.float()
        return Encoded([batch], torch.tensor([counts[r] for r in range(len(lengths))]))

    def scene_embeddings(self, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, D]: the module's `get_scene_embeddings` of each clip (equal-length groups, unpadded)."""
        rows_out: dict[int, torch.Tensor] = {}
        for length, rows in length_groups(lengths):
            emb = torch.as_tensor(self.hear.get_scene_embeddings(audio[rows, :length], self.model))
            if emb.ndim != 2 or emb.shape[0] != len(rows):
                raise UpstreamError(f"HEAR module {self.config['hear_module']!r}: get_scene_embeddings returned "
                                    f"shape {tuple(emb.shape)} for {len(rows)} clips; expected [n_sounds, D]")
            for k, row in enumerate(rows):
                rows_out[row] = emb[k]
        return torch.stack([rows_out[r] for r in range(len(lengths))]).float()


class SceneEmbeddings(torch.nn.Module):
    """An upstream's own clip embeddings (`scene_embeddings(audio, lengths) -> [B, D]`, e.g. a
    HEAR module's) as an upstream with one layer of one frame per clip: mean pooling over it is
    the module's scene embedding, cached under its own fingerprint."""

    def __init__(self, upstream: torch.nn.Module) -> None:
        super().__init__()
        self.inner = upstream
        self.sample_rate, self.hop_ms = upstream.sample_rate, upstream.hop_ms
        self.config = {"scene_embeddings_of": getattr(upstream, "config", None)}
        self.fingerprint_extra = getattr(upstream, "fingerprint_extra", None)
        self.earbench_name = f"{getattr(upstream, 'earbench_name', type(upstream).__name__)}:scene"

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        emb = self.inner.scene_embeddings(audio, lengths)
        return Encoded([emb[:, None, :]], torch.ones(len(lengths), dtype=torch.long))


def load_hear_upstream(argument: str) -> torch.nn.Module:
    """`MODULE` or `MODULE:WEIGHTS` (the part after `hear:`)."""
    module_name, _, weights = argument.partition(":")
    return HearUpstream(module_name, weights or None)
