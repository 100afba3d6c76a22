"""One process at a time per store folder: an advisory lock on ``<store>/memkit.lock``.

Chroma's persistent client keeps its HNSW graph in memory and is not built for two
processes writing one folder: the second writer's changes make the first one's
searches fail ("Error finding id").  So opening a store takes an exclusive
``flock`` on a file in it, and a second process gets :class:`StoreInUseError`
naming the process that holds it (like Qdrant's local mode).  The operating
system drops the lock when the holder exits, even when it is killed, so a crash
never leaves a store locked.  Within one process, any number of ``Memory``
objects may share a store: the lock is counted per process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from memkit.errors import StoreError, StoreInUseError

__all__ = ["StoreLock", "LOCK_FILE"]

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
