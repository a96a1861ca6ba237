"""Zero-shot scoring in an audio-text model's shared space: no training, no labels used.

Needs an upstream with a text tower: `embed_text(list[str]) -> [B, D]` and
`embed_audio(audio [B, N], lengths [B]) -> [B, D]`. Classes become prompts from templates
(`--prompt "the sound of {label}"`, repeatable; the text embeddings of a class are
averaged over templates, as in CLIP/CLAP); a clip's class scores are cosine similarities.
For retrieval the captions are the text queries. Audio embeddings go through the cache
like any other features.
"""
from __future__ import annotations

import numpy as np
import torch

from benchmark.errors import ProtocolError
from benchmark.family import family_of
from benchmark.features.extract import extract
from benchmark.protocols.base import HeadResult, Protocol, RunContext, reads
from benchmark.protocols.clip import clip_metrics
from benchmark.protocols.options import Option
from benchmark.protocols.retrieval import queries, retrieval_metrics
from benchmark.upstream import Encoded

DEFAULT_TEMPLATES = ("the sound of {label}", "{label} can be heard")


def require_text_tower(upstream: torch.nn.Module) -> None:
    missing = [f for f in ("embed_text", "embed_audio") if not callable(getattr(upstream, f, None))]
    if missing:
        name = getattr(upstream, "earbench_name", type(upstream).__name__)
        raise ProtocolError(f"protocol 'zeroshot' needs an upstream with a text tower, but {name!r} has no "
                            f"{' or '.join(missing)} (an audio-text model such as a CLAP-style encoder has both)")


class SharedSpace(torch.nn.Module):
    """The upstream's `embed_audio`, seen as an upstream with one layer of one frame, so that
    the shared-space audio embeddings are cached (under their own fingerprint) and resumable."""

    def __init__(self, upstream: torch.nn.Module) -> None:
        super().__init__()
        self.inner = upstream
        self.sample_rate, self.hop_ms = upstream.sample_rate, upstream.hop_ms
        self.config = {"shared_space_of": getattr(upstream, "earbench_fingerprint", None)}
        self.earbench_name = f"{getattr(upstream, 'earbench_name', type(upstream).__name__)}:embed_audio"

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        emb = self.inner.embed_audio(audio, lengths)
        return Encoded([emb[:, None, :].float()], torch.ones(len(audio), dtype=torch.long, device=emb.device))


def audio_embeddings(ctx: RunContext, splits: list[str]) -> np.ndarray:
    space = SharedSpace(ctx.upstream)
    arrays = [np.asarray(extract(space, list(ctx.manifests[s]["path"]), task=ctx.task.name,
                                 task_version=ctx.task.version, split=s, pooling="mean", cache=ctx.cache,
                                 batch_seconds=ctx.settings.batch_seconds, workers=ctx.settings.workers,
                                 progress=ctx.settings.progress, stats=ctx.stats).data[:, 0], dtype=np.float32) for s in splits]
    return _unit(np.concatenate(arrays))


def text_embeddings(ctx: RunContext, texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        emb = ctx.upstream.embed_text(list(texts))
    return _unit(torch.as_tensor(emb).float().cpu().numpy())


def templates(ctx: RunContext) -> tuple[str, ...]:
    chosen = tuple(ctx.settings.options.get("prompts") or DEFAULT_TEMPLATES)
    bad = [t for t in chosen if "{label}" not in t]
    if bad:
        raise ProtocolError(f"prompt template {bad[0]!r} has no {{label}} placeholder")
    return chosen


def class_embeddings(ctx: RunContext, labels: list) -> np.ndarray:
    """[C, D]: each class's prompt embeddings averaged over templates, re-normalised."""
    names = [str(label).replace("_", " ") for label in labels]
    stacked = np.stack([text_embeddings(ctx, [t.format(label=n) for n in names]) for t in templates(ctx)])
    return _unit(stacked.mean(0))


@reads()  # the shared-space embeddings are cached under their own fingerprint, not the upstream's
def run_classes(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    """Classes (the training labels) as prompts; a clip's scores are its cosines to them."""
    require_text_tower(ctx.upstream)
    test = ctx.part(roles, "test", seed)
    audio = audio_embeddings(ctx, roles["test"])
    vocab = family_of(ctx.task.family).vocabulary(ctx.manifest(roles["train"]))
    scores = audio @ class_embeddings(ctx, vocab).T
    metrics, items = clip_metrics(ctx, test.manifest, scores, vocab)
    return metrics, {"prompts": list(templates(ctx))}, items


@reads()
def run_captions(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    """The test captions as text queries over the test clips."""
    require_text_tower(ctx.upstream)
    test = ctx.part(roles, "test", seed)
    audio = audio_embeddings(ctx, roles["test"])
    texts, relevant = queries(test)
    similarity = text_embeddings(ctx, texts) @ audio.T
    metrics, items = retrieval_metrics(ctx.task.metrics, test, similarity, relevant)
    return metrics, {"space": "upstream text tower"}, items


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


ZEROSHOT = Protocol("zeroshot", trains=False, check_upstream=require_text_tower, encodes=True, options=(
    Option("prompts", list, "class prompt templates with {label} (`--prompt`), averaged per class"),
))
