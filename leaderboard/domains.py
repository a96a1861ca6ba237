"""Which audio domain a task belongs to (speech, environment, music), for per-domain averages.

Task families (classification, tagging, sed, ...) say what a head predicts, not what the
audio is, so the domain is read, in order, from:

1. the record's `task.domain`, when it is one of DOMAINS;
2. words in the task name (split on non-alphanumerics): music words first (so that
   `gtzan_music_speech` is music), then speech words, then environment words;
3. the task family's `domain` (`asr` and `speaker_verification` are speech, `pitch` is music);
4. otherwise environment (sound events, scenes, captions).
"""
from __future__ import annotations

import re

from benchmark.family import FAMILIES

DOMAINS = ("speech", "environment", "music")

WORDS = {
    "music": {"music", "pitch", "nsynth", "instrument", "instruments", "genre", "gtzan", "mtt", "magnatagatune",
              "mridangam", "beat", "onset", "onsets", "chord", "chords", "tempo", "maestro", "melody", "opera",
              "singer", "vocalset", "piano", "guitar", "drum", "drums"},
    "speech": {"speech", "kws", "keyword", "keywords", "commands", "lid", "language", "lingua", "speaker", "speakers",
               "sv", "asv", "voxceleb", "asr", "librispeech", "timit", "emotion", "crema", "iemocap", "ravdess",
               "intent", "fluent", "libricount", "phoneme", "diarization", "spoken"},
    "environment": {"scene", "scenes", "esc", "esc50", "urbansound", "urbansound8k", "us8k", "fsd50k", "fsd",
                    "audioset", "dcase", "sed", "event", "events", "tagging", "clotho", "audiocaps", "retrieval",
                    "birds", "bird", "beehive", "imitation", "gunshot", "environment", "environmental"},
}


def task_domain(name: str, family: str | None = None, declared: str | None = None) -> str:
    """The domain of a task (see the module docstring for the rule)."""
    if declared in DOMAINS:
        return declared
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    for domain in ("music", "speech", "environment"):
        if words & WORDS[domain]:
            return domain
    known = FAMILIES.get(family or "")
    return (known.domain if known else None) or "environment"
