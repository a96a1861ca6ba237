import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.features.audio import bucket_batches, collate, load_for, read_audio
from benchmark.errors import AudioError


def test_resamples_to_the_upstream_rate(tmp_path):
    t = np.arange(8000) / 8000
    sf.write(tmp_path / "a.wav", np.sin(2 * np.pi * 440 * t).astype(np.float32), 8000)
    wave = load_for(str(tmp_path / "a.wav"), 16000)
    assert wave.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(wave.numpy()))
    assert abs(np.argmax(spectrum) * 16000 / len(wave) - 440) < 2


def test_stereo_is_averaged_to_mono(tmp_path):
    sf.write(tmp_path / "s.wav", np.stack([np.ones(100), -np.ones(100)], 1).astype(np.float32) * 0.5, 16000)
    samples, rate = read_audio(str(tmp_path / "s.wav"))
    assert samples.shape == (100,) and rate == 16000 and np.allclose(samples, 0)


@pytest.mark.parametrize("content,message", [(b"", "cannot read audio"), (b"RIFF0000WAVEjunk", "cannot read audio")])
def test_corrupt_files_name_the_file(tmp_path, content, message):
    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(AudioError, match=f"bad.wav: {message}"):
        read_audio(str(tmp_path / "bad.wav"))


def test_empty_file_is_reported(tmp_path):
    sf.write(tmp_path / "e.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="e.wav: audio file is empty"):
        read_audio(str(tmp_path / "e.wav"))


def test_batches_respect_the_duration_budget():
    rng = np.random.default_rng(0)
    durations = list(rng.uniform(0.5, 30, 200)) + [100.0]
    batches = bucket_batches(durations, max_batch_s=60.0)
    assert sorted(i for b in batches for i in b) == list(range(201))
    for batch in batches:
        longest = max(durations[i] for i in batch)
        assert len(batch) == 1 or longest * len(batch) <= 60.0
    assert any(len(b) > 10 for b in batches)  # short clips share a batch


def test_collate_pads_and_reports_lengths():
    indices, audio, lengths = collate([(3, torch.ones(5)), (7, torch.ones(2))])
    assert indices == [3, 7] and lengths.tolist() == [5, 2]
    assert audio.shape == (2, 5) and audio[1, 2:].abs().sum() == 0
