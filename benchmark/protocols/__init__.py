"""Protocols turn an upstream and a task into scores; each lives in its own module."""
from benchmark.protocols.base import PROTOCOLS, Protocol, RunContext

PROTOCOLS.register_lazy("linear", "benchmark.protocols.linear:LINEAR")

__all__ = ["PROTOCOLS", "Protocol", "RunContext"]
