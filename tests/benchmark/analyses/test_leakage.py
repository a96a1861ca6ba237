"""Attribute leakage: a representation that is the speaker one-hot leaks speaker and gender
fully and knows nothing of the task; log-mel knows both; tasks without attributes are refused."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from benchmark.analyses.leakage import attributes_of, leakage, resplit
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.upstream import Encoded
from tests.support.helpers import run_cli
from tests.support.tone_task import write_tone_task

RATE = 16000
LABELS = {"low": 300.0, "high": 2400.0}
SPEAKERS = {"s0": 500.0, "s1": 1300.0, "s2": 3100.0, "s3": 4200.0}  # each speaker's own tone
GENDER = {"s0": "f", "s1": "f", "s2": "m", "s3": "m"}


def write_speaker_task(root, per_pair: int = 4):
    """Clips of a label tone plus a speaker tone; every speaker says every label equally often."""
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True)
    rows = []
    for label, f_label in LABELS.items():
        for spk, f_spk in SPEAKERS.items():
            for i in range(per_pair):
                t = np.arange(int(0.5 * RATE)) / RATE
                wave = 0.3 * np.sin(2 * np.pi * f_label * t) + 0.3 * np.sin(2 * np.pi * f_spk * t)
                wave += 0.01 * rng.standard_normal(len(t))
                rel = f"audio/{label}_{spk}_{i}.wav"
                sf.write(root / rel, wave.astype(np.float32), RATE)
                rows.append(f"{rel},{label},{spk},{GENDER[spk]}")
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    n = len(rows)
    for split, part in (("train", rows[: n // 2]), ("valid", rows[n // 2: 3 * n // 4]), ("test", rows[3 * n // 4:])):
        (root / f"{split}.csv").write_text("path,label,speaker,gender\n" + "\n".join(part) + "\n")
    (root / "task.toml").write_text('name = "voices"\nfamily = "classification"\n')
    return root


class SpeakerOneHot(torch.nn.Module):
    """One frame per clip: the one-hot of the speaker tone with the most energy (and nothing else)."""

    sample_rate, hop_ms = RATE, 500.0

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        spectrum = torch.fft.rfft(audio).abs()
        bins = [int(round(f * audio.shape[1] / RATE)) for f in SPEAKERS.values()]
        energy = torch.stack([spectrum[:, b - 2: b + 3].sum(1) for b in bins], 1)
        one_hot = torch.nn.functional.one_hot(energy.argmax(1), len(bins)).float()
        return Encoded([one_hot[:, None, :]], torch.ones(len(audio), dtype=torch.long))


def test_the_speaker_one_hot_leaks_fully_and_knows_no_label(tmp_path):
    spec = load_task(str(write_speaker_task(tmp_path / "voices")))
    assert attributes_of(spec) == ["speaker", "gender"]
    analysis = leakage([SpeakerOneHot(), "logmel"], [spec], RunSettings(results=tmp_path / "r", progress=False),
                       seeds=1, out=tmp_path / "o")
    assert analysis.summary["SpeakerOneHot", "voices: speaker"][0] == 1.0
    assert analysis.summary["SpeakerOneHot", "voices: gender"][0] == 1.0
    task_score = {p.panel: p.x for p in analysis.points if p.series == "SpeakerOneHot"}["voices: speaker"]
    assert task_score <= 0.75  # balanced speakers x labels: the one-hot says nothing of the label
    logmel = {p.panel: (p.x, p.score) for p in analysis.points if p.series == "logmel"}
    assert logmel["voices: speaker"][0] == 1.0 and logmel["voices: speaker"][1] >= 0.9
    text = analysis.report.read_text()
    assert "| SpeakerOneHot | voices | accuracy |" in text and "| speaker | 4 | 1.0000 |" in text
    assert analysis.report.with_suffix(".svg").read_text().startswith("<svg")


def test_resplit_keeps_every_value_in_every_split():
    clips = pd.DataFrame({"path": [f"/a/{i}.wav" for i in range(14)],
                          "speaker": ["x"] * 8 + ["y"] * 4 + ["z"] * 2})
    parts = resplit(clips, "speaker", "k")
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [4 + 2, 2 + 1, 2 + 1]  # z (2 clips) dropped
    assert all(set(parts[s]["label"]) == {"x", "y"} for s in parts)
    assert parts["train"].equals(resplit(clips, "speaker", "k")["train"])  # fixed by its key
    assert not set(parts["train"]["path"]) & set(parts["test"]["path"])


def test_a_task_without_attributes_is_refused(tmp_path, capsys):
    tones = write_tone_task(tmp_path / "tones", per_class=4)
    code, _, err = run_cli(capsys, "analyse", "leakage", "-m", "logmel", "-t", str(tones), "--results",
                           str(tmp_path / "r"), "--out", str(tmp_path / "o"))
    assert code == 2 and "has an attribute column" in err


def write_speakers_csv(root, rows):
    (root / "speakers.csv").write_text("speaker,gender,accent\n" + "\n".join(rows) + "\n")


def test_speaker_metadata_comes_from_speakers_csv_joined_on_the_speaker_or_the_label(tmp_path):
    from benchmark.analyses.leakage import attribute_task
    root = write_speaker_task(tmp_path / "voices")
    for split in ("train", "valid", "test"):  # the manifests lose their gender column
        frame = pd.read_csv(root / f"{split}.csv")
        frame.drop(columns="gender").to_csv(root / f"{split}.csv", index=False)
    write_speakers_csv(root, ["s0,f,a", "s1,f,b", "s2,m,a", "s3,,b"])  # s3's gender unknown
    spec = load_task(str(root))
    assert attributes_of(spec) == ["speaker", "gender", "accent"]
    gender = attribute_task(spec, "gender").load()
    everything = pd.concat([gender[s] for s in ("train", "valid", "test")])
    assert len(everything) == 3 * 2 * 4 and not any("/low_s3_" in p or "/high_s3_" in p for p in everything["path"])  # s3 left out
    assert all(("_s2_" in p.rsplit("/", 1)[1]) == (label == "m") for p, label in zip(everything["path"], everything["label"]))
    # speaker identification: the label is the speaker, and the join is on it
    sid = tmp_path / "sid"
    sid.mkdir()
    (sid / "audio").symlink_to(root / "audio")
    for split in ("train", "valid", "test"):
        frame = pd.read_csv(root / f"{split}.csv")
        frame[["path", "speaker"]].rename(columns={"speaker": "label"}).to_csv(sid / f"{split}.csv", index=False)
    (sid / "task.toml").write_text('name = "sid"\nfamily = "classification"\n')
    write_speakers_csv(sid, ["s0,f,a", "s1,f,b", "s2,m,a", "s3,m,b"])
    spec = load_task(str(sid))
    assert attributes_of(spec) == ["gender", "accent"]
    accent = pd.concat(attribute_task(spec, "accent").load().values())
    assert all((p.rsplit("/", 1)[1].split("_")[1] in ("s0", "s2")) == (a == "a") for p, a in zip(accent["path"], accent["label"]))


@pytest.mark.parametrize("content,message", [("who,gender\ns0,f\n", "needs a 'speaker' column"),
                                             ("speaker,gender\ns0,f\ns0,m\n", "speaker 's0' has two rows")])
def test_a_bad_speakers_csv_is_one_line_naming_it(tmp_path, content, message):
    from benchmark.errors import TaskError
    root = write_speaker_task(tmp_path / "voices")
    (root / "speakers.csv").write_text(content)
    with pytest.raises(TaskError, match=f"speakers.csv: {message}"):
        attributes_of(load_task(str(root)))
