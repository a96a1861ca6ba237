"""HEAR's MLP probe: 1 or 2 hidden layers of 1024, dropout 0.1, Adam over a learning-rate
grid, early stopping; the depth and learning rate chosen on valid (hear-eval-kit).

The same heads as `linear` with hidden layers: clip, SED frame, CTC, speaker projection,
retrieval projection. `-o hidden=N` changes the width.
"""
from benchmark.protocols.base import Protocol

MLP = Protocol("mlp")
