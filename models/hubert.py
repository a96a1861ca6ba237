"""HuBERT-style masked prediction of discrete targets (Hsu et al. 2021), with k-means in torch.

- Iteration 1: targets are k-means clusters of MFCC frames (13 coefficients + deltas +
  delta-deltas, 25 ms window, 20 ms hop: one target per encoder frame).
- Iteration 2: targets are k-means clusters of a trained encoder's layer (`target_encoder`,
  a checkpoint or run folder, e.g. the iteration-1 run; `target_layer`).
- The k-means model is fitted (seeded) on the features of the first training batch
  (standardised per dimension) and kept as persistent buffers, so a checkpoint or a
  resumed run keeps the same labels; under DDP rank 0's fit is broadcast.
- Span masking (p = 0.8, span 10) of the projected latent frames with a learned vector;
  the loss is the cross-entropy over clusters at masked frames, with HuBERT's cosine
  logits between a projection of the context output and learned cluster embeddings / 0.1.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio

from models.checkpoint import load_encoder
from models.kmeans import assign, kmeans
from models.objective import Objective
from models.spans import masked_index, span_mask
from models.vit import gather_tokens
from models.wav2vec2 import scale_grad
from models.waveform import WaveConfig, WaveformEncoder


@dataclass(frozen=True)
class HuBERTConfig:
    crop_samples: int = 250_000
    mask_prob: float = 0.8
    mask_span: int = 10
    clusters: int = 100  # HuBERT: 100 (iteration 1), 500 (iteration 2)
    target_encoder: str = ""  # "" = MFCC k-means (iteration 1); else a checkpoint / run folder
    target_layer: int = -1  # layer of target_encoder's hidden states (HuBERT Base iteration 2: 6)
    kmeans_iterations: int = 30
    kmeans_seed: int = 0
    kmeans_frames: int = 100_000  # at most this many frames of the first batch are clustered
    final_dim: int = 256
    logit_temperature: float = 0.1
    feature_grad: float = 0.1


class MFCC(nn.Module):
    """39-d MFCC frames aligned with the waveform encoder's frames (400-sample window, 320 hop)."""

    def __init__(self, sample_rate: int = 16000, win: int = 400, hop: int = 320) -> None:
        super().__init__()
        self.win = win
        self.mfcc = torchaudio.transforms.MFCC(sample_rate, n_mfcc=13, melkwargs=dict(
            n_fft=512, win_length=win, hop_length=hop, n_mels=40, center=False, f_min=20.0))

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        audio = audio.float()
        if audio.shape[-1] < self.win:
            audio = F.pad(audio, (0, self.win - audio.shape[-1]))
        with torch.autocast(audio.device.type, enabled=False):
            m = self.mfcc(audio)  # [B, 13, T]
            d1 = torchaudio.functional.compute_deltas(m)
            d2 = torchaudio.functional.compute_deltas(d1)
        return torch.cat([m, d1, d2], 1).transpose(1, 2)


class HuBERT(Objective):
    encoder_config_class = WaveConfig
    config_class = HuBERTConfig
    no_decay_names = ("pos", "cls", "mask_emb", "label_emb")

    def __init__(self, encoder: WaveConfig, config: HuBERTConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = WaveformEncoder(encoder)
        self.mask_emb = nn.Parameter(torch.empty(encoder.dim).uniform_())
        self.final_proj = nn.Linear(encoder.dim, config.final_dim)
        self.label_emb = nn.Parameter(torch.randn(config.clusters, config.final_dim) * 0.02)
        if config.target_encoder:
            self.target = load_encoder(config.target_encoder)
            self.target.requires_grad_(False)
            if abs(self.target.hop_ms - self.encoder.hop_ms) > 1e-6:
                raise ValueError(f"target encoder hop {self.target.hop_ms} ms != student hop {self.encoder.hop_ms} ms")
            dim = self.target(torch.zeros(1, 16000), torch.tensor([16000])).hidden_states[config.target_layer].shape[-1]
        else:
            self.target = MFCC(encoder.sample_rate, self.encoder.extractor.receptive_field,
                               int(round(self.encoder.hop_ms * encoder.sample_rate / 1000)))
            dim = 39
        self.register_buffer("centroids", torch.zeros(config.clusters, dim))
        self.register_buffer("feature_mean", torch.zeros(dim))
        self.register_buffer("feature_std", torch.ones(dim))
        self.register_buffer("fitted", torch.zeros(1))

    def crop_samples(self) -> int:
        return self.config.crop_samples

    @torch.no_grad()
    def target_features(self, audio: torch.Tensor) -> torch.Tensor:
        """Frames [B, T, D] that the k-means model labels."""
        if isinstance(self.target, MFCC):
            return self.target(audio)
        self.target.eval()
        lengths = torch.full((audio.shape[0],), audio.shape[1], device=audio.device)
        with torch.autocast(audio.device.type, enabled=False):
            return self.target(audio.float(), lengths).hidden_states[self.config.target_layer].float()

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> None:
        """Fit the k-means model on frames [N, D] (seeded); broadcast from rank 0 under DDP."""
        import torch.distributed as dist
        frames = features.reshape(-1, features.shape[-1]).float()
        g = torch.Generator().manual_seed(self.config.kmeans_seed)
        if frames.shape[0] > self.config.kmeans_frames:
            frames = frames[torch.randperm(frames.shape[0], generator=g)[: self.config.kmeans_frames].to(frames.device)]
        mean, std = frames.mean(0), frames.std(0).clamp_min(1e-5)
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)
        self.centroids.copy_(kmeans((frames - mean) / std, self.config.clusters, self.config.kmeans_iterations,
                                    self.config.kmeans_seed))
        if dist.is_available() and dist.is_initialized():
            for buffer in (self.centroids, self.feature_mean, self.feature_std):
                dist.broadcast(buffer, 0)
        self.fitted.fill_(1.0)

    @torch.no_grad()
    def labels(self, audio: torch.Tensor, frames: int) -> torch.Tensor:
        feats = self.target_features(audio)
        if not bool(self.fitted.item()):
            self.fit(feats)
        feats = feats[:, :frames]
        if feats.shape[1] < frames:
            feats = F.pad(feats, (0, 0, 0, frames - feats.shape[1]), mode="replicate") if feats.shape[1] else feats
        flat = (feats.reshape(-1, feats.shape[-1]) - self.feature_mean) / self.feature_std
        return assign(flat, self.centroids).view(feats.shape[0], frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats = scale_grad(enc.features(audio), c.feature_grad)
        x = enc.project(feats)
        b, t, _ = x.shape
        labels = self.labels(audio, t)
        mask = span_mask(b, t, c.mask_prob, c.mask_span, min_spans=2, device=x.device)
        x = torch.where(mask[..., None], self.mask_emb.to(x.dtype), x)
        context = enc.context(x)
        index = masked_index(mask)
        predicted = self.final_proj(gather_tokens(context, index)).float()
        logits = F.normalize(predicted, dim=-1) @ F.normalize(self.label_emb.float(), dim=-1).T / c.logit_temperature
        target = torch.gather(labels, 1, index)
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten())
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == target).float().mean()
        return loss, {"accuracy": accuracy}
