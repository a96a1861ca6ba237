"""English words: Speech Commands' keywords (SUPERB KS) and a small grammar for ASR.

The ASR vocabulary avoids homophones (no "red" next to "read", no "two" next to "to"),
so every transcript is recoverable from sound alone.
"""

from __future__ import annotations

import numpy as np

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
                 "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
                 "wow", "zero", "learn", "follow", "forward", "visual", "backward")

_DETERMINERS = ("the", "a", "every", "this", "that", "my", "your", "our", "their", "some")
_ADJECTIVES = ("big", "small", "old", "young", "green", "blue", "yellow", "black", "white",
               "happy", "quiet", "loud", "bright", "dark", "warm", "cold", "soft", "heavy",
               "fast", "slow", "tall", "clean", "strong", "gentle", "busy", "empty", "famous",
               "careful", "hungry", "lucky", "noisy", "simple", "strange", "tiny", "wild",
               "wooden", "golden", "clever", "polite", "lazy")
_NOUNS = ("cat", "dog", "bird", "horse", "fish", "farmer", "teacher", "doctor", "child", "girl",
          "boy", "woman", "man", "king", "queen", "sailor", "baker", "pilot", "painter",
          "student", "house", "garden", "river", "mountain", "forest", "city", "village",
          "bridge", "station", "table", "chair", "window", "door", "book", "letter", "picture",
          "song", "story", "message", "apple", "bread", "cheese", "coffee", "water", "boat",
          "train", "bicycle", "ship", "island", "market", "school", "kitchen", "library",
          "castle", "lamp", "clock", "key", "basket", "blanket", "mirror")
_TRANSITIVE = ("saw", "found", "painted", "carried", "opened", "closed", "cleaned", "bought",
               "sold", "visited", "watched", "followed", "helped", "called", "built", "moved",
               "pushed", "pulled", "washed", "fixed", "dropped", "lifted", "touched", "counted",
               "remembered", "forgot", "liked", "wanted", "needed", "loved", "chased", "caught",
               "studied", "wrote", "drew", "brought", "kept", "hid", "shared", "noticed")
_INTRANSITIVE = ("slept", "laughed", "waited", "smiled", "danced", "arrived", "jumped",
                 "walked", "ran", "swam", "cried", "listened", "worked", "rested", "stayed",
                 "fell", "shouted", "whispered", "returned", "sang")
_ADVERBS = ("quickly", "slowly", "quietly", "happily", "carefully", "suddenly", "often",
            "never", "always", "today", "yesterday", "again", "early", "late", "together",
            "outside", "soon", "almost", "finally", "twice")
_PREPOSITIONS = ("in", "on", "near", "behind", "under", "over", "with", "across", "beside",
                 "through", "from", "into")
_CONJUNCTIONS = ("and", "but", "because", "while", "so")

VOCABULARY = frozenset(_DETERMINERS + _ADJECTIVES + _NOUNS + _TRANSITIVE + _INTRANSITIVE
                       + _ADVERBS + _PREPOSITIONS + _CONJUNCTIONS)


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _noun_phrase(rng: np.random.Generator) -> list[str]:
    adjective = [_pick(rng, _ADJECTIVES)] if rng.random() < 0.5 else []
    return [_pick(rng, _DETERMINERS), *adjective, _pick(rng, _NOUNS)]


def _clause(rng: np.random.Generator) -> list[str]:
    words = _noun_phrase(rng)
    if rng.random() < 0.6:
        words += [_pick(rng, _TRANSITIVE), *_noun_phrase(rng)]
    else:
        words += [_pick(rng, _INTRANSITIVE)]
    if rng.random() < 0.35:
        words += [_pick(rng, _PREPOSITIONS), *_noun_phrase(rng)]
    if rng.random() < 0.3:
        words += [_pick(rng, _ADVERBS)]
    return words


def sentence(rng: np.random.Generator) -> str:
    """A random grammatical sentence over VOCABULARY, lower case, without punctuation."""
    words = _clause(rng)
    if rng.random() < 0.25:
        words += [_pick(rng, _CONJUNCTIONS), *_clause(rng)]
    return " ".join(words)
