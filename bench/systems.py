"""Systems under test: one small protocol, four kinds.

A system is written to (``write``), asked (``answer``), described and closed.  The kinds:

``base``        the reader alone; writes are ignored (the no-memory baseline).
``oracle``      the reader with the gold context in the prompt (``Query.oracle_context``,
                or, when the task gives none, everything written to the query's scope).
``retrieval``   a :class:`memkit.Memory` (its notes carry the record ids) plus a reader:
                the bundled SmolLM2, a litellm model, or ``none`` (the task's LLM-free scorer).
``parametric``  a parametric back end from :mod:`memkit.editing` (WISE, FT-L, ...):
                records become edit requests, answers come from the edited model.

On the command line a system is ``KIND[:key=value,...]``, e.g. ``retrieval``,
``retrieval:reader=none``, ``retrieval:reader=litellm:ollama/llama3,k=8``,
``oracle:reader=hf:/path/to/model``, ``parametric:backend=wise``.  Each kind is a factory
registered in :data:`memkit.registry.bench_systems`, each reader (``NAME[:argument]``) one in
:data:`memkit.registry.bench_readers` (see ``memkit/bench/__init__.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from memkit.bench.protocols import BenchSystem, Reader
from memkit.bench.readers import render_user_text
from memkit.bench.records import Answer, MemoryRecord, Passage, Query, TargetResult
from memkit.config import parse_assignment
from memkit.errors import BenchError, InvalidInputError, NotFoundError, validation_message
from memkit.registry import bench_readers, bench_systems

__all__ = [
    "BenchSystem",
    "SystemSpec",
    "ContextSystem",
    "NoContext",
    "OracleContext",
    "RetrievalContext",
    "ParametricSystem",
    "build_system",
    "note_id_for",
    "DEFAULT_SCOPE",
]

DEFAULT_SCOPE = "bench"


class SystemSpec(BaseModel):
    """A system as the user names it: ``KIND[:key=value,...]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="a registered system kind: base, oracle, retrieval, parametric")
    reader: str = Field(default="smollm2", description="smollm2 | none | hf:<path> | litellm:<model>")
    backend: str | None = Field(default=None, description="parametric back end name (parametric only)")
    weights: str | None = Field(default=None, description="trained weights file of a document memory (parametric only)")
    k: int | None = Field(default=None, ge=1, le=200, description="override the number of passages retrieved")
    index: str | None = Field(default=None, description="vector index kind of the retrieval memory")
    config: str | None = Field(default=None, description="a memkit TOML config for the retrieval memory")

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        if kind not in bench_systems:
            raise ValueError(f"unknown system kind {kind!r}")
        return kind

    @classmethod
    def parse(cls, text: str | SystemSpec) -> SystemSpec:
        if isinstance(text, SystemSpec):
            return text
        kind, _, rest = text.strip().partition(":")
        fields: dict[str, Any] = {"kind": kind.strip().lower()}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            try:
                key, value = parse_assignment(part, json_value=False)
            except ValueError:
                raise InvalidInputError(f"system {text!r}: expected key=value, got {part!r}") from None
            fields[key] = value
        try:
            spec = cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInputError(
                f"bad system {text!r}: {validation_message(exc, 'system')} (kinds: {', '.join(bench_systems.names())})"
            ) from None
        if spec.kind == "parametric" and not spec.backend:
            raise InvalidInputError(f"system {text!r}: a parametric system needs backend=NAME (e.g. wise)")
        if spec.kind != "parametric" and (spec.backend or spec.weights):
            raise InvalidInputError(f"system {text!r}: backend= and weights= are only for parametric systems")
        if spec.kind != "retrieval" and (spec.index or spec.config):
            raise InvalidInputError(f"system {text!r}: index= and config= are only for retrieval systems")
        if spec.reader == "none" and spec.kind != "retrieval":
            raise InvalidInputError(f"system {text!r}: reader=none (LLM-free) needs a retrieval memory")
        return spec

    @property
    def name(self) -> str:
        extras = [
            f"{key}={value}"
            for key, value in self.model_dump(exclude={"kind"}).items()
            if value is not None and not (key == "reader" and value == "smollm2")
            and not (self.kind == "parametric" and key == "reader")
        ]
        return self.kind + (":" + ",".join(extras) if extras else "")


