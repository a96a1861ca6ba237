"""BYOL-A's audio augmentations, on batches of normalised log-mel spectrograms [B, T, F].

- Mixup in the log domain (log-mixup-exp): x <- log((1 - l) e^x + l e^x'), l ~ U(0, ratio),
  with x' another clip of the batch (the paper mixes with a memory of past clips; mixing
  within the batch keeps a step a pure function of its data).
- Random resize crop: place the spectrogram on a virtual canvas `virtual` times larger
  (zeros around it), crop a rectangle of `freq_scale` x `time_scale` of the original size at
  a random place, and resize it back with bicubic interpolation.
- Post-normalisation: standardise the augmented batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def log_mixup_exp(x: torch.Tensor, ratio: float = 0.4) -> torch.Tensor:
    lam = torch.rand(x.shape[0], 1, 1, device=x.device) * ratio
    other = x[torch.randperm(x.shape[0], device=x.device)]
    return torch.log((1 - lam) * x.exp() + lam * other.exp() + torch.finfo(x.dtype).eps)


def random_resize_crop(x: torch.Tensor, virtual: tuple[float, float] = (1.0, 1.5),
                       freq_scale: tuple[float, float] = (0.6, 1.5),
                       time_scale: tuple[float, float] = (0.6, 1.5)) -> torch.Tensor:
    b, t, f = x.shape
    vf, vt = int(f * virtual[0]), int(t * virtual[1])
    canvas = x.new_zeros(b, vt, vf)
    t0, f0 = (vt - t) // 2, (vf - f) // 2
    canvas[:, t0: t0 + t, f0: f0 + f] = x
    out = []
    for item in canvas:
        ch = min(vf, max(1, int(f * _uniform(*freq_scale))))
        cw = min(vt, max(1, int(t * _uniform(*time_scale))))
        i = int(torch.randint(0, vf - ch + 1, ()))
        j = int(torch.randint(0, vt - cw + 1, ()))
        crop = item[j: j + cw, i: i + ch][None, None]
        out.append(F.interpolate(crop, size=(t, f), mode="bicubic", align_corners=True)[0, 0])
    return torch.stack(out)


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def post_normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / (x.std() + 1e-8)


def byola_view(x: torch.Tensor, mixup_ratio: float = 0.4) -> torch.Tensor:
    """One augmented view of a batch, as BYOL-A makes it."""
    return post_normalise(random_resize_crop(log_mixup_exp(x, mixup_ratio)))

