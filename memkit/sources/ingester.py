"""``memkit ingest``: files and folders into a memory, once, and again only where they changed.

For each supported file (``.md``/``.markdown``, ``.txt``, chat transcripts in ``.json``/``.jsonl``): its
SHA-256 is compared with the one recorded in ``<store>/ingest.db``; an unchanged file is not read again
(also not when notes it made were deleted since: a forgotten note does not come back).  A changed file
is parsed into units (the document; each conversation of a transcript) and pieces; a piece's note id is
fixed by the scope, the file, the unit, its place and its text, so a piece already stored is never
written twice, also after a crash.  Notes of a unit that the new version no longer has are superseded
by its first new note (closed, when nothing new replaces them).  Then ``[[wikilinks]]`` become links
between the notes of the two files.  Files are only read: their bytes and times are never touched.

The memory written to is anything with ``Memory``'s ``add_many``, ``existing``, ``get``, ``update`` and
``link`` (a ``Memory``, or the daemon's service bound to a caller).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from memkit.errors import InvalidInputError, MemkitError, NotFoundError
from memkit.progress import progress_bar, want_progress
from memkit.sources.chats import parse_chat
from memkit.sources.documents import parse_markdown, parse_text
from memkit.sources.state import IngestState, UnitRow
from memkit.sources.units import NotATranscript, Parsed, ParseError, Unit, unit_hash
from memkit.types import Note, utcnow

__all__ = ["Ingester", "IngestReport", "FileIssue", "discover", "SUPPORTED"]

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".json": "chat", ".jsonl": "chat"}
_MAX_BYTES = {"markdown": 16 << 20, "text": 16 << 20, "chat": 512 << 20}
_PARSERS: dict[str, Callable[..., Parsed]] = {"markdown": parse_markdown, "text": parse_text, "chat": parse_chat}


class FileIssue(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    """What one run did."""

    root: str
    files: int = Field(default=0, description="supported files looked at")
    unchanged: int = 0
    ingested: int = Field(default=0, description="files read and written (new or changed)")
    notes_added: int = 0
    notes_closed: int = Field(default=0, description="old notes superseded or closed: their file changed or went")
    removed: int = Field(default=0, description="files gone since the last run")
    links: int = Field(default=0, description="links made from [[wikilinks]] and markdown links")
    skipped: list[FileIssue] = Field(default_factory=list)
    failed: list[FileIssue] = Field(default_factory=list)
    warnings: list[FileIssue] = Field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        for f in ("files", "unchanged", "ingested", "notes_added", "notes_closed", "removed", "links"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.skipped += other.skipped
        self.failed += other.failed
        self.warnings += other.warnings


def discover(root: Path) -> tuple[list[Path], list[FileIssue]]:
    """The supported files at or under ``root`` (hidden files and folders left out), and the others."""
    if root.is_file():
        if root.suffix.lower() in SUPPORTED:
            return [root], []
        return [], [FileIssue(path=str(root), reason=f"unsupported file type {root.suffix or '(none)'}")]
    if not root.is_dir():
        raise InvalidInputError(f"no such file or folder: {root}")
    found, skipped = [], []
    for folder, dirs, files in os.walk(root):  # symlinked folders are not followed (no loops)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if path.suffix.lower() in SUPPORTED:
                found.append(path)
            else:
                skipped.append(FileIssue(path=str(path), reason=f"unsupported file type {path.suffix or '(none)'}"))
    return found, skipped


def _note_id(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:32]


class Ingester:
    """Ingests into ``mem`` for one scope; ``state_dir`` holds ``ingest.db`` (the store folder)."""

    def __init__(self, mem: Any, state_dir: Path, *, user_id: str | None = None, agent_id: str | None = None,
                 target_chars: int | None = None):
        self.mem = mem
        self.state = IngestState(state_dir)
        self.user_id, self.agent_id = user_id, agent_id
        self.scope = json.dumps([user_id, agent_id])
        self.sizes = {} if target_chars is None else {"target": target_chars, "limit": 2 * target_chars}

    def close(self) -> None:
        self.state.close()

    def run(self, root: Path | str, *, only: Iterable[Path | str] | None = None, progress: bool | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Ingest ``root`` (a file or folder); with ``only``, just those paths below it (a watcher's changes).
        Files recorded under ``root`` that are gone are removed (their notes closed)."""
        root = Path(root).expanduser().resolve()
        report = IngestReport(root=str(root))
        if only is None:
            files, report.skipped = discover(root)
            gone = [p for p in self.state.files_under(self.scope, str(root)) if not Path(p).is_file()]
        else:
            wanted = [Path(p).resolve() for p in only]
            files = [p for p in wanted if p.is_file() and p.suffix.lower() in SUPPORTED
                     and not any(part.startswith(".") for part in p.relative_to(root).parts)] if root.is_dir() else \
                [p for p in wanted if p == root and p.is_file()]
            gone = [str(p) for p in wanted if not p.exists() and self.state.file_hash(self.scope, str(p)) is not None]
        changed: list[UnitRow] = []
        with progress_bar("ingesting files", len(files), want_progress(progress, len(files), 20)) as bar:
            for n, path in enumerate(files, start=1):
                report.files += 1
                try:
                    changed += self._file(path, root, report)
                except NotATranscript as exc:
                    report.skipped.append(FileIssue(path=str(path), reason=str(exc)))
                except (OSError, ParseError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    report.failed.append(FileIssue(path=str(path), reason=reason))
                except MemkitError as exc:
                    report.failed.append(FileIssue(path=str(path), reason=f"{type(exc).__name__}: {exc}"))
                bar.advance(1)
                if on_progress is not None:
                    on_progress(n, len(files))
        for path in gone:
            for row in self.state.units(self.scope, path):
                report.notes_closed += self._retire(row.note_ids)
            self.state.forget_file(self.scope, path)
            report.removed += 1
        report.links += self._link(changed)
        return report

    # -- one file ------------------------------------------------------------------------------------------
    def _file(self, path: Path, root: Path, report: IngestReport) -> list[UnitRow]:
        kind = SUPPORTED[path.suffix.lower()]
        size = path.stat().st_size
        if size > _MAX_BYTES[kind]:
            report.skipped.append(FileIssue(path=str(path), reason=f"larger than {_MAX_BYTES[kind] >> 20} MB"))
            return []
        with open(path, "rb") as f:  # read only; nothing here writes to the file or its folder
            raw = f.read()
        digest = hashlib.sha256(raw).hexdigest()
        key = str(path)
        if self.state.file_hash(self.scope, key) == digest:
            report.unchanged += 1
            return []
        rel = PurePosixPath(path.relative_to(root).as_posix() if root.is_dir() else path.name)
        parsed = _PARSERS[kind](raw, rel, **self.sizes)
        report.warnings += [FileIssue(path=key, reason=w) for w in parsed.warnings]
        old = {row.unit: row for row in self.state.units(self.scope, key)}
        rows = []
        for unit in parsed.units:
            row, added, closed = self._unit(key, unit, old.pop(unit.key, None))
            report.notes_added += added
            report.notes_closed += closed
            if row is not None:
                rows.append(row)
        for row in old.values():  # units the file no longer has (a conversation removed from an export)
            report.notes_closed += self._retire(row.note_ids)
            self.state.remove_unit(self.scope, key, row.unit)
        self.state.set_file(self.scope, key, digest, parsed.kind)
        report.ingested += 1
        return rows

    def _unit(self, path: str, unit: Unit, old: UnitRow | None) -> tuple[UnitRow | None, int, int]:
        """Write one unit's new pieces; returns (its row, notes added, notes closed)."""
        digest = unit_hash(unit)
        if old is not None and old.hash == digest:
            return None, 0, 0
        version = digest if unit.chained else ""  # a document is rewritten whole; a chat keeps its old turns
        ids = [_note_id(self.scope, path, unit.key, i, hashlib.sha256(p.content.encode()).hexdigest(), version)
               for i, p in enumerate(unit.pieces)]
        present = self.mem.existing(ids)
        items = []
        for i, (piece, nid) in enumerate(zip(unit.pieces, ids, strict=True)):
            if nid in present:
                continue
            meta = {**piece.metadata, "ingest_kind": "chat" if not unit.chained else "document",
                    "content_hash": digest[:16]}
            if len(unit.pieces) > 1 and unit.chained:
                meta.update(chunk=i, chunks=len(unit.pieces))
            item: dict[str, Any] = {"id": nid, "content": piece.content, "metadata": meta, "source": path,
                                    "tags": piece.tags or None, "session_id": piece.session_id,
                                    "valid_from": piece.valid_from, "user_id": self.user_id,
                                    "agent_id": self.agent_id}
            if unit.chained and i > 0:
                item["links"] = [ids[i - 1]]
            items.append({k: v for k, v in item.items() if v is not None})
        closed = 0
        retired = [i for i in (old.note_ids if old else []) if i not in set(ids)]
        if items:
            current = [n.id for n in self._current(retired)]
            if current:
                items[0]["supersedes"] = current
            self.mem.add_many(items, progress=False)
            closed = len(current)
        else:
            closed = self._retire(retired)
        links = [(i, name) for i, p in enumerate(unit.pieces) for name in p.links_to]
        row = UnitRow(path=path, unit=unit.key, hash=digest, title=unit.title, note_ids=ids, names=unit.names,
                      links=links, unresolved=bool(links))
        self.state.set_unit(self.scope, row)
        return row, len(items), closed

    def _current(self, ids: list[str]) -> list[Note]:
        """The notes of ``ids`` that are stored and still valid."""
        out = []
        for nid in ids:
            try:
                note = self.mem.get(nid)
            except NotFoundError:
                continue
            if note.valid_to is None:
                out.append(note)
        return out

    def _retire(self, ids: list[str]) -> int:
        """Close the notes of ``ids`` that are still valid; returns how many."""
        now = utcnow()
        todo = self._current(ids)
        for note in todo:
            self.mem.update(note.id, valid_to=max(now, note.valid_from or now))
        return len(todo)

    # -- links -----------------------------------------------------------------------------------------
    def _link(self, changed: list[UnitRow]) -> int:
        """Link the notes of units whose names other units link to: the changed units' own links, links to
        changed units, and links that could not be resolved before."""
        units = self.state.units(self.scope)
        by_name: dict[str, UnitRow] = {}
        for row in units:
            for name in row.names:
                by_name.setdefault(name, row)
        touched = {(r.path, r.unit) for r in changed}
        names = {n for r in changed for n in r.names}
        made = 0
        for row in units:
            if not row.links or not ((row.path, row.unit) in touched or row.unresolved
                                     or any(name in names for _, name in row.links)):
                continue
            unresolved = False
            for index, name in row.links:
                target = by_name.get(name) or by_name.get(name.rsplit("/", 1)[-1])
                if target is None or not target.note_ids or index >= len(row.note_ids):
                    unresolved = True
                    continue
                if (target.path, target.unit) == (row.path, row.unit):
                    continue
                try:
                    self.mem.link(row.note_ids[index], target.note_ids[0], kind="manual")
                    made += 1
                except NotFoundError:  # a note deleted since: nothing to link
                    continue
            if unresolved != row.unresolved:
                self.state.set_unresolved(self.scope, row.path, row.unit, unresolved)
        return made