def note_id_for(record_id: str) -> str:
    """The note id a retrieval memory stores a record under (stable, so writes are idempotent)."""
    return hashlib.sha256(record_id.encode()).hexdigest()[:32]


# -- context sources ------------------------------------------------------------------


class NoContext:
    label = "none"
    persistent = False
    capabilities: frozenset[str] = frozenset()

    def write(self, records: Sequence[MemoryRecord]) -> int:
        return 0

    def forget(self, record_ids: Sequence[str]) -> int:
        return 0

    def passages(self, query: Query) -> list[Passage]:
        return []

    def describe(self) -> dict[str, Any]:
        return {"memory": None}

    def close(self) -> None:
        return None


class OracleContext:
    """Keeps written records in order, per scope; superseded records drop out unless asked for."""

    label = "oracle"
    persistent = False
    capabilities = frozenset({"passages", "history"})

    def __init__(self) -> None:
        self.records: dict[str, MemoryRecord] = {}

    def write(self, records: Sequence[MemoryRecord]) -> int:
        new = [r for r in records if r.id not in self.records]
        self.records.update((r.id, r) for r in records)
        return len(new)

    def forget(self, record_ids: Sequence[str]) -> int:
        return sum(self.records.pop(i, None) is not None for i in record_ids)

    def passages(self, query: Query) -> list[Passage]:
        if query.oracle_context is not None:
            return [Passage(id=f"oracle:{i}", text=t) for i, t in enumerate(query.oracle_context)]
        scoped = [r for r in self.records.values() if r.scope == query.scope]
        if not query.include_superseded:
            closed = {r.supersedes for r in scoped if r.supersedes}
            scoped = [r for r in scoped if r.id not in closed]
        if query.passage_order == "position":
            scoped.sort(key=lambda r: r.metadata.get("position", 0))
        return [Passage(id=r.id, text=r.text, metadata=r.metadata) for r in scoped]

    def describe(self) -> dict[str, Any]:
        return {"memory": "oracle", "records": len(self.records)}

    def close(self) -> None:
        return None


class RetrievalContext:
    """A :class:`memkit.Memory`; records become notes whose id derives from the record id."""

    label = "retrieval"
    persistent = True
    capabilities = frozenset({"passages", "history"})

    def __init__(self, memory: Any, k: int | None = None):
        self.memory = memory
        self.k = k

    @classmethod
    def open(cls, path: Path, spec: SystemSpec) -> RetrievalContext:
        from memkit import MemkitConfig, Memory

        if spec.config:
            config = MemkitConfig.from_toml(spec.config)
        else:
            config = MemkitConfig()
        if spec.index:
            config = config.model_copy(update={"index": config.index.model_copy(update={"kind": spec.index})})
        return cls(Memory(path, config=config), k=spec.k)

    def _exists(self, note_id: str) -> bool:
        try:
            self.memory.get(note_id)
        except NotFoundError:
            return False
        return True

    def write(self, records: Sequence[MemoryRecord]) -> int:
        items = []
        for r in records:
            nid = note_id_for(r.id)
            if self._exists(nid):
                continue
            item: dict[str, Any] = {
                "id": nid,
                "content": r.text,
                "user_id": r.scope or DEFAULT_SCOPE,
                "metadata": {**r.metadata, "bench_record_id": r.id},
            }
            if r.valid_from is not None:
                item["valid_from"] = r.valid_from
            if r.session is not None:
                item["session_id"] = r.session
            if r.supersedes:
                item["supersedes"] = note_id_for(r.supersedes)
            items.append(item)
        # one call per run of records without supersession keeps batching; a superseding
        # record must see the note it closes, so it goes in its own call
        batch: list[dict[str, Any]] = []
        for item in items:
            if "supersedes" in item:
                if batch:
                    self.memory.add_many(batch, progress=False)
                    batch = []
                self.memory.add_many([item], progress=False)
            else:
                batch.append(item)
        if batch:
            self.memory.add_many(batch, progress=False)
        return len(items)

    def forget(self, record_ids: Sequence[str]) -> int:
        n = 0
        for rid in record_ids:
            nid = note_id_for(rid)
            if self._exists(nid):
                self.memory.delete(nid)
                n += 1
        return n

    def passages(self, query: Query) -> list[Passage]:
        k = self.k or query.k
        best: dict[str, tuple[float, Passage]] = {}
        for text in query.search or [query.prompt]:
            hits = self.memory.search(
                text, k=k, user_id=query.scope or DEFAULT_SCOPE, include_superseded=query.include_superseded,
                as_of=query.as_of,
            )
            for hit in hits:
                note = hit.note
                if note.id not in best or hit.score > best[note.id][0]:
                    meta = dict(note.metadata)
                    meta["note_id"] = note.id
                    if note.valid_to is not None:
                        meta["valid_to"] = note.valid_to.isoformat()
                    passage = Passage(id=str(meta.get("bench_record_id", note.id)), text=note.content,
                                      score=hit.score, metadata=meta)
                    best[note.id] = (hit.score, passage)
        ranked = [p for _, p in sorted(best.values(), key=lambda sp: -sp[0])]
        if query.passage_order == "position":
            ranked.sort(key=lambda p: p.metadata.get("position", 0))
        return ranked

    def describe(self) -> dict[str, Any]:
        cfg = self.memory.config
        return {"memory": "retrieval", "path": str(self.memory.path), "index": cfg.index.kind,
                "embedder": cfg.embedder.model, "builder": cfg.builder.kind, "k_override": self.k}

    def close(self) -> None:
        self.memory.close()


