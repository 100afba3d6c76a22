"""A store is used by one process at a time; a second process gets a clear error and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from memkit import Memory
from memkit.errors import RegistryError, StoreInUseError
from memkit.lock import StoreLock

FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}}


def _cli(store, *args):
    return subprocess.run([sys.executable, "-m", "memkit.cli.main", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=120)


def test_a_second_process_is_refused_and_the_holder_keeps_working(tmp_path):
    """Through the real parts: before the lock, a second writer made the first one's Chroma searches fail."""
    store = tmp_path / "m"
    with Memory(store) as mem:
        mem.add_many([f"note {i} about gardening and tomatoes" for i in range(10)], user_id="u")
        other = _cli(store, "add", "written by another process", "--user", "u")
        assert other.returncode != 0
        assert other.stderr.strip() == (f"error: the store {store.resolve()} is open in another process (pid "
                                        f"{os.getpid()}); a store is used by one process at a time, so close it "
                                        "there first")
        mem.add_many([f"note {i} about sailing boats" for i in range(5)], user_id="u")
        assert "sailing" in mem.search("sailing boats", k=1)[0].note.content
        assert mem.stats().notes == 15
    after = _cli(store, "search", "written by another process", "--json")
    assert after.returncode == 0 and "written by another process" not in after.stdout
    assert _cli(store, "add", "now it can write", "--user", "u").returncode == 0


def test_memories_of_one_process_share_the_store_until_the_last_closes(tmp_path):
    store = tmp_path / "m"
    a = Memory(store, FAST)
    b = Memory(store, FAST)
    b.add("from b", user_id="u")
    assert a.get(b.search("from b", k=1, user_id="u")[0].note.id).content == "from b"
    b.close()
    b.close()  # closing twice does not give the lock away
    assert _cli(store, "stats").returncode != 0
    a.close()
    assert _cli(store, "stats").returncode == 0


def test_lock_is_released_when_opening_fails_and_the_error_is_a_store_error(tmp_path):
    store = tmp_path / "m"
    with pytest.raises(RegistryError):
        Memory(store, {"embedder": {"kind": "no-such-embedder"}})
    lock = StoreLock(store)
    lock.acquire()  # nothing left held by the failed open
    lock.release()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom memkit import Memory\n"
                               f"m = Memory({str(store)!r}, {FAST!r})\nprint('open', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreInUseError, match=f"pid {holder.pid}"):
            Memory(store, FAST)
    finally:
        holder.kill()
        holder.wait()
    with Memory(store, FAST) as mem:  # a killed holder leaves nothing locked
        assert mem.stats().notes == 0
