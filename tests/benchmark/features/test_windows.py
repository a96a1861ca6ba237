"""Long clips in windows: geometry, stitching against unwindowed runs, CLS frames, clear errors
for bad declarations, and a 10-minute clip extracted in bounded memory."""
from __future__ import annotations

import contextlib
import re
import resource
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.errors import UpstreamError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import ExtractStats, encode_batch, extract, pool
from benchmark.features.windows import Windowing, encode_windows
from benchmark.upstream import Encoded, load_upstream
from benchmark.upstreams.check import check_upstream
from models.baselines import LogMel, RandomCNN, RandomTransformer

RATE = 16000
POOLINGS = ("frames", "mean", "max", "cls")


def windowed(module: torch.nn.Module, seconds: float, overlap: float | None = None) -> torch.nn.Module:
    module.max_seconds = seconds
    if overlap is not None:
        module.window_overlap_seconds = overlap
    return module.eval()


def logmel_frames(samples: int) -> int:
    return 1 + (samples - 400) // 160  # 25 ms windows, 10 ms hop, not centred


def encode(module: torch.nn.Module):  # type: ignore[no-untyped-def]
    return lambda audio, lengths, owners: encode_batch(module, audio, lengths, "m", ["clip"] * len(owners))


def unwindowed(module: torch.nn.Module, wave: torch.Tensor, pooling: str) -> np.ndarray:
    out = encode_batch(module, wave[None], torch.tensor([len(wave)]), "m", ["clip"])
    return pool(out.hidden_states, out.lengths, pooling)[0]


def test_windows_start_on_frames_and_cover_the_clip():
    w = Windowing.of(windowed(LogMel(), 2.0, 0.5))
    assert (w.length, w.stride, w.hop, w.prefix) == (32000, 24000, 160, 0)
    starts = w.starts(116800)
    assert starts == [0, 24000, 48000, 72000, 96000] and starts[-1] + w.length >= 116800 > starts[-2] + w.length
    assert w.cut(24000) == 150 + 25  # the middle of the 0.5 s overlap, in frames
    assert w.starts(32000) == [0] and w.starts(32001) == [0, 24000]
    assert w.per_forward(160.0, RATE) == 80 and w.per_forward(1.0, RATE) == 1
    # an overlap that is not a whole number of hops: the stride is rounded down to one
    assert Windowing.of(windowed(LogMel(), 2.0, 0.4999)).stride == 24000
    assert Windowing.of(windowed(LogMel(), 8.0)).stride == 8 * RATE - 2 * RATE  # default overlap: min(2 s, 1/4)
    assert Windowing.of(LogMel()) is None


@pytest.mark.parametrize("cls", [LogMel, RandomCNN])
@pytest.mark.parametrize("seconds", [7.3, 2.0 + 1 / RATE, 3.0048])
def test_local_frames_equal_an_unwindowed_run(cls, seconds):
    """Log-mel and a small CNN see 25 ms (+4 frames): half the 0.5 s overlap is plenty, so the
    stitched frames, and every pooling of them, are the unwindowed run's."""
    torch.manual_seed(0)
    module = windowed(cls(), 2.0, 0.5)
    wave = torch.randn(int(round(seconds * RATE)))
    for pooling in POOLINGS:
        got = encode_windows([wave], Windowing.of(module), pooling, 2, encode(module), ["clip"])[0]
        want = unwindowed(module, wave, pooling)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
        if pooling == "frames":
            assert len(got) == logmel_frames(len(wave))


