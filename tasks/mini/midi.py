"""A minimal Standard MIDI File writer: just enough to drive fluidsynth's fast renderer.

One track, one tempo, 1 tick = 1 ms, so note times in seconds map to ticks exactly and
the generator controls sample-accurate placement without a MIDI library dependency.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = 1000
_TICKS_PER_QUARTER = 1000
_TEMPO_US = 1_000_000  # one quarter note per second: with 1000 ticks per quarter, 1 ms per tick
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class MidiNote:
    """A note-on/note-off pair; `program` is ignored on the drum channel."""

    start: float
    length: float
    pitch: int
    velocity: int = 100
    program: int = 0
    channel: int = 0


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: list[MidiNote]) -> None:
    """Write `notes` as a format-0 MIDI file; a program change precedes every note-on."""
    events: list[tuple[int, int, bytes]] = []  # (tick, order, message): note-offs sort first
    for note in notes:
        on = round(note.start * TICKS_PER_SECOND)
        off = round((note.start + note.length) * TICKS_PER_SECOND)
        if note.channel != DRUM_CHANNEL:
            events.append((on, 1, bytes([0xC0 | note.channel, note.program])))
        events.append((on, 2, bytes([0x90 | note.channel, note.pitch, note.velocity])))
        events.append((off, 0, bytes([0x80 | note.channel, note.pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(b"\x00\xff\x51\x03" + _TEMPO_US.to_bytes(3, "big"))
    now = 0
    for tick, _, message in events:
        track += _varlen(tick - now) + message
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, _TICKS_PER_QUARTER)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))
