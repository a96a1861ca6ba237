"""`earbench convert`: the authors' released checkpoints of EAT and MATPAC as earbench encoders.

Each converter maps the official state dict (the key names and layouts of the authors' code)
onto the in-repo `SpectrogramViT` with the options that reproduce the official forward, and
writes earbench's checkpoint format (`models/checkpoint.py`), loadable as `ckpt:PATH`.
Files are read as tensors only (`safe_load.py`); every official tensor is either used once
or a known training-only part (`official_state.py`), so nothing is silently dropped.
"""
