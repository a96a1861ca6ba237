"""The model zoo: named public checkpoints pinned to a repo and revision, with their published
facts in `earbench list models`, in records and on the leaderboard; offline, a name whose
weights are not cached fails at once in one line."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("transformers")

import huggingface_hub  # noqa: E402

from benchmark import evaluate  # noqa: E402
from benchmark.errors import UpstreamError  # noqa: E402
from benchmark.upstream import UPSTREAMS, fingerprint, load_upstream  # noqa: E402
from benchmark.upstreams.hf_hub import TRANSFORMERS_FILES  # noqa: E402
from benchmark.upstreams.zoo import MODELS, ZOO, snapshot_commit  # noqa: E402
from leaderboard.aggregate import entry_facts  # noqa: E402
from leaderboard.records import read_records  # noqa: E402
from tests.benchmark.upstreams import tiny_transformers as tiny  # noqa: E402
from tests.support.helpers import run_cli  # noqa: E402

COMMIT = "1234567890abcdef1234567890abcdef12345678"  # the commit a fake cache snapshot holds
NAMES = ("wav2vec2-base", "hubert-base", "wavlm-base-plus", "data2vec-audio-base", "whisper-base", "ast-audioset",
         "clap-htsat")


def test_the_zoo_names_the_issues_checkpoints_each_pinned_with_its_facts():
    assert tuple(m.name for m in MODELS) == NAMES
    for m in MODELS:
        assert "/" in m.repo and m.paper and m.license and m.training_data and m.revision_source
        # a commit hash, except the one entry whose pin could not be found, which says so
        assert re.fullmatch("[0-9a-f]{40}", m.revision) or (m.revision == "main" and "none" in m.revision_source)
        assert m.short_revision == (m.revision[:12] if m.revision != "main" else "main")
        assert m.params_m > 0 and m.sample_rate in (16000, 48000) and m.hop_ms > 0
        assert all(ZOO[alias] is m for alias in (m.name, *m.s3prl))
    assert {name for name in ZOO} <= set(UPSTREAMS.names())  # `--model NAME` and `earbench list models`


def test_s3prl_names_are_s3prl_hub_entries():
    s3prl_hub = pytest.importorskip("benchmark.upstreams.s3prl_hub")
    pytest.importorskip("s3prl")
    for m in MODELS:
        for alias in m.s3prl:
            assert callable(s3prl_hub.hub_entry(alias)), alias


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The Hub replaced by tiny random repos of each zoo entry's architecture; records the calls."""
    calls = []
    builders = {"wav2vec2": lambda f: tiny.speech_encoder(f, "wav2vec2"),
                "hubert": lambda f: tiny.speech_encoder(f, "hubert")}

    def snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision, tuple(allow_patterns)))
        model = next(m for m in MODELS if m.repo == repo_id)
        folder = tmp_path / "hub" / model.name / "snapshots" / COMMIT  # the Hub cache's layout
        return str(folder if folder.is_dir() else builders[model.architecture](folder))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_a_zoo_name_or_its_s3prl_name_loads_the_pinned_repo_and_carries_its_card(hub, tmp_path):
    up = load_upstream("hubert_base")
    assert hub == [("facebook/hubert-base-ls960", "dba3bb02fda4248b6e082697eee756de8fe8aa8a", TRANSFORMERS_FILES)]
    assert up.earbench_name == "hubert-base" and up.earbench_source == "hubert_base"
    # the card is the entry's, plus the commit the cache snapshot holds
    assert up.card == {**ZOO["hubert-base"].card(), "commit": COMMIT} and up.card["paper"].endswith("arXiv:2106.07447")
    # the same files under their zoo name, their s3prl name or hf: embed alike
    assert fingerprint(up) == fingerprint(load_upstream("hubert-base"))
    assert fingerprint(up) == fingerprint(load_upstream(f"hf:{tmp_path / 'hub' / 'hubert-base' / 'snapshots' / COMMIT}"))


