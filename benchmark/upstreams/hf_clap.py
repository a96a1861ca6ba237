"""CLAP (`ClapModel`, transformers) as an upstream with a text tower.

Frames: the audio tower (HTSAT, a Swin Transformer) folds its time axis into a square
spectrogram image and downsamples it stage by stage, so only its last hidden states share one
frame rate: those of the last stage's resolution, and the normalised output. Each is unfolded
back into time order exactly as the tower does for its own output, and averaged over
frequency.

Clips are cut into windows of the feature extractor's `max_length_s` (10 s), so neither its
random crop nor its random fusion ever applies: each window is repeat-padded (the
extractor's own padding) and encoded alone, and only its frames of real audio are kept.
`embed_audio` is the mean of the windows' projected audio embeddings, re-normalised;
`embed_text` the projected text embedding, as `zeroshot` and retrieval expect.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoFeatureExtractor, AutoModel, AutoTokenizer

from benchmark.device import device_of
from benchmark.upstream import Encoded
from benchmark.upstreams.hf_transformers import describe, preprocessor_folder
from benchmark.upstreams.items import pad_items, windows

WINDOWS_PER_CALL = 8


class ClapAudioText(torch.nn.Module):
    def __init__(self, folder: Path, source: str) -> None:
        super().__init__()
        self.extractor = AutoFeatureExtractor.from_pretrained(preprocessor_folder(folder, source))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        audio = self.model.config.audio_config
        self.sample_rate = int(self.extractor.sampling_rate)
        self.window = int(self.extractor.nb_max_samples)
        encoder = self.model.audio_model.audio_encoder
        self.freq_ratio = int(encoder.freq_ratio)
        self.frames_per_window = audio.spec_size // audio.patch_stride[1] // 2 ** (len(audio.depths) - 1) * self.freq_ratio
        self.hop_ms = 1000.0 * self.window / self.sample_rate / self.frames_per_window
        self.config = describe(self.model.config, self.extractor)

    def features(self, pieces: list) -> dict[str, torch.Tensor]:
        inputs = self.extractor(pieces, sampling_rate=self.sample_rate, return_tensors="pt")
        device = device_of(self.model)
        # every window fits, so no input is longer: never the extractor's random `is_longer` pick
        return {"input_features": inputs["input_features"].to(device),
                "is_longer": torch.zeros(len(pieces), 1, dtype=torch.bool, device=device)}

    def unfold(self, image: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] feature map of the last stage -> [B, T, C] time frames (HTSAT's own regrouping,
        then the mean over frequency)."""
        batch, channels, height, width = image.shape
        bins = height // self.freq_ratio
        image = image.reshape(batch, channels, height // bins, bins, width).permute(0, 1, 3, 2, 4)
        return image.reshape(batch, channels, bins, -1).mean(2).transpose(1, 2)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        pieces, owners = windows(audio, lengths, self.window)
        per_window: list[list[torch.Tensor]] = []
        for start in range(0, len(pieces), WINDOWS_PER_CALL):
            chunk = pieces[start: start + WINDOWS_PER_CALL]
            out = self.model.audio_model(**self.features(chunk), output_hidden_states=True)
            last = out.hidden_states[-1].shape
            layers = [self.unfold(h) for h in out.hidden_states if h.shape == last]
            layers.append(out.last_hidden_state.mean(2).transpose(1, 2))  # already unfolded and normalised
            for k, wave in enumerate(chunk):
                real = max(1, math.ceil(self.frames_per_window * len(wave) / self.window))
                per_window.append([h[k, :real] for h in layers])
        items = [[torch.cat([w[k] for w, owner in zip(per_window, owners) if owner == b])
                  for k in range(len(per_window[0]))] for b in range(len(lengths))]
        return pad_items(items)

    def embed_audio(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Audio [B, N] -> unit vectors [B, D] in the shared space."""
        if lengths is None:
            lengths = torch.full((audio.shape[0],), audio.shape[-1])
        pieces, owners = windows(audio, lengths, self.window)
        embedded = torch.cat([pooled(self.model.get_audio_features(**self.features(pieces[s: s + WINDOWS_PER_CALL])))
                              for s in range(0, len(pieces), WINDOWS_PER_CALL)])
        owner = torch.tensor(owners, device=embedded.device)
        means = torch.stack([embedded[owner == b].mean(0) for b in range(len(lengths))])
        return F.normalize(means.float(), dim=-1)

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """Texts -> unit vectors [B, D] in the shared space."""
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        tokens = {k: v.to(device_of(self.model)) for k, v in tokens.items()}
        return F.normalize(pooled(self.model.get_text_features(**tokens)).float(), dim=-1)


def pooled(out: object) -> torch.Tensor:
    """get_*_features' embeddings: a tensor (transformers 4) or an output's pooler_output (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output
