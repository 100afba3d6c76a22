"""Document-memory benchmark: how well a 135M model answers questions about documents it was given, as the
documents pile up (10, 100, 1,000), with the documents in its prompt, retrieved into it, or held by a memory.

    python -m memkit.editing.docbench [--data facts booksort] [--systems none prompt retrieval compression adapter]
                                      [--checkpoints 10 100 1000] [--questions 20] [--out DIR]

Data sets (each a stream of documents; every asked document has one question):

- ``facts``: generated documents about fictional people (:mod:`memkit.editing.docfacts`, test split); the
  stream's documents that are never asked about are other test people and, past the 640 the split holds,
  train-split people (distractors);
- ``booksort``: passages of the shared Book-SORT novels with a cloze question each (:mod:`memkit.editing.docdata`).

Systems: ``none`` (the question alone), ``prompt`` (every document written so far in the prompt, newest last;
the oldest whole documents are dropped so that prompt + answer fit ``--context`` tokens), ``retrieval`` (the
``--k`` best documents of a :class:`memkit.Memory`, best last), and the document memories ``compression`` and
``adapter`` (trained weights from ``--compression-weights`` / ``--adapter-weights``; a missing file is reported
and the system skipped, never replaced by an untrained one).  A memory's name may set options of its config:
``adapter:select=none`` is the adapter reading every document held (the paper), not the best-matching one.

Protocol: documents are written in stream order; at each checkpoint the system is asked (a) the questions of
the first ``--retention`` documents (retention) and (b) up to ``--questions`` questions of documents written
since the previous checkpoint (learning).  Answers are greedy, ``--max-new-tokens`` long.

Metrics, on the generation's first line: exact match (EM) is 1 when its normalised words begin with the
normalised answer's words (SQuAD normalisation: lower case, no punctuation, no articles a/an/the); token F1 is
SQuAD's.  Prompt tokens and seconds are per question (a batch's time shared by its questions); writing
seconds per document; ``held_bytes``: what the system keeps (a memory's state tensors: its trained weights and
what it holds per document, see ``describe``; the retrieval store's files; the prompt's document text).
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import random
import string
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from memkit.editing.benchmark import _machine
from memkit.errors import ConfigError, InvalidInputError

__all__ = ["Item", "Plan", "normalize", "exact_match", "token_f1", "question_plan", "build_stream",
           "ContextSystem", "MemorySystem", "run_benchmark", "print_tables", "plot", "main", "default_weights"]

CONTEXT_SYSTEMS = ("none", "prompt", "retrieval")
DOC_MEMORIES = ("compression", "adapter")
DATASETS = ("facts", "booksort")


def default_weights(system: str) -> Path:
    """Where the training script of ``system`` writes its weights."""
    return Path("~/.cache/memkit/weights").expanduser() / f"{system}-smollm2.safetensors"


# -- metrics ------------------------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, punctuation and articles removed, spaces collapsed."""
    text = "".join(" " if c in string.punctuation or c in "“”‘’—–" else c for c in text.lower())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def _first_line(generation: str) -> str:
    lines = [ln for ln in generation.strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def exact_match(generation: str, answer: str) -> bool:
    """The normalised first line of ``generation`` begins with the normalised ``answer`` (whole words)."""
    pred, gold = normalize(_first_line(generation)).split(), normalize(answer).split()
    return bool(gold) and pred[: len(gold)] == gold


def token_f1(generation: str, answer: str) -> float:
    """SQuAD token F1 of the generation's first line against the answer."""
    pred, gold = normalize(_first_line(generation)).split(), normalize(answer).split()
    common = sum((collections.Counter(pred) & collections.Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


# -- the documents and the questions ------------------------------------------------------------------------
class Item(BaseModel):
    """A document of a stream, at ``position``, and the question it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    position: int
    document: str
    prompt: str
    answer: str


class Plan(BaseModel):
    """The questions asked at one checkpoint, as stream positions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    documents: int
    retention: list[int]
    learning: list[int]


def question_plan(checkpoints: Sequence[int], questions: int, *, retention: int = 10, seed: int = 0) -> list[Plan]:
    """Per checkpoint: the first ``retention`` documents, and up to ``questions`` documents (seeded sample, in
    stream order) of those written since the previous checkpoint."""
    if not checkpoints or list(checkpoints) != sorted(set(checkpoints)) or checkpoints[0] < 1:
        raise InvalidInputError(f"checkpoints must be increasing positive counts, got {list(checkpoints)}")
    if questions < 0 or retention < 0:
        raise InvalidInputError("questions and retention must be >= 0")
    rng = random.Random(f"docbench:{seed}")
    plans, prev = [], 0
    for c in checkpoints:
        new = list(range(prev, c))
        learning = sorted(rng.sample(new, min(questions, len(new))))
        plans.append(Plan(documents=c, retention=list(range(min(retention, checkpoints[0]))), learning=learning))
        prev = c
    return plans


def build_stream(data: str, n: int, asked: set[int], *, seed: int = 0, booksort_dir: str | Path | None = None
                 ) -> list[Item]:
    """The ``n`` documents of data set ``data`` in stream order (the ``asked`` positions hold questionable ones)."""
    if data == "booksort":
        from memkit.editing.docdata import book_passages

        return [Item(id=f"book-{c.id}", position=i, document=c.document, prompt=c.prompt, answer=c.answer)
                for i, c in enumerate(book_passages(n, seed=seed, folder=booksort_dir))]
    if data != "facts":
        raise InvalidInputError(f"unknown data set {data!r}: use one of {', '.join(DATASETS)}")
    from memkit.editing.docfacts import doc_facts

    n_test = min(n, 640)
    if n - n_test > 960:
        raise InvalidInputError(f"the facts stream holds at most 1600 documents, asked for {n}")
    if len(asked) > n_test or any(not 0 <= p < n for p in asked):
        raise InvalidInputError(f"{len(asked)} asked positions do not fit a facts stream of {n} documents")
    test = doc_facts(n_test, split="test", seed=seed)
    fillers = test[len(asked):] + (doc_facts(n - n_test, split="train", seed=seed + 1) if n > n_test else [])
    random.Random(f"fillers:{seed}").shuffle(fillers)
    by_pos = dict(zip(sorted(asked), test, strict=False))
    rest = iter(fillers)
    facts = [by_pos[i] if i in by_pos else next(rest) for i in range(n)]
    return [Item(id=f.id, position=i, document=f.document, prompt=f.prompt, answer=f.answer)
            for i, f in enumerate(facts)]


# -- systems --------------------------------------------------------------------------------------------------
class ContextSystem:
    """``none``, ``prompt`` or ``retrieval``: documents (or none) in the prompt of the frozen base model."""

    def __init__(self, kind: str, lm: Any, *, context: int = 2048, k: int = 3, store: str | Path | None = None,
                 retrieval_config: Any = None, max_new_tokens: int = 8, batch_size: int = 4):
        if kind not in CONTEXT_SYSTEMS:
            raise InvalidInputError(f"not a context system: {kind!r}")
        self.kind, self.lm, self.k, self.batch_size = kind, lm, k, batch_size
        self.max_new_tokens = max_new_tokens
        self.budget = context - max_new_tokens
        tok = lm.tokenizer
        self.head = list(tok("")["input_ids"])  # the tokenizer's own prefix (BOS), if any
        self.docs: list[tuple[str, list[int]]] = []
        self.memory = None
        if kind == "retrieval":
            from memkit import Memory

            self.memory = Memory(store, config=retrieval_config)

    def write(self, items: Sequence[Item]) -> None:
        encode = self.lm.tokenizer
        if self.kind == "prompt":
            self.docs += [(i.document, list(encode(i.document + "\n", add_special_tokens=False)["input_ids"]))
                          for i in items]
        elif self.memory is not None:
            self.memory.add_many([{"content": i.document, "metadata": {"position": i.position}} for i in items],
                                 progress=False)

    def prompt_ids(self, prompt: str) -> list[int]:
        """Head, the documents that fit (newest last), the question; cut on the left at document boundaries."""
        tok = self.lm.tokenizer
        question = list(tok(prompt, add_special_tokens=False)["input_ids"])
        room = self.budget - len(self.head) - len(question)
        if room < 0:
            raise InvalidInputError(f"a question of {len(question)} tokens does not fit --context")
        if self.kind == "prompt":
            docs = [ids for _, ids in self.docs]
        elif self.memory is not None:
            hits = self.memory.search(prompt, k=self.k)
            docs = [list(tok(h.note.content + "\n", add_special_tokens=False)["input_ids"]) for h in reversed(hits)]
        else:
            docs = []
        kept: list[list[int]] = []
        for ids in reversed(docs):
            if len(ids) > room:
                break
            kept.append(ids)
            room -= len(ids)
        return self.head + [t for ids in reversed(kept) for t in ids] + question

    def ask(self, items: Sequence[Item]) -> tuple[list[str], list[int]]:
        tok = self.lm.tokenizer
        rows = [self.prompt_ids(i.prompt) for i in items]
        order = sorted(range(len(rows)), key=lambda j: len(rows[j]))  # like lengths together: little padding
        out: dict[int, str] = {}
        for lo in range(0, len(order), self.batch_size):
            batch = order[lo : lo + self.batch_size]
            new = self.lm.generate([rows[j] for j in batch], max_new_tokens=self.max_new_tokens,
                                   eos_token_id=tok.eos_token_id)
            out.update({j: tok.decode(ids, skip_special_tokens=True) for j, ids in zip(batch, new, strict=True)})
        return [out[j] for j in range(len(rows))], [len(r) for r in rows]

    def held(self) -> dict[str, Any]:
        if self.kind == "prompt":
            return {"held_bytes": sum(len(t.encode()) for t, _ in self.docs),
                    "context_tokens": sum(len(ids) for _, ids in self.docs)}
        if self.memory is not None:
            files = [p for p in Path(self.memory.path).rglob("*") if p.is_file()]
            return {"held_bytes": sum(p.stat().st_size for p in files), "notes": self.memory.store.count()}
        return {"held_bytes": 0}

    def close(self) -> None:
        if self.memory is not None:
            self.memory.close()


class MemorySystem:
    """A document memory (``compression``, ``adapter``): documents written into it, questions asked bare."""

    def __init__(self, memory: Any, *, max_new_tokens: int = 8, batch_size: int = 4):
        self.memory, self.max_new_tokens, self.batch_size = memory, max_new_tokens, batch_size

    def write(self, items: Sequence[Item]) -> None:
        from memkit.editing.documents import Document

        self.memory.write([Document(id=i.id, text=i.document) for i in items])

    def ask(self, items: Sequence[Item]) -> tuple[list[str], list[int]]:
        prompts = [i.prompt for i in items]
        out: list[str] = []
        for lo in range(0, len(prompts), self.batch_size):
            out += self.memory.generate(prompts[lo : lo + self.batch_size], max_new_tokens=self.max_new_tokens)
        n = self.memory.n_slots
        return out, [n + len(self.memory.prompt_ids(p)) for p in prompts]

    def held(self) -> dict[str, Any]:
        tensors = self.memory._state_tensors()
        info = {k: v for k, v in self.memory.describe().items() if k != "config"}
        return {"held_bytes": sum(t.numel() * t.element_size() for t in tensors.values()), "describe": info}

    def close(self) -> None:
        return None


def resolve_memories(systems: Sequence[str], weights: dict[str, Path]) -> tuple[dict[str, Any], dict[str, str]]:
    """(name: config with its weights, name: why skipped) for the document memories among ``systems``.  A name may
    set options of the back end's config: ``adapter:select=none`` (``none`` is None)."""
    from pydantic import ValidationError

    from memkit.editing.documents import DocumentMemory
    from memkit.registry import parametric_memories

    configs: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in systems:
        if name in CONTEXT_SYSTEMS:
            continue
        backend, options = _system(name)
        if backend not in parametric_memories:
            if backend in DOC_MEMORIES:
                skipped[name] = f"the {backend!r} back end is not installed (not registered)"
                continue
            raise ConfigError(f"unknown system {name!r}: use {', '.join(CONTEXT_SYSTEMS + DOC_MEMORIES)}")
        cls = parametric_memories.get(backend)
        if not (isinstance(cls, type) and issubclass(cls, DocumentMemory)):
            raise ConfigError(f"{backend!r} is not a document memory")
        path = Path(weights.get(backend, default_weights(backend))).expanduser()
        if not path.is_file():
            skipped[name] = (f"weights file {path} not found: train it (the back end's training script) or pass "
                             f"--{backend}-weights; skipped rather than run untrained")
            continue
        try:
            configs[name] = cls.config_class(weights=str(path), **options)
        except ValidationError as exc:
            raise ConfigError(f"system {name!r}: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from None
    return configs, skipped


def _system(name: str) -> tuple[str, dict[str, Any]]:
    """``"adapter:select=1,rank=64"`` -> ("adapter", {"select": "1", "rank": "64"}); ``none`` stands for None."""
    backend, _, rest = name.partition(":")
    options: dict[str, Any] = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ConfigError(f"system {name!r}: options are written key=value, comma-separated")
        options[key.strip()] = None if value.strip().lower() == "none" else value.strip()
    return backend, options


# -- the run ---------------------------------------------------------------------------------------------------
def _score(system: Any, items: Sequence[Item]) -> dict[str, Any]:
    if not items:
        return {"n": 0, "em": None, "f1": None, "prompt_tokens": None, "seconds_per_question": None, "answers": []}
    start = time.perf_counter()
    gens, lengths = system.ask(items)
    seconds = time.perf_counter() - start
    answers = [{"id": i.id, "position": i.position, "answer": i.answer, "generation": g,
                "em": exact_match(g, i.answer), "f1": round(token_f1(g, i.answer), 4), "prompt_tokens": n}
               for i, g, n in zip(items, gens, lengths, strict=True)]
    return {"n": len(items), "em": sum(a["em"] for a in answers) / len(items),
            "f1": sum(a["f1"] for a in answers) / len(items), "prompt_tokens": sum(lengths) / len(items),
            "seconds_per_question": seconds / len(items), "answers": answers}


def run_benchmark(systems: Sequence[str], data: Sequence[str], *, checkpoints: Sequence[int] = (10, 100, 1000),
                  questions: int = 20, retention: int = 10, seed: int = 0, context: int = 2048, k: int = 3,
                  max_new_tokens: int = 8, batch_size: int = 4, weights: dict[str, Path] | None = None,
                  model: Any = None, tokenizer: Any = None, base_model: str | None = None, device: str | None = None,
                  retrieval_config: Any = None, booksort_dir: str | Path | None = None, progress: bool = True,
                  log: Any = print) -> dict[str, Any]:
    """Run every (data set, system) pair; returns the results as a JSON-ready dict."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from memkit.editing import create_memory
    from memkit.hf.runtime import CausalLM

    plans = question_plan(checkpoints, questions, retention=retention, seed=seed)
    configs, skipped = resolve_memories(systems, weights or {})
    for name, why in skipped.items():
        log(f"[docbench] {name}: {why}")
    run = [s for s in systems if s in CONTEXT_SYSTEMS or s in configs]
    if model is None:
        from memkit.hf.load import load_base_model, resolve_device

        device = resolve_device(device)
        model, tokenizer = load_base_model(base_model, device=device)
    device = str(next(model.parameters()).device)
    lm = CausalLM(model, tokenizer)
    if retrieval_config is None:
        retrieval_config = {"index": {"kind": "exact"}, "linker": {"enabled": False}}
    rows: list[dict[str, Any]] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress) as bar:
        overall = bar.add_task("all runs", total=len(data) * len(run))
        for name_data in data:
            asked = {p for plan in plans for p in plan.retention + plan.learning}
            stream = build_stream(name_data, checkpoints[-1], asked, seed=seed, booksort_dir=booksort_dir)
            for name in run:
                with tempfile.TemporaryDirectory(prefix="docbench-") as tmp:
                    if name in CONTEXT_SYSTEMS:
                        system: Any = ContextSystem(name, lm, context=context, k=k, store=Path(tmp) / "store",
                                                    retrieval_config=retrieval_config,
                                                    max_new_tokens=max_new_tokens, batch_size=batch_size)
                    else:
                        memory = create_memory(_system(name)[0], config=configs[name].model_copy(deep=True),
                                               model=copy.deepcopy(model), tokenizer=tokenizer)
                        system = MemorySystem(memory, max_new_tokens=max_new_tokens, batch_size=batch_size)
                    task = bar.add_task(f"{name_data} · {name}", total=checkpoints[-1])
                    written, write_s = 0, 0.0
                    try:
                        for plan in plans:
                            chunk = stream[written : plan.documents]
                            start = time.perf_counter()
                            if chunk:
                                system.write(chunk)
                            write_s += time.perf_counter() - start
                            written = plan.documents
                            bar.update(task, completed=written)
                            row = {"system": name, "data": name_data, "documents": written,
                                   "write_seconds_per_doc": write_s / written, **system.held()}
                            for part in ("retention", "learning"):
                                row[part] = _score(system, [stream[p] for p in getattr(plan, part)])
                            rows.append(row)
                    finally:
                        system.close()
                    bar.remove_task(task)
                    bar.advance(overall)
    return {"base_model": base_model or "smollm2-135m-instruct", "seed": seed, "machine": _machine(device),
            "settings": {"checkpoints": list(checkpoints), "questions": questions, "retention": retention,
                         "context": context, "k": k, "max_new_tokens": max_new_tokens, "batch_size": batch_size},
            "skipped": skipped, "weights": {name: _file_info(c.weights) for name, c in configs.items()},
            "results": rows}


def _file_info(path: str) -> dict[str, Any]:
    """Which weights file a memory ran with: path, size and modification time (training may rewrite it)."""
    import datetime

    stat = Path(path).stat()
    return {"path": path, "bytes": stat.st_size,
            "modified": datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC).isoformat(timespec="seconds")}


# -- output ----------------------------------------------------------------------------------------------------
def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def table_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per (data set, system, checkpoint): EM and F1 of retention and learning, tokens, seconds, bytes."""
    out = []
    for r in data["results"]:
        ret, learn = r["retention"], r["learning"]
        both = [p for p in (ret, learn) if p["n"]]
        n = sum(p["n"] for p in both) or 1
        tokens = sum(p["prompt_tokens"] * p["n"] for p in both) / n
        seconds = sum(p["seconds_per_question"] * p["n"] for p in both) / n
        out.append([r["data"], r["system"], str(r["documents"]), _fmt(ret["em"]), _fmt(ret["f1"]),
                    _fmt(learn["em"]), _fmt(learn["f1"]), f"{tokens:.0f}", _fmt(seconds),
                    _fmt(r["write_seconds_per_doc"], 4), _bytes(r.get("held_bytes"))])
    return out


COLUMNS = ("data", "system", "docs", "ret. EM", "ret. F1", "learn EM", "learn F1", "prompt tok/q", "s/q",
           "write s/doc", "held")


def print_tables(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Document memories on {data['base_model']} ({data['machine']['device']})")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("data", "system") else "right")
    for row in table_rows(data):
        table.add_row(*row)
    console = Console()
    console.width = max(console.width, 140)  # a pipe's 80 columns would wrap every cell
    console.print(table)
    for name, why in data["skipped"].items():
        console.print(f"skipped {name}: {why}")


def plot(data: dict[str, Any], path: Path) -> None:
    """EM vs documents written, per system: one row of plots per data set, retention left, learning right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r["data"] for r in data["results"]))
    ticks = sorted({r["documents"] for r in data["results"]})
    fig, axes = plt.subplots(len(sets), 2, figsize=(10, 3.4 * len(sets)), sharey=True, squeeze=False)
    for row_axes, name_data in zip(axes, sets, strict=True):
        for ax, part in zip(row_axes, ("retention", "learning"), strict=True):
            for system in dict.fromkeys(r["system"] for r in data["results"]):
                rows = sorted((r for r in data["results"] if r["system"] == system and r["data"] == name_data),
                              key=lambda r: r["documents"])
                ax.plot([r["documents"] for r in rows],
                        [r[part]["em"] if r[part]["em"] is not None else float("nan") for r in rows],
                        marker="o", label=system)
            ax.set_xscale("log")
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel("documents written")
            ax.set_title(f"{name_data}: {part} EM")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{data['base_model']} on {data['machine'].get('gpu', data['machine']['device'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memkit.editing.docbench", description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["both"], choices=[*DATASETS, "both"])
    parser.add_argument("--systems", nargs="+", default=[*CONTEXT_SYSTEMS, *DOC_MEMORIES])
    parser.add_argument("--checkpoints", nargs="+", type=int, default=[10, 100, 1000])
    parser.add_argument("--questions", type=int, default=20, help="learning questions per checkpoint (at most)")
    parser.add_argument("--retention", type=int, default=10, help="the first N documents are asked at every checkpoint")
    parser.add_argument("--context", type=int, default=2048, help="prompt + answer token budget of in-prompt systems")
    parser.add_argument("--k", type=int, default=3, help="documents retrieval puts in the prompt")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    for name in DOC_MEMORIES:
        parser.add_argument(f"--{name}-weights", type=Path, default=default_weights(name),
                            help=f"trained weights of the {name} memory (default: %(default)s)")
    parser.add_argument("--booksort-dir", type=Path, default=None, help="folder of the Book-SORT books (*.txt)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("docbench"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from memkit.hf.load import require_editing_deps

    require_editing_deps()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    data = list(DATASETS) if "both" in args.data else list(dict.fromkeys(args.data))
    weights = {name: getattr(args, f"{name}_weights") for name in DOC_MEMORIES}
    retrieval = {"index": {"kind": "exact"}, "linker": {"enabled": False},
                 "embedder": {"threads": args.threads} if args.threads else {}}
    try:
        result = run_benchmark(args.systems, data, checkpoints=args.checkpoints, questions=args.questions,
                               retention=args.retention, seed=args.seed, context=args.context, k=args.k,
                               max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, weights=weights,
                               base_model=args.base_model, device=args.device, retrieval_config=retrieval,
                               booksort_dir=args.booksort_dir, progress=not args.no_progress)
    except (ConfigError, InvalidInputError) as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2))
    print_tables(result)
    plot(result, args.out / "results.png")
    print(f"results: {args.out / 'results.json'}  plot: {args.out / 'results.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
