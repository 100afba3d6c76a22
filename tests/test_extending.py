"""Adding a part is one implementation plus one registration line: a toy vector index with a config section of
its own, and a toy parametric memory that consolidation and the bench pick up by name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from memkit import Memory
from memkit.config import IndexConfig, MemkitConfig
from memkit.errors import ConfigError
from memkit.registry import parametric_memories, vector_indexes
from memkit.stores.exact import ExactIndex

from .conftest import FAST


class ToyIndexConfig(IndexConfig):
    """A vector index kind's own options live in its config class (a subclass of ``[index]``'s)."""

    shout: bool = Field(default=False)


class ToyIndex(ExactIndex):
    name = "toy"
    opened: list[ToyIndexConfig] = []

    def __init__(self, path: Path | None = None, dim: int | None = None, config: Any = None):
        super().__init__(path, dim, config)
        ToyIndex.opened.append(config)


@pytest.fixture
def toy_index(monkeypatch):
    vector_indexes.names()  # the built-in entries first, so the copy below holds them
    monkeypatch.setattr(vector_indexes, "_entries", dict(vector_indexes._entries))  # undone after the test
    vector_indexes.register("toy", ToyIndex, config=ToyIndexConfig)
    ToyIndex.opened.clear()
    yield ToyIndex


def test_a_new_vector_index_is_a_registration_with_its_own_config_section(tmp_path, toy_index):
    cfg = MemkitConfig.parse({**FAST, "index": {"kind": "toy", "shout": True, "exact_below": 0}})
    assert isinstance(cfg.index, ToyIndexConfig) and cfg.index.shout
    assert "shout = true" in cfg.to_toml()
    with Memory(tmp_path / "m", cfg) as mem:
        note = mem.add("the toy index holds this note", user_id="u")
        assert [h.note.id for h in mem.search("toy index note", k=1, user_id="u")] == [note.id]
        assert isinstance(mem.index, ToyIndex) and toy_index.opened[-1].shout
    with Memory(tmp_path / "m") as mem:  # its section is read back from the store's config.toml
        assert isinstance(mem.config.index, ToyIndexConfig) and mem.config.index.shout
    with pytest.raises(ConfigError, match="colour"):
        MemkitConfig.parse({"index": {"kind": "toy", "colour": "red"}})  # its own section still forbids typos


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = 0.5


class ToyParametric:
    """A parametric memory that remembers prompts and targets in a dict."""

    name = "toy-pm"
    config_class = ToyParams

    def __init__(self, config: ToyParams | None = None, **kwargs: Any):
        self.config = config or ToyParams()
        self.facts: dict[str, str] = {}

    def write(self, requests: Sequence[Any], *, progress: bool = False) -> None:
        self.facts.update({r.prompt: r.target_new for r in requests})

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        return [self.facts.get(p, "") for p in prompts]

    def score(self, prompts: Sequence[str], targets: Sequence[str]) -> list[Any]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"facts": len(self.facts)}


@pytest.fixture
def toy_parametric(monkeypatch):
    parametric_memories.names()
    monkeypatch.setattr(parametric_memories, "_entries", dict(parametric_memories._entries))
    parametric_memories.register("toy-pm", ToyParametric, config=ToyParams)
    yield ToyParametric


def test_a_new_parametric_memory_is_a_registration(tmp_path, toy_parametric):
    from memkit.bench.systems import build_system
    from memkit.bench.tasks.rrr import RecognitionRecallRetentionTask
    from memkit.editing import create_memory

    assert parametric_memories.config_class("toy-pm") is ToyParams
    with Memory(tmp_path / "m", FAST) as mem:
        mem.add("Alice moved to Lisbon.")
        report = mem.consolidate("toy-pm", progress=False)  # by its registered name
    assert report.written == 1 and report.backend == "toy-pm"
    assert create_memory("toy-pm").config.rate == 0.5
    system = build_system("parametric:backend=toy-pm", tmp_path, RecognitionRecallRetentionTask())
    assert system.describe()["facts"] == 0
