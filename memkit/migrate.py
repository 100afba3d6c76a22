"""``memkit migrate``: copy a whole memory from one back end to another (an embedded folder, a PostgreSQL
database, either with a Chroma server as its index), with nothing lost.

Notes are copied with their stored embeddings (nothing is embedded again), in insertion order, then the links,
then every history event (deleted notes' too, undone marks kept).  Each note is compared afterwards by a
checksum of its fields and its embedding (its retrieval count and last access, which every search moves,
are copied but not compared).  Running it again is safe: a note already there with the same
checksum is left alone, one that differs is overwritten with the source's, and only the history events the
target lacks are added.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from memkit.errors import EmbeddingMismatchError, InvalidInputError, StoreError
from memkit.progress import progress_bar, want_progress
from memkit.types import HistoryEvent, NewEvent, Note, WriteBatch
from memkit.writing.records import snapshot

if TYPE_CHECKING:
    from memkit.engine import Engine
    from memkit.memory import Memory

__all__ = ["MigrationReport", "migrate", "note_checksum"]

_STEP = 500  # notes read, compared and written at a time


class MigrationReport(BaseModel):
    """What one run of :func:`migrate` did, and what it checked."""

    source: str
    target: str
    notes_copied: int = 0
    notes_overwritten: int = 0
    notes_unchanged: int = 0
    links_added: int = 0
    events_copied: int = 0
    checksums_verified: int = 0
    source_counts: dict[str, int] = {}
    target_counts: dict[str, int] = {}


_USAGE = ("retrieval_count", "last_accessed")  # moved by every search: not what a note says


def note_checksum(note: Note, embedding: np.ndarray | None) -> str:
    """A note's fields (as history keeps them: without its links; nor its retrieval count and last access) and its
    stored embedding, hashed."""
    fields = {k: v for k, v in snapshot(note).items() if k not in _USAGE}
    h = hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode())
    if embedding is not None:
        h.update(np.asarray(embedding, dtype=np.float32).tobytes())
    return h.hexdigest()


def migrate(source: Memory, target: Memory, *, progress: bool | None = None) -> MigrationReport:
    """Copy every note, link and history event of ``source`` into ``target`` and verify each note's checksum.

    Both memories are held for writing while it runs.  ``target`` must use the same embedder (the stored
    vectors are copied); a mismatch is :class:`EmbeddingMismatchError` before anything is written.
    """
    if source is target:
        raise InvalidInputError("cannot migrate a memory into itself")
    report = MigrationReport(source=source.location, target=target.location)
    with _held(source), _held(target):
        src, dst = source.engine, target.engine
        _same_embedder(src, dst)
        ids = [n.id for n in src.store.iter_notes()]
        with progress_bar("copying notes", len(ids), want_progress(progress, len(ids))) as bar:
            for s in range(0, len(ids), _STEP):
                _copy_notes(src, dst, ids[s : s + _STEP], report)
                bar.advance(len(ids[s : s + _STEP]))
        links = src.store.all_links()
        before = dst.store.counts()["links"]
        for s in range(0, len(links), 10 * _STEP):
            dst.commit(WriteBatch(link=links[s : s + 10 * _STEP]))
        report.links_added = dst.store.counts()["links"] - before
        dst.graph.invalidate()
        report.events_copied = _copy_history(src, dst, progress)
        report.checksums_verified = _verify(src, dst, ids, progress)
        report.source_counts, report.target_counts = src.store.counts(), dst.store.counts()
    return report


@contextmanager
def _held(mem: Memory) -> Iterator[None]:
    with mem._lock.writing():  # the memory's own lock, as its write methods take it
        mem._check_open()
        yield


def _same_embedder(src: Engine, dst: Engine) -> None:
    name, dim = src.store.get_meta("embedder"), src.store.get_meta("dim")
    if name is None:  # nothing embedded yet: nothing to carry over
        return
    if dst.embedder.name != name:
        raise EmbeddingMismatchError(f"the target embeds with {dst.embedder.name!r}, the source's notes were embedded "
                                     f"with {name!r}; stored vectors cannot be copied between embedders (open the "
                                     "target with the source's [embedder])")
    dst.store.check_embedder(name, int(dim) if dim else None)


def _copy_notes(src: Engine, dst: Engine, chunk: Sequence[str], report: MigrationReport) -> None:
    notes, vecs = src.store.get_many(chunk), src.store.embeddings(chunk)
    have, have_vecs = dst.store.get_many(chunk), dst.store.embeddings(chunk)
    insert: list[tuple[Note, np.ndarray | None]] = []
    changed: list[Note] = []
    for nid in chunk:
        note = notes[nid].model_copy(update={"links": []})  # links are copied on their own, after every note
        if nid not in have:
            insert.append((note, vecs.get(nid)))
        elif note_checksum(note, vecs.get(nid)) != note_checksum(have[nid], have_vecs.get(nid)):
            changed.append(note)
    report.notes_copied += len(insert)
    report.notes_overwritten += len(changed)
    report.notes_unchanged += len(chunk) - len(insert) - len(changed)
    if not insert and not changed:
        return
    # an overwritten note is deleted and inserted again whole (update keeps a note's scope and creation time)
    if changed:
        gone = [n.id for n in changed]
        dst.commit(WriteBatch(delete=gone), delete=gone, open_index=True)
    rows = insert + [(n, vecs.get(n.id)) for n in changed]
    dst.commit(WriteBatch(insert=rows), upsert=[n for n, _ in rows],
               vectors={n.id: v for n, v in rows if v is not None}, open_index=True)


def _event_key(e: HistoryEvent | NewEvent) -> tuple[Any, ...]:
    return (e.note_id, e.event, e.at.isoformat(), e.actor, e.reason)


def _copy_history(src: Engine, dst: Engine, progress: bool | None) -> int:
    """The events the target lacks (matched on note, kind, time, actor and reason), and the source's undone marks."""
    wanted: dict[str, list[HistoryEvent]] = defaultdict(list)
    for e in src.store.iter_history():
        wanted[e.note_id].append(e)
    present: dict[str, list[HistoryEvent]] = defaultdict(list)
    for e in dst.store.iter_history():
        present[e.note_id].append(e)
    copied = 0
    note_ids = list(wanted)
    with progress_bar("copying history", len(note_ids), want_progress(progress, len(note_ids))) as bar:
        for s in range(0, len(note_ids), _STEP):
            chunk = note_ids[s : s + _STEP]
            new: list[NewEvent] = []
            for nid in chunk:
                there = {_event_key(e) for e in present[nid]}
                new += [NewEvent(e.note_id, e.event, e.before, e.after, e.at, e.actor, e.reason)
                        for e in wanted[nid] if _event_key(e) not in there]
            if new:
                dst.commit(WriteBatch(events=new))
                copied += len(new)
            undone = []
            for nid in chunk:
                marks = {_event_key(e) for e in wanted[nid] if e.undone}
                if marks:  # the target's ids of those events: only read for a note with an undone event
                    undone += [e.id for e in dst.store.history(nid) if not e.undone and _event_key(e) in marks]
            if undone:
                dst.commit(WriteBatch(undone=undone))
            bar.advance(len(chunk))
    return copied


def _verify(src: Engine, dst: Engine, ids: list[str], progress: bool | None) -> int:
    """Every source note is in the target with the same checksum, else :class:`StoreError` naming the first."""
    with progress_bar("verifying notes", len(ids), want_progress(progress, len(ids))) as bar:
        for s in range(0, len(ids), _STEP):
            chunk = ids[s : s + _STEP]
            a, av = src.store.get_many(chunk), src.store.embeddings(chunk)
            b, bv = dst.store.get_many(chunk), dst.store.embeddings(chunk)
            for nid in chunk:
                if nid not in b:
                    raise StoreError(f"migration check failed: note {nid} is missing in the target")
                if note_checksum(a[nid], av.get(nid)) != note_checksum(b[nid], bv.get(nid)):
                    raise StoreError(f"migration check failed: note {nid} differs in the target")
            bar.advance(len(chunk))
    return len(ids)
