"""Export and import: one JSON object per line (a header, then notes, then links)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from memkit.builders.base import search_extra
from memkit.errors import InvalidInputError, StoreError, validation_message
from memkit.filters import index_metadata
from memkit.ingest import _event, embedded_chunks, snapshot
from memkit.progress import progress_bar, want_progress
from memkit.stores.sqlite import note_row
from memkit.types import Link, Note, utcnow

if TYPE_CHECKING:
    from memkit.memory import Memory

__all__ = ["export_jsonl", "import_jsonl", "FORMAT"]

FORMAT = "memkit-export/1"


def export_jsonl(mem: Memory, path: Path) -> int:
    """Write every note and link to ``path`` (through a temporary file, so a failed export leaves no half file)."""
    if path.is_dir():
        raise InvalidInputError(f"cannot export to {path}: it is a folder; give a file name")
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"format": FORMAT, "embedder": mem.embedder.name,
                                "exported_at": utcnow().isoformat()}) + "\n")
            for note in mem.store.iter_notes():
                f.write(json.dumps({"note": snapshot(note)}, ensure_ascii=False) + "\n")
                n += 1
            for lk in mem.store.all_links():
                f.write(json.dumps({"link": lk.model_dump(mode="json")}, ensure_ascii=False) + "\n")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot export to {path}: {exc.strerror or exc}") from None
    return n


def import_jsonl(mem: Memory, path: Path, on_conflict: str = "skip", progress: bool | None = None) -> int:
    if on_conflict not in ("skip", "error"):
        raise InvalidInputError("on_conflict must be 'skip' or 'error'")
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    notes: list[Note] = []
    links: list[Link] = []
    lineno = 0
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("expected a JSON object")
                if lineno == 1:
                    if obj.get("format") != FORMAT:
                        raise ValueError(f"not a memkit export (format {obj.get('format')!r}, expected {FORMAT!r})")
                    continue
                if "note" in obj:
                    notes.append(Note.model_validate(obj["note"]))
                elif "link" in obj:
                    links.append(Link.model_validate(obj["link"]))
                else:
                    raise ValueError("expected a 'note' or a 'link' object")
    except UnicodeDecodeError:  # raised when a block is read, so no line number
        raise InvalidInputError(f"{path}: not UTF-8 text") from None
    except ValidationError as exc:
        raise InvalidInputError(f"{path}:{lineno}: {validation_message(exc, 'record')}") from None
    except ValueError as exc:  # bad JSON, or not a memkit line
        raise InvalidInputError(f"{path}:{lineno}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    existing = mem.store.get_many([n.id for n in notes])
    if existing and on_conflict == "error":
        raise InvalidInputError(f"note {next(iter(existing))!r} already exists in {mem.path}")
    new = [n for n in notes if n.id not in existing]
    now = utcnow()
    with progress_bar("importing notes", len(new), want_progress(progress, len(new))) as bar:
        for chunk, embs in embedded_chunks(mem, new, lambda n: n):
            with mem.store.transaction() as c:
                mem.store.insert_notes(c, [note_row(n, search_extra(n), embs[i]) for i, n in enumerate(chunk)])
                mem.store.insert_events(c, [_event(n.id, "add", None, snapshot(n), now, "import", str(path))
                                            for n in chunk])
                mem.store.bump_changes(c)
            mem.store_count_hint += len(chunk)
            mem.index.upsert([n.id for n in chunk], embs, [index_metadata(n) for n in chunk])
            mem._index_synced()
            bar.advance(len(chunk))
    known = set(mem.store.versions())
    keep = [lk for lk in links if lk.src in known and lk.dst in known]
    with mem.store.transaction() as c:
        mem.store.insert_links(c, keep)
        mem.store.bump_changes(c)
    mem._index_synced()
    mem.graph.invalidate()
    return len(new)
