"""One conformance test over every system kind, plus system specs and the readers' helpers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from memkit import Memory
from memkit.bench.readers import FunctionReader, LiteLLMReader, parse_choice
from memkit.bench.records import Answer, MemoryRecord, Passage, Query, TargetResult
from memkit.bench.systems import (
    BenchSystem,
    ContextSystem,
    NoContext,
    OracleContext,
    ParametricSystem,
    RetrievalContext,
    SystemSpec,
    build_system,
)
from memkit.bench.tasks.conflictqa import ConflictQATask
from memkit.bench.tasks.rrr import RecognitionRecallRetentionTask
from memkit.editing.types import EditRequest, TargetScore
from memkit.errors import BenchError, InvalidInputError

from .conftest import FAST


class EchoReader:
    """Answers from its context: generate returns the first passage, choose picks the option named there."""

    name = "echo"
    capabilities = frozenset({"choose", "generate", "score"})

    def read(self, items: Sequence[tuple[Query, Sequence[Passage]]]) -> list[Answer]:
        out = []
        for q, ps in items:
            first = ps[0].text if ps else ""
            if q.mode == "choose":
                choice = next((i for i, o in enumerate(q.options or []) if o.strip() in first.split()), 0)
                out.append(Answer(query_id=q.id, system="", choice=choice, option_logprobs=[0.0] * len(q.options),
                                  passages=list(ps)))
            elif q.mode == "score":
                out.append(Answer(query_id=q.id, system="", passages=list(ps), targets=[
                    TargetResult(token_accuracy=float(t.strip() in first), log_prob=-1.0, n_tokens=1, predicted=[1])
                    for t in q.targets or []]))
            else:
                out.append(Answer(query_id=q.id, system="", texts=[first] * q.n_samples, passages=list(ps)))
        return out


class FakeParametric:
    """A ParametricMemory that memorises prompt -> target exactly."""

    name = "fake-parametric"

    def __init__(self) -> None:
        self.facts: dict[str, str] = {}

    def write(self, requests: Sequence[EditRequest], *, progress: bool = False) -> None:
        for r in requests:
            self.facts[r.prompt] = r.target_new

    def generate(self, prompts: Sequence[str], *, max_new_tokens: int = 32) -> list[str]:
        return [next((t for p, t in self.facts.items() if p in prompt), "") for prompt in prompts]

    def score(self, prompts: Sequence[str], targets: Sequence[str]) -> list[TargetScore]:
        out = []
        for prompt, target in zip(prompts, targets, strict=True):
            known = any(p in prompt and t.strip() in target for p, t in self.facts.items())
            out.append(TargetScore(token_accuracy=1.0 if known else 0.0, log_prob=-0.1 if known else -5.0,
                                   n_tokens=2, predicted=[7, 7] if known else [0, 0]))
        return out

    def describe(self) -> dict:
        return {"writes": len(self.facts)}


def _make(kind: str, tmp_path) -> BenchSystem:
    if kind == "base":
        return ContextSystem("base", "base", NoContext(), EchoReader())
    if kind == "oracle":
        return ContextSystem("oracle", "oracle", OracleContext(), EchoReader())
    if kind == "retrieval":
        return ContextSystem("retrieval", "retrieval", RetrievalContext(Memory(tmp_path / "m", FAST)), EchoReader())
    if kind == "retrieval-llm-free":
        fn = lambda q, ps: Answer(query_id=q.id, system="", texts=[ps[0].text if ps else ""] * q.n_samples,  # noqa: E731
                                  passages=list(ps))
        return ContextSystem("retrieval:reader=none", "retrieval", RetrievalContext(Memory(tmp_path / "m", FAST)),
                             FunctionReader(fn, "llm-free", frozenset({"generate"})))
    return ParametricSystem("parametric:backend=fake", FakeParametric())


KINDS = ["base", "oracle", "retrieval", "retrieval-llm-free", "parametric"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_system_kind_conforms(kind, tmp_path):
    system = _make(kind, tmp_path)
    assert isinstance(system, BenchSystem)
    t0, t1 = datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 1, tzinfo=timezone.utc)
    old = MemoryRecord(id="f/old", text="The harbour master of Velm is Ada Quist.", scope="s1", valid_from=t0)
    new = MemoryRecord(id="f/new", text="The harbour master of Velm is Bo Rinn.", scope="s1", valid_from=t1,
                       supersedes="f/old")
    other = MemoryRecord(id="g/1", text="The river Osk flows north.", scope="s2")
    assert system.write([old]) == (0 if kind == "base" else 1)
    assert system.write([new, other]) == (0 if kind == "base" else 2)
    if system.persistent:
        assert system.write([old, new]) == 0  # idempotent by record id
    prompt = "Who is the harbour master of Velm?"
    queries = [
        Query(id="q/gen", mode="generate", prompt=prompt, scope="s1", k=2, n_samples=2),
        Query(id="q/hist", mode="generate", prompt=prompt, scope="s1", k=2, include_superseded=True),
        Query(id="q/choose", mode="choose", prompt=prompt, options=[" Ada", " Bo"], scope="s1", k=2),
        Query(id="q/score", mode="score", prompt=prompt, targets=[" Bo Rinn", " Ada Quist"], scope="s1", k=2),
    ]
    if kind == "retrieval-llm-free":
        queries = queries[:2]
    answers = system.answer(queries)
    assert [a.query_id for a in answers] == [q.id for q in queries]
    assert all(a.system == system.name for a in answers)
    by = {a.query_id: a for a in answers}
    assert len(by["q/gen"].texts) == 2
    if kind in ("oracle", "retrieval", "retrieval-llm-free"):  # context comes from the memory, scoped, current
        texts = [p.text for p in by["q/gen"].passages]
        assert new.text in texts and old.text not in texts and other.text not in texts
        assert old.text in [p.text for p in by["q/hist"].passages]
        assert "Bo Rinn" in by["q/gen"].text
    if kind == "base":
        assert by["q/gen"].passages == []
    if "q/choose" in by:
        assert by["q/choose"].choice in (0, 1) and len(by["q/score"].targets) == 2
    if kind in ("oracle", "retrieval"):
        assert by["q/choose"].choice == 1  # the current value, read from the memory
    if kind == "parametric":
        assert by["q/score"].targets[0].token_accuracy == 0.0  # written as text halves, not this prompt
    if system.persistent:
        assert system.forget(["f/new"]) == 1
        assert "Bo Rinn" not in system.answer(queries[:1])[0].text
    json.dumps(system.describe())
    system.close()


def test_parametric_system_writes_edit_specs_and_text_halves():
    mem = FakeParametric()
    system = ParametricSystem("p", mem)
    from memkit.bench.records import EditSpec

    system.write([MemoryRecord(id="a", text="The capital of Zorvia is Quellmar.",
                               edit=EditSpec(prompt="The capital of Zorvia is", target=" Quellmar")),
                  MemoryRecord(id="b", text="one two three four")])
    assert mem.facts == {"The capital of Zorvia is": " Quellmar", "one two": " three four"}
    q = Query(id="q", mode="score", prompt="The capital of Zorvia is", targets=[" Quellmar"], chat=False)
    assert system.answer([q])[0].targets[0].token_accuracy == 1.0
    with pytest.raises(BenchError, match="too short"):
        system.write([MemoryRecord(id="c", text="single")])


def test_parametric_system_writes_whole_records_to_a_document_memory_and_forgets_them(tmp_path):
    pytest.importorskip("torch")
    from memkit.editing import create_memory
    from memkit.editing.compression import CompressionConfig
    from tests.tiny_models import bpe_tokenizer, tiny_llama

    tok = bpe_tokenizer(["Alice lives in Lisbon.", "one two three"] * 5, vocab_size=300, min_frequency=1)
    bank = create_memory("compression", config=CompressionConfig(n_memory=2, key_dim=8),
                         model=tiny_llama(tok, hidden=32, layers=2), tokenizer=tok)
    system = ParametricSystem("p", bank)
    assert system.write([MemoryRecord(id="a", text="Alice lives in Lisbon."), MemoryRecord(id="b", text="one")]) == 2
    assert {d.id: d.text for d in bank.docs.values()} == {"a": "Alice lives in Lisbon.", "b": "one"}
    assert system.forget(["a", "zz"]) == 1 and bank.ids == ["b"]
    assert system.forget(["zz"]) == 0


def test_parametric_weights_are_passed_to_the_back_end(tmp_path):
    pytest.importorskip("torch")
    spec = SystemSpec.parse(f"parametric:backend=compression,weights={tmp_path / 'w.safetensors'}")
    assert spec.weights.endswith("w.safetensors") and SystemSpec.parse(spec.name) == spec
    with pytest.raises(InvalidInputError, match="takes no weights"):
        build_system("parametric:backend=ft-l,weights=x", tmp_path, RecognitionRecallRetentionTask())
    with pytest.raises(InvalidInputError, match="only for parametric"):
        SystemSpec.parse("retrieval:weights=x")


def test_system_specs_parse_and_name():
    assert SystemSpec.parse("retrieval").name == "retrieval"
    spec = SystemSpec.parse("retrieval:reader=litellm:ollama/llama3:8b, k=6")
    assert spec.reader == "litellm:ollama/llama3:8b" and spec.k == 6
    assert SystemSpec.parse(spec.name) == spec
    assert SystemSpec.parse("parametric:backend=wise").name == "parametric:backend=wise"
    for bad, msg in [("magic", "kinds: base"), ("retrieval:k", "key=value"), ("parametric", "backend=NAME"),
                     ("base:reader=none", "needs a retrieval"), ("oracle:index=exact", "only for retrieval"),
                     ("retrieval:colour=red", "colour")]:
        with pytest.raises(InvalidInputError, match=msg):
            SystemSpec.parse(bad)


def test_build_system_refuses_what_a_task_cannot_use(tmp_path):
    with pytest.raises(BenchError, match="needs a reader"):
        build_system("retrieval:reader=none", tmp_path, ConflictQATask())
    with pytest.raises(InvalidInputError, match="unknown reader"):
        build_system("base:reader=gpt", tmp_path, RecognitionRecallRetentionTask())
    llm_free = build_system("retrieval:reader=none,index=exact", tmp_path, RecognitionRecallRetentionTask())
    assert llm_free.persistent and llm_free.describe()["index"] == "exact"
    llm_free.close()


def test_parse_choice_reads_free_text_answers():
    assert parse_choice("B", ["A", "B"]) == 1
    assert parse_choice("Answer: A.", ["A", "B"]) == 0
    assert parse_choice("Segment B came first", ["A", "B"]) == 1
    assert parse_choice("I cannot tell", ["A", "B"]) is None


def test_litellm_reader_chooses_by_parsing_a_real_completion():
    reader = LiteLLMReader("openai/gpt-4o-mini", mock_response="B", api_key="unused")
    q = Query(id="q", mode="choose", prompt="Which?", options=[" A", " B"])
    (a,) = reader.read([(q, [])])
    assert a.choice == 1 and a.meta["parsed"] and a.texts == ["B"]
    with pytest.raises(BenchError, match="cannot score"):
        reader.read([(Query(id="s", mode="score", prompt="x", targets=[" y"]), [])])
