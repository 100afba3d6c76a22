"""One process at a time per store folder: an advisory lock on ``<store>/memkit.lock``.

Chroma's persistent client keeps its HNSW graph in memory and is not built for two
processes writing one folder: the second writer's changes make the first one's
searches fail ("Error finding id").  So opening a store takes an exclusive
``flock`` on a file in it, and a second process gets :class:`StoreInUseError`
naming the process that holds it (like Qdrant's local mode).  The operating
system drops the lock when the holder exits, even when it is killed, so a crash
never leaves a store locked.  Within one process, any number of ``Memory``
objects may share a store: the lock is counted per process.

Within the process, each ``Memory`` has a :class:`ReadWriteLock`: searches and other reads run
together, a write runs alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memkit.errors import StoreError, StoreInUseError

__all__ = ["StoreLock", "ReadWriteLock", "LOCK_FILE"]

LOCK_FILE = "memkit.lock"

_HELD: dict[Path, list[int]] = {}  # store folder -> [file descriptor, users in this process]
_GUARD = threading.Lock()


class StoreLock:
    """Held from ``acquire()`` to ``release()``; ``release()`` is idempotent."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self._held = False

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # no flock on this platform: nothing to enforce
            return
        with _GUARD:
            if self._held:
                return
            if self.folder in _HELD:
                _HELD[self.folder][1] += 1
                self._held = True
                return
            path = self.folder / LOCK_FILE
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open the lock file {path}: {exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise StoreInUseError(
                    f"the store {self.folder} is open in another process (pid {holder}); a store is used by one "
                    "process at a time, so close it there first"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            _HELD[self.folder] = [fd, 1]
            self._held = True

    def release(self) -> None:
        with _GUARD:
            if not self._held:
                return
            self._held = False
            entry = _HELD.get(self.folder)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[self.folder]
                os.close(entry[0])  # closing the descriptor drops the flock


class ReadWriteLock:
    """Many readers at once, or one writer: a ``Memory``'s lock within its process.

    A writer that waits holds back readers that come after it, so a stream of searches cannot
    starve a write.  Re-entrant: a thread that holds it may take it again (a writer's nested read
    is a nested write), but a reader may not take it for writing: two readers doing so would wait
    for each other for ever, so it is a ``RuntimeError``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0  # threads holding it for reading
        self._writer: int | None = None  # the thread holding it for writing
        self._writes = 0  # how many times that thread holds it
        self._waiting_writers = 0
        self._mine = threading.local()  # this thread's holds, innermost last: "r" or "w"

    def _held(self) -> list[str]:
        held = getattr(self._mine, "held", None)
        if held is None:
            held = self._mine.held = []
        return held

    def acquire_read(self) -> None:
        held = self._held()
        with self._cond:
            if self._writer == threading.get_ident():
                self._writes += 1
                held.append("w")
                return
            if "r" not in held:  # a nested read does not wait: a waiting writer waits for this thread
                while self._writer is not None or self._waiting_writers:
                    self._cond.wait()
                self._readers += 1
            held.append("r")

    def acquire_write(self) -> None:
        held = self._held()
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._writes += 1
                held.append("w")
                return
            if "r" in held:
                raise RuntimeError("a thread that holds the lock for reading cannot take it for writing")
            self._waiting_writers += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            except BaseException:  # interrupted while waiting: the readers it held back may go on
                self._waiting_writers -= 1
                self._cond.notify_all()
                raise
            self._waiting_writers -= 1
            self._writer, self._writes = me, 1
            held.append("w")

    def release(self) -> None:
        """Release this thread's innermost hold (read or write)."""
        held = self._held()
        if not held:
            raise RuntimeError("release of a lock this thread does not hold")
        mode = held.pop()
        with self._cond:
            if mode == "w":
                self._writes -= 1
                if self._writes == 0:
                    self._writer = None
                    self._cond.notify_all()
            elif "r" not in held:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def reading(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def writing(self) -> Iterator[None]:
        self.acquire_write()
        try:
            yield
        finally:
            self.release()
