"""The daemon's own small SQLite file, ``<store>/daemon.db``: idempotency keys and registered sources.

An idempotency record keeps, per client and key, a fingerprint of the request and the response it got,
so a retry (also after a daemon restart) gets the same answer and adds nothing, and a key reused for
another request is refused.  Records older than ``KEEP_DAYS`` are dropped when the daemon starts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from memkit.errors import StoreError

__all__ = ["DaemonState", "KeyRecord", "SourceRecord", "STATE_FILE", "KEEP_DAYS"]

STATE_FILE = "daemon.db"
KEEP_DAYS = 7

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    client TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (client, key));
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, user_id TEXT, agent_id TEXT, watch INTEGER NOT NULL,
    interval REAL NOT NULL, created_by TEXT NOT NULL, created_at REAL NOT NULL);
"""


class KeyRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    fingerprint: str
    status: int
    body: Any


class SourceRecord(BaseModel):
    """A folder or file the daemon ingests (and, with ``watch``, keeps ingesting as it changes)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    path: str
    user_id: str | None = None
    agent_id: str | None = None
    watch: bool = True
    interval: float = 300.0
    created_by: str
    created_at: float


class DaemonState:
    def __init__(self, folder: Path):
        self.path = Path(folder) / STATE_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a recorded answer survives a power cut, like the note
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the daemon state {self.path}: {exc}") from None

    def purge(self, keep_days: float = KEEP_DAYS) -> int:
        with self._lock:
            cur = self._db.execute("DELETE FROM idempotency WHERE created_at < ?", (time.time() - keep_days * 86400,))
            return cur.rowcount

    # -- idempotency keys -----------------------------------------------------------------------------
    def get_key(self, client: str, key: str) -> KeyRecord | None:
        with self._lock:
            row = self._db.execute("SELECT fingerprint, status, body FROM idempotency WHERE client = ? AND key = ?",
                                   (client, key)).fetchone()
        return None if row is None else KeyRecord(fingerprint=row[0], status=row[1], body=json.loads(row[2]))

    def put_key(self, client: str, key: str, fingerprint: str, status: int, body: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                             (client, key, fingerprint, status, json.dumps(body), time.time()))

    # -- sources --------------------------------------------------------------------------------------
    def sources(self) -> list[SourceRecord]:
        with self._lock:
            rows = self._db.execute("SELECT id, path, user_id, agent_id, watch, interval, created_by, created_at "
                                    "FROM sources ORDER BY created_at").fetchall()
        return [SourceRecord(id=r[0], path=r[1], user_id=r[2], agent_id=r[3], watch=bool(r[4]), interval=r[5],
                             created_by=r[6], created_at=r[7]) for r in rows]

    def add_source(self, rec: SourceRecord) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (rec.id, rec.path, rec.user_id, rec.agent_id, int(rec.watch), rec.interval,
                              rec.created_by, rec.created_at))

    def remove_source(self, source_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM sources WHERE id = ?", (source_id,)).rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
