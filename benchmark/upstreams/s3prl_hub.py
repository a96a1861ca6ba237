"""`s3prl:NAME[:PATH]`: an s3prl hub upstream (the `s3prl` package, an optional extra).

NAME is an s3prl hub entry (`wavlm_base_plus`, `hubert_base`, `fbank`, ...); PATH, when
given, is its first argument: the local checkpoint, config or model folder that `*_local`,
`*_custom` and `baseline_local` entries build from. s3prl's hidden-states list becomes the
contract's layers, and lengths follow s3prl's own rule for a hop of `downsample_rate`
samples (`(samples - 1) // rate + 1` frames, each layer trimmed or edge-padded to that).

Hub entries are looked up in each `s3prl.upstream.*.hubconf` module, since `s3prl.hub`
imports them all and some fail to import beside a current torchaudio; a name whose module
fails is reported with that failure. s3prl experts pad a batch internally (group-normalised
models change under padding), so items are encoded in groups of equal length: an item embeds
the same in any batch. s3prl's inputs are at least 0.05 s, as its own wrapper pads them.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import torch

from benchmark.errors import UpstreamError
from benchmark.device import device_of
from benchmark.upstream import Encoded
from benchmark.upstreams.items import length_groups, pad_items

SAMPLE_RATE = 16000  # every s3prl upstream takes 16 kHz audio
MIN_SAMPLES = int(0.05 * SAMPLE_RATE)


def hub_entry(name: str) -> Callable[..., torch.nn.Module]:
    """The s3prl hub function called `name`."""
    try:
        upstreams = importlib.import_module("s3prl.upstream")
    except ImportError as err:
        raise UpstreamError(f"s3prl:{name}: the s3prl package cannot be imported ({err}); "
                            f"install the extra: pip install 'earbench[s3prl]'") from None
    failures = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(upstreams.__path__) if m.ispkg):
        try:
            hubconf = importlib.import_module(f"s3prl.upstream.{module}.hubconf")
        except Exception as err:  # noqa: BLE001 - an s3prl module broken beside this torch/torchaudio
            failures[module] = f"{type(err).__name__}: {err}"
            continue
        entry = getattr(hubconf, name, None)
        if callable(entry) and not name.startswith("_"):
            return entry
    held = f" (s3prl modules that failed to import, which may hold it: {'; '.join(f'{m}: {why}' for m, why in failures.items())})"
    raise UpstreamError(f"s3prl:{name}: no such s3prl hub entry" + (held if failures else ""))


class S3prlUpstream(torch.nn.Module):
    def __init__(self, name: str, path: str | None = None) -> None:
        super().__init__()
        entry = hub_entry(name)
        try:
            self.upstream = (entry(path) if path else entry()).eval()
        except Exception as err:  # noqa: BLE001 - s3prl raises anything (asserts, download errors)
            where = f" from {path}" if path else ""
            raise UpstreamError(f"s3prl:{name}: s3prl could not build it{where} ({type(err).__name__}: {err})") from None
        rates = self.upstream.get_downsample_rates("hidden_states")
        rates = set(rates) if isinstance(rates, (list, tuple)) else {rates}
        if len(rates) != 1:
            raise UpstreamError(f"s3prl:{name}: layers at different frame rates ({sorted(rates)} samples); "
                                f"the contract needs one")
        self.rate = int(rates.pop())
        self.sample_rate = SAMPLE_RATE
        self.hop_ms = 1000.0 * self.rate / SAMPLE_RATE
        self.config = {"s3prl": name, "path": path}

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths - 1, self.rate, rounding_mode="floor") + 1

    def encode(self, audio: torch.Tensor, length: int) -> list[list[torch.Tensor]]:
        """Items of `length` samples each, unpadded: per item, per layer, its frames."""
        audio = audio[:, :length]
        if length < MIN_SAMPLES:
            audio = torch.nn.functional.pad(audio, (0, MIN_SAMPLES - length))
        device = device_of(self.upstream)
        states = self.upstream([wave.float().to(device) for wave in audio])["hidden_states"]
        frames = int(self.frames(torch.tensor(length)))
        # an expert may return a frame more or less than the rule: trim, or repeat the last frame
        states = [torch.cat([h, h[:, -1:].expand(-1, max(0, frames - h.shape[1]), -1)], 1)[:, :frames]
                  for h in states]
        return [[h[b] for h in states] for b in range(len(audio))]

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        items: list = [None] * len(lengths)
        for length, rows in length_groups(lengths):
            for row, item in zip(rows, self.encode(audio[rows], length)):
                items[row] = item
        return pad_items(items)


def load_s3prl_upstream(argument: str) -> torch.nn.Module:
    """`NAME` or `NAME:PATH` (the part after `s3prl:`)."""
    name, _, path = argument.partition(":")
    if not name:
        raise UpstreamError("s3prl: needs a hub name, e.g. s3prl:wavlm_base_plus or s3prl:hf_wav2vec2_custom:PATH")
    return S3prlUpstream(name, path or None)
