"""The model zoo: public pretrained encoders by name, each pinned to a Hub repo and revision.

A zoo name (`wavlm-base-plus`, or the s3prl hub name of the same checkpoint, `wavlm_base_plus`)
loads the repo through the transformers adapters (benchmark/upstreams/hf_transformers.py),
exactly as `hf:REPO@REVISION` does, and the upstream carries the entry's `card` (repo,
revision, parameters, licence, training data, paper, rate and hop), which records keep in
their `upstream` section and the leaderboard shows.

Revisions are commit hashes, each with where it was published (`revision_source`): the Hub
could not be reached where the zoo was written, so a hash is one that public code pins, and
none is made up; `data2vec-audio-base` has no published pin and stays on the branch `main`.
Whatever the pin, a loaded upstream's card adds the `commit` its files were read from (the
Hugging Face cache's snapshot folder), so a record says which weights it scored either way.
Parameter counts are the authors' published ones, where
they give one (else counted on the architecture, as `params_note` says); a loaded model's
exact count is the record's `upstream.params`. A name whose repo is neither in the local
Hugging Face cache nor downloadable fails at once, in one line naming the repo and the
command that fetches it ahead of time (`hf_hub.fetch_failure`).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import UpstreamError
from benchmark.upstreams.hf_hub import CONFIG, fetch_transformers_repo, read_config

COMMIT = re.compile("[0-9a-f]{40}")

if TYPE_CHECKING:  # the zoo is a table read without torch (`earbench list models`); loading imports it
    import torch


@dataclass(frozen=True)
class ZooModel:
    """One pinned checkpoint and what is published about it."""

    name: str
    repo: str
    revision: str
    architecture: str  # the repo's config.json `model_type`
    params_m: float  # millions
    license: str
    training_data: str
    paper: str
    sample_rate: int
    hop_ms: float
    revision_source: str  # where the pinned commit was published (or why there is none)
    s3prl: tuple[str, ...] = ()  # s3prl hub names of the same checkpoint
    params_note: str = "published"

    @property
    def short_revision(self) -> str:
        """The pin as people write it: a commit's first 12 hex digits, or the branch."""
        return short_commit(self.revision)

    @property
    def spec(self) -> str:
        """The `hf:` spec this entry loads."""
        return f"hf:{self.repo}@{self.revision}"

    def card(self) -> dict[str, Any]:
        """What records carry about the checkpoint (JSON values only)."""
        card = asdict(self)
        card["s3prl"] = list(self.s3prl)
        return card

    def __call__(self) -> torch.nn.Module:
        """The upstream (an `earbench.upstreams` factory): fetched, or read from the local cache."""
        from benchmark.upstreams.hf_transformers import load_transformers_upstream  # torch, on first load only
        try:
            folder = fetch_transformers_repo(self.spec.removeprefix("hf:"))
        except UpstreamError as err:  # one line naming the repo and how to fetch it ahead of time
            raise UpstreamError(f"model {self.name!r}: {err}") from None
        config = read_config(folder / CONFIG)
        if config.get("model_type") != self.architecture:
            raise UpstreamError(f"model {self.name!r}: {self.spec} holds a {config.get('model_type')!r} model, "
                                f"not the zoo's {self.architecture!r}")
        upstream = load_transformers_upstream(folder, config, self.spec)
        upstream.earbench_name = self.name
        upstream.card = {**self.card(), "commit": snapshot_commit(folder)}
        return upstream


def short_commit(revision: str) -> str:
    return revision[:12] if COMMIT.fullmatch(revision) else revision


def snapshot_commit(folder: Path) -> str | None:
    """The commit a Hugging Face cache snapshot holds (`.../snapshots/<commit>`), else None."""
    return folder.name if folder.parent.name == "snapshots" and COMMIT.fullmatch(folder.name) else None


SPEECH_960H = "LibriSpeech 960 h, unlabelled"
#: where the pins were found: each in several independent projects, among them the snapshot folders
#: of their Hugging Face caches (`models--OWNER--REPO/snapshots/<commit>`, named after the commit)
CACHES = "the Hub commit in public projects' Hugging Face cache paths and pinned loaders"
MTEB = f"{CACHES}, and in MTEB's wrapper"
MODELS: tuple[ZooModel, ...] = (
    ZooModel("wav2vec2-base", "facebook/wav2vec2-base", "0b5b8e868dd84f03fd87d01f9c4ff0f080fecfe8", "wav2vec2",
             95, "Apache-2.0", SPEECH_960H, "Baevski et al. 2020, wav2vec 2.0, arXiv:2006.11477", 16000, 20.0,
             revision_source=MTEB, s3prl=("wav2vec2", "wav2vec2_base_960")),
    ZooModel("hubert-base", "facebook/hubert-base-ls960", "dba3bb02fda4248b6e082697eee756de8fe8aa8a", "hubert",
             95, "Apache-2.0", SPEECH_960H, "Hsu et al. 2021, HuBERT, arXiv:2106.07447", 16000, 20.0,
             revision_source=MTEB, s3prl=("hubert", "hubert_base")),
    ZooModel("wavlm-base-plus", "microsoft/wavlm-base-plus", "4c66d4806a428f2e922ccfa1a962776e232d487b", "wavlm",
             94.7, "MIT (the authors' release)", "Libri-Light 60k h + GigaSpeech 10k h + VoxPopuli 24k h, unlabelled",
             "Chen et al. 2022, WavLM, arXiv:2110.13900", 16000, 20.0,
             revision_source=MTEB, s3prl=("wavlm", "wavlm_base_plus")),
    ZooModel("data2vec-audio-base", "facebook/data2vec-audio-base", "main", "data2vec-audio", 93.2, "Apache-2.0",
             SPEECH_960H, "Baevski et al. 2022, data2vec, arXiv:2202.03555", 16000, 20.0,
             revision_source="none published that could be found offline: the branch, recorded as the loaded commit",
             s3prl=("data2vec", "data2vec_base_960"), params_note="counted on the architecture"),
    ZooModel("whisper-base", "openai/whisper-base", "e37978b90ca9030d5170a5c07aadb050351a65bb", "whisper", 74,
             "Apache-2.0", "680k h of weakly supervised web audio with transcripts",
             "Radford et al. 2022, Whisper, arXiv:2212.04356", 16000, 20.0, revision_source=CACHES,
             params_note="published, encoder and decoder (the encoder alone: about 20.6M)"),
    ZooModel("ast-audioset", "MIT/ast-finetuned-audioset-10-10-0.4593", "f826b80d28226b62986cc218e5cec390b1096902",
             "audio-spectrogram-transformer", 87, "BSD-3-Clause",
             "ImageNet (DeiT initialisation), then AudioSet, supervised", "Gong et al. 2021, AST, arXiv:2104.01778",
             16000, 100.0, revision_source=MTEB, s3prl=("ast",)),
    ZooModel("clap-htsat", "laion/clap-htsat-unfused", "8fa0f1c6d0433df6e97c127f64b2a1d6c0dcda8a", "clap", 153.5,
             "Apache-2.0", "LAION-Audio-630K audio-text pairs", "Wu et al. 2023, LAION-CLAP, arXiv:2211.06687",
             48000, 312.5, revision_source=MTEB, params_note="counted on the architecture, audio and text towers"),
)

#: name -> entry, for the zoo names and the s3prl names of the same checkpoints (the models
#: plugin's `earbench.upstreams` table: `earbench list models`, `--model NAME`)
ZOO: dict[str, ZooModel] = {alias: model for model in MODELS for alias in (model.name, *model.s3prl)}
