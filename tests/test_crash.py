"""A process killed by SIGKILL in the middle of add_many loses nothing that was committed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from memkit import Memory

WRITER = """
import sys
from memkit import Memory
mem = Memory(sys.argv[1], {"write_batch": 32})
items = [{"content": f"record {i}: the {w} crossed the river at dawn number {i}", "metadata": {"i": i}}
         for i, w in ((i, ["otter", "heron", "ferry", "barge", "swan"][i % 5]) for i in range(5000))]
mem.add_many(items)
print("finished", flush=True)
"""


def _committed(db) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return c.execute("SELECT count(*) FROM notes").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_add_many_keeps_committed_notes(tmp_path):
    store = tmp_path / "m"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while _committed(store / "memkit.db") < 96 and time.time() < deadline:
            assert proc.poll() is None, "the writer ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    committed = _committed(store / "memkit.db")
    assert 96 <= committed < 5000
    with Memory(store) as mem:
        notes = mem.all()
        assert len(notes) == committed
        assert committed % 32 == 0, "each chunk is one transaction: no half-written chunk"
        assert mem.index.count() == committed  # reconciled with SQLite on open
        last = notes[-1]
        hit = mem.search(last.content, k=1, filters={"i": last.metadata["i"]})
        assert [h.note.id for h in hit] == [last.id]
        top = mem.search(notes[5].content, k=3)
        assert notes[5].id in [h.note.id for h in top]
        # the store keeps working after the crash
        mem.add("written after the crash")
        assert mem.stats().notes == committed + 1
