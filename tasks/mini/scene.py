"""Clips as declarative mixtures: sources placed in time at set levels, in a room, over noise.

A generator plans `Scene`s (pure data, cheap, picklable); workers render them. Labels of
timed events are read from the rendered audio itself, so an onset/offset marks where the
sound actually is, not where a source file happens to start and end.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import gm, samples, speech
from .audio import at_level, change_rate, cut, fade, limit, noise, room, to_samples, to_seconds, trim
from .gm import Note
from .samples import Sample
from .speech import Speech

Source = Note | Sample | Speech
Event = tuple[str, float, float]  # label, onset, offset (seconds)
_EVENT_FLOOR_DB = 40.0  # an event lasts while it is within this of its peak
_MERGE_GAP = 0.05  # same-label events closer than this are one event
_SYNTH_THREADS = 4


@dataclass(frozen=True)
class Layer:
    """`source` from `start` s at active level `level` dB FS, played `rate` times faster.

    `length` cuts it (faded), or with `loop` repeats it to fill `length`; a `label` makes
    its audible extent an event of the clip.
    """

    source: Source
    start: float
    level: float
    length: float | None = None
    rate: float = 1.0
    loop: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Scene:
    """Layers mixed into `duration` s (None: until the last layer ends, plus `pad`).

    With `rt60` > 0 the mix goes through a synthetic room; `noise_level` (dB FS) adds
    stationary noise of colour `noise` after it. `seed` drives all randomness of rendering.
    """

    layers: tuple[Layer, ...]
    duration: float | None = None
    pad: float = 0.25
    rt60: float = 0.0
    drr: float = 10.0
    noise: str = "pink"
    noise_level: float | None = None
    seed: int = 0


def _source(source: Source, rendered: dict[Source, np.ndarray]) -> np.ndarray:
    return samples.load(source) if isinstance(source, Sample) else rendered[source]


def _shape(layer: Layer, x: np.ndarray) -> np.ndarray:
    x = change_rate(x, layer.rate)
    if layer.loop and layer.length is not None and len(x):
        x = fade(x, 0.01, 0.01)
        x = np.tile(x, -(-to_samples(layer.length) // len(x)))
    if layer.length is not None:
        x = cut(x, layer.length)
    return at_level(x, layer.level)


def _merge(events: list[Event]) -> list[Event]:
    merged: list[Event] = []
    for label, on, off in sorted(events, key=lambda e: (e[0], e[1])):
        if merged and merged[-1][0] == label and on <= merged[-1][2] + _MERGE_GAP:
            merged[-1] = (label, merged[-1][1], max(off, merged[-1][2]))
        else:
            merged.append((label, on, off))
    return sorted(merged, key=lambda e: (e[1], e[0]))


def render(scene: Scene, rendered: dict[Source, np.ndarray]) -> tuple[np.ndarray, list[Event]]:
    """The clip of `scene` and its labelled events; `rendered` holds its synthesised sources."""
    rng = np.random.default_rng(scene.seed)
    placed = [(to_samples(layer.start), layer, _shape(layer, _source(layer.source, rendered)))
              for layer in scene.layers]
    if scene.duration is not None:
        n = to_samples(scene.duration)
    else:
        n = max((start + len(x) for start, _, x in placed), default=0) + to_samples(scene.pad)
    out = np.zeros(n, np.float32)
    events: list[Event] = []
    for start, layer, x in placed:
        x, start = x[max(0, -start):], max(0, start)  # a layer may start before the clip
        x = x[: max(0, n - start)]
        out[start:start + len(x)] += x
        audible = len(trim(x, _EVENT_FLOOR_DB))
        if layer.label is not None and audible:
            onset, offset = to_seconds(start), to_seconds(start + audible)
            events.append((layer.label, round(onset, 3), round(offset, 3)))
    if scene.rt60 > 0:
        out = room(out, scene.rt60, scene.drr, rng)
    if scene.noise_level is not None:
        out += noise(n, scene.noise, rng) * np.float32(10 ** (scene.noise_level / 20))
    return limit(out), _merge(events)


def render_batch(scenes: Sequence[Scene]) -> list[tuple[np.ndarray, list[Event]]]:
    """Render `scenes`, synthesising their sources first: all General-MIDI notes in one
    fluidsynth call and, meanwhile, the speech in a few concurrent synthesiser processes."""
    sources = [layer.source for s in scenes for layer in s.layers]
    texts = list(dict.fromkeys(s for s in sources if isinstance(s, Speech)))
    with ThreadPoolExecutor(_SYNTH_THREADS) as pool:
        notes = pool.submit(gm.render, (s for s in sources if isinstance(s, Note)))
        rendered: dict[Source, np.ndarray] = dict(zip(texts, pool.map(speech.synthesize, texts)))
        rendered.update(notes.result())
    return [render(scene, rendered) for scene in scenes]
