"""CLAP-style audio-text pre-training (Elizalde et al. 2023), both towers from scratch.

The model (`CLAPModel`, what a checkpoint holds and `ckpt:` loads) is an audio encoder
(the spectrogram ViT: its layers are the upstream's hidden states), a byte-level text
encoder (models/text.py), a linear projection of each into a shared `embed_dim` space
(l2-normalised) and a learned temperature. `embed_audio(audio, lengths)` mean-pools the
top layer over valid frames; `embed_text(list[str])` takes the text CLS output: zero-shot
classification and retrieval score one against the other.

The objective is the symmetric InfoNCE of CLIP: cross-entropy of audio->text and
text->audio similarity logits. Captions repeated within a batch (frequent when they come
from tag labels) are all counted as positives (a row's target is uniform over them).

Pairs: the trainer hands an objective audio crops only, so this objective reads its own
(clip, caption) pairs from `params.pairs` (a folder task, or a name under
$EARBENCH_HOME such as `mini-retrieval` / `mini-tagging`), drawing batch `i` from the
step's seeded RNG (so `--resume` replays it); the trainer's crops of `--data` serve only
the feature statistics. `forward(audio, step, captions)` trains on given pairs instead.
Clips are read whole up to `crop_frames` (the recipes' crops are the length of their pairs'
clips: 8 s for mini-retrieval at tiny size, 10 s at base), so the crop never misses the
captioned event; `prepare` logs how many clips are longer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.upstream import Encoded
from models.config import config_dict
from models.frontends import Frontend
from models.objective import Objective
from models.paired_data import PairedBatches, find_pairs_folder, read_pairs
from models.spectrogram_vit import SpectrogramViT, ViTConfig
from models.text import TextConfig, TextEncoder


@dataclass(frozen=True)
class CLAPModelConfig:
    audio: ViTConfig = field(default_factory=ViTConfig)
    text: TextConfig = field(default_factory=TextConfig)
    embed_dim: int = 512


def masked_mean(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    keep = (torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None].to(h.device)).to(h.dtype)
    return (h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp_min(1)


class CLAPModel(nn.Module):
    kind = "clap"
    config_class = CLAPModelConfig

    def __init__(self, config: CLAPModelConfig) -> None:
        super().__init__()
        self.spec = config
        self.config = {"kind": self.kind, **config_dict(config)}
        self.audio = SpectrogramViT(config.audio)
        self.text = TextEncoder(config.text)
        self.audio_proj = nn.Linear(self.audio.frame_dim, config.embed_dim)
        self.text_proj = nn.Linear(config.text.dim, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.full((1,), math.log(1 / 0.07)))
        self.sample_rate = self.audio.sample_rate
        self.hop_ms = self.audio.hop_ms

    @property
    def frontend(self) -> Frontend:
        return self.audio.frontend

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        return self.audio(audio, lengths)

    def embed_audio(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Audio [B, N] -> unit vectors [B, embed_dim] in the shared space."""
        if lengths is None:
            lengths = torch.full((audio.shape[0],), audio.shape[-1], device=audio.device)
        out = self.audio(audio, lengths)
        pooled = masked_mean(out.hidden_states[-1], out.lengths)
        return F.normalize(self.audio_proj(pooled).float(), dim=-1)

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """Texts -> unit vectors [B, embed_dim] in the shared space."""
        return F.normalize(self.text_proj(self.text(list(texts))).float(), dim=-1)


@dataclass(frozen=True)
class CLAPConfig:
    pairs: str = "mini-retrieval"
    split: str = "train"
    crop_frames: int = 1000
    caption_template: str = "the sound of {}"
    max_logit_scale: float = 100.0


def clip_loss(audio: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, captions: list[str]) -> torch.Tensor:
    """Symmetric InfoNCE; identical captions in the batch are all positives."""
    logits = scale * audio @ text.T
    ids = {c: i for i, c in enumerate(dict.fromkeys(captions))}
    key = torch.tensor([ids[c] for c in captions], device=logits.device)
    same = (key[:, None] == key[None, :]).float()
    target = same / same.sum(1, keepdim=True)
    a2t = -(target * logits.log_softmax(1)).sum(1).mean()
    t2a = -(target * logits.T.log_softmax(1)).sum(1).mean()
    return (a2t + t2a) / 2


class CLAP(Objective):
    encoder_config_class = CLAPModelConfig
    config_class = CLAPConfig
    no_decay_names = ("pos", "cls", "logit_scale")

    def __init__(self, encoder: CLAPModelConfig, config: CLAPConfig, total_steps: int) -> None:
        super().__init__(total_steps)
        self.config = config
        self.encoder = CLAPModel(encoder)
        self._batches = None

    def crop_samples(self) -> int:
        return self.encoder.audio.spec.frontend.samples_for(self.config.crop_frames)

    def paired_batches(self, batch: int) -> PairedBatches:
        if self._batches is None or self._batches.batch != batch:
            pairs = read_pairs(find_pairs_folder(self.config.pairs), self.config.split, self.config.caption_template)
            self._batches = PairedBatches(pairs, batch, self.crop_samples(), self.encoder.sample_rate)
        return self._batches

    def prepare(self, files: list, seed: int) -> list[str]:
        batches = self.paired_batches(1)
        seconds = self.crop_samples() / self.encoder.sample_rate
        line = f"caption pairs: {len(batches.pairs)} pairs of {batches.clips} clips from {self.config.pairs}, " \
               f"read whole up to {seconds:.2f} s"
        if batches.longer:
            line += f"; warning: {batches.longer} clips are longer and are cropped at random (events may be missed)"
        return [line]

    def pairs_batch(self, batch: int, device: torch.device) -> tuple[torch.Tensor, list[str]]:
        index = int(torch.randint(0, 2 ** 62, (1,)))  # the trainer seeds every step
        audio, captions = self.paired_batches(batch)[index]
        return audio.to(device), captions

    def forward(self, audio: torch.Tensor, step: int,
                captions: list[str] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if captions is None:
            audio, captions = self.pairs_batch(audio.shape[0], audio.device)
        model = self.encoder
        a = model.embed_audio(audio)
        t = model.embed_text(captions)
        scale = model.logit_scale.float().exp().clamp(max=self.config.max_logit_scale)
        loss = clip_loss(a, t, scale, captions)
        with torch.no_grad():
            accuracy = ((a @ t.T).argmax(1) == torch.arange(len(captions), device=a.device)).float().mean()
        return loss, {"a2t_top1": accuracy, "scale": scale.detach().reshape(())}
