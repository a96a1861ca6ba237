"""Peak tensor memory of a computation on the CPU, where torch keeps no allocator statistics.

`PeakTensorBytes` watches every aten operation's outputs (a `TorchDispatchMode`): each new
storage adds its bytes while any tensor on it is alive (weak references say when the last
one dies), and the peak of that sum is kept. An output on the storage of one of the
operation's inputs (a view such as `weight.t()`, or an in-place result) allocates nothing
and is not counted, so views of tensors made before the block (the weights) add nothing.
What a kernel allocates for itself and frees before returning is not seen, so this is a
lower bound on the allocator's peak; on CUDA, `torch.cuda.max_memory_allocated` is used instead."""
from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class PeakTensorBytes(TorchDispatchMode):
    """`with PeakTensorBytes() as watch: ...` -> `watch.peak`: the most bytes of CPU tensors made
    inside the block that were alive at once."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[int, dict[int, weakref.ref]]] = {}  # storage address -> (bytes, its tensors)
        self.now = 0
        self.peak = 0

    def _dead(self, key: int, ref: weakref.ref) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1].pop(id(ref), None)
        if not entry[1]:
            self.now -= entry[0]
            del self.live[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 - torch's signature
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu":
                storage = tensor.untyped_storage()
                key = storage.data_ptr()
                if key not in self.live:
                    if key in inputs:  # a view or an in-place result: no new memory
                        continue
                    self.live[key] = (storage.nbytes(), {})
                    self.now += storage.nbytes()
                ref = weakref.ref(tensor, lambda r, k=key: self._dead(k, r))
                self.live[key][1][id(ref)] = ref
        self.peak = max(self.peak, self.now)
        return out
