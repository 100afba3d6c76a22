"""Evidence recall of memkit's search on real multi-session chats: the yardstick of its retrieval defaults.

By default LongMemEval ``s/`` (``$MEMKIT_DATA_DIR/longmemeval/s``, or ``../shared/data``): one
memory per question's haystack of ~50 sessions (~500 turns), one note per turn.  Questions are
split in two fixed halves (:func:`memkit.bench.chats.split`): the defaults were chosen on ``dev``
and are reported on ``test``.  ``--data`` takes another LongMemEval folder or a LoCoMo file.

For each variant (the default; dense only, BM25 only, RRF, z-score fusion; with ``--ablation``
each part of the default switched off and each optional part switched on) it prints turn and
session recall@5/10, per question type, and ms per query (query embedding included).  Stores are
built once per data set and way of storing and cached (embeddings too), so a rerun is fast.

    python -m memkit.bench.conversational                        # LongMemEval s/, test half
    python -m memkit.bench.conversational --split dev --ablation --links
    python -m memkit.bench.conversational --data locomo10.json --storing both --split all
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from memkit.bench.chatrecall import ABLATIONS, ABSTENTION, BASELINES, TURN_KEY, RecallResult, build_store, evaluate
from memkit.bench.chats import LONGMEMEVAL_S, Chat, categories, chat_source, read_chats, split
from memkit.config import MemkitConfig

__all__ = ["LinkQuality", "link_quality", "run", "main"]


class LinkQuality(BaseModel):
    """How often the links memkit made join turns that answer one question, against chance."""

    model_config = ConfigDict(extra="forbid")

    notes: int
    evidence_notes: int
    links: dict[str, int]  # kind -> count
    both_evidence: dict[str, int]  # kind -> links joining two evidence turns of the chat's questions
    one_evidence: dict[str, int]  # kind -> links with one evidence end
    evidence_pairs_across_sessions: int  # pairs of evidence turns of one question in different sessions
    linked_pairs_across_sessions: int  # ... of them joined by a semantic link

    @property
    def base_rate(self) -> float:
        """The share of notes that are evidence: how often a random link end is."""
        return self.evidence_notes / max(self.notes, 1)


def link_quality(mem: Any, chats: Sequence[Chat]) -> LinkQuality:
    """Link statistics of the notes of ``chats`` in a store built by :func:`memkit.bench.chatrecall.build_store`."""
    ids = {c.id for c in chats}
    turn_of: dict[str, tuple[str, str]] = {}  # note id -> (chat, turn)
    for note in mem.iter_notes():
        if note.user_id in ids and TURN_KEY in note.metadata:
            turn_of[note.id] = (note.user_id, str(note.metadata[TURN_KEY]))
    evidence = {c.id: {t for q in c.questions if not q.category.endswith(ABSTENTION) for t in q.evidence_turns}
                for c in chats}
    session = {(c.id, t.id): s.id for c in chats for s, t in c.turns()}
    kinds, both, one = Counter(), Counter(), Counter()
    semantic: set[frozenset[tuple[str, str]]] = set()
    for link in mem.store.all_links():
        a, b = turn_of.get(link.src), turn_of.get(link.dst)
        if a is None or b is None:
            continue
        kinds[link.kind] += 1
        hits = (a[1] in evidence.get(a[0], ())) + (b[1] in evidence.get(b[0], ()))
        (both if hits == 2 else one if hits == 1 else Counter())[link.kind] += 1
        if link.kind == "semantic":
            semantic.add(frozenset((a, b)))
    pairs = linked = 0
    for c in chats:
        for q in c.questions:
            if q.category.endswith(ABSTENTION):
                continue
            for x, y in itertools.combinations(q.evidence_turns, 2):
                if session[(c.id, x)] != session[(c.id, y)]:
                    pairs += 1
                    linked += frozenset(((c.id, x), (c.id, y))) in semantic
    return LinkQuality(notes=len(turn_of), evidence_notes=sum(len(v) for v in evidence.values()),
                       links=dict(kinds), both_evidence=dict(both), one_evidence=dict(one),
                       evidence_pairs_across_sessions=pairs, linked_pairs_across_sessions=linked)


def run(chats: Sequence[Chat], storing: str = "fields", *, ablation: bool = False, config: MemkitConfig | None = None,
        cache: Path | None = None, with_links: bool = False, progress: bool = True
        ) -> tuple[list[RecallResult], LinkQuality | None]:
    """Build (or reuse) the store of ``chats`` and evaluate each variant on their questions."""
    from rich.progress import Progress

    mem = build_store(chats, storing, config or MemkitConfig(), cache=cache, progress=progress)  # type: ignore[arg-type]
    try:
        variants = {**BASELINES, **(ABLATIONS if ablation else {})}
        results = []
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"searching ({storing})", total=len(variants))
            for name, change in variants.items():
                results.append(evaluate(mem, chats, name=name, retrieval=change))
                bar.advance(task)
        links = link_quality(mem, chats) if with_links else None
    finally:
        mem.close()
    return results, links


def _tables(results: list[RecallResult], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 150)
    t = Table(title=f"{title}: evidence recall (mean over {results[0].questions} questions)")
    for col in ["variant", "turn@5", "turn@10", "session@5", "session@10", "ms/query"]:
        t.add_column(col, justify="left" if col == "variant" else "right")
    for r in results:
        t.add_row(r.name, f"{r.turn_recall[5]:.3f}", f"{r.turn_recall[10]:.3f}", f"{r.session_recall[5]:.3f}",
                  f"{r.session_recall[10]:.3f}", f"{r.ms_per_query:.1f}")
    console.print(t)
    cats = sorted({c for r in results for c in r.by_category})
    t = Table(title=f"{title}: turn / session recall@10 by question type (n questions)")
    t.add_column("variant")
    for c in cats:
        n = next(int(r.by_category[c]["n"]) for r in results if c in r.by_category)
        t.add_column(f"{c} ({n})", justify="right")
    for r in results:
        cells = []
        for c in cats:
            d = r.by_category.get(c, {})
            turn = f"{d['turn@10']:.2f}" if "turn@10" in d else "–"
            cells.append(f"{turn} / {d.get('session@10', float('nan')):.2f}")
        t.add_row(r.name, *cells)
    console.print(t)


def _print_links(lq: LinkQuality) -> None:
    from rich.console import Console

    lines = [f"links on {lq.notes:,} notes ({lq.evidence_notes:,} evidence turns; a random note is evidence "
             f"{lq.base_rate:.2%} of the time):"]
    p = lq.base_rate
    for kind, n in sorted(lq.links.items()):
        both, one = lq.both_evidence.get(kind, 0), lq.one_evidence.get(kind, 0)
        lines.append(f"  {kind}: {n:,} links; {both:,} join two evidence turns ({n * p * p:,.1f} if their ends were "
                     f"random notes), {one:,} have one evidence end ({n * 2 * p * (1 - p):,.1f} at random)")
    lines.append(f"  evidence turn pairs of one question in different sessions: {lq.evidence_pairs_across_sessions}, "
                 f"joined by a semantic link: {lq.linked_pairs_across_sessions}")
    Console().print("\n".join(lines), highlight=False)


def plot(results: dict[str, list[RecallResult]], path: Path) -> Path:
    """Turn recall@10 per question type of each baseline and the default, one panel per way of storing."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    panels = list(results.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (storing, rs) in zip(axes[0], panels, strict=True):
        shown = [r for r in rs if r.name in BASELINES]
        cats = sorted({c for r in shown for c, d in r.by_category.items() if "turn@10" in d})
        width = 0.8 / max(len(shown), 1)
        for i, r in enumerate(shown):
            ax.bar([x + i * width for x in range(len(cats))],
                   [r.by_category.get(c, {}).get("turn@10", 0.0) for c in cats], width, label=r.name)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(cats))], cats, rotation=25, ha="right", fontsize=8)
        ax.set_ylim(0, 1.25)
        ax.set_ylabel("evidence turns in the top 10")
        ax.set_title(f"turns stored as {storing}")
        ax.legend(fontsize=7, loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m memkit.bench.conversational", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help=f"a LongMemEval folder or file, or a LoCoMo JSON file (default: "
                    f"<data root>/{LONGMEMEVAL_S})")
    ap.add_argument("--split", choices=["dev", "test", "all"], default="test",
                    help="which half of the questions (default: test, the half the defaults were not chosen on)")
    ap.add_argument("--storing", choices=["fields", "plain", "both"], default="fields",
                    help="turns as fields (session, speaker, time) or as plain 'speaker: text' (default: fields)")
    ap.add_argument("--ablation", action="store_true", help="also each part of the default off, each optional on")
    ap.add_argument("--links", action="store_true", help="report how often links join evidence turns")
    ap.add_argument("--limit", type=int, help="read only the first N chats (files) of the data")
    ap.add_argument("--config", type=Path, help="a memkit TOML config (its retrieval section is the default)")
    ap.add_argument("--cache", type=Path, help="where built stores are kept (default: the memkit cache folder)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--plot", type=Path, help="write a PNG of recall per question type here")
    args = ap.parse_args(argv)

    source = chat_source(args.data)
    everything = read_chats(source, limit=args.limit)
    chats = split(everything, args.split)
    config = MemkitConfig.from_toml(args.config) if args.config else MemkitConfig()
    part = "every question" if args.split == "all" else f"{args.split} half"
    print(f"{source}: {len(everything)} chats; {part}: "
          f"{sum(len(c.questions) for c in chats)} questions of types {', '.join(categories(chats))}")
    storings = ["fields", "plain"] if args.storing == "both" else [args.storing]
    out: dict[str, Any] = {"data": str(source), "split": args.split}
    all_results: dict[str, list[RecallResult]] = {}
    for storing in storings:
        results, links = run(chats, storing, ablation=args.ablation, config=config, cache=args.cache,
                             with_links=args.links)
        all_results[storing] = results
        _tables(results, f"{Path(source).name} {args.split}, turns stored as {storing}")
        if links is not None:
            _print_links(links)
        out[storing] = {"results": [r.model_dump() for r in results],
                        "links": links.model_dump() if links is not None else None}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    if args.plot:
        print(f"wrote {plot(all_results, args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
