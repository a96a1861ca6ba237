"""wav2vec 2.0, HuBERT, WavLM and data2vec-audio (transformers) as upstreams.

All four are a convolutional feature encoder followed by a Transformer. Every hidden state
the model returns is exposed (the projected CNN output, then each Transformer layer); frame
counts come from the model's own conv-length formula.

Padding: a model whose convolutions are layer-normalised and whose feature extractor asks for
an attention mask gets one padded batch with that mask (padding is then invisible to each
item). The others see groups of equal-length items only, never padding, so that an item
embeds the same in any batch: group-normalised feature encoders such as wav2vec2-base (the
normalisation spans the whole padded input, and they must not be given a mask), and
data2vec-audio, whose positional convolution is a stack of conv + LayerNorm layers (padded
frames are zeroed before the first layer only, so later layers carry them into valid frames).

Memory: the Transformer attends over all frames and the first convolution keeps 512 channels
at a fifth of the sample rate (4 GB for 10 minutes), so the adapters declare a window of
2000 frames (`max_seconds`: 40 s at 20 ms, longer than any LibriSpeech utterance), and
extraction encodes longer clips in windows (`benchmark/features/windows.py`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoFeatureExtractor, AutoModel

from benchmark.device import device_of
from benchmark.upstream import Encoded
from benchmark.upstreams.hf_transformers import describe, preprocessor_folder
from benchmark.upstreams.items import length_groups, pad_items, waves


#: model types where padding reaches valid frames even with an attention mask (see above)
PADDING_LEAKS = ("data2vec-audio",)


MAX_FRAMES = 2000  # attention over at most this many frames per forward


class ConvTransformerEncoder(torch.nn.Module):
    def __init__(self, folder: Path, source: str) -> None:
        super().__init__()
        self.extractor = AutoFeatureExtractor.from_pretrained(preprocessor_folder(folder, source))
        self.model = AutoModel.from_pretrained(folder).eval()
        config = self.model.config
        self.sample_rate = int(self.extractor.sampling_rate)
        self.hop_ms = 1000.0 * float(torch.tensor(config.conv_stride).prod()) / self.sample_rate
        self.max_seconds = MAX_FRAMES * self.hop_ms / 1000.0
        layer_norm_convs = getattr(config, "feat_extract_norm", "layer") == "layer"  # data2vec-audio: always
        self.masked = (layer_norm_convs and bool(getattr(self.extractor, "return_attention_mask", False))
                       and config.model_type not in PADDING_LEAKS)
        self.config = describe(config, self.extractor, masked=self.masked)

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames of `lengths` samples, by the model's own conv-length formula."""
        return self.model._get_feat_extract_output_lengths(lengths).long().clamp_min(1)

    def encode(self, audio: torch.Tensor, lengths: torch.Tensor) -> list[list[torch.Tensor]]:
        """One forward over a batch: per item, per layer, its valid frames."""
        inputs = self.extractor(waves(audio, lengths), sampling_rate=self.sample_rate, return_tensors="pt",
                                padding=True, return_attention_mask=self.masked)
        device = device_of(self.model)
        mask = inputs["attention_mask"].to(device) if self.masked else None
        out = self.model(inputs["input_values"].to(device), attention_mask=mask, output_hidden_states=True)
        counts = self.frames(lengths.cpu()).tolist()
        return [[h[b, :n] for h in out.hidden_states] for b, n in enumerate(counts)]

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        if self.masked:
            return pad_items(self.encode(audio, lengths))
        items: list = [None] * len(lengths)
        for length, rows in length_groups(lengths):
            for row, item in zip(rows, self.encode(audio[rows, :length], lengths[rows])):
                items[row] = item
        return pad_items(items)
