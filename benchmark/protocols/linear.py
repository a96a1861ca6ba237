"""Linear probing of frozen embeddings (HEAR, SUPERB): the capacity of the head is minimal,
so the score measures what the representation makes linearly available.

Per family: softmax/sigmoid clip heads, a frame head with SED post-processing, a linear
CTC head over characters, an AM-softmax projection for speaker verification, a linear
audio projection aligned with a text encoder for retrieval.
"""
from __future__ import annotations

from typing import Callable

from benchmark.protocols import asr, clip, retrieval, sed, speaker
from benchmark.protocols.base import Protocol, RunContext

FAMILIES = ("classification", "tagging", "pitch", "sed", "asr", "speaker_verification", "retrieval")


def by_family(kind: str) -> Callable[[RunContext, dict[str, list[str]], int], tuple[dict[str, float], dict]]:
    """The `kind` ("linear" or "mlp") head of each family."""
    def run(ctx: RunContext, plan: dict[str, list[str]], seed: int) -> tuple[dict[str, float], dict]:
        family = ctx.task.family
        if family == "sed":
            return sed.run_sed(ctx, plan, seed, kind)
        if family == "asr":
            return asr.run_ctc_grid(ctx, plan, seed, kind)
        if family == "speaker_verification":
            return speaker.run_projection(ctx, plan, seed, kind)
        if family == "retrieval":
            return retrieval.run_two_tower(ctx, plan, seed, kind)
        return clip.run_clip(ctx, plan, seed, kind)
    return run


LINEAR = Protocol("linear", FAMILIES, by_family("linear"))
