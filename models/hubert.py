"""HuBERT-style masked prediction of discrete targets (Hsu et al. 2021), with k-means in torch.

- Iteration 1: targets are k-means clusters of MFCC frames (13 coefficients + deltas +
  delta-deltas, 25 ms window, 20 ms hop: one target per encoder frame).
- Iteration 2: targets are k-means clusters of a trained encoder's layer (`target_encoder`,
  a checkpoint or run folder, e.g. the iteration-1 run; `target_layer`).
- The k-means model is fitted (seeded) before the first step (`prepare`) on a streamed sample
  of the training data: at least `kmeans_crops` random crops and `kmeans_frames` frames
  (a seeded subset of each crop's frames when there are more), or every frame of a corpus
  shorter than those crops, features standardised per dimension. The centroids are
  persistent buffers, so a checkpoint or a resumed run keeps the same labels; under DDP
  rank 0's fit is broadcast.
- Span masking (p = 0.8, span 10) of the projected latent frames with a learned vector;
  the loss is the cross-entropy over clusters at masked frames, with HuBERT's cosine
  logits between a projection of the context output and learned cluster embeddings / 0.1,
  plus 10 x the L2 penalty of the conv output and its gradient x 0.1, in wav2vec 2.0's
  order (fairseq's HuBERT criterion: `loss_weights: [10]`, `feature_grad_mult: 0.1`).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio

from models.checkpoint import load_encoder
from models.data import AudioFile, CropBatches, read_crop
from models.diagnostics import label_perplexity
from models.kmeans import assign, kmeans
from models.objective import Objective
from models.spans import masked_index, span_mask
from models.vit import gather_tokens
from models.wav2vec2 import penalised_features
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
    kmeans_frames: int = 100_000  # frames clustered (at least; a corpus with fewer gives all of its frames)
    kmeans_crops: int = 250  # random crops the frames come from (at least)
    kmeans_batch: int = 16  # crops per forward pass of the target features
    final_dim: int = 256
    logit_temperature: float = 0.1
    feature_grad: float = 0.1
    feature_penalty: float = 10.0  # fairseq's HuBERT criterion: loss_weights [10] on the conv output's L2


class MFCC(nn.Module):
    """39-d MFCC frames aligned with the waveform encoder's frames (400-sample window, 320 hop)."""

    def __init__(self, sample_rate: int = 16000, win: int = 400, hop: int = 320) -> None:
        super().__init__()
        self.win = win
        self.n_fft = 512
        self.mfcc = torchaudio.transforms.MFCC(sample_rate, n_mfcc=13, melkwargs=dict(
            n_fft=self.n_fft, win_length=win, hop_length=hop, n_mels=40, center=False, f_min=20.0))

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        audio = audio.float()
        if audio.shape[-1] < self.n_fft:  # the STFT needs one n_fft window
            audio = F.pad(audio, (0, self.n_fft - audio.shape[-1]))
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

    def frames_per_crop(self) -> int:
        return int(self.encoder.frames(torch.tensor([self.config.crop_samples])).item())

    def sample_crops(self, files: list[AudioFile], seed: int) -> tuple[int, Iterator[torch.Tensor], str]:
        """The audio the k-means sample comes from, as (number of crops, batches of equal-length
        crops read one at a time, a description for the log): `kmeans_crops` or more random crops
        (seeded), or, when the corpus is shorter than those crops, every file whole, cut in
        crop-long pieces."""
        c = self.config
        rate = int(self.encoder.sample_rate)
        crops = max(c.kmeans_crops, math.ceil(c.kmeans_frames / max(1, self.frames_per_crop())))
        corpus = sum(f.frames * rate / f.rate for f in files)
        if corpus > crops * c.crop_samples:
            stream = CropBatches(files, c.kmeans_batch, c.crop_samples, rate, seed=seed, rank=2 ** 31 - 3)
            batches = (stream[i][: crops - i * c.kmeans_batch] for i in range(math.ceil(crops / c.kmeans_batch)))
            return crops, batches, f"{crops} random crops of {c.crop_samples / rate:.2f} s (seed {seed})"
        rng = np.random.default_rng(seed)
        pieces: dict[int, list[torch.Tensor]] = {}
        for f in files:
            wave = read_crop(f, int(round(f.frames * rate / f.rate)), rate, rng)
            for i in range(0, len(wave), c.crop_samples):
                if len(wave) - i >= self.encoder.extractor.receptive_field:  # a frame at least
                    piece = wave[i: i + c.crop_samples]
                    pieces.setdefault(len(piece), []).append(piece)
        count = sum(len(v) for v in pieces.values())
        batches = (torch.stack(same[j: j + c.kmeans_batch]) for same in pieces.values()
                   for j in range(0, len(same), c.kmeans_batch))
        return count, batches, f"the whole corpus ({corpus / rate:.0f} s in {count} pieces; smaller than " \
                               f"{crops} crops of {c.crop_samples / rate:.2f} s)"

    @torch.no_grad()
    def prepare(self, files: list[AudioFile], seed: int) -> list[str]:
        """Fit the k-means targets on a streamed sample of `files` (see the module docstring)."""
        if bool(self.fitted.item()):
            return []
        c = self.config
        count, batches, where = self.sample_crops(files, seed + c.kmeans_seed)
        per_crop = math.ceil(c.kmeans_frames / count)
        g = torch.Generator().manual_seed(c.kmeans_seed)
        device = next(self.parameters()).device
        frames = []
        for audio in batches:
            for f in self.target_features(audio.to(device)).float():
                keep = torch.randperm(f.shape[0], generator=g)[:per_crop].sort().values
                frames.append(f[keep.to(f.device)])
        sample = torch.cat(frames)
        self.fit(sample)
        return [f"k-means ({c.clusters} clusters, seed {c.kmeans_seed}) fitted on {sample.shape[0]} frames of "
                f"{sample.shape[1]} dims from {where}"]

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> None:
        """Fit the k-means model on frames [N, D] (seeded); broadcast from rank 0 under DDP."""
        import torch.distributed as dist
        frames = features.reshape(-1, features.shape[-1]).float()
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
        if not bool(self.fitted.item()):
            raise RuntimeError("HuBERT's k-means targets are not fitted: call prepare(files, seed) before training")
        feats = self.target_features(audio)[:, :frames]
        if feats.shape[1] < frames:
            feats = F.pad(feats, (0, 0, 0, frames - feats.shape[1]), mode="replicate") if feats.shape[1] else feats
        flat = (feats.reshape(-1, feats.shape[-1]) - self.feature_mean) / self.feature_std
        return assign(flat, self.centroids).view(feats.shape[0], frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats, penalty = penalised_features(enc, audio, c.feature_grad)
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
        prediction = F.cross_entropy(logits.flatten(0, 1), target.flatten())
        loss = prediction + c.feature_penalty * penalty
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == target).float().mean()
        return loss, {"prediction": prediction.detach(), "penalty": penalty.detach(), "accuracy": accuracy}

    @torch.no_grad()
    def diagnose(self, audio: torch.Tensor, step: int) -> dict[str, float]:
        """How many of the k-means targets the probe crops' labels effectively use."""
        frames = self.frames_per_crop() if audio.shape[1] == self.config.crop_samples else \
            int(self.encoder.frames(torch.tensor([audio.shape[1]])).item())
        return {"label_perplexity": label_perplexity(self.labels(audio, frames))}
