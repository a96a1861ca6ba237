"""Linear probing of frozen embeddings (HEAR, SUPERB): the capacity of the head is minimal,
so the score measures what the representation makes linearly available.

Each family names its head (`benchmark.family`): softmax/sigmoid clip heads, a frame head
with SED post-processing, a linear CTC head over characters, an AM-softmax projection for
speaker verification, a linear audio projection aligned with a text encoder for retrieval.
"""
from benchmark.protocols.base import Protocol

LINEAR = Protocol("linear")
