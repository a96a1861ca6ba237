"""The harness's error types: each names the culprit (file, row, task or model)."""


class EarbenchError(Exception):
    """Base class: the CLI prints these as one clear line instead of a traceback."""


class TaskError(EarbenchError):
    """A task definition or its data is invalid."""


class AudioError(EarbenchError):
    """An audio file is missing, empty, corrupt or unreadable."""


class UpstreamError(EarbenchError):
    """An upstream violates the contract (rank, lengths, dtype, NaN, ...)."""


class ProtocolError(EarbenchError):
    """A protocol cannot run on this task or upstream."""
