"""A bidirectional Mamba-style selective state-space stack, in plain PyTorch.

Each block is Mamba's (Gu & Dao 2023): `in_proj` to (x, z), a causal depthwise conv and
SiLU on x, input-dependent step `dt`, `B`, `C` from x, the selective scan

    h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t,      y_t = C_t . h_t + D x_t,

gated by SiLU(z) and projected back. Bidirectional as in Vision Mamba / SSAMBA / Audio
Mamba: a second (conv, x_proj, dt, A, D) runs over the reversed sequence and the two
directions are summed before `out_proj`. The cost is linear in the sequence length.

The scan is chunked: inside a chunk of `CHUNK` steps the states come from cumulative sums
of `dt A` (log space, vectorised over all chunks), and one short Python loop carries the
state from chunk to chunk. No custom kernels. A step's decay `exp(dt A)` is floored at
`exp(-MAX_DECAY)` (a state that decays faster than that is forgotten anyway) so that
`exp(-cumsum)` inside a chunk stays finite in float32.

Padding: valid tokens are a prefix (`keep` [B, N]). The forward direction is causal, so
padding after a clip never reaches it; the backward direction reverses each item's valid
prefix only, so a clip gives the same outputs alone or padded in a batch.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.heads.padding import reverse_prefix

CHUNK = 16
MAX_DECAY = 5.0  # per step; CHUNK * MAX_DECAY = 80 < log(float32 max) = 88


def selective_scan(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor) -> torch.Tensor:
    """x, dt [b, L, d]; A [d, n]; B, C [b, L, n]; D [d] -> y [b, L, d] (float32)."""
    b, length, d = x.shape
    n = A.shape[1]
    x, dt, B, C = x.float(), dt.float(), B.float(), C.float()
    pad = -length % CHUNK
    if pad:
        x, dt = F.pad(x, (0, 0, 0, pad)), F.pad(dt, (0, 0, 0, pad))
        B, C = F.pad(B, (0, 0, 0, pad)), F.pad(C, (0, 0, 0, pad))
    chunks = (length + pad) // CHUNK
    # cumulative sums within each chunk as one matmul with a triangle of ones (torch's
    # cumsum along a middle dimension is several times slower on CPU)
    tri = torch.ones(CHUNK, CHUNK, device=x.device).tril()
    log_decay = (dt[..., None] * A.float()).clamp_min(-MAX_DECAY)  # [b, L, d, n], <= 0
    cum = torch.matmul(tri, log_decay.view(b * chunks, CHUNK, d * n))
    u = ((dt * x)[..., None] * B[:, :, None, :]).view(b * chunks, CHUNK, d * n)  # the inputs dt B x
    summed = torch.matmul(tri, u * torch.exp(-cum)).view(b, chunks, CHUNK, d, n)
    decay = torch.exp(cum).view(b, chunks, CHUNK, d, n)  # decay from the chunk start to each step
    carried = []
    h = x.new_zeros(b, d, n)
    for c in range(chunks):
        carried.append(h)
        h = decay[:, c, -1] * (summed[:, c, -1] + h)
    h0 = torch.stack(carried, 1)[:, :, None]  # [b, chunks, 1, d, n]: the state entering each chunk
    states = ((summed + h0) * decay).view(b, chunks * CHUNK, d, n)[:, :length]
    y = torch.einsum("bldn,bln->bld", states, C[:, :length])
    return y + x[:, :length] * D.float()


class Direction(nn.Module):
    """One direction's conv, projections and SSM parameters."""

    def __init__(self, inner: int, state: int, conv: int, dt_rank: int) -> None:
        super().__init__()
        self.state, self.dt_rank = state, dt_rank
        self.conv = nn.Conv1d(inner, inner, conv, groups=inner, padding=conv - 1)
        self.x_proj = nn.Linear(inner, dt_rank + 2 * state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, inner)
        # Mamba's initialisation: dt in [1e-3, 1e-1] log-uniformly, A = -(1..N), D = 1
        dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            nn.init.uniform_(self.dt_proj.weight, -dt_rank ** -0.5, dt_rank ** -0.5)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [b, L, inner] -> [b, L, inner]; causal in L."""
        length = x.shape[1]
        x = F.silu(self.conv(x.transpose(1, 2))[..., :length].transpose(1, 2))
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.state, self.state], dim=-1)
        dt = F.softplus(self.dt_proj(dt).float())
        return selective_scan(x, dt, -torch.exp(self.A_log.float()), B, C, self.D).to(x.dtype)


class BiMamba(nn.Module):
    """The token mixer: use it where a Transformer block has attention."""

    def __init__(self, dim: int, state: int = 16, expand: int = 2, conv: int = 4) -> None:
        super().__init__()
        inner = expand * dim
        self.in_proj = nn.Linear(dim, 2 * inner)
        self.forward_dir = Direction(inner, state, conv, math.ceil(dim / 16))
        self.backward_dir = Direction(inner, state, conv, math.ceil(dim / 16))
        self.out_proj = nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        lengths = (torch.full((x.shape[0],), x.shape[1], device=x.device) if keep is None
                   else keep.sum(1))
        if keep is not None:
            x = x * keep[..., None].to(x.dtype)
        u, z = self.in_proj(x).chunk(2, dim=-1)
        y = self.forward_dir(u) + reverse_prefix(self.backward_dir(reverse_prefix(u, lengths)), lengths)
        return self.out_proj(y * F.silu(z))


class SSMBlock(nn.Module):
    """Pre-norm residual block: BiMamba mixer then an MLP (SSAMBA / Vim keep the MLP of ViT)."""

    def __init__(self, dim: int, state: int = 16, expand: int = 2, conv: int = 4, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mixer = BiMamba(dim, state, expand, conv)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)) if hidden else None

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x)) if self.mlp is not None else x


class SSMStack(nn.Module):
    """Drop-in for `models.vit.Transformer`: same `forward(x, keep, all_layers)` and `block_outputs`."""

    def __init__(self, dim: int, depth: int, state: int = 16, expand: int = 2, conv: int = 4,
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(SSMBlock(dim, state, expand, conv, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        layers = [x]
        for block in self.blocks:
            x = block(x, keep)
            layers.append(x)
        layers[-1] = self.norm(x)
        return layers if all_layers else layers[-1]

    def block_outputs(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
        outs = []
        for block in self.blocks:
            x = block(x, keep)
            outs.append(x)
        return outs
