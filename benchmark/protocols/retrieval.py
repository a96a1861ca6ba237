"""Text-to-audio retrieval on captioned clips (Clotho-style: R@1/5/10, mAP@10).

`linear` / `mlp`: a projection of the frozen audio embeddings (linear or one hidden
layer) is aligned contrastively (symmetric InfoNCE, learned temperature, as in CLAP)
with a small text encoder trained from scratch on the training captions; the epoch is
chosen on valid mAP@10. `knn`: no training at all: a query scores a test clip by the
audio similarity of the training clips whose captions are closest to it (TF-IDF), the
number of neighbours chosen on valid. Upstreams with their own text tower are scored
in their shared space by the `zeroshot` protocol.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.device import to_device
from benchmark.heads.featurizer import WeightedLayerSum
from benchmark.heads.fit import fit_module
from benchmark.scoring.items import ItemOutputs, query_outputs
from benchmark.scoring.metrics import METRICS
from benchmark.heads.grid import minibatches
from benchmark.protocols.base import HeadResult, Part, RunContext
from benchmark.protocols.probing import Pooled
from benchmark.heads.text_encoder import BagOfWordsEncoder, WordVocabulary

EMBEDDING_DIM = 256
NEIGHBOURS = (1, 3, 5, 10, 20, 50)


def queries(part: Part) -> tuple[list[str], list[set[int]]]:
    """Every caption of the part as a query, and the clip it describes (its relevant set)."""
    texts, relevant = [], []
    for i, captions in enumerate(part.manifest["captions"]):
        for caption in captions:
            texts.append(str(caption))
            relevant.append({i})
    return texts, relevant


def retrieval_metrics(names: tuple[str, ...], test: Part, similarity: np.ndarray,
                      relevant: list[set[int]]) -> tuple[dict[str, float], ItemOutputs]:
    """The task's metrics of the query x clip similarities, and each query's rank behind them."""
    return ({name: METRICS.get(name)(similarity, relevant) for name in names},
            query_outputs(list(test.manifest["path"]), similarity, relevant))


class TwoTower(torch.nn.Module):
    def __init__(self, audio_dim: int, vocabulary: int, out: int, hidden: int = 0, layers: int | None = None) -> None:
        super().__init__()
        mix = [WeightedLayerSum(layers)] if layers else []
        body = ([torch.nn.Linear(audio_dim, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(hidden, out)]
                if hidden else [torch.nn.Linear(audio_dim, out)])
        self.audio = torch.nn.Sequential(*mix, *body)
        self.text = BagOfWordsEncoder(vocabulary, out)
        self.logit_scale = torch.nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def embed_audio(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio(x), dim=-1)

    def embed_text(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(ids, offsets), dim=-1)


def run_two_tower(ctx: RunContext, roles: dict[str, list[str]], seed: int, kind: str) -> HeadResult:
    """Contrastive alignment of frozen audio embeddings with a text encoder trained from scratch."""
    train, valid, test = (ctx.part(roles, role, seed) for role in ("train", "valid", "test"))
    arrays = [ctx.clip(p) for p in (train, valid, test)]
    stats = Pooled.stats(arrays[0])
    x_train, x_valid, x_test = (Pooled(a, stats) for a in arrays)
    captions = [list(map(str, c)) for c in train.manifest["captions"]]
    words = WordVocabulary([c for cs in captions for c in cs])
    torch.manual_seed(seed)
    hidden = ctx.option("hidden", 1024) if kind == "mlp" else 0
    dim, lr = ctx.option("embedding_dim", EMBEDDING_DIM), ctx.option("lr", 1e-3)
    model = TwoTower(x_train.dim, len(words), dim, hidden=hidden, layers=x_train.layers)
    device = ctx.probe_device
    model.to(device)
    batch_size = ctx.option("batch_size", 64)
    valid_texts, valid_relevant = queries(valid)

    def batches(gen: torch.Generator):
        for idx in minibatches(len(x_train), batch_size, gen):
            if len(idx) < 2:
                continue
            picks = torch.randint(0, 1 << 30, (len(idx),), generator=gen)
            texts = [captions[int(i)][int(p) % len(captions[int(i)])] for i, p in zip(idx, picks)]
            yield x_train.batch(idx)[0], words.encode(texts)

    def step_loss(batch: tuple) -> torch.Tensor:
        audio, (ids, offsets) = to_device(batch, device)
        logits = model.logit_scale.exp().clamp(max=100) * model.embed_text(ids, offsets) @ model.embed_audio(audio).T
        target = torch.arange(len(audio), device=device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    def similarity(x: Pooled, texts: list[str]) -> np.ndarray:
        with torch.no_grad():  # float32, on the host: ranking metrics must order the scores
            text = model.embed_text(*to_device(words.encode(texts), device)).float()
            return (text @ model.embed_audio(x.x.to(device)).float().T).cpu().numpy()

    def validate() -> float:
        return METRICS.get("mAP@10")(similarity(x_valid, valid_texts), valid_relevant)

    chosen = fit_module(model, [{"params": list(model.parameters()), "lr": lr}], batches, step_loss, validate,
                        seed=seed, max_epochs=ctx.option("max_epochs", 200), patience=ctx.option("patience", 20))
    texts, relevant = queries(test)
    chosen = {"lr": lr, "embedding_dim": dim, "hidden": hidden, "epochs": chosen["epochs"],
              "valid_mAP@10": chosen["valid_score"], "text_encoder": "bag-of-words", "vocabulary": len(words)}
    if x_train.layers:
        chosen["layer_weights"] = model.audio[0].weights()
    metrics, items = retrieval_metrics(ctx.task.metrics, test, similarity(x_test, texts), relevant)
    return metrics, chosen, items


def run_caption_knn(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    """No training: score(query, clip) = sum over the k training clips with the most similar
    captions (TF-IDF cosine) of text similarity x audio cosine to the clip."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train, valid, test = (ctx.part(roles, role, seed) for role in ("train", "valid", "test"))
    arrays = [ctx.clip(p) for p in (train, valid, test)]
    mean, std = Pooled.stats(arrays[0])
    z_train, z_valid, z_test = (_unit((a - mean) / std) for a in arrays)
    train_texts, owner = [], []
    for i, captions in enumerate(train.manifest["captions"]):
        train_texts += list(map(str, captions))
        owner += [i] * len(captions)
    tfidf = TfidfVectorizer(token_pattern=r"[\w']+").fit(train_texts)
    train_matrix, owner = tfidf.transform(train_texts), np.asarray(owner)

    def text_to_train(texts: list[str]) -> np.ndarray:
        """[Q, N_train]: best caption similarity of each training clip."""
        sim = (tfidf.transform(texts) @ train_matrix.T).toarray()
        out = np.zeros((len(texts), len(train)))
        np.maximum.at(out.T, owner, sim.T)
        return out

    def scores(texts: list[str], z: np.ndarray, k: int) -> np.ndarray:
        sim = text_to_train(texts)
        if k < sim.shape[1]:
            cut = -np.partition(-sim, k - 1, axis=1)[:, k - 1: k]
            sim = np.where(sim >= cut, sim, 0.0)
        return sim @ (z_train @ z.T)

    valid_texts, valid_relevant = queries(valid)
    grid = [k for k in NEIGHBOURS if k <= len(train)] or [len(train)]
    valid_scores = [METRICS.get("mAP@10")(scores(valid_texts, z_valid, k), valid_relevant) for k in grid]
    k = grid[int(np.argmax(valid_scores))]
    texts, relevant = queries(test)
    metrics, items = retrieval_metrics(ctx.task.metrics, test, scores(texts, z_test, k), relevant)
    return metrics, {"k": k, "valid_mAP@10": float(max(valid_scores)), "text_similarity": "tf-idf"}, items


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
