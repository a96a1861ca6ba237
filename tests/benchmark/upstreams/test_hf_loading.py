"""`hf:` dispatch (earbench checkpoint or transformers repo), the fetch of a repo by name, and
its offline failure: one line, naming the repo and how to fetch it ahead of time."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("transformers")

import huggingface_hub  # noqa: E402

from benchmark.errors import EarbenchError, UpstreamError  # noqa: E402
from benchmark.upstream import fingerprint, load_upstream  # noqa: E402
from benchmark.upstreams.hf_hub import TRANSFORMERS_FILES  # noqa: E402
from tests.benchmark.upstreams import tiny_transformers as tiny  # noqa: E402


@pytest.fixture(scope="module")
def wav2vec2(tmp_path_factory):
    return tiny.speech_encoder(tmp_path_factory.mktemp("repo") / "wav2vec2", "wav2vec2")


def test_a_repo_name_fetches_the_config_then_the_transformers_files(wav2vec2, monkeypatch):
    calls = []

    def snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision, tuple(allow_patterns)))
        return str(wav2vec2)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    remote = load_upstream("hf:facebook/wav2vec2-base@main")
    assert calls[0] == ("facebook/wav2vec2-base", "main", ("model.safetensors", "config.json"))
    assert calls[1] == ("facebook/wav2vec2-base", "main", TRANSFORMERS_FILES)
    assert len(calls) == 2  # the folder has safetensors: the legacy pickle is not asked for
    assert fingerprint(remote) == fingerprint(load_upstream(f"hf:{wav2vec2}"))


def test_offline_failure_is_one_line_naming_the_repo_and_the_fetch_command(monkeypatch):
    def offline(**kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("Cannot find the requested files in the cache.\nmore")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(EarbenchError) as err:
        load_upstream("hf:openai/whisper-base@v1")
    message = str(err.value)
    assert "\n" not in message and message.startswith("hf:openai/whisper-base@v1: not in the local Hugging Face cache")
    assert "`hf download openai/whisper-base --revision v1`" in message


def test_hf_hub_offline_is_honoured_and_fails_at_once(tmp_path):
    """The real huggingface_hub, HF_HUB_OFFLINE=1 and an empty cache: a clear error, no network, no wait."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1"}
    code = "from benchmark.upstream import load_upstream; load_upstream('hf:facebook/wav2vec2-base')"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "hf:facebook/wav2vec2-base: not in the local Hugging Face cache" in done.stderr
    assert "hf download facebook/wav2vec2-base" in done.stderr


def test_an_unsupported_model_type_or_a_missing_preprocessor_is_a_clear_error(wav2vec2, tmp_path):
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UpstreamError, match="model type 'bert' has no earbench adapter .*supported: .*wav2vec2"):
        load_upstream(f"hf:{other}")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((wav2vec2 / "config.json").read_text())
    with pytest.raises(UpstreamError, match="no preprocessor_config.json"):
        load_upstream(f"hf:{bare}")
