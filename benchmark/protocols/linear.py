"""Linear probing of frozen embeddings (HEAR, SUPERB): the capacity of the head is minimal,
so the score measures what the representation makes linearly available.

Each family names its head (`benchmark.family`): softmax/sigmoid clip heads, a frame head
with SED post-processing, a linear CTC head over characters, an AM-softmax projection for
speaker verification, a linear audio projection aligned with a text encoder for retrieval.
"""
from benchmark.protocols.base import Protocol
from benchmark.protocols.options import Option

LINEAR = Protocol("linear", options=(
    Option("solver", str, "how clip and SED heads are fitted: L-BFGS to convergence (the default) or Adam "
                          "with early stopping", choices=("lbfgs", "adam")),
    Option("max_epochs", int, "the most epochs of a head trained with Adam (ASR, speaker, retrieval; clip and "
                              "SED with solver=adam or attention pooling)", minimum=1),
    Option("patience", int, "epochs without a better valid score before such a head stops", minimum=1),
    Option("batch_size", int, "minibatch of such a head, in items (clips, SED frames, ASR utterances)",
           minimum=1),
    Option("embedding_dim", int, "width of the speaker and the retrieval projection", minimum=1),
    Option("lr", float, "learning rate of the retrieval projection", minimum=0, above=True),
    Option("max_train_frames", int, "SED: training frames kept (evenly strided)", minimum=1),
))
