"""Export and import: one JSON object per line (a header, then notes, then links)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from memkit.errors import InvalidInputError, StoreError, validation_message
from memkit.filters import build_filter
from memkit.ingest import embedded_chunks
from memkit.progress import progress_bar, want_progress
from memkit.types import Link, NewEvent, Note, WriteBatch, utcnow
from memkit.writing.records import snapshot

if TYPE_CHECKING:
    from memkit.engine import Engine

__all__ = ["export_jsonl", "import_jsonl", "FORMAT"]

log = logging.getLogger(__name__)

FORMAT = "memkit-export/1"


def export_jsonl(mem: Engine, target: Path | TextIO, user_id: str | None = None) -> int:
    """Write the notes and links to ``target``: a file (through a temporary file, so a failed export leaves
    no half file) or an open text stream.  With ``user_id``, that user's notes and the links among them."""
    if isinstance(target, Path):
        if target.is_dir():
            raise InvalidInputError(f"cannot export to {target}: it is a folder; give a file name")
        tmp = target.with_name(target.name + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                n = _write_export(mem, f, user_id)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot export to {target}: {exc.strerror or exc}") from None
        return n
    try:
        return _write_export(mem, target, user_id)
    except OSError as exc:  # a closed pipe, a full disk
        raise StoreError(f"cannot export: {exc.strerror or exc}") from None


def _write_export(mem: Engine, f: TextIO, user_id: str | None) -> int:
    header = {"format": FORMAT, "embedder": mem.embedder.name, "exported_at": utcnow().isoformat()}
    if user_id is not None:
        header["user_id"] = user_id
    f.write(json.dumps(header) + "\n")
    flt = None if user_id is None else build_filter(user_id=user_id, include_superseded=True)
    ids: set[str] = set()
    for note in mem.store.iter_notes(flt):
        f.write(json.dumps({"note": snapshot(note)}, ensure_ascii=False) + "\n")
        ids.add(note.id)
    for lk in mem.store.all_links():
        if flt is None or (lk.src in ids and lk.dst in ids):
            f.write(json.dumps({"link": lk.model_dump(mode="json")}, ensure_ascii=False) + "\n")
    return len(ids)


def import_jsonl(mem: Engine, path: Path, on_conflict: str = "skip", progress: bool | None = None) -> int:
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
            mem.commit(WriteBatch(insert=list(zip(chunk, embs, strict=True)),
                                  events=[NewEvent(n.id, "add", None, snapshot(n), now, "import", str(path))
                                          for n in chunk]),
                       upsert=chunk, vectors={n.id: embs[i] for i, n in enumerate(chunk)}, open_index=True)
            bar.advance(len(chunk))
    known = set(mem.store.versions())
    links = [lk for lk in links if lk.src in known and lk.dst in known]
    # a link joins notes of one user, as every link memkit makes: one across users (an export from an older
    # version, or an edited file) would let one user's search reach another's notes
    owner = {n.id: n.user_id for n in new}
    ends = {e for lk in links for e in (lk.src, lk.dst)} - owner.keys()
    owner |= {nid: n.user_id for nid, n in mem.store.get_many(list(ends)).items()}
    crossing = [lk for lk in links if owner.get(lk.src) != owner.get(lk.dst)]
    if crossing:
        log.warning("%s: %d links join notes of different users and were not imported", path, len(crossing))
    # the index followed every chunk, and links change no vector: it stays in step
    mem.commit(WriteBatch(link=[lk for lk in links if owner.get(lk.src) == owner.get(lk.dst)]),
               open_index=bool(new))
    mem.graph.invalidate()
    return len(new)
