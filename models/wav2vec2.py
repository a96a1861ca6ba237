"""wav2vec 2.0 (Baevski et al. 2020): contrastive prediction of quantised latent frames.

- The conv feature encoder turns the waveform into latent frames z (20 ms); its gradient is
  scaled by `feature_grad` (0.1) and an L2 penalty (weight 10) is taken on its output *before*
  the feature LayerNorm, as fairseq does (`features_pen`). After the LayerNorm the penalty is
  ~1 whatever the encoder does, and its gradient only shrinks the LayerNorm's gain: the
  features, and with them the clip embeddings, collapse.
- Span masking: `int(p T / span + u)` spans of `span` = 10 frames start at random
  (p = 0.65), masked frames of the projected z are replaced by a learned vector.
- Targets: the *unmasked* z at masked frames through a Gumbel product quantiser (G = 2
  codebooks x V = 320 entries, temperature 2 -> 0.5 by x 0.999995 per step, or, with
  `temperature_fraction`, by the decay that reaches 0.5 at that fraction of the run).
- InfoNCE: the context output at a masked frame (after a projection) against its quantised
  target and K = 100 distractors drawn uniformly from the *other masked frames of the same
  utterance*, cosine similarity / kappa = 0.1. A distractor whose quantised vector equals the
  target stays in the denominator, as in the paper's loss (Eq. 3); a departure from fairseq,
  which sets its logit to -inf. Either way a fully collapsed codebook (every frame the same
  code) gives the contrastive term zero gradient and only the diversity term moves it; the
  difference is what the log shows: under fairseq's rule such a run scores zero contrastive
  loss, here log(K + 1), the worst (and `same_code` counts the identical distractors).
- L = L_contrastive + alpha L_diversity (alpha = 0.1) + 10 * mean(z^2).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.diagnostics import code_stats
from models.objective import Objective
from models.quantizer import GumbelQuantizer, gumbel_temperature
from models.spans import masked_index, span_mask
from models.vit import gather_tokens
from models.waveform import WaveConfig, WaveformEncoder


@dataclass(frozen=True)
class Wav2Vec2Config:
    crop_samples: int = 250_000
    mask_prob: float = 0.65
    mask_span: int = 10
    negatives: int = 100
    logit_temperature: float = 0.1
    groups: int = 2
    entries: int = 320
    code_dim: int = 256
    final_dim: int = 256
    diversity_weight: float = 0.1
    feature_penalty: float = 10.0
    feature_grad: float = 0.1
    temperature_start: float = 2.0
    temperature_end: float = 0.5
    temperature_decay: float = 0.999995
    temperature_fraction: float = 0.0  # > 0: reach temperature_end at this fraction of the run


def scale_grad(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity forward; gradient multiplied by `scale` (fairseq's GradMultiply)."""
    return x if scale == 1.0 else x * scale + x.detach() * (1.0 - scale)


def penalised_features(encoder: WaveformEncoder, audio: torch.Tensor,
                       feature_grad: float) -> tuple[torch.Tensor, torch.Tensor]:
    """fairseq's order (wav2vec 2.0 and HuBERT): conv output with its gradient scaled by
    `feature_grad`, the L2 penalty on it, then the feature LayerNorm -> (z, penalty)."""
    raw = scale_grad(encoder.extractor(audio), feature_grad)
    return encoder.feature_norm(raw), raw.float().pow(2).mean()


def sample_distractors(count: int, frames: int, negatives: int, device: torch.device) -> torch.Tensor:
    """`[count, frames, K]` indices into `frames` masked frames, never the frame itself."""
    k = min(negatives, frames - 1)
    j = torch.randint(0, frames - 1, (count, frames, k), device=device)
    return j + (j >= torch.arange(frames, device=device)[None, :, None]).long()


def contrastive_logits(context: torch.Tensor, targets: torch.Tensor, negatives: int,
                       temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """context, targets [B, M, D] (masked frames) -> logits [B, M, 1 + K], the positive first,
    and the fraction of distractors identical to their target (1 when the codebook collapsed)."""
    b, m, d = targets.shape
    index = sample_distractors(b, m, negatives, targets.device)  # [B, M, K]
    distractors = targets[torch.arange(b, device=targets.device)[:, None, None], index]  # [B, M, K, D]
    candidates = torch.cat([targets[:, :, None], distractors], 2).float()
    logits = F.cosine_similarity(context.float()[:, :, None], candidates, dim=-1) / temperature
    with torch.no_grad():
        same = (distractors == targets[:, :, None]).all(-1).float().mean()
    return logits, same


class Wav2Vec2(Objective):
    encoder_config_class = WaveConfig
    config_class = Wav2Vec2Config
    no_decay_names = ("pos", "cls", "mask_emb", "codebook")

    def __init__(self, encoder: WaveConfig, config: Wav2Vec2Config, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = WaveformEncoder(encoder)
        self.mask_emb = nn.Parameter(torch.empty(encoder.dim).uniform_())
        self.quantizer = GumbelQuantizer(self.encoder.feature_dim, config.groups, config.entries, config.code_dim)
        self.project_q = nn.Linear(config.code_dim, config.final_dim)
        self.final_proj = nn.Linear(encoder.dim, config.final_dim)

    def crop_samples(self) -> int:
        return self.config.crop_samples

    def temperature(self, step: int) -> float:
        c = self.config
        decay = c.temperature_decay
        if c.temperature_fraction > 0:
            span = max(1.0, c.temperature_fraction * self.total_steps)
            decay = (c.temperature_end / c.temperature_start) ** (1.0 / span)
        return gumbel_temperature(step, c.temperature_start, c.temperature_end, decay)

    def features(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return penalised_features(self.encoder, audio, self.config.feature_grad)

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, enc = self.config, self.encoder
        feats, penalty = self.features(audio)
        x = enc.project(feats)
        b, t, _ = x.shape
        mask = span_mask(b, t, c.mask_prob, c.mask_span, min_spans=2, device=x.device)
        x = torch.where(mask[..., None], self.mask_emb.to(x.dtype), x)
        context = enc.context(x)
        index = masked_index(mask)
        predicted = self.final_proj(gather_tokens(context, index))
        q, diversity, _ = self.quantizer(gather_tokens(feats, index), self.temperature(step))
        targets = self.project_q(q)
        logits, same = contrastive_logits(predicted, targets, c.negatives, c.logit_temperature)
        contrastive = F.cross_entropy(logits.flatten(0, 1), logits.new_zeros(b * index.shape[1], dtype=torch.long))
        loss = contrastive + c.diversity_weight * diversity + c.feature_penalty * penalty
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == 0).float().mean()
        return loss, {"contrastive": contrastive.detach(), "diversity": diversity.detach(),
                      "penalty": penalty.detach(), "accuracy": accuracy, "same_code": same}

    @torch.no_grad()
    def diagnose(self, audio: torch.Tensor, step: int) -> dict[str, float]:
        """Hard-code usage of the quantiser on `audio`: perplexity over the G x V codewords and
        the fraction used."""
        feats, _ = self.features(audio)
        codes = self.quantizer.logits(feats.float()).view(-1, self.config.groups, self.config.entries).argmax(-1)
        return code_stats(codes, self.config.entries)

    def after_step(self, step: int) -> dict[str, float]:
        return {"gumbel_tau": self.temperature(step)}
