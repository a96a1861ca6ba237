"""Checkpoints: bit-identical reloads, identical embeddings, `ckpt:` / `hf:` specs, clear errors."""
from __future__ import annotations

import json
import shutil

import pytest
import torch
from tests.support.micro_recipes import audio_batch, micro_recipe, write_audio_folder

from benchmark.upstream import fingerprint, load_upstream
from models.checkpoint import CheckpointError, load_encoder
from models.trainer import TrainSettings, pretrain


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-step EAT and BYOL-A run (module-scoped: shared by the tests below)."""
    root = tmp_path_factory.mktemp("ckpt")
    audio = write_audio_folder(root / "audio")
    runs = {}
    for name in ("eat-tiny", "byola-tiny"):
        runs[name] = pretrain(TrainSettings(recipe=micro_recipe(name, steps=2), data=str(audio), out=root / name,
                                            workers=0, progress=False))
    return runs


@pytest.mark.parametrize("name", ["eat-tiny", "byola-tiny"])
def test_checkpoint_reloads_bit_identically_and_embeds_identically(trained, name):
    result = trained[name]
    original = result.objective.encoder.eval()
    for spec in (f"ckpt:{result.out}", f"ckpt:{result.checkpoint}", f"ckpt:{result.checkpoint / 'model.safetensors'}"):
        loaded = load_upstream(spec)
        assert type(loaded) is type(original) and not loaded.training
        a, b = original.state_dict(), loaded.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        assert fingerprint(loaded) == fingerprint(original)
    audio, lengths = audio_batch(20000, batch=2), torch.tensor([20000, 12000])
    with torch.no_grad():
        x, y = original(audio, lengths), loaded(audio, lengths)
    assert torch.equal(x.lengths, y.lengths) and len(x.hidden_states) == len(y.hidden_states)
    assert all(torch.equal(h, g) for h, g in zip(x.hidden_states, y.hidden_states))
    init = load_upstream(f"ckpt:{result.out / 'init'}")  # the random-init twin: same shape, other weights
    assert init.state_dict().keys() == loaded.state_dict().keys() and fingerprint(init) != fingerprint(loaded)


def test_hf_spec_takes_a_local_folder_or_downloads_a_snapshot(trained, monkeypatch, tmp_path):
    folder = trained["eat-tiny"].checkpoint
    local = load_upstream(f"hf:{folder}")
    calls = []

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision, tuple(allow_patterns)))
        return str(folder)

    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    remote = load_upstream("hf:someone/eat-tiny@v1")
    assert calls == [("someone/eat-tiny", "v1", ("model.safetensors", "config.json"))]
    assert fingerprint(remote) == fingerprint(local)

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(CheckpointError, match="hf:someone/else.*no network"):
        load_upstream("hf:someone/else")


def _copy(trained, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(trained["eat-tiny"].checkpoint, folder)
    return folder


def test_truncated_weights_give_a_clear_error(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"{weights}.*corrupt"):
        load_encoder(folder)
    config = json.loads((folder / "config.json").read_text())
    del config["weights_sha256"]  # without the recorded hash, safetensors itself refuses the file
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"{weights}: not a readable safetensors file"):
        load_encoder(folder)


def test_flipped_bytes_are_caught_by_the_recorded_hash(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 differs"):
        load_encoder(folder)


def test_mismatched_config_names_the_file_and_the_tensors(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["encoder"]["dim"] = 32
    config["encoder"]["depth"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: does not match its configuration: missing .*"
                                              r"shape mismatch"):
        load_encoder(folder)


def test_broken_or_missing_files_give_clear_errors(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"config\.json: corrupt JSON"):
        load_encoder(folder)
    (folder / "config.json").write_text(json.dumps({"format": "earbench-encoder", "encoder": {"kind": "mystery"}}))
    with pytest.raises(CheckpointError, match="unknown encoder kind 'mystery'"):
        load_encoder(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config\.json: missing"):
        load_encoder(folder)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_upstream(f"ckpt:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="neither a checkpoint"):
        load_upstream(f"ckpt:{tmp_path / 'empty'}")


def test_corrupt_train_state_stops_a_resume_with_a_clear_error(tmp_path):
    audio = write_audio_folder(tmp_path / "audio", count=3)
    settings = dict(recipe=micro_recipe("audiomae-tiny", steps=2), data=str(audio), out=tmp_path / "run",
                    workers=0, progress=False)
    pretrain(TrainSettings(**settings, stop_after=1))
    state = tmp_path / "run" / "step-00000001" / "train_state.safetensors"
    state.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=f"{state}"):
        pretrain(TrainSettings(**settings, resume=True))