# -- systems ---------------------------------------------------------------------------


class ContextSystem:
    """A context source (none, oracle, retrieval) in front of a reader."""

    def __init__(self, name: str, kind: str, source: Any, reader: Reader):
        self.name = name
        self.kind = kind
        self.source = source
        self.reader = reader
        self.persistent = bool(source.persistent)
        self.capabilities = frozenset(reader.capabilities) | source.capabilities

    def write(self, records: Sequence[MemoryRecord]) -> int:
        return self.source.write(records)

    def forget(self, record_ids: Sequence[str]) -> int:
        return self.source.forget(record_ids)

    def answer(self, queries: Sequence[Query]) -> list[Answer]:
        items = [(q, self.source.passages(q)) for q in queries]
        answers = self.reader.read(items)
        if len(answers) != len(queries):
            raise BenchError(f"reader {self.reader.name} returned {len(answers)} answers for {len(queries)} queries")
        for q, a in zip(queries, answers, strict=True):
            if a.query_id != q.id:
                raise BenchError(f"reader {self.reader.name} answered {a.query_id!r} for query {q.id!r}")
            a.system = self.name
            a.meta.setdefault("memory", self.source.label)
        return answers

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "reader": self.reader.name, **self.source.describe()}

    def close(self) -> None:
        self.source.close()


