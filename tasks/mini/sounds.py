"""The sound-event vocabulary shared by tagging, SED, scenes, retrieval and pre-training.

A `SoundClass` is a label with a pool of real sources (recordings, General-MIDI effects,
short instrument phrases) and the words used to describe it in captions. Drawing from a
class gives the layers of one event, starting at 0 and at relative level 0 dB; `place`
puts them into a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .gm import Note, pitch_range
from .samples import Sample, alsa, duration, sonic_pi
from .scene import Layer
from .speech import Speech
from .voices import VARIANTS, speaker
from .words import sentence


@dataclass(frozen=True)
class Recorded:
    """One of `samples` at a rate within `rates`, repeated `repeats` times with short gaps."""

    samples: tuple[Sample, ...]
    rates: tuple[float, float] = (0.9, 1.1)
    repeats: tuple[int, int] = (1, 1)

    def draw(self, rng: np.random.Generator, max_length: float) -> list[Layer]:
        layers, t = [], 0.0
        for _ in range(int(rng.integers(self.repeats[0], self.repeats[1] + 1))):
            sample = self.samples[int(rng.integers(len(self.samples)))]
            rate = float(rng.uniform(*self.rates))
            length = min(duration(sample) / rate, max_length - t)
            if length < 0.05:
                break
            layers.append(Layer(sample, t, 0.0, length=round(length, 3), rate=round(rate, 3)))
            t += length + float(rng.uniform(0.08, 0.3))
        return layers


@dataclass(frozen=True)
class Held:
    """A General-MIDI sound-effect `program` held for a drawn time (seashore, applause, ...)."""

    program: int
    pitches: tuple[int, int]
    hold: tuple[float, float]

    def draw(self, rng: np.random.Generator, max_length: float) -> list[Layer]:
        hold = round(min(float(rng.uniform(*self.hold)), max_length), 3)
        pitch = int(rng.integers(self.pitches[0], self.pitches[1] + 1))
        note = Note(self.program, pitch, int(rng.integers(70, 121)), hold)
        return [Layer(note, 0.0, 0.0, length=hold + 0.1)]


@dataclass(frozen=True)
class Phrase:
    """A few notes of one of `programs` within `pitches` (and its playable range), in sequence."""

    programs: tuple[int, ...]
    pitches: tuple[int, int]
    notes: tuple[int, int] = (2, 5)

    def draw(self, rng: np.random.Generator, max_length: float) -> list[Layer]:
        program = self.programs[int(rng.integers(len(self.programs)))]
        low, high = pitch_range(program)
        low, high = max(low, self.pitches[0]), min(high, self.pitches[1])
        pitch = int(rng.integers(low, high + 1))
        layers, t = [], 0.0
        for _ in range(int(rng.integers(self.notes[0], self.notes[1] + 1))):
            hold = round(float(rng.uniform(0.15, 0.6)), 3)
            if t + hold > max_length:
                break
            pitch = int(np.clip(pitch + rng.integers(-5, 6), low, high))
            note = Note(program, pitch, int(rng.integers(60, 121)), hold)
            layers.append(Layer(note, round(t, 3), float(rng.uniform(-3, 0)), length=hold + 0.3))
            t += hold
        return layers


Pick = Recorded | Held | Phrase


@dataclass(frozen=True)
class SoundClass:
    """A label, its source pool, and caption words: clauses ("a phone rings") and nouns."""

    label: str
    pool: tuple[Pick, ...]
    clauses: tuple[str, ...]
    nouns: tuple[str, ...]

    def draw(self, rng: np.random.Generator, max_length: float = 4.0) -> list[Layer]:
        """The layers of one event of this class, no longer than `max_length` seconds."""
        return self.pool[int(rng.integers(len(self.pool)))].draw(rng, max_length)


def place(layers: list[Layer], start: float, level: float, label: str | None = None) -> list[Layer]:
    """`layers` of an event moved to `start` at level `level` dB FS, labelled `label`."""
    return [replace(l, start=round(start + l.start, 3), level=round(level + l.level, 2), label=label)
            for l in layers]


def end(layers: list[Layer]) -> float:
    """When the last of `layers` stops at the latest (their planned lengths)."""
    return max(l.start + (l.length or 0.0) for l in layers)


_VOICES = alsa("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
               "Rear_Right", "Side_Left", "Side_Right")
_DRUMS = sonic_pi("drum_heavy_kick", "drum_snare_hard", "drum_snare_soft", "drum_tom_hi_hard",
                  "drum_tom_lo_hard", "drum_tom_mid_hard", "drum_cymbal_open", "drum_splash_hard",
                  "drum_roll", "bd_boom", "bd_haus", "sn_dolf", "sn_generic", "loop_amen",
                  "loop_breakbeat")
_TABLA = sonic_pi("tabla_ghe2", "tabla_ghe3", "tabla_ghe5", "tabla_ghe6", "tabla_na_o",
                  "tabla_tun1", "tabla_tun2", "tabla_tun3", "tabla_tas1", "tabla_tas2", "loop_tabla")

CLASSES: tuple[SoundClass, ...] = (
    SoundClass("speech", (Recorded(_VOICES, (0.85, 1.15)),),
               ("someone speaks", "a person says a few words", "a voice talks"),
               ("a person speaking", "someone talking", "a spoken phrase")),
    SoundClass("bird", (Held(123, (60, 84), (0.3, 1.2)),),
               ("a bird chirps", "a small bird tweets", "a bird sings"),
               ("bird song", "a chirping bird", "tweeting")),
    SoundClass("crow", (Recorded(sonic_pi("misc_crow"), (0.8, 1.2), (1, 3)),),
               ("a crow caws", "a crow calls out", "a large bird croaks"),
               ("the caw of a crow", "a cawing crow", "crow calls")),
    SoundClass("telephone", (Held(124, (60, 72), (0.8, 2.5)),
                             Recorded(sonic_pi("mehackit_phone1", "mehackit_phone2",
                                               "mehackit_phone3", "mehackit_phone4"))),
               ("a phone rings", "a telephone is ringing", "a phone goes off"),
               ("a ringing telephone", "the ring of a phone", "a phone ringtone")),
    SoundClass("applause", (Held(126, (58, 66), (1.5, 4.0)),),
               ("people applaud", "an audience claps", "a crowd claps their hands"),
               ("applause", "clapping hands", "an applauding audience")),
    SoundClass("gunshot", (Held(127, (48, 72), (0.4, 1.0)),),
               ("a gun fires", "a shot rings out", "someone fires a gun"),
               ("a gunshot", "the bang of a gun", "a shot")),
    SoundClass("helicopter", (Held(125, (55, 67), (2.0, 5.0)),),
               ("a helicopter flies over", "a helicopter hovers", "rotor blades whir"),
               ("a helicopter", "the whir of a helicopter", "helicopter noise")),
    SoundClass("door", (Recorded(sonic_pi("perc_door"), (0.85, 1.15)),),
               ("a door closes", "a door creaks and shuts", "someone shuts a door"),
               ("a closing door", "the creak of a door", "a door")),
    SoundClass("cash_register", (Recorded(sonic_pi("perc_till"), (0.9, 1.1)),),
               ("a cash register rings", "a till opens", "a cashier rings up a sale"),
               ("a cash register", "the ding of a till", "a till drawer")),
    SoundClass("finger_snap", (Recorded(sonic_pi("perc_snap", "perc_snap2"), (0.9, 1.1), (1, 4)),),
               ("someone snaps their fingers", "fingers snap", "a person clicks their fingers"),
               ("finger snaps", "snapping fingers", "a snap")),
    SoundClass("bell", (Recorded(sonic_pi("perc_bell", "perc_bell2", "elec_bell", "elec_chime")),
                        Held(14, (60, 76), (1.0, 3.0)), Held(112, (72, 88), (0.5, 2.0))),
               ("a bell rings", "a bell chimes", "someone strikes a bell"),
               ("the chime of a bell", "a ringing bell", "bells")),
    SoundClass("drums", (Recorded(_DRUMS, (0.95, 1.05), (1, 4)),),
               ("drums are played", "someone hits a drum", "a drummer plays a beat"),
               ("drumming", "a drum beat", "drum hits")),
    SoundClass("tabla", (Recorded(_TABLA, (0.95, 1.05), (1, 3)),),
               ("someone plays the tabla", "hand drums are played", "a tabla is struck"),
               ("tabla drumming", "hand drums", "a tabla")),
    SoundClass("robot", (Recorded(sonic_pi(*(f"mehackit_robot{i}" for i in range(1, 8)),
                                           "glitch_robot1", "glitch_robot2")),),
               ("a robot talks", "a robotic voice speaks", "a machine voice babbles"),
               ("a robotic voice", "robot speech", "a synthetic voice")),
    SoundClass("beep", (Recorded(sonic_pi("elec_beep", "elec_blip", "elec_blip2", "elec_ping",
                                          "elec_plip", "elec_twip", "elec_blup", "elec_bong"),
                                 (0.9, 1.1), (2, 5)),),
               ("an electronic device beeps", "a machine bleeps", "a gadget beeps"),
               ("electronic beeps", "bleeping", "beeps")),
    SoundClass("scratch", (Recorded(sonic_pi("vinyl_scratch", "vinyl_backspin", "vinyl_rewind"),
                                    (0.9, 1.1), (1, 2)),),
               ("a DJ scratches a record", "a record is scratched", "a turntable spins back"),
               ("vinyl scratching", "a record scratch", "turntable scratches")),
    SoundClass("whoosh", (Recorded(sonic_pi("ambi_swoosh", "ambi_dark_woosh", "perc_swoosh",
                                            "perc_swash")),),
               ("something whooshes past", "air rushes by", "an object swooshes through the air"),
               ("a whoosh", "a swoosh", "rushing air")),
    SoundClass("impact", (Recorded(sonic_pi("perc_impact1", "perc_impact2", "misc_cineboom"),
                                   (0.85, 1.15)),),
               ("something heavy crashes", "an object hits the ground", "a loud thud resounds"),
               ("a heavy impact", "a loud thud", "a crash")),
    SoundClass("piano", (Phrase((0, 1, 2, 4, 5), (48, 84)),),
               ("a piano plays", "someone plays a few piano notes", "a piano tune is played"),
               ("piano notes", "a short piano melody", "a piano")),
    SoundClass("guitar", (Phrase((24, 25, 26, 27), (40, 76)),
                          Recorded(sonic_pi("guit_harmonics", "guit_e_fifths", "guit_e_slide",
                                            "guit_em9"))),
               ("a guitar is played", "someone plucks a guitar", "a guitar strums"),
               ("guitar notes", "a guitar", "plucked strings")),
    SoundClass("violin", (Phrase((40, 41, 42, 48, 49), (55, 88)),),
               ("a violin plays", "strings play a melody", "a fiddle is bowed"),
               ("violin music", "bowed strings", "a string melody")),
    SoundClass("flute", (Phrase((72, 73, 74, 75), (60, 93)),),
               ("a flute plays", "someone plays the flute", "a flute whistles a tune"),
               ("flute notes", "a flute melody", "a flute")),
    SoundClass("trumpet", (Phrase((56, 57, 59, 61), (52, 79)),),
               ("a trumpet blows", "a horn plays", "brass instruments sound"),
               ("trumpet notes", "a brass fanfare", "a horn")),
    SoundClass("choir", (Recorded(sonic_pi("ambi_choir")), Held(52, (55, 72), (1.0, 3.0))),
               ("a choir sings", "voices sing together", "a chorus hums"),
               ("choir singing", "a chorus", "voices in harmony")),
)

BY_LABEL = {c.label: c for c in CLASSES}


@dataclass(frozen=True)
class Bed:
    """A continuous background: a looped recording or a held General-MIDI effect."""

    name: str
    pool: tuple[Sample | int, ...]  # recordings to loop, or a GM effect program to hold
    nouns: tuple[str, ...]

    def draw(self, rng: np.random.Generator, length: float) -> Layer:
        """The bed at relative level 0 dB, covering `length` seconds."""
        source = self.pool[int(rng.integers(len(self.pool)))]
        if isinstance(source, int):
            note = Note(source, int(rng.integers(56, 68)), 100, round(length, 3))
            return Layer(note, 0.0, 0.0, length=length)
        offset = float(rng.uniform(0, duration(source)))  # start the loop anywhere
        return Layer(source, -round(offset, 3), 0.0, length=length + offset, loop=True)


BEDS: tuple[Bed, ...] = (
    Bed("sea", (122,), ("waves", "the sea", "surf")),
    Bed("hiss", sonic_pi("vinyl_hiss"), ("static hiss", "crackling vinyl", "hiss")),
    Bed("drone", sonic_pi("ambi_drone", "ambi_haunted_hum", "ambi_glass_hum", "ambi_lunar_land",
                          "ambi_sauna"), ("a low drone", "an eerie hum", "a humming tone")),
    Bed("machine", sonic_pi("loop_3d_printer", "loop_industrial", "loop_electric"),
        ("machinery", "a whirring machine", "mechanical noise")),
    Bed("beat", sonic_pi("loop_mika", "loop_garzul", "loop_compus", "loop_amen_full",
                         "loop_weirdo", "loop_safari"), ("background music", "a beat", "music")),
)

BEDS_BY_NAME = {b.name: b for b in BEDS}


def babble(rng: np.random.Generator, length: float, level: float) -> list[Layer]:
    """A crowd: 3-6 English speakers talking over each other for `length` s around `level`."""
    layers = []
    for _ in range(int(rng.integers(3, 7))):
        voice = speaker(rng, ("espeak-ng", VARIANTS[int(rng.integers(len(VARIANTS)))]))
        layers.append(Layer(Speech(sentence(rng) + " " + sentence(rng), voice),
                            round(float(rng.uniform(-2.0, length - 1.0)), 3),
                            round(level + float(rng.uniform(-6.0, 0.0)), 2)))
    return layers
