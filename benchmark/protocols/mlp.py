"""HEAR's MLP probe: 1 or 2 hidden layers of 1024, dropout 0.1, Adam over a learning-rate
grid, early stopping; the depth and learning rate chosen on valid (hear-eval-kit).

The same heads as `linear` with hidden layers: clip, SED frame, CTC, speaker projection,
retrieval projection. `-o hidden=N` changes the width.
"""
from benchmark.protocols.base import Protocol
from benchmark.protocols.options import Option

MLP = Protocol("mlp", options=(
    Option("hidden", int, "width of the hidden layers", minimum=1),
    Option("max_epochs", int, "the most epochs of training", minimum=1),
    Option("patience", int, "epochs without a better valid score before training stops", minimum=1),
    Option("batch_size", int, "minibatch, in items (clips, SED frames, ASR utterances)", minimum=1),
    Option("embedding_dim", int, "width of the speaker and the retrieval projection", minimum=1),
    Option("lr", float, "learning rate of the retrieval projection", minimum=0, above=True),
    Option("max_train_frames", int, "SED: training frames kept (evenly strided)", minimum=1),
))
