"""``memkit demo``: write a few dozen notes, show links and evolution, reopen from disk and search."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from memkit.errors import InvalidInputError
from memkit.lock import StoreLock
from memkit.memory import Memory

__all__ = ["run_demo", "default_demo_store", "DEMO_SESSIONS"]

# Three chat sessions between Maya and her assistant, weeks apart.
DEMO_SESSIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("2025-03-02T18:30:00+00:00", [
        ("Maya", "I just signed the lease on a flat in Lisbon, I move there on the first of April."),
        ("assistant", "Congratulations! Is the move for work?"),
        ("Maya", "Yes, I start as a data engineer at Tide Labs, a fintech startup near Cais do Sodre."),
        ("Maya", "My sister Ines already lives in Porto, so we will be a train ride apart."),
        ("Maya", "I am a bit nervous about the language, my Portuguese is very basic."),
        ("assistant", "Maybe a weekly Portuguese class would help you settle in."),
        ("Maya", "Good idea, I signed up for Tuesday evening classes at the Instituto Camoes."),
        ("Maya", "I have to find a vet for my cat Miso before the move, she is twelve years old."),
        ("Maya", "Miso needs a special kidney diet, the food is called Renal Care."),
        ("Maya", "I also need to sell my road bike, it will not fit in the new flat."),
        ("Maya", "My favourite food is grilled sardines, so Lisbon should suit me."),
        ("Maya", "I am allergic to peanuts, so I always check menus carefully."),
    ]),
    ("2025-04-20T10:05:00+00:00", [
        ("Maya", "The move went fine, the flat in Lisbon is in Alfama with a small balcony."),
        ("Maya", "Work at Tide Labs is intense, we are migrating the payments pipeline to Kafka."),
        ("Maya", "My manager at Tide Labs is called Joao, he is very patient with my Portuguese."),
        ("Maya", "The Portuguese classes on Tuesday are fun, the teacher uses songs from fado."),
        ("Maya", "I found a vet in Alfama for Miso, Dr. Costa, she knows the Renal Care diet."),
        ("Maya", "I sold the road bike to a colleague, and bought a folding bike instead."),
        ("Maya", "On weekends I go surfing in Carcavelos, I am still falling off the board a lot."),
        ("Maya", "Ines visited from Porto last weekend and we ate grilled sardines in Alfama."),
        ("assistant", "That sounds lovely. How is Miso handling the new place?"),
        ("Maya", "Miso loves the balcony, she sleeps in the sun all afternoon."),
        ("Maya", "I started running along the river in the mornings before work."),
        ("Maya", "My goal is to run the Lisbon half marathon in March next year."),
    ]),
    ("2025-06-15T20:45:00+00:00", [
        ("Maya", "Big news: I moved from Alfama to a bigger flat in Porto to be near Ines."),
        ("Maya", "I now work remotely for Tide Labs from Porto, and go to Lisbon once a month."),
        ("Maya", "The Kafka migration at Tide Labs finished, payments are twice as fast."),
        ("Maya", "I switched my Portuguese class to an online course on Thursday nights."),
        ("Maya", "Miso has a new vet in Porto, Dr. Almeida, who also keeps her on Renal Care."),
        ("Maya", "Surfing is harder in Porto, the water at Matosinhos is much colder."),
        ("Maya", "I am training for the Porto marathon in November instead of the Lisbon half."),
        ("Maya", "Ines and I cook dinner together every Sunday, usually bacalhau."),
        ("Maya", "My doctor said the peanut allergy test came back worse, I now carry an EpiPen."),
        ("Maya", "I want to learn to make pastel de nata before Ines's birthday in August."),
    ]),
]

QUERIES = [
    "Where does Maya live now?",
    "What diet does the cat need?",
    "Which company does Maya work for?",
    "What race is Maya training for?",
    "Kafka",
]


_MARKER = ".memkit-demo"


def default_demo_store() -> Path:
    return Path.home() / ".memkit" / "demo"


def _fresh_folder(store: Path) -> None:
    """Empty the demo's folder, but only its default one, one it made or an empty one: never a user's store."""
    if store.exists():
        ours = (store / _MARKER).exists() or store == default_demo_store()
        if not store.is_dir() or (any(store.iterdir()) and not ours):
            raise InvalidInputError(f"{store} is not empty and was not made by `memkit demo`; the demo wipes its "
                                    "folder, so give it a new or empty one")
        lock = StoreLock(store)
        lock.acquire()  # refuses a demo store another process has open
        lock.release()
        shutil.rmtree(store)
    store.mkdir(parents=True)
    (store / _MARKER).touch()


def run_demo(store: Path, console: Console | None = None) -> None:
    console = console or Console()
    _fresh_folder(store)
    console.rule("[bold]memkit demo")
    console.print(f"store: [cyan]{store}[/] (SQLite + Chroma + the bundled all-MiniLM-L6-v2; no server, no key)")
    items = []
    for si, (start, turns) in enumerate(DEMO_SESSIONS, start=1):
        t0 = datetime.fromisoformat(start)
        for ti, (speaker, text) in enumerate(turns):
            items.append({
                "content": text,
                "session_id": f"session-{si}",
                "valid_from": t0 + timedelta(minutes=2 * ti),
                "metadata": {"speaker": speaker, "turn": ti},
            })
    t = time.perf_counter()
    with Memory(store) as mem:
        notes = mem.add_many(items, user_id="maya", source="demo")
        took = time.perf_counter() - t
        console.print(f"wrote [bold]{len(notes)}[/] notes in {took:.1f}s (model load included)")
        # a later fact supersedes an earlier one: the old note is closed, not overwritten
        lisbon = next(n for n in notes if "lease on a flat in Lisbon" in n.content)
        porto = next(n for n in notes if "bigger flat in Porto" in n.content)
        mem.update(porto.id, metadata={**porto.metadata, "fact": "home"})
        mem.add("Maya lives in Porto.", user_id="maya", supersedes=lisbon.id,
                valid_from=datetime(2025, 6, 15, 21, 0, tzinfo=timezone.utc), metadata={"speaker": "memkit"})

        note = next(n for n in notes if "vet in Alfama" in n.content)
        table = Table(title=f"links of: {note.content!r}", show_lines=False)
        table.add_column("linked note")
        table.add_column("kind")
        kinds = {(lk.dst if lk.src == note.id else lk.src): lk.kind for lk in mem.store.links_of(note.id)}
        for other in mem.related(note.id):
            table.add_row(other.content, kinds.get(other.id, ""))
        console.print(table)

        evolved = [e for n in notes for e in mem.history(n.id) if e.event == "evolve"]
        console.print(f"[bold]{len(evolved)}[/] evolution events (neighbours' tags updated by newer notes), e.g.:")
        for e in evolved[:3]:
            console.print(f"  {mem.get(e.note_id).content[:60]!r}: tags {e.before['tags']} -> {e.after['tags']}")
        console.print("superseded:", repr(mem.get(lisbon.id).content), "valid_to", mem.get(lisbon.id).valid_to)

    console.rule("reopened from disk")
    with Memory(store) as mem:
        s = mem.stats()
        console.print(f"{s.notes} notes ({s.current_notes} current), {s.links} links, {s.history_events} history events")
        for q in QUERIES:
            hits = mem.search(q, k=3, user_id="maya")
            table = Table(title=q, title_justify="left")
            table.add_column("score", justify="right")
            table.add_column("note")
            table.add_column("dense/lex/graph rank", justify="right")
            for h in hits:
                r = h.scores
                ranks = "/".join("-" if x is None else str(x) for x in (r.dense_rank, r.lexical_rank, r.graph_rank))
                table.add_row(f"{h.score:.4f}", h.note.content, ranks)
            console.print(table)
    console.print(f"Try: [bold]memkit --store {store} search \"Maya's sister\"[/]")
