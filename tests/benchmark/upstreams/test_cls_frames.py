"""Upstreams whose first frame is a CLS token (`has_cls`, e.g. AST): frame tasks read the
audio's timeline without it, so frame k still starts at k hops."""
import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.protocols import RunContext
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.upstream import Encoded, load_upstream
from models.baselines import LogMel
from tests.support.family_tasks import write_sed_task


class WithCLS(torch.nn.Module):
    """Log-mel frames behind `count` 'CLS' frames holding the clip's mean."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self, count: int | bool = True) -> None:
        super().__init__()
        self.inner, self.has_cls = LogMel(), count

    def forward(self, audio, lengths):
        out = self.inner(audio, lengths)
        h, n = out.hidden_states[0], out.lengths
        mask = (torch.arange(h.shape[1])[None, :] < n[:, None])[..., None]
        cls = ((h * mask).sum(1, keepdim=True) / n[:, None, None]).expand(-1, int(self.has_cls), -1)
        return Encoded([torch.cat([cls, h], dim=1)], n + int(self.has_cls))


def frames_of(upstream, task_root, cache_dir):
    task = load_task(task_root)
    ctx = RunContext(load_upstream(upstream), task, task.load(), RunSettings(progress=False, cache_root=cache_dir))
    return ctx.frames(ctx.part(task.runs()[0][1], "test"))


@pytest.fixture
def sed_task(tmp_path):
    return write_sed_task(tmp_path / "sed", n=8)


@pytest.mark.parametrize("count", [True, 2])
def test_frame_tasks_skip_the_cls_frames(sed_task, tmp_path, count):
    plain_data, plain_offsets = frames_of("logmel", sed_task, tmp_path / "cache")
    data, offsets = frames_of(WithCLS(count), sed_task, tmp_path / "cache")
    np.testing.assert_array_equal(offsets, plain_offsets)
    np.testing.assert_array_equal(data, plain_data)


def test_ast_frames_of_a_frame_task_leave_out_its_cls_frame(sed_task, tmp_path):
    tiny = pytest.importorskip("tests.benchmark.upstreams.tiny_transformers")  # needs transformers
    up = load_upstream(f"hf:{tiny.ast(tmp_path / 'ast')}")
    data, offsets = frames_of(up, sed_task, tmp_path / "cache")
    wave = torch.from_numpy(sf.read(load_task(sed_task).load()["test"]["path"].iloc[0], dtype="float32")[0])[None]
    with torch.inference_mode():
        out = up(wave, torch.tensor([wave.shape[1]]))
    real = int(out.lengths[0]) - 1  # every clip lasts 2 s
    assert (np.diff(offsets) == real).all()
    frames = out.hidden_states[-1][0, 1: 1 + real].numpy()  # frame 0 is the CLS frame
    assert np.abs(data[:real] - frames).max() < 1e-2 * np.abs(frames).max()  # the cache's float16
