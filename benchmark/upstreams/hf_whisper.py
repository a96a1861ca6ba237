"""Whisper's encoder (transformers) as an upstream; the decoder is dropped.

Whisper encodes fixed windows (30 s: the feature extractor pads every input to its
`n_samples`). A clip is cut into consecutive windows, each padded and encoded on its own, and
only the frames of real audio are kept (`ceil(samples / stride)` per window, the stride being
the mel hop times the convolutions' strides), so the 30 s pad never reaches the features
and a clip longer than the window is encoded window by window. Each window is encoded alone,
so an item embeds the same in any batch.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import AutoFeatureExtractor, AutoModel

from benchmark.device import device_of
from benchmark.upstream import Encoded
from benchmark.upstreams.hf_transformers import describe, preprocessor_folder
from benchmark.upstreams.items import pad_items, windows

WINDOWS_PER_CALL = 8  # bounds memory: every window costs a full 30 s forward


class WhisperEncoder(torch.nn.Module):
    def __init__(self, folder: Path, source: str) -> None:
        super().__init__()
        self.extractor = AutoFeatureExtractor.from_pretrained(preprocessor_folder(folder, source))
        model = AutoModel.from_pretrained(folder)
        self.encoder = model.get_encoder().eval()
        self.sample_rate = int(self.extractor.sampling_rate)
        self.window = int(self.extractor.n_samples)
        self.stride = int(self.extractor.hop_length * self.encoder.conv1.stride[0] * self.encoder.conv2.stride[0])
        self.hop_ms = 1000.0 * self.stride / self.sample_rate
        self.config = describe(model.config, self.extractor, part="encoder")

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        pieces, owners = windows(audio, lengths, self.window)
        layers: list[list[torch.Tensor]] = []  # per window, per layer: its real frames
        for start in range(0, len(pieces), WINDOWS_PER_CALL):
            chunk = pieces[start: start + WINDOWS_PER_CALL]
            inputs = self.extractor(chunk, sampling_rate=self.sample_rate, return_tensors="pt")
            out = self.encoder(inputs["input_features"].to(device_of(self.encoder)), output_hidden_states=True)
            for k, wave in enumerate(chunk):
                real = max(1, math.ceil(len(wave) / self.stride))
                layers.append([h[k, :real] for h in out.hidden_states])
        items = [[torch.cat([layers[w][k] for w in range(len(pieces)) if owners[w] == b])
                  for k in range(len(layers[0]))] for b in range(len(lengths))]
        return pad_items(items)