def test_attention_frames_see_only_their_window():
    """The documented difference: the count and hop are an unwindowed run's, but a Transformer's
    frame attends within its window, so the frames are each window's own, cut at the overlap's middle."""
    torch.manual_seed(0)
    module = windowed(RandomTransformer(dim=32, layers=2, heads=2), 2.0, 0.5)
    w = Windowing.of(module)
    wave = torch.randn(int(4.5 * RATE))
    got = encode_windows([wave], w, "frames", 3, encode(module), ["clip"])[0]
    want = unwindowed(module, wave, "frames")
    assert got.shape == want.shape and len(got) == logmel_frames(len(wave))
    assert not np.allclose(got, want, atol=1e-2)  # attention over 2 s windows, not the whole clip
    starts = w.starts(len(wave))
    first = unwindowed(module, wave[: w.length], "frames")
    cut = w.cut(starts[1])
    np.testing.assert_allclose(got[:cut], first[:cut], rtol=1e-5, atol=1e-5)
    last = unwindowed(module, wave[starts[-1]:], "frames")
    np.testing.assert_allclose(got[w.cut(starts[-1]):], last[w.cut(starts[-1]) - starts[-1] // w.hop:],
                               rtol=1e-5, atol=1e-5)


class MeanFrames(torch.nn.Module):
    """Frames = means of 10 ms chunks; a CLS frame first = the mean of all the audio it is given."""

    sample_rate, hop_ms, has_cls = RATE, 10.0, True

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        frames = torch.div(lengths, 160, rounding_mode="floor").clamp_min(1)
        chunks = torch.nn.functional.pad(audio, (0, -audio.shape[1] % 160)).reshape(len(audio), -1, 160).mean(-1)
        cls = (audio.sum(1) / lengths)[:, None]
        x = torch.cat([cls, chunks], 1)[..., None].repeat(1, 1, 2)
        return Encoded([x], frames + 1)


def test_cls_frames_are_the_mean_of_the_windows():
    module = windowed(MeanFrames(), 1.0, 0.25)
    w = Windowing.of(module)
    assert w.prefix == 1
    wave = torch.randn(int(2.7 * RATE), dtype=torch.float64).float()
    got = encode_windows([wave], w, "frames", 2, encode(module), ["clip"])[0]
    starts = w.starts(len(wave))
    cls = np.mean([wave[s: s + w.length].double().mean().item() for s in starts])
    assert got[0, 0, 0] == pytest.approx(cls, abs=1e-6)
    np.testing.assert_allclose(got[1:, 0, 0], wave.reshape(-1, 160).mean(-1).numpy(), atol=1e-6)
    frames = np.concatenate([[cls], wave.reshape(-1, 160).mean(-1).numpy()])
    for pooling, expected in (("mean", frames.mean()), ("max", frames.max()), ("cls", cls)):
        value = encode_windows([wave], w, pooling, 2, encode(module), ["clip"])[0]
        assert value.shape == (1, 2) and value[0, 0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("attrs,message", [
    ({"max_seconds": -1.0}, "max_seconds=-1.0"),
    ({"max_seconds": "30"}, "max_seconds='30'"),
    ({"max_seconds": 2.0, "window_overlap_seconds": 2.0}, "must leave at least one frame hop"),
    ({"max_seconds": 2.0, "hop_ms": 12.34}, "not a whole number of samples"),
])
def test_a_bad_window_declaration_fails_at_load_in_one_line(attrs, message):
    module = LogMel()
    for key, value in attrs.items():
        setattr(module, key, value)
    with pytest.raises(UpstreamError, match=re.escape(message)) as err:
        load_upstream(module, name="my-encoder")
    assert "'my-encoder'" in str(err.value) and "\n" not in str(err.value)
    assert [c.ok for c in check_upstream(module) if c.name == "long clips in windows"] == [False]


class Sparse(MeanFrames):
    """Declares a 10 ms hop but gives one frame per 20 ms: a window lacks the frames its stride needs."""

    has_cls = False

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        out = super().forward(audio, lengths)  # a CLS frame, then one frame per 10 ms
        frames = out.lengths - 1
        return Encoded([h[:, 1::2] for h in out.hidden_states], (frames + 1) // 2)


def test_a_window_with_too_few_frames_is_a_clear_error(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(3 * RATE, dtype=np.float32), RATE)
    module = windowed(Sparse(), 1.0)
    with pytest.raises(UpstreamError, match=r"upstream 'Sparse' on .*long\.wav: window 2 of 4 starts at frame 75, .* up to 50"):
        extract(module, [str(path)], task="t", task_version="1", split="test", progress=False)
    assert [c.ok for c in check_upstream(module) if c.name == "long clips in windows"] == [False]


def test_check_encodes_a_long_clip_in_windows():
    checks = {c.name: c for c in check_upstream(windowed(RandomCNN(), 1.0, 0.25))}
    window = checks["long clips in windows"]
    assert window.ok and "2 forwards of at most 16000 samples" in window.detail, window.detail


def test_short_and_long_clips_of_one_batch(tmp_path):
    """A batch holding clips under and over the window: each embedding is the unwindowed one
    (a local model), and the long clip's windows take their own forwards."""
    rng = np.random.default_rng(0)
    paths = []
    for k, seconds in enumerate((0.7, 1.0, 3.3, 2.6)):
        paths.append(str(tmp_path / f"c{k}.wav"))
        sf.write(paths[-1], (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32), RATE)
    module, stats = windowed(RandomCNN(), 2.0), ExtractStats()
    emb = extract(module, paths, task="t", task_version="1", split="test", cache=EmbeddingCache(tmp_path / "c"),
                  batch_seconds=14.0, progress=False, stats=stats)  # one batch of 4 x 3.3 s
    assert stats.forwards == 1 + 1  # the two short clips, then the long ones' 2 + 2 windows (7 per forward)
    for k, path in enumerate(paths):
        wave = torch.from_numpy(sf.read(path, dtype="float32")[0])
        np.testing.assert_allclose(np.asarray(emb.data[k], dtype=np.float32), unwindowed(module, wave, "mean"),
                                   rtol=2e-3, atol=2e-3)  # the cache stores float16


# -- a 10-minute clip -------------------------------------------------------------------------

def status_mb(key: str) -> float:
    return int(re.search(rf"{key}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


@contextlib.contextmanager
def peak_rss_growth(limit_mb: float):  # type: ignore[no-untyped-def]
    """Yields a dict that gets `mb`, the peak RSS growth of the block (Linux: /proc/self/clear_refs
    resets the peak); the block may not reserve more than `limit_mb` of address space, so a
    regression fails as an allocation error instead of exhausting the machine."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("peak RSS cannot be reset here (/proc/self/clear_refs)")
    base, result = status_mb("VmRSS"), {}
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int((status_mb("VmSize") + limit_mb) * 2 ** 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield result
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        result["mb"] = status_mb("VmHWM") - base


def ten_minutes(tmp_path: Path) -> tuple[str, int]:
    samples = 10 * 60 * RATE
    path = tmp_path / "ten-minutes.wav"
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(samples)).astype(np.float32), RATE,
             subtype="PCM_16")
    return str(path), samples


def extract_frames(module: torch.nn.Module, path: str, tmp_path: Path, batch_seconds: float) -> np.ndarray:
    emb = extract(module, [path], task="long", task_version="1", split="test", pooling="frames",
                  cache=EmbeddingCache(tmp_path / "cache"), batch_seconds=batch_seconds, progress=False)
    return emb.item(0)


@pytest.mark.parametrize("make,bound_mb", [
    # unwindowed, this Transformer asks for its attention scores, 60 000^2 x 2 heads x 4 bytes = 28.8 GB;
    # in 5 s windows (short, to keep the test quick), 500^2 x 2 x 4 bytes = 2 MB each
    (lambda: windowed(RandomTransformer(dim=16, layers=1, heads=2), 5.0), 600),
    (LogMel, 600),  # no window: log-mel's memory grows linearly (the STFT of the whole clip)
], ids=["transformer", "logmel"])
def test_a_ten_minute_clip_is_extracted_in_bounded_memory(make, bound_mb, tmp_path):
    path, samples = ten_minutes(tmp_path)
    with peak_rss_growth(limit_mb=4096) as peak:
        frames = extract_frames(make().eval(), path, tmp_path, batch_seconds=30.0)
    assert frames.shape[0] == logmel_frames(samples) == 59998  # the hop and count of an unwindowed run
    assert peak["mb"] < bound_mb, f"peak RSS grew by {peak['mb']:.0f} MB"


@pytest.mark.slow
def test_random_transformer_on_a_ten_minute_clip_in_bounded_memory(tmp_path):
    """The issue's case (unwindowed: 57.6 GB): the default random-transformer (30 s windows) on
    10 minutes with the default 160 s batches: 5 windows per forward, 720 MB of attention
    scores per layer and as much for their softmax, plus the clip's 300 MB of frames."""
    path, samples = ten_minutes(tmp_path)
    with peak_rss_growth(limit_mb=8192) as peak:
        frames = extract_frames(load_upstream("random-transformer"), path, tmp_path, batch_seconds=160.0)
    assert frames.shape == (logmel_frames(samples), 5, 256)
    assert peak["mb"] < 2500, f"peak RSS grew by {peak['mb']:.0f} MB"
