"""What the ingester has written: ``<store>/ingest.db``, a small SQLite file it alone owns.

Per scope (user and agent) and file: the file's content hash; per unit of a file (the document, or one
conversation): its hash, the ids of its notes in order, the names other files use for it, and the names
it links to.  A file whose hash is unchanged is not read again; a changed unit's old notes are superseded.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from memkit.errors import StoreError

__all__ = ["IngestState", "UnitRow", "STATE_FILE"]

STATE_FILE = "ingest.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    scope TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL, ingested_at REAL NOT NULL,
    PRIMARY KEY (scope, path));
CREATE TABLE IF NOT EXISTS units (
    scope TEXT NOT NULL, path TEXT NOT NULL, unit TEXT NOT NULL, hash TEXT NOT NULL, title TEXT NOT NULL,
    note_ids TEXT NOT NULL, names TEXT NOT NULL, links TEXT NOT NULL, unresolved INTEGER NOT NULL,
    ingested_at REAL NOT NULL, PRIMARY KEY (scope, path, unit));
"""


@dataclass
class UnitRow:
    path: str
    unit: str
    hash: str
    title: str
    note_ids: list[str]
    names: list[str]
    links: list[tuple[int, str]]  # (piece index, name linked to)
    unresolved: bool


class IngestState:
    def __init__(self, folder: Path):
        self.path = Path(folder) / STATE_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the ingest state {self.path}: {exc}") from None

    def file_hash(self, scope: str, path: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM files WHERE scope = ? AND path = ?", (scope, path)).fetchone()
        return None if row is None else row[0]

    def set_file(self, scope: str, path: str, digest: str, kind: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                             (scope, path, digest, kind, time.time()))

    def files_under(self, scope: str, root: str) -> list[str]:
        """Files recorded for ``scope`` at ``root`` or below it."""
        with self._lock:
            rows = self._db.execute("SELECT path FROM files WHERE scope = ?", (scope,)).fetchall()
        prefix = root.rstrip("/") + "/"
        return [r[0] for r in rows if r[0] == root or r[0].startswith(prefix)]

    def forget_file(self, scope: str, path: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM files WHERE scope = ? AND path = ?", (scope, path))
            self._db.execute("DELETE FROM units WHERE scope = ? AND path = ?", (scope, path))

    def units(self, scope: str, path: str | None = None) -> list[UnitRow]:
        sql = "SELECT path, unit, hash, title, note_ids, names, links, unresolved FROM units WHERE scope = ?"
        args: tuple[str, ...] = (scope,)
        if path is not None:
            sql, args = sql + " AND path = ?", (scope, path)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [UnitRow(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]),
                        [(int(i), str(n)) for i, n in json.loads(r[6])], bool(r[7])) for r in rows]

    def set_unit(self, scope: str, row: UnitRow) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (scope, row.path, row.unit, row.hash, row.title, json.dumps(row.note_ids),
                              json.dumps(row.names), json.dumps(row.links), int(row.unresolved), time.time()))

    def remove_unit(self, scope: str, path: str, unit: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM units WHERE scope = ? AND path = ? AND unit = ?", (scope, path, unit))

    def set_unresolved(self, scope: str, path: str, unit: str, unresolved: bool) -> None:
        with self._lock:
            self._db.execute("UPDATE units SET unresolved = ? WHERE scope = ? AND path = ? AND unit = ?",
                             (int(unresolved), scope, path, unit))

    def close(self) -> None:
        with self._lock:
            self._db.close()