class ParametricSystem:
    """A :class:`memkit.protocols.ParametricMemory`; records are written as edit requests, or whole as documents
    (under the record's id, and forgotten by it) to a document memory (``takes_documents``).

    A record without an ``edit`` is written as its first half (prompt) and the rest
    (target).  Choice queries score ``answer_prefix + option`` as the target; the
    back end applies its own chat template to prompts.
    """

    kind = "parametric"
    persistent = False
    capabilities = frozenset({"choose", "generate", "score"})

    def __init__(self, name: str, memory: Any):
        self.name = name
        self.memory = memory

    def write(self, records: Sequence[MemoryRecord]) -> int:
        from memkit.editing.types import Document, EditRequest

        if getattr(self.memory, "takes_documents", False):
            if records:
                self.memory.write([Document(id=r.id, text=r.text, source=r.id) for r in records])
            return len(records)
        requests = []
        for r in records:
            if r.edit is not None:
                prompt, target, subject = r.edit.prompt, r.edit.target, r.edit.subject
            else:
                words = r.text.split()
                if len(words) < 2:
                    raise BenchError(f"record {r.id!r} is too short to write as an edit; give it an edit spec")
                cut = max(1, len(words) // 2)
                prompt, target, subject = " ".join(words[:cut]), " " + " ".join(words[cut:]), None
            requests.append(EditRequest(prompt=prompt, target_new=target, subject=subject, source=r.id))
        if requests:
            self.memory.write(requests)
        return len(requests)

    def forget(self, record_ids: Sequence[str]) -> int:
        forget = getattr(self.memory, "forget", None)
        return int(forget(list(record_ids))) if forget is not None else 0

    def answer(self, queries: Sequence[Query]) -> list[Answer]:
        out = []
        for q in queries:
            out.append(self._answer(q))
            out[-1].meta.setdefault("memory", "parametric")
        return out

    def _answer(self, q: Query) -> Answer:
        prompt = render_user_text(q, [])
        if q.mode == "choose":
            targets = [q.answer_prefix + o for o in q.options or []]
            lps = [s.log_prob for s in self.memory.score([prompt] * len(targets), targets)]
            return Answer(query_id=q.id, system=self.name, choice=max(range(len(lps)), key=lps.__getitem__),
                          option_logprobs=lps)
        if q.mode == "score":
            targets = [q.answer_prefix + t for t in q.targets or []]
            scores = self.memory.score([prompt] * len(targets), targets)
            return Answer(query_id=q.id, system=self.name, targets=[
                TargetResult(token_accuracy=s.token_accuracy, log_prob=s.log_prob, n_tokens=s.n_tokens,
                             predicted=list(s.predicted)) for s in scores])
        text = self.memory.generate([prompt + ("\n" + q.answer_prefix if q.answer_prefix else "")],
                                    max_new_tokens=q.max_new_tokens)[0].strip()
        meta = {"sampling": "greedy only: one answer repeated"} if q.n_samples > 1 else {}
        return Answer(query_id=q.id, system=self.name, texts=[text] * q.n_samples, meta=meta)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.memory.describe()}

    def close(self) -> None:
        return None


def _reader(spec: SystemSpec, task: Any) -> Reader:
    """The reader ``spec.reader`` names (``NAME[:argument]``), from :data:`memkit.registry.bench_readers`."""
    name, _, arg = spec.reader.partition(":")
    if name not in bench_readers:
        known = ", ".join(bench_readers.names())
        raise InvalidInputError(f"unknown reader {spec.reader!r}: use one of {known} (hf:<path>, litellm:<model>)")
    return bench_readers.get(name)(arg or None, task)


# -- the registered system kinds (memkit.registry.bench_systems): factories of (spec, workdir, task) ---------


def base_system(spec: SystemSpec, workdir: Path, task: Any) -> BenchSystem:
    """``base``: the reader alone, no memory."""
    return ContextSystem(spec.name, spec.kind, NoContext(), _reader(spec, task))


def oracle_system(spec: SystemSpec, workdir: Path, task: Any) -> BenchSystem:
    """``oracle``: the reader with the gold context."""
    return ContextSystem(spec.name, spec.kind, OracleContext(), _reader(spec, task))


def retrieval_system(spec: SystemSpec, workdir: Path, task: Any) -> BenchSystem:
    """``retrieval``: a memkit memory in ``workdir`` in front of the reader."""
    reader = _reader(spec, task)
    return ContextSystem(spec.name, spec.kind, RetrievalContext.open(workdir / "memory", spec), reader)


def parametric_system(spec: SystemSpec, workdir: Path, task: Any) -> BenchSystem:
    """``parametric``: a registered parametric memory (``backend=``)."""
    from memkit.registry import parametric_memories

    if spec.weights is None:
        return ParametricSystem(spec.name, parametric_memories.create(spec.backend))
    config_class = parametric_memories.config_class(spec.backend)
    if config_class is None or "weights" not in config_class.model_fields:
        raise InvalidInputError(f"the parametric back end {spec.backend!r} takes no weights= file")
    return ParametricSystem(spec.name, parametric_memories.create(spec.backend, config=config_class(weights=spec.weights)))


def build_system(spec: SystemSpec | str, workdir: Path, task: Any) -> BenchSystem:
    """Make the system ``spec`` names; a retrieval memory lives in ``workdir``."""
    spec = SystemSpec.parse(spec)
    system: BenchSystem = bench_systems.get(spec.kind)(spec, workdir, task)
    missing = set(task.spec.needs) - set(system.capabilities)
    if missing:
        system.close()
        raise BenchError(f"system {spec.name!r} cannot run task {task.spec.name!r}: it lacks {', '.join(sorted(missing))}")
    return system
