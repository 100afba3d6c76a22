"""Fixtures of the bench tests: the shared data folder and scripted systems with known answers."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from memkit.bench.records import Answer, MemoryRecord, Query, TargetResult

REPO = Path(__file__).resolve().parents[2]
FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$MEMKIT_DATA_DIR`` or ``../shared/data`` (never copied into the repo); a clear failure when missing."""
    path = Path(os.environ.get("MEMKIT_DATA_DIR", REPO.parent / "shared" / "data"))
    if not (path / "booksort").is_dir() or not (path / "conflictqa").is_dir():
        pytest.fail(f"the shared data folder with booksort/ and conflictqa/ was not found at {path}; "
                    "set MEMKIT_DATA_DIR to it")
    return path


@pytest.fixture(autouse=True)
def _data_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    path = Path(os.environ.get("MEMKIT_DATA_DIR", REPO.parent / "shared" / "data"))
    monkeypatch.setenv("MEMKIT_DATA_DIR", str(path))


class ScriptedSystem:
    """A system whose answers are a function of the query; it records what it was asked and written."""

    def __init__(self, name: str, fn: Callable[[Query], Answer], *, kind: str = "base", persistent: bool = False,
                 capabilities: frozenset[str] = frozenset({"choose", "generate", "score", "distributions"})):
        self.name = name
        self.kind = kind
        self.fn = fn
        self.persistent = persistent
        self.capabilities = capabilities
        self.written: list[str] = []
        self.asked: list[str] = []
        self.forgotten: list[str] = []
        self.closed = False

    def write(self, records: Sequence[MemoryRecord]) -> int:
        new = [r.id for r in records if not (self.persistent and r.id in self.written)]
        self.written.extend(new)
        return len(new)

    def forget(self, record_ids: Sequence[str]) -> int:
        self.forgotten.extend(record_ids)
        return len(record_ids)

    def answer(self, queries: Sequence[Query]) -> list[Answer]:
        out = []
        for q in queries:
            self.asked.append(q.id)
            a = self.fn(q)
            a.system = self.name
            out.append(a)
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "scripted": True}

    def close(self) -> None:
        self.closed = True


def choice_answer(q: Query, choice: int) -> Answer:
    return Answer(query_id=q.id, system="", choice=choice, option_logprobs=[0.0 if i == choice else -1.0
                                                                          for i in range(len(q.options or []))])


def text_answer(q: Query, text: str) -> Answer:
    return Answer(query_id=q.id, system="", texts=[text] * q.n_samples)


def random_answer(q: Query, seed: int = 0) -> Answer:
    rng = random.Random(f"{seed}/{q.id}")
    if q.mode == "choose":
        return choice_answer(q, rng.randrange(len(q.options or [])))
    if q.mode == "score":
        return Answer(query_id=q.id, system="", targets=[
            TargetResult(token_accuracy=rng.random(), log_prob=-rng.random() * 5, n_tokens=3,
                         predicted=[rng.randrange(100) for _ in range(3)]) for _ in q.targets or []])
    words = ["apple", "stone", "river", "lamp", "blue", "seven", "north", "quiet"]
    return text_answer(q, " ".join(rng.sample(words, 3)))


def factory(systems: dict[str, ScriptedSystem]) -> Callable[..., ScriptedSystem]:
    """A ``system_factory`` for run_task that hands out prepared systems by spec name."""

    def make(spec: Any, workdir: Path, task: Any) -> ScriptedSystem:
        return systems[spec.name]

    return make
