"""The runner: one task, one or more systems, one run folder.

A run folder holds ``run.json`` (configuration, systems, summary), ``items.jsonl`` (one
line per finished episode and system: the scored rows and the answers they came from)
and ``systems/<name>/`` (a retrieval memory's store).  Rerunning the same command finds
the folder, skips finished episodes and redoes the rest: a persistent memory first
forgets what an unfinished episode had written; an in-process system (oracle,
parametric) has the writes of finished episodes replayed.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memkit.bench.records import Answer, Ask, Episode, EpisodeRecord, ItemResult, Write
from memkit.bench.systems import BenchSystem, SystemSpec, build_system
from memkit.bench.task import Summary, Task
from memkit.errors import BenchError, validation_message

__all__ = ["RunConfig", "SystemRun", "RunManifest", "run_task", "load_run", "read_items", "default_out", "make_task"]

SCHEMA = "memkit.bench.run/1"
ITEMS = "items.jsonl"
MANIFEST = "run.json"


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    task_version: int
    seed: int
    limit: int
    params: dict[str, Any] = Field(default_factory=dict)
    data: str | None = None


class SystemRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    spec: SystemSpec
    description: dict[str, Any] = Field(default_factory=dict)
    episodes_done: int = 0
    episodes_total: int = 0
    wall_s: float = 0.0
    status: str = "pending"


class RunManifest(BaseModel):
    schema_: str = Field(default=SCHEMA, alias="schema")
    config: RunConfig
    systems: dict[str, SystemRun] = Field(default_factory=dict)
    episode_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    summary: Summary | None = None
    items_file: str = ITEMS
    memkit_version: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def make_task(name: str, params: dict[str, Any] | None = None, data: str | None = None) -> Task:
    from memkit.registry import bench_tasks

    cls = bench_tasks.get(name)
    return cls(params, data=data)


def default_out(task: str, seed: int, limit: int) -> Path:
    return Path("runs") / f"{task}-seed{seed}-n{limit}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_run(path: str | Path) -> RunManifest:
    """Read ``run.json`` (or the run folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"no run file at {path}") from None
    except ValidationError as exc:
        raise BenchError(f"{path} is not a memkit bench run file: {validation_message(exc, 'run')}") from None
    except ValueError as exc:  # e.g. not UTF-8 text
        raise BenchError(f"{path} is not a memkit bench run file: {exc}") from None


def read_items(run_dir: Path, *, repair: bool = False) -> list[EpisodeRecord]:
    """The finished episodes; a torn last line (an interrupted append) is dropped (and cut when ``repair``)."""
    path = run_dir / ITEMS
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord.model_validate_json(line))
        except ValueError as exc:
            if i != len(lines) - 1:
                raise BenchError(f"{path}: line {i + 1} is corrupt ({exc}); only the last line may be torn") from None
            if repair:
                _atomic_write(path, "".join(lines[:i]))
    return records


