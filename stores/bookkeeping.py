"""How far the derived vector index has followed a note store: the part of the ``NoteStore`` protocol that every
store keeps in its ``meta`` table the same way (:class:`IndexBookkeeping`).

``changes`` counts committed changes; ``indexed_changes`` is the count the index last followed; ``index_pending``
lists the ids of changes the closed index must still pick up.  A store gives the mixin ``get_meta``, its write
transaction (``_meta_transaction``), and how it writes and deletes meta keys inside one (``_put_meta``,
``_drop_meta``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["IndexBookkeeping", "PENDING_CAP"]

PENDING_CAP = 10_000  # more deferred index changes than this: reconcile the index in full instead


class IndexBookkeeping:
    def get_meta(self, key: str) -> str | None:  # pragma: no cover - given by the store
        raise NotImplementedError

    def _meta_transaction(self) -> AbstractContextManager[Any]:  # pragma: no cover - given by the store
        raise NotImplementedError

    def _put_meta(self, c: Any, key: str, value: str) -> None:  # pragma: no cover - given by the store
        raise NotImplementedError

    def _drop_meta(self, c: Any, *keys: str) -> None:  # pragma: no cover - given by the store
        raise NotImplementedError

    def changes(self) -> int:
        return int(self.get_meta("changes") or 0)

    def index_in_step(self) -> bool:
        """Whether the vector index followed every change so far (but those in :meth:`index_pending`)."""
        return self.get_meta("indexed_changes") == str(self.changes())

    def index_pending(self) -> list[str]:
        """Ids whose change the vector index has yet to follow (``WriteBatch.defer_index``)."""
        return json.loads(self.get_meta("index_pending") or "[]")

    def clear_index_pending(self) -> None:
        with self._meta_transaction() as c:
            self._drop_meta(c, "index_pending")

    def index_synced(self) -> None:
        with self._meta_transaction() as c:
            self._put_meta(c, "indexed_changes", str(self.changes()))

    def _defer_index(self, c: Any, ids: Iterable[str], was_in_step: bool) -> None:
        """Record, inside the write transaction ``c``, that the vector index did not follow this change to ``ids``.

        A command that needs no vectors leaves the index closed; opening it later fixes just these ids.  When the
        index was already behind before the change (``was_in_step`` false), or too many ids wait, nothing is kept
        and the next open reconciles the whole index.
        """
        pending = set(self.index_pending()) | set(ids)
        if was_in_step and len(pending) <= PENDING_CAP:
            self._put_meta(c, "index_pending", json.dumps(sorted(pending)))
            self._put_meta(c, "indexed_changes", str(self.changes()))
        else:
            self._drop_meta(c, "index_pending", "indexed_changes")