def test_the_commit_loaded_is_read_only_from_a_cache_snapshot_folder(tmp_path):
    assert snapshot_commit(tmp_path / "snapshots" / COMMIT) == COMMIT
    assert snapshot_commit(tmp_path / "elsewhere" / COMMIT) is None  # a user's folder named like a hash
    assert snapshot_commit(tmp_path / "snapshots" / "main") is None


def test_a_repo_of_another_architecture_is_refused(hub, tmp_path):
    tiny.speech_encoder(tmp_path / "hub" / "wavlm-base-plus" / "snapshots" / COMMIT, "hubert")
    with pytest.raises(UpstreamError, match="model 'wavlm-base-plus': hf:microsoft/wavlm-base-plus@4c66d4806a42"
                                            "[0-9a-f]{28} holds a 'hubert' model, not the zoo's 'wavlm'"):
        load_upstream("wavlm-base-plus")


def test_records_and_the_leaderboard_carry_the_card(hub, tone_task, tmp_path):
    (record,) = evaluate("wav2vec2-base", [tone_task], results=tmp_path / "results", progress=False)
    card = record["upstream"]["card"]
    assert record["upstream"]["name"] == "wav2vec2-base" and card["repo"] == "facebook/wav2vec2-base"
    assert card["revision"] == "0b5b8e868dd84f03fd87d01f9c4ff0f080fecfe8" and card["commit"] == COMMIT
    assert card["license"] == "Apache-2.0"
    assert card["s3prl"] == ["wav2vec2", "wav2vec2_base_960"]
    frame, problems = read_records(tmp_path / "results")
    assert not problems and frame["card"].iloc[0] == card
    facts = entry_facts(frame.assign(entry=frame["model"]))
    assert facts.loc["wav2vec2-base", "compute"] == ("LibriSpeech 960 h, unlabelled; Apache-2.0; Baevski et al. 2020, "
                                                     f"wav2vec 2.0, arXiv:2006.11477; facebook/wav2vec2-base@{COMMIT[:12]}")


def test_a_zoo_name_not_in_the_cache_fails_at_once_in_one_line(monkeypatch):
    def offline(**kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("Cannot find the requested files in the cache.\nmore")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(UpstreamError) as err:
        load_upstream("wavlm_base_plus")
    message = str(err.value)
    assert "\n" not in message
    pin = ZOO["wavlm-base-plus"].revision
    assert message.startswith(f"model 'wavlm-base-plus': hf:microsoft/wavlm-base-plus@{pin}: not in the local "
                              "Hugging Face cache")
    assert message.endswith(f"fetch it ahead of time with `hf download microsoft/wavlm-base-plus --revision {pin}`")


def test_hf_hub_offline_is_honoured_for_zoo_names(tmp_path):
    """The real huggingface_hub, HF_HUB_OFFLINE=1 and an empty cache: `earbench check NAME` fails in one line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1",
           "COLUMNS": "1000"}
    command = [sys.executable, "-c", "from benchmark.cli import main; main()", "check", "whisper-base"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    pin = ZOO["whisper-base"].revision
    assert len(lines) == 1 and f"model 'whisper-base': hf:openai/whisper-base@{pin}: not in the local" in lines[0]
    assert f"`hf download openai/whisper-base --revision {pin}`" in lines[0]


def test_list_models_shows_the_zoo_with_its_facts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = run_cli(capsys, "list", "models")
    assert code == 0
    for m in MODELS:
        line = next(line for line in out.splitlines() if f" {m.name} " in line)
        assert f"{m.repo} @ {m.short_revision}" in line and m.license in line and f"{m.hop_ms:g}" in line and str(m.sample_rate) in line
    others = next(line for line in out.splitlines() if line.startswith("other upstreams: "))
    others = set(others.removeprefix("other upstreams: ").split(", "))
    assert {"logmel", "random-cnn"} <= others and not others & set(ZOO)  # zoo names are in the table only