def _append(path: Path, record: EpisodeRecord) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(record.model_dump_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def run_task(
    task: str | Task,
    systems: Sequence[str] | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    params: dict[str, Any] | None = None,
    data: str | None = None,
    progress: bool = True,
    threads: int | None = None,
    system_factory: Any = None,
) -> tuple[Path, RunManifest]:
    """Run ``task`` on ``systems`` (default: the task's) and write the run folder.

    ``threads`` sets torch's intra-op threads for the whole process (local readers and
    embedders); one thread is often fastest for a small model decoding token by token,
    and much faster on a machine whose cores are busy.
    ``system_factory(spec, workdir, task)`` replaces :func:`build_system` (tests pass fakes).
    Returns the path of ``run.json`` and the manifest with its summary.
    """
    if threads is not None:
        if threads < 1:
            raise BenchError(f"threads must be at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    task_obj = task if isinstance(task, Task) else make_task(task, params, data)
    spec = task_obj.spec
    limit = spec.default_limit if limit is None else limit
    if limit < 1:
        raise BenchError(f"limit must be at least 1, got {limit}")
    specs = [SystemSpec.parse(s) for s in (systems or spec.default_systems)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise BenchError(f"a system is listed twice: {names}")
    run_dir = Path(out) if out is not None else default_out(spec.name, seed, limit)
    run_dir.mkdir(parents=True, exist_ok=True)
    source = data if data is not None else task_obj.data
    config = RunConfig(task=spec.name, task_version=spec.version, seed=seed, limit=limit,
                       params=task_obj.params.model_dump(mode="json"), data=None if source is None else str(source))
    episodes = task_obj.episodes(limit=limit, seed=seed)
    ids = [e.id for e in episodes]
    if len(set(ids)) != len(ids):
        raise BenchError(f"task {spec.name!r} produced duplicate episode ids")
    manifest = _open_manifest(run_dir, config, ids)
    done: dict[str, set[str]] = {}
    for rec in read_items(run_dir, repair=True):
        done.setdefault(rec.system, set()).add(rec.episode_id)
    factory = system_factory or build_system
    for sspec in specs:
        srun = manifest.systems.get(sspec.name) or SystemRun(name=sspec.name, spec=sspec)
        srun.episodes_total = len(episodes)
        manifest.systems[sspec.name] = srun
        workdir = run_dir / "systems" / _safe(sspec.name)
        workdir.mkdir(parents=True, exist_ok=True)
        system = factory(sspec, workdir, task_obj)
        try:
            srun.description = system.describe()
            srun.status = "running"
            _save(run_dir, manifest)
            _run_system(task_obj, system, episodes, done.setdefault(sspec.name, set()), run_dir, srun, progress)
            srun.status = "done"
        finally:
            system.close()
            _save(run_dir, manifest)
    manifest.summary = summarize_run(task_obj, run_dir, manifest)
    _save(run_dir, manifest)
    return run_dir / MANIFEST, manifest


def _open_manifest(run_dir: Path, config: RunConfig, ids: list[str]) -> RunManifest:
    path = run_dir / MANIFEST
    now = datetime.now(timezone.utc)
    if path.exists():
        manifest = load_run(path)
        if manifest.config != config:
            raise BenchError(
                f"{run_dir} holds a run with another configuration ({manifest.config.model_dump()}); "
                "pass another --out, or delete the folder to start over"
            )
        if manifest.episode_ids != ids:
            raise BenchError(f"{run_dir}: the task now yields other items than the stored run; use another --out")
        return manifest
    from memkit import __version__

    manifest = RunManifest(config=config, episode_ids=ids, created_at=now, updated_at=now, memkit_version=__version__)
    _save(run_dir, manifest)
    return manifest


def _save(run_dir: Path, manifest: RunManifest) -> None:
    manifest.updated_at = datetime.now(timezone.utc)
    _atomic_write(run_dir / MANIFEST, manifest.model_dump_json(indent=2, by_alias=True))


def _progress_bar(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled, transient=False)


def _run_system(task: Task, system: BenchSystem, episodes: Sequence[Episode], done: set[str], run_dir: Path,
                srun: SystemRun, progress: bool) -> None:
    items_path = run_dir / ITEMS
    if system.persistent:  # redo unfinished episodes from a clean state
        stale = [r.id for e in episodes if e.id not in done for r in e.records()]
        if stale:
            system.forget(stale)
    with _progress_bar(progress) as bar:
        handle = bar.add_task(f"{task.spec.name} · {system.name}", total=len(episodes))
        for episode in episodes:
            if episode.id in done:
                if not system.persistent:
                    for action in episode.actions:
                        if isinstance(action, Write):
                            system.write(action.records)
                bar.advance(handle)
                continue
            t0 = time.perf_counter()
            answers: dict[str, Answer] = {}
            for action in episode.actions:
                if isinstance(action, Write):
                    system.write(action.records)
                elif isinstance(action, Ask):
                    got = system.answer(action.queries)
                    if len(got) != len(action.queries):
                        raise BenchError(f"system {system.name} gave {len(got)} answers to {len(action.queries)} queries")
                    for q, a in zip(action.queries, got, strict=True):
                        try:
                            a.check(q)
                        except ValueError as exc:
                            raise BenchError(f"system {system.name}: {exc}") from None
                        answers[q.id] = a
            results = task.score(episode, answers)
            seconds = time.perf_counter() - t0
            record = EpisodeRecord(
                system=system.name, episode_id=episode.id, task=task.spec.name, task_version=task.spec.version,
                results=results, answers=list(answers.values()), seconds=seconds,
                finished_at=datetime.now(timezone.utc),
            )
            _append(items_path, record)
            done.add(episode.id)
            srun.wall_s += seconds
            srun.episodes_done = len(done)
            bar.advance(handle)
    srun.episodes_done = len(done)


def results_by_system(records: Iterable[EpisodeRecord], order: Sequence[str]) -> dict[str, list[ItemResult]]:
    out: dict[str, list[ItemResult]] = {name: [] for name in order}
    for rec in records:
        if rec.system in out:
            out[rec.system].extend(rec.results)
    return out


def summarize_run(task: Task, run_dir: Path, manifest: RunManifest) -> Summary:
    """The summary, recomputed from ``items.jsonl`` (so every number traces to rows)."""
    records = read_items(run_dir)
    return task.summarize(results_by_system(records, list(manifest.systems)))


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
