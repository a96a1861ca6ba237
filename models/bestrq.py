"""BEST-RQ (Chiu et al. 2022): masked prediction of labels from a frozen random-projection
quantiser, on a Conformer over stacked log-mel frames.

- Input: 80-bin log-mel (10 ms), normalised per mel bin with the pre-training data's
  statistics (the recipes' front end has `per_feature`: the paper finds the normalisation
  critical for the random-projection quantiser, whose codes otherwise collapse onto the
  loud bins); 4 frames are stacked (40 ms, 320 values) — the quantiser's input and, through
  a linear layer, the encoder's, a Conformer with relative position encoding.
- Labels: `RandomProjectionQuantizer` of the *unmasked* stacked frames (projection to 16
  dims, 8192 codewords, all frozen).
- Masking: spans of 400 ms (10 stacked frames) starting with probability 0.01 per 10 ms
  frame (fairseq convention: `mask_prob` = 0.4 = 0.01 x 40 is the pre-overlap fraction);
  masked stacked frames are replaced by noise N(0, 0.1^2).
- Loss: cross-entropy of a softmax layer on the encoder output at masked frames.
No k-means, no teacher, no EMA.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.upstream import Encoded
from models.config import config_dict
from models.diagnostics import code_stats
from models.frontends import Frontend, FrontendConfig
from models.objective import Objective
from models.quantizer import RandomProjectionQuantizer
from models.spans import masked_index, span_mask
from models.vit import gather_tokens, init_weights
from models.waveform import make_context


@dataclass(frozen=True)
class FbankConformerConfig:
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    stack: int = 4
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    context: str = "conformer"  # transformer | conformer | ssm
    conformer_kernel: int = 31
    ssm_state: int = 16


class FbankConformer(nn.Module):
    """Log-mel -> `stack` frames stacked -> linear -> context network; an upstream (hop 40 ms)."""

    kind = "fbank-conformer"
    config_class = FbankConformerConfig

    def __init__(self, config: FbankConformerConfig) -> None:
        super().__init__()
        c = config
        self.spec = c
        self.config = {"kind": self.kind, **config_dict(c)}
        self.frontend = Frontend(c.frontend)
        self.sample_rate = c.frontend.sample_rate
        self.hop_ms = c.frontend.hop_ms * c.stack
        self.dim = c.dim
        self.input_proj = nn.Linear(c.frontend.n_mels * c.stack, c.dim)
        self.context_net = make_context(c.context, c.dim, c.depth, c.heads, c.mlp_ratio, c.conformer_kernel,
                                        c.ssm_state)
        if c.context != "ssm":
            init_weights(self.context_net)

    @property
    def stacked_dim(self) -> int:
        return self.spec.frontend.n_mels * self.spec.stack

    def stacked(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised features stacked by `stack`: [B, T', stack * F] and valid T' per item."""
        feats, n = self.frontend(audio, lengths)
        s = self.spec.stack
        extra = -feats.shape[1] % s
        if extra:
            feats = F.pad(feats, (0, 0, 0, extra))
        b, t, f = feats.shape
        return feats.reshape(b, t // s, s * f), torch.div(n + s - 1, s, rounding_mode="floor")

    def context(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        if keep is not None:
            x = x * keep[..., None].to(x.dtype)
        return self.context_net(x, keep, all_layers)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        stacked, n = self.stacked(audio, lengths)
        keep = torch.arange(stacked.shape[1], device=stacked.device)[None, :] < n[:, None]
        layers = self.context(self.input_proj(stacked), keep, all_layers=True)
        return Encoded([h.float() * keep[..., None] for h in layers], n)


@dataclass(frozen=True)
class BESTRQConfig:
    crop_frames: int = 1600  # 16 s of 10 ms frames (BEST-RQ trains on LibriLight utterances)
    mask_prob: float = 0.4
    mask_span: int = 10  # stacked frames: 400 ms
    noise_std: float = 0.1
    code_dim: int = 16
    codebook: int = 8192
    quantizer_seed: int = 0


class BESTRQ(Objective):
    encoder_config_class = FbankConformerConfig
    config_class = BESTRQConfig

    def __init__(self, encoder: FbankConformerConfig, config: BESTRQConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = FbankConformer(encoder)
        self.quantizer = RandomProjectionQuantizer(self.encoder.stacked_dim, config.code_dim, config.codebook,
                                                   config.quantizer_seed)
        self.head = nn.Linear(encoder.dim, config.codebook)

    def crop_samples(self) -> int:
        return self.encoder.spec.frontend.samples_for(self.config.crop_frames)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        stacked, _ = enc.stacked(audio)
        labels = self.quantizer(stacked)
        b, t, _ = stacked.shape
        mask = span_mask(b, t, c.mask_prob, c.mask_span, min_spans=1, device=stacked.device)
        noisy = torch.where(mask[..., None], c.noise_std * torch.randn_like(stacked), stacked)
        context = enc.context(enc.input_proj(noisy))
        index = masked_index(mask)
        logits = self.head(gather_tokens(context, index)).float()
        target = torch.gather(labels, 1, index)
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten())
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == target).float().mean()
        return loss, {"accuracy": accuracy}

    @torch.no_grad()
    def diagnose(self, audio: torch.Tensor, step: int) -> dict[str, float]:
        """How the frozen quantiser's labels spread over its codebook on the probe crops."""
        stacked, _ = self.encoder.stacked(audio)
        stats = code_stats(self.quantizer(stacked).reshape(-1, 1), self.quantizer.entries)
        return {"label_perplexity": stats["code_perplexity"], "labels_used": stats["codes_used"]}
