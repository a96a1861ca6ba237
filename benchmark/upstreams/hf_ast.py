"""The Audio Spectrogram Transformer (AST, transformers) as an upstream.

AST embeds a fixed-length log-mel window (`max_length` frames of 10 ms, 10.24 s for the
AudioSet models) as a grid of overlapping 16 x 16 patches, frequency-major, after a CLS and a
distillation token. Here each layer's patch tokens are regrouped into time frames (the
mean over the frequency patches of one time step: a hop of `time_stride` mel frames), and
frame 0 is the mean of the CLS and distillation tokens, as AST's own pooler takes them
(`has_cls`: `--pooling cls` reads it, frame tasks leave it out). Clips are cut into
consecutive windows encoded on their own, keeping the patches that start in real audio; the
CLS frame of a clip of several windows is the mean of theirs.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import AutoFeatureExtractor, AutoModel

from benchmark.errors import UpstreamError
from benchmark.device import device_of
from benchmark.upstream import Encoded
from benchmark.upstreams.hf_transformers import describe, preprocessor_folder
from benchmark.upstreams.items import pad_items, windows

MEL_HOP_S = 0.010  # the feature extractor's kaldi fbank shift
WINDOWS_PER_CALL = 8


class SpectrogramTransformer(torch.nn.Module):
    has_cls = True

    def __init__(self, folder: Path, source: str) -> None:
        super().__init__()
        self.extractor = AutoFeatureExtractor.from_pretrained(preprocessor_folder(folder, source))
        self.model = AutoModel.from_pretrained(folder).eval()
        config = self.model.config
        if int(self.extractor.max_length) != int(config.max_length):
            raise UpstreamError(f"{source}: preprocessor max_length {self.extractor.max_length} differs from "
                                f"the model's {config.max_length}")
        self.sample_rate = int(self.extractor.sampling_rate)
        self.freq_patches, self.time_patches = self.model.embeddings.get_shape(config)
        self.time_stride = int(config.time_stride)
        self.window = int(round(config.max_length * MEL_HOP_S * self.sample_rate))
        self.hop_ms = 1000.0 * self.time_stride * MEL_HOP_S
        self.config = describe(config, self.extractor)

    def real_patches(self, samples: int) -> int:
        """Time patches that start inside the window's real mel frames."""
        mel_frames = max(1, 1 + (samples - int(0.025 * self.sample_rate)) // int(MEL_HOP_S * self.sample_rate))
        return max(1, min(self.time_patches, math.ceil(mel_frames / self.time_stride)))

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        pieces, owners = windows(audio, lengths, self.window)
        per_window: list[list[tuple[torch.Tensor, torch.Tensor]]] = []  # per window, per layer: (cls, frames)
        for start in range(0, len(pieces), WINDOWS_PER_CALL):
            chunk = pieces[start: start + WINDOWS_PER_CALL]
            inputs = self.extractor(chunk, sampling_rate=self.sample_rate, return_tensors="pt")
            out = self.model(inputs["input_values"].to(device_of(self.model)), output_hidden_states=True)
            for k, wave in enumerate(chunk):
                real = self.real_patches(len(wave))
                per_window.append([self.regroup(h[k], real) for h in out.hidden_states])
        items = []
        for b in range(len(lengths)):
            mine = [layers for layers, owner in zip(per_window, owners) if owner == b]
            items.append([torch.cat([torch.stack([w[k][0] for w in mine]).mean(0, keepdim=True),
                                     torch.cat([w[k][1] for w in mine])]) for k in range(len(mine[0]))])
        return pad_items(items)

    def regroup(self, tokens: torch.Tensor, real: int) -> tuple[torch.Tensor, torch.Tensor]:
        """[2 + F*T, D] tokens -> (CLS frame [D] = mean of CLS and distillation, the first `real`
        time frames [real, D])."""
        patches = tokens[2:].reshape(self.freq_patches, self.time_patches, -1)
        return (tokens[0] + tokens[1]) / 2, patches.mean(0)[:real]
