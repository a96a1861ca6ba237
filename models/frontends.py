"""Spectrogram front ends: torchaudio log-mel, Kaldi-compatible fbank, dataset-statistics normalisation.

Both front ends compute frames from their own samples only (no centred STFT, no dither), so
a clip gives the same features alone or zero-padded in a batch; frames past a clip's end
are set to 0 after normalisation (the dataset mean), the same value a clip alone is padded
with, so patches straddling the end of a clip are batch independent too.
"""
from __future__ import annotations

from typing import ClassVar
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torchaudio
from torchaudio.compliance import kaldi

LOG_EPS = torch.finfo(torch.float32).eps
#: the torchaudio MelSpectrogram front ends: kind -> mel scale and filter normalisation
MEL_SCALES = {"logmel": {}, "logmel-slaney": {"mel_scale": "slaney", "norm": "slaney"}}


@dataclass(frozen=True)
class FrontendConfig:
    """`kind` is `logmel` (torchaudio MelSpectrogram, natural log, as M2D/BYOL-A), `logmel-slaney`
    (the same on the Slaney mel scale with area-normalised filters, librosa's defaults, as
    MATPAC's released code) or `kaldi` (torchaudio.compliance.kaldi.fbank, Hanning window, as
    AST/Audio-MAE/EAT).

    Features are standardised as `(x - mean) / (std * norm_scale)` with statistics of the
    pre-training data (`norm_scale` = 2 is AST's and EAT's convention): one mean and std over
    all values, or with `per_feature` one per mel bin (BEST-RQ, whose random-projection
    quantiser needs every input dimension on the same scale).
    """

    kind: str = "logmel"
    sample_rate: int = 16000
    n_mels: int = 80
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 400
    f_min: float = 50.0
    f_max: float = 8000.0
    norm_scale: float = 1.0
    per_feature: bool = False

    #: options added after checkpoints were first written (models.config.config_dict)
    LATER_DEFAULTS: ClassVar[dict] = {"per_feature": False}

    @property
    def win(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    def samples_for(self, frames: int) -> int:
        """Audio samples that give exactly `frames` frames."""
        return (frames - 1) * self.hop + self.win


class Frontend(nn.Module):
    """Audio `[B, N]` -> normalised features `[B, T, F]` and valid frames `[B]`."""

    def __init__(self, config: FrontendConfig) -> None:
        super().__init__()
        if config.kind not in MEL_SCALES and config.kind != "kaldi":
            raise ValueError(f"unknown front end {config.kind!r}; expected 'logmel', 'logmel-slaney' or 'kaldi'")
        self.config = config
        # shape [1], not [] : benchmark.upstream.fingerprint cannot hash 0-dim tensors
        stats = config.n_mels if config.per_feature else 1
        self.register_buffer("mean", torch.zeros(stats))
        self.register_buffer("std", torch.ones(stats))
        if config.kind in MEL_SCALES:
            self.mel = torchaudio.transforms.MelSpectrogram(
                config.sample_rate, n_fft=config.n_fft, win_length=config.win, hop_length=config.hop,
                f_min=config.f_min, f_max=config.f_max, n_mels=config.n_mels, center=False, power=2.0,
                **MEL_SCALES[config.kind])
        else:
            self.padded = 1 << (config.win - 1).bit_length()
            banks, _ = kaldi.get_mel_banks(config.n_mels, self.padded, float(config.sample_rate), config.f_min,
                                           config.f_max, 100.0, -500.0, 1.0)
            self.register_buffer("banks", nn.functional.pad(banks.float(), (0, 1)), persistent=False)
            self.register_buffer("window", torch.hann_window(config.win, periodic=False), persistent=False)

    @property
    def n_mels(self) -> int:
        return self.config.n_mels

    def set_stats(self, mean: float | torch.Tensor, std: float | torch.Tensor) -> None:
        """A number each, or (`per_feature`) one value per mel bin."""
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype).expand_as(self.mean))
        self.std.copy_(torch.as_tensor(std, dtype=self.std.dtype).expand_as(self.std))

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        win, hop = self.config.win, self.config.hop
        return 1 + torch.div(lengths.clamp_min(win) - win, hop, rounding_mode="floor")

    def raw(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Un-normalised log features `[B, T, F]`, in float32 even under autocast."""
        audio = audio.float()
        if audio.shape[-1] < self.config.win:
            audio = nn.functional.pad(audio, (0, self.config.win - audio.shape[-1]))
        with torch.autocast(audio.device.type, enabled=False):
            if self.config.kind in MEL_SCALES:
                return (self.mel(audio) + LOG_EPS).log().transpose(1, 2)
            return self.kaldi_fbank(audio)

    def kaldi_fbank(self, audio: torch.Tensor) -> torch.Tensor:
        """`torchaudio.compliance.kaldi.fbank` as AST/EAT call it (Hanning window, no dither, no
        energy, snip edges), computed for the whole batch at once: per frame DC removal,
        pre-emphasis 0.97, window, zero-pad to a power of two, power spectrum, mel, log."""
        c = self.config
        frames = audio.unfold(-1, c.win, c.hop)  # [B, T, win]
        frames = frames - frames.mean(-1, keepdim=True)
        previous = torch.cat([frames[..., :1], frames[..., :-1]], -1)
        frames = (frames - 0.97 * previous) * self.window
        spectrum = torch.view_as_real(torch.fft.rfft(frames, n=self.padded)).pow(2).sum(-1)
        return torch.matmul(spectrum, self.banks.T).clamp_min(LOG_EPS).log()

    def normalise(self, feats: torch.Tensor) -> torch.Tensor:
        return (feats - self.mean) / (self.std * self.config.norm_scale)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if lengths is None:
            lengths = torch.full((audio.shape[0],), audio.shape[-1], device=audio.device)
        feats = self.normalise(self.raw(audio))
        n = self.frames(lengths.to(feats.device))
        valid = torch.arange(feats.shape[1], device=feats.device)[None, :] < n[:, None]
        return feats * valid[..., None], n

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())


@torch.no_grad()
def feature_stats(frontend: Frontend, clips: torch.Tensor, batch: int = 16) -> tuple[float, float]:
    """Mean and standard deviation of the raw features over all values of `clips` [B, N]."""
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, clips.shape[0], batch):
        feats = frontend.raw(clips[start: start + batch]).double()
        total += float(feats.sum())
        total_sq += float(feats.square().sum())
        count += feats.numel()
    mean = total / count
    std = max((total_sq / count - mean * mean), 1e-12) ** 0.5
    return mean, std


@torch.no_grad()
def feature_stats_per_bin(frontend: Frontend, clips: torch.Tensor, batch: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of each feature (mel bin) of the raw features of `clips` [B, N]."""
    total = total_sq = None
    count = 0
    for start in range(0, clips.shape[0], batch):
        feats = frontend.raw(clips[start: start + batch]).double().flatten(0, 1)
        total = feats.sum(0) if total is None else total + feats.sum(0)
        total_sq = feats.square().sum(0) if total_sq is None else total_sq + feats.square().sum(0)
        count += feats.shape[0]
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(1e-12).sqrt()
    return mean.float(), std.float()
