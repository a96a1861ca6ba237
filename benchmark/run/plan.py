"""The job planner: models x tasks x seeds/folds -> a two-level graph of jobs.

One extraction job per (upstream, task) needs the device and fills the embedding cache;
one probe job per (upstream, task, seed, fold) then trains a head on the cached
embeddings. Work that is already done is left out of the plan: a probe whose record is
present (same upstream fingerprint, task version, task data and protocol settings; a
record made on other data, or before records digested their data, is recomputed and
`Plan.stale` says why) and an extraction whose cache entries are complete (or whose
probes are all done). A rerun after a crash therefore does only what is missing,
whichever executor runs it.

Jobs are plain data (strings and paths), so they can be shipped to other processes and
machines: a worker re-creates the upstream from `Job.source` (`logmel`, `ckpt:PATH`,
`hear:MODULE`) rather than receiving a pickled `nn.Module`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import torch

from benchmark.benchmarks import BENCHMARKS, Benchmark
from benchmark.errors import EarbenchError, ProtocolError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.frame_budget import free_space, human
from benchmark.protocols import PROTOCOLS, RunContext
from benchmark.record import Record, RecordError, record_path
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.storage import set_aside, writable_dir
from benchmark.task import TaskSpec, suite_tasks
from benchmark.upstream import fingerprint, load_upstream


@dataclass(frozen=True)
class Job:
    """One unit of work. `source`/`task_ref` are None when the upstream or task exists
    only as a Python object in the planning process (then only in-process execution works)."""

    kind: str  # "extract" | "probe"
    upstream: str  # the name records use
    source: str | None
    fingerprint: str
    task: str
    task_ref: str | None
    needs: tuple[tuple[str, str], ...] = ()  # extract: the (split, pooling) entries it fills
    seed: int | None = None
    fold: str | None = None
    roles: dict | None = None  # probe: {train|valid|test: [splits]}
    record: Path | None = None
    after: str | None = None  # the id of the job this one waits for
    device: bool = False  # wants an accelerator
    claims_extract_s: bool = False  # its record reports the extraction's time (first probe of a group)

    @property
    def group(self) -> tuple[str, str]:
        return self.upstream, self.task

    @property
    def id(self) -> str:
        if self.kind == "extract":
            return f"extract:{self.upstream}:{self.task}"
        fold = f":{self.fold}" if self.fold is not None else ""
        return f"probe:{self.upstream}:{self.task}:seed{self.seed}{fold}"


@dataclass
class Plan:
    """The jobs to run (in a good sequential order: each extraction, then its probes),
    what was found done, and what could not be planned.

    `contexts` are the in-process (upstream, task) pairings built while planning; the
    local executor runs on them directly, other executors rebuild them in their workers.
    """

    settings: RunSettings
    jobs: list[Job] = field(default_factory=list)
    done: list[Job] = field(default_factory=list)
    reused: dict[str, Record] = field(default_factory=dict)  # probe id -> its existing record
    stale: dict[str, str] = field(default_factory=dict)  # probe id -> why the record at its path is recomputed
    order: list[str] = field(default_factory=list)  # every probe id, planned or done, in report order
    problems: list[tuple[str, EarbenchError]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (task, why): a suite's uninformative pairings
    notes: list[str] = field(default_factory=list)  # what a person should see before the work: frame cache estimates
    contexts: dict[tuple[str, str], RunContext] = field(default_factory=dict, repr=False)

    def ids(self) -> list[str]:
        return [job.id for job in self.jobs]


def cache_is_warm(ctx: RunContext, needs: Sequence[tuple[str, str]]) -> bool:
    return all(ctx.is_cached(split, pooling) for split, pooling in needs)


def finished(path: Path, ctx: RunContext, identity: dict[str, Any]) -> tuple[Record | None, str | None]:
    """(the record at `path`, None) if it is this very run (same upstream weights, task version,
    task data and protocol settings `identity`), so that the probe need not run again; else
    (None, why the record there is recomputed), or (None, None) where there is none. A file
    there that is no record (truncated, not JSON, a folder) is set aside as `NAME.bad-N`, and
    said so, so that one bad file neither blocks the run nor is lost."""
    if not os.path.lexists(path):
        return None, None
    try:
        old = Record.read(path)
    except RecordError as err:
        try:
            aside = set_aside(path)
        except OSError as why:
            raise RecordError(err.file, f"{err.reason}; cannot move it aside ({why.strerror or why})") from None
        return None, f"{err.file}: {err.reason}; moved to {aside.name}"
    why = old.mismatch(ctx.upstream.earbench_fingerprint, ctx.task.version, ctx.digest, identity)
    if why is None:
        try:
            old.outputs(path)  # its per-item outputs as well: reused only if they match their checksum
        except RecordError as err:
            return None, f"{err.file}: {err.reason}"
    return (old, None) if why is None else (None, why)


def task_list(tasks: Sequence[str | Path | TaskSpec], suite: str | None) -> list[str | Path | TaskSpec]:
    """`tasks` and those of `suite`; folder tasks as absolute paths, so that workers
    elsewhere find the same task."""
    named = [*tasks, *(suite_tasks(suite) if suite else [])]
    return [str(Path(t).resolve()) if isinstance(t, (str, Path)) and Path(t).is_dir() else t for t in named]


def plan_suite(models: Sequence[str | torch.nn.Module], tasks: Sequence[str | Path | TaskSpec],
               settings: RunSettings, seeds: int = 1, strict: bool = True, name: str | None = None,
               suite: str | None = None) -> Plan:
    """Expand models x (tasks + those of `suite`) x (folds x seeds) into jobs, leaving out what is done.

    With `strict`, the first thing that cannot be planned (unknown model, protocol that does
    not apply, unreadable record in the way, ...) raises; otherwise it is collected in
    `Plan.problems` and the rest is planned, so one bad pairing does not stop a suite.
    """
    proto = PROTOCOLS.get(settings.protocol)
    proto.check_options(settings.options)
    if settings.results is not None and (why := writable_dir(settings.results)):  # before any work, not after it
        raise EarbenchError(f"results folder {settings.results}: cannot write there ({why})")
    if settings.cache_root is None:
        settings = replace(settings, cache_root=EmbeddingCache().root.resolve())
    if settings.cache_budget is None:  # measured once, so that every worker decides alike
        settings = replace(settings, cache_budget=free_space(settings.cache_root))
    plan = Plan(settings)
    cache = EmbeddingCache(settings.cache_root)

    def problem(what: str, err: EarbenchError) -> None:
        if strict:
            raise err
        plan.problems.append((what, err))

    specs: list[tuple[str | None, TaskSpec, dict]] = []
    for position, task in enumerate(task_list(tasks, suite)):
        try:
            spec = load_task(task)
            why = spec.uninformative.get(settings.protocol)
            if why and position >= len(tasks):  # from the suite, not named: left out, and said so
                plan.skipped.append((spec.name, why))
                continue
            proto.check(spec, settings.layer, settings.pooling)
            specs.append((None if isinstance(task, TaskSpec) else str(task), spec, spec.load()))
        except EarbenchError as err:
            problem(f"task {task}", err)
    upstreams: list[tuple[str | None, torch.nn.Module]] = []
    for model in models:
        try:
            upstream = load_upstream(model, name=name)
            if proto.check_upstream:
                proto.check_upstream(upstream)
            upstream.earbench_fingerprint = fingerprint(upstream)
            upstreams.append((model if isinstance(model, str) else None, upstream))
        except EarbenchError as err:
            problem(f"model {model if isinstance(model, str) else type(model).__name__}", err)

    for source, upstream in upstreams:
        for task_ref, spec, manifests in specs:
            try:
                ctx = RunContext(upstream, spec, manifests, settings, cache=cache)
                proto.check(spec, ctx.settings.layer, ctx.settings.pooling)
            except ProtocolError as err:
                problem(f"{upstream.earbench_name} on {spec.name}", err)
                continue
            identity = ctx.settings.identity()  # the pairing's: its pooling is chosen by then
            plan.contexts[upstream.earbench_name, spec.name] = ctx
            common = dict(upstream=upstream.earbench_name, source=source, fingerprint=upstream.earbench_fingerprint,
                          task=spec.name, task_ref=task_ref)
            runs = [(fold, roles, seed) for fold, roles in spec.runs() for seed in range(seeds)]
            needs = proto.needs(spec, ctx.settings)  # a miss costs only speed: a probe extracts what it lacks
            probes, done = [], []
            for fold, roles, seed in runs:
                path = (record_path(settings.results, upstream.earbench_name, spec.name, identity, seed, fold)
                        if settings.results else None)
                job = Job("probe", **common, seed=seed, fold=fold, roles=roles, record=path,
                          device=proto.encodes)
                try:
                    old, why = (None, None) if settings.rerun or path is None else finished(path, ctx, identity)
                except RecordError as err:
                    problem(job.id, err)
                    continue
                if why is not None:
                    plan.stale[job.id] = why
                plan.order.append(job.id)
                if old is not None:
                    plan.reused[job.id] = old
                    done.append(job)
                else:
                    probes.append(job)
            try:
                estimate = ctx.frame_estimate if probes else None
            except EarbenchError as err:  # an unreadable file, a failing forward: before any work
                problem(f"{upstream.earbench_name} on {spec.name}", err)
                continue
            if estimate is not None:
                streamed = ctx.streams_frames
                plan.notes.append(f"frames of {spec.name} with {upstream.earbench_name}: "
                                  f"{estimate.describe()} against a cache budget of "
                                  f"{human(ctx.cache_budget)}: {'streamed, re-encoded every batch' if streamed else 'cached'}")
                if streamed and not proto.streams(spec):
                    problem(f"{upstream.earbench_name} on {spec.name}", ProtocolError(
                        f"task {spec.name!r} with {upstream.earbench_name!r}: its frames would take "
                        f"{human(estimate.bytes)}, over the cache budget of {human(ctx.cache_budget)}, "
                        f"and the {spec.family} heads of --protocol {settings.protocol} read cached frames; "
                        f"raise --cache-budget or free disk space"))
                    continue
                if streamed:  # nothing to extract: the probes encode their frames themselves, on the device
                    needs = tuple(need for need in needs if need[1] != "frames")
                    probes = [replace(p, device=True) for p in probes]
            extract = Job("extract", **common, needs=needs, device=True)
            if not needs or not probes or cache_is_warm(ctx, needs):
                plan.done += [extract] if needs else []
            else:
                plan.jobs.append(extract)
                probes = [replace(p, after=extract.id, claims_extract_s=k == 0) for k, p in enumerate(probes)]
            plan.jobs += probes
            plan.done += done
    return plan


def plan_benchmark(models: Sequence[str | torch.nn.Module], benchmark: str | Benchmark, settings: RunSettings,
                   seeds: int = 1, strict: bool = True, name: str | None = None) -> list[Plan]:
    """`benchmark`'s run: one plan per distinct protocol declaration (`Benchmark.groups`), each over
    its tasks with `settings` (results folder, workers, ...) set to that declaration."""
    bench = BENCHMARKS.get(benchmark) if isinstance(benchmark, str) else benchmark
    return [plan_suite(models, tasks, group, seeds=seeds, strict=strict, name=name)
            for group, tasks in bench.groups(settings)]
