"""The default vector index: a Chroma collection, embedded beside the note store or on a Chroma server.

Embedded (``index.url`` unset): a ``PersistentClient`` in the memory's ``chroma`` folder, derived from the note
store and rebuilt from it when missing, behind or damaged.  A folder that cannot be read (whatever is wrong with
it) is moved aside to ``chroma.broken-<time>``, never deleted, and a new index is built from the note store.
Chroma reports some damage as a Rust panic: pyo3's ``PanicException`` derives from ``BaseException``, so it is
caught by name, and nothing else that is not an ``Exception``.

On a server (``index.url = "http://host:port"``): an ``HttpClient`` and one collection per memory (by default
``memkit-<memory id>``, the id the note store records at creation); nothing is kept on disk.  Every failure of
the server is a :class:`VectorIndexError` naming its URL (never the headers, which may hold a token).

Telemetry is off in both modes.  Filters compile to a Chroma ``where`` (:func:`chroma_where`) with memkit's
semantics: see :func:`chroma_where` for what Chroma does differently and how that is made up for.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
from pydantic import Field, field_validator

from memkit.config import IndexConfig, from_environment
from memkit.errors import ConfigError, FilterError, MemkitError, MissingDependencyError, VectorIndexError
from memkit.filters import Filter

__all__ = ["ChromaIndex", "ChromaIndexConfig", "chroma_where", "server_address"]

log = logging.getLogger(__name__)
_COLLECTION = "notes"  # the collection of an embedded index
_OWNER_KEY = "memkit_memory_id"  # a server collection's metadata: the memory it belongs to
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")  # Chroma's rule for collection names
_WIDEN = 4  # a search whose answer lost hits to the presence check asks for this many times more ...
_WIDENINGS = 3  # ... at most this many times


def _parse_url(url: str) -> tuple[str, int, bool] | str:
    """``(host, port, ssl)`` of ``http://host:port`` or ``https://host:port``, or what is wrong with ``url``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{url!r} is not a URL; expected http://host:port or https://host:port"
    if parts.username is not None or parts.password is not None:  # the URL is not repeated: it holds a secret
        return "must not hold credentials; pass them in index.headers (e.g. an auth token)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not a Chroma server's address; expected http://host:port or https://host:port"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{url!r}: a path prefix (or query) is not supported; give the server's http://host:port or https://host:port"
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else 80), ssl


def server_address(url: str) -> tuple[str, int, bool]:
    """``(host, port, ssl)`` of a Chroma server's ``http://host:port`` or ``https://host:port`` (:class:`ConfigError`
    for anything else: another scheme, a path prefix, credentials in the URL)."""
    got = _parse_url(url)
    if isinstance(got, str):
        raise ConfigError(f"index.url {got}")
    return got


class ChromaIndexConfig(IndexConfig):
    """``[index]`` of ``kind = "chroma"``: embedded (no ``url``) or a Chroma server."""

    url: str | None = Field(
        default=None,
        description="None: an embedded index in the memory's folder; 'http://host:port' or 'https://host:port': a "
        "Chroma server (one collection per memory)",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, repr=False,
        description="HTTP headers sent to the server (e.g. an auth token); never shown in messages. A value "
        "'${NAME}' is read from the environment variable NAME when the index connects; only such values are "
        "written to config.toml (a literal token is used, never written)",
    )
    collection: str | None = Field(
        default=None,
        description="the collection's name (default: 'memkit-<memory id>' on a server, 'notes' embedded); two "
        "memories never share one",
    )
    timeout_s: float = Field(default=30, gt=0, description="seconds to wait for the server on each request")

    secret_fields: ClassVar[tuple[str, ...]] = ("headers",)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        problem = _parse_url(value) if value is not None else None
        if isinstance(problem, str):
            raise ValueError(problem)
        return value

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Chroma collection name: 3-512 letters, digits, '.', '_' or '-', "
                             "starting and ending with a letter or digit")
        return value


def _kind(value: Any) -> str:
    return "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else \
        "int" if isinstance(value, int) else "float"


def _by_type(values: Sequence[Any]) -> list[list[Any]]:
    """``values`` in lists of one type each: Chroma refuses an ``$in`` list of mixed types (and 1 and 1.0 are
    different types to it there, though it compares them as the same number)."""
    groups: dict[str, list[Any]] = {}
    for v in values:
        groups.setdefault(_kind(v), []).append(v)
    return list(groups.values())


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _fractional(value: Any) -> bool:
    return isinstance(value, float) and not value.is_integer()


def _check_operand(op: str, key: str, value: Any) -> None:
    """What Chroma cannot compare with at all (it would fail the search, not answer it)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"the chroma index cannot apply {op} on {key!r} with {value!r}: Chroma compares finite "
                          "numbers only")
    if _kind(value) == "int" and not -(2**63) <= value < 2**63:
        raise FilterError(f"the chroma index cannot apply {op} on {key!r} with {value!r}: Chroma keeps integers "
                          "of 64 bits")


def _condition(key: str, op: str, value: Any) -> dict[str, Any]:
    """One metadata condition, exact in Chroma.

    Chroma compares an int value with a fractional operand as if the operand were cut to an int (to Chroma,
    1 equals 1.5, and 0 is not greater than -0.5): a fractional operand is compared only among the values strictly
    between the two ints around it, where no int lies, and the ints are bounded by int operands, which Chroma
    compares exactly (with floats too).
    """
    if op in ("$in", "$nin"):
        plain = [v for v in value if not _fractional(v)]
        parts = [{key: {op: group}} for group in _by_type(plain)]  # one type per list, as Chroma wants
        parts += [_condition(key, "$eq" if op == "$in" else "$ne", v) for v in value if _fractional(v)]
        return _any(parts) if op == "$in" else _all(parts)
    if not _fractional(value):
        return {key: {op: value}}
    below = math.floor(value)
    above = below + 1
    inside = [{key: {"$gt": below}}, {key: {"$lt": above}}, {key: {op: value}}]  # floats only
    if op == "$eq":
        return _all(inside)
    if op == "$ne":  # Chroma's $ne drops the ints the cut operand equals: every int is put back
        return _any([{key: {"$ne": value}}, {key: {"$lte": below}}, {key: {"$gte": above}}])
    if op in ("$gt", "$gte"):
        return _any([{key: {"$gte": above}}, _all(inside)])
    return _any([{key: {"$lte": below}}, _all(inside)])  # $lt, $lte


def _compile(flt: Filter) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The ``where`` of ``flt``, and the ``(op, key)`` of each ``$ne``/``$nin`` whose key's presence it does not
    check (no other condition on the key needs it): Chroma's ``$ne``/``$nin`` also match a note without the key,
    and no ``where`` can ask whether a key is there."""
    parts: list[dict[str, Any]] = [{k: {"$eq": v}} for k, v in flt.scope.items()]
    if flt.owner is not None:
        parts.append({"owner": {"$eq": flt.owner}})
    present = {c.key for c in flt.conditions if c.op not in ("$ne", "$nin")}  # matched only where the key is
    unchecked: list[tuple[str, str]] = []
    for c in flt.conditions:
        for v in (c.value if c.op in ("$in", "$nin") else (c.value,)):
            _check_operand(c.op, c.key, v)
        parts.append(_condition(f"m.{c.key}", c.op, c.value))
        if c.op in ("$ne", "$nin") and c.key not in present:
            unchecked.append((c.op, f"m.{c.key}"))
    # valid_from and valid_to are floats in every note's metadata (index_metadata): compared as they are
    if flt.open_at is not None:
        parts.append({"valid_to": {"$gt": flt.open_at}})
    if flt.started_by is not None:
        parts.append({"valid_from": {"$lte": flt.started_by}})
    if flt.started_after is not None:
        parts.append({"valid_from": {"$gte": flt.started_after}})
    if not parts:
        return None, unchecked
    return _all(parts), unchecked


def chroma_where(flt: Filter) -> dict[str, Any] | None:
    """A :class:`Filter` as a Chroma ``where`` over the metadata :func:`memkit.filters.index_metadata` writes.

    Chroma's operators mostly agree with memkit's: ``$eq``/``$in`` compare within a type (True is not 1, "1" is
    not 1; 1 and 1.0 are the same number), ``$gt``/``$gte``/``$lt``/``$lte`` match numbers only (not bools) and
    a note without the key matches none of them.  Three differences are made up for here:

    - an ``$in`` (``$nin``) list of several types, which Chroma refuses, becomes an ``$or`` (``$and``) of one
      list per type;
    - Chroma compares an int value with a fractional operand as if the operand were cut to an int (1 ``$eq``
      1.5 matches): such a condition is rewritten with int bounds (:func:`_condition`);
    - Chroma's ``$ne``/``$nin`` also match notes *without* the key (they are the complement of ``$eq``/``$in``),
      and a ``where`` cannot exclude those: Chroma has no ``$exists``, and no operator matches every string.
      Such a condition is exact here only when another condition on the same key needs the key (``{"$ne": "x",
      "$in": [...]}``); otherwise this is a :class:`FilterError` (:meth:`ChromaIndex.query` instead drops the
      hits without the key itself, and asks for more).

    An operand Chroma cannot compare with (inf, NaN, an int beyond 64 bits) is a :class:`FilterError` too.
    """
    where, unchecked = _compile(flt)
    if unchecked:
        op, key = unchecked[0]
        raise FilterError(
            f"the chroma index cannot apply {op} on {key[2:]!r} in a where: Chroma's {op} also matches notes "
            "without the key, and it cannot ask for a key's presence")
    return where


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside chromadb (pyo3's ``PanicException``, a ``BaseException``; not importable by name)."""
    return type(exc).__name__ == "PanicException"


def _move_aside(path: Path, label: str) -> Path | None:
    """Rename ``path`` (a folder, a file, anything) to ``<name>.<label>-<time>`` beside it; None if nothing is there."""
    if not path.exists() and not path.is_symlink():
        return None
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    try:
        path.rename(target)
    except OSError as exc:
        raise VectorIndexError(f"cannot move the vector index at {path} aside to {target}: {exc.strerror or exc}; "
                               "move or delete it by hand, it is rebuilt from the note store") from None
    return target


def _memory_id(store: Any) -> str | None:
    """The id the note store recorded for its memory at creation (None: no store, or none recorded)."""
    get_meta = getattr(store, "get_meta", None)
    return (get_meta("memory_id") or None) if get_meta is not None else None


class ChromaIndex:
    """A Chroma collection: embedded in ``path`` (``config.url`` unset) or on the server at ``config.url``."""

    name = "chroma"
    config_class = ChromaIndexConfig

    def __init__(self, path: Path | None, dim: int | None = None, config: IndexConfig | None = None, *,
                 store: Any = None):
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError:
            raise MissingDependencyError("chromadb", purpose="the chroma vector index") from None
        self.config = config if config is not None else ChromaIndexConfig()
        self.url: str | None = getattr(self.config, "url", None)
        self._chromadb = chromadb
        self._client: Any = None
        self._col: Any = None
        self._batch: int | None = None  # the most vectors one write may carry (asked of Chroma once)
        self._failed = False  # an operation failed: the index may be damaged (reset keeps it as .broken-<time>)
        self.moved_to: Path | None = None  # where the last damaged index went
        self._memory_id = _memory_id(store)
        # where the notes are safe (the message of every failure says so)
        self._home = "SQLite" if type(store).__name__.startswith("SQLite") else "the note store"
        collection = getattr(self.config, "collection", None)
        if self.url is None:
            if path is None:
                raise ConfigError("an embedded chroma index needs a folder (or set index.url to use a Chroma server)")
            self.path: Path | None = Path(path)
            self.collection = collection or _COLLECTION
            self._settings = Settings(anonymized_telemetry=False, allow_reset=True, is_persistent=True)
            self._open()
            return
        self.path = None  # nothing of a server's index is on disk here
        self._address = server_address(self.url)
        self.url = self.url.rstrip("/")
        self._headers = {str(k): from_environment(str(v), f"index.headers[{k!r}]")
                         for k, v in (getattr(self.config, "headers", None) or {}).items()}
        self._timeout = float(getattr(self.config, "timeout_s", 30))
        if collection is None and self._memory_id is None:
            raise ConfigError(f"the chroma index on the server {self.url} needs index.collection (a name of this "
                              "memory's own) when the note store records no memory id")
        self.collection = collection or f"memkit-{self._memory_id}"
        self._open_server()

    # -- embedded ---------------------------------------------------------------------------------------------
    def _unreadable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is how chromadb says it cannot open or create an index at this path."""
        return isinstance(exc, (self._chromadb.errors.ChromaError, RuntimeError, ValueError, OSError)) or _is_panic(exc)

    def _open(self) -> None:
        """Connect; an index that cannot be read is moved aside and a new, empty one made (the caller fills it)."""
        try:
            self._connect()
            self._probe()
        except BaseException as exc:
            if not self._unreadable(exc):
                raise
            self._discard(f"{type(exc).__name__}: {exc}")

    def _probe(self) -> None:
        """Read what a search reads (the metadata segment, one stored vector, the HNSW graph), so that damage shows
        when the index is opened, where it can be repaired, rather than in the middle of a search."""
        if self._col.count():
            got = self._col.get(limit=1, include=["embeddings"])
            if got["embeddings"] is not None and len(got["embeddings"]):
                self._col.query(query_embeddings=np.asarray(got["embeddings"][:1], dtype=np.float32), n_results=1,
                                include=[])

    def _discard(self, reason: str) -> None:
        """Move whatever is at the index path aside to ``<name>.broken-<time>`` and start an empty index there."""
        assert self.path is not None
        self._release(force=True)
        self.moved_to = _move_aside(self.path, "broken")
        where = f"it was moved to {self.moved_to}" if self.moved_to else "nothing is there"
        log.warning("the vector index at %s is unreadable (%s); %s; rebuilding it from the note store",
                    self.path, reason, where)
        self._connect_new()

    def _connect_new(self) -> None:
        try:
            self._connect()
        except BaseException as exc:
            if not self._unreadable(exc):
                raise
            self._release(force=True)
            raise VectorIndexError(f"cannot create the vector index at {self.path}: {exc}") from None
        self._failed = False

    def _connect(self) -> None:
        self._client = self._chromadb.PersistentClient(path=str(self.path), settings=self._settings)
        self._col = self._collection()

    def _release(self, force: bool = False) -> None:
        """Close the client.  ``force``: also forget chromadb's process-wide system for this path, which a failed
        start leaves half made (the next client of the path would reuse it: "'RustBindingsAPI' object has no
        attribute 'bindings'") and a panic may leave unusable."""
        client, self._client, self._col = self._client, None, None
        close = getattr(client, "close", None)  # chromadb >= 1.1; it stops the system with its last client
        if close is not None:
            try:
                close()
            except BaseException as exc:
                if not (force and (self._unreadable(exc) or isinstance(exc, AttributeError))):
                    raise
                log.debug("closing the damaged vector index at %s failed: %s", self.path, exc)
        if force or close is None:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(self.path), None)
            SharedSystemClient._identifier_to_refcount.pop(str(self.path), None)

    # -- on a server ------------------------------------------------------------------------------------------
    def _open_server(self) -> None:
        """Connect to the server (a server that does not answer is a :class:`VectorIndexError` now, not at the
        first search) and open this memory's collection, creating it if need be."""
        import httpx
        from chromadb.config import Settings

        host, port, ssl = self._address
        base = f"{'https' if ssl else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"
        try:
            # chromadb's own requests wait for ever (it sets no timeout) and it makes some while connecting:
            # ask once with the timeout first, then give its session the timeout
            httpx.get(f"{base}/api/v2/heartbeat", headers=self._headers, timeout=self._timeout).raise_for_status()
            self._client = self._chromadb.HttpClient(
                host=host, port=port, ssl=ssl, headers=dict(self._headers) or None,  # a copy: chromadb adds to it
                settings=Settings(anonymized_telemetry=False))
            session = getattr(getattr(self._client, "_server", None), "_session", None)
            if session is not None:
                session.timeout = httpx.Timeout(self._timeout)
            self._col = self._collection()
        except MemkitError:
            self._release_server()
            raise
        except Exception as exc:  # noqa: BLE001 - chromadb raises a bare Exception for an HTTP error it does not know
            self._release_server()
            raise VectorIndexError(self._server_failure("opening the index", exc)) from None

    def _server_failure(self, doing: str, exc: BaseException) -> str:
        what = self._scrub(str(exc)).strip()
        what = f"{type(exc).__name__}: {what[:300]}" if what else type(exc).__name__
        return (f"the vector index on the Chroma server at {self.url} (collection {self.collection!r}) failed while "
                f"{doing} ({what}); the notes themselves are safe in {self._home}: `memkit reindex` rebuilds the "
                "index once the server answers")

    def _scrub(self, text: str) -> str:
        """``text`` without the values of the headers (a token may be echoed back by a server or a proxy)."""
        for value in sorted(self._headers.values(), key=len, reverse=True):
            if value:
                text = text.replace(value, "***")
        return text

    def _release_server(self) -> None:
        import httpx

        client, self._client, self._col = self._client, None, None
        if client is None:
            return
        session = getattr(getattr(client, "_server", None), "_session", None)
        for close in (getattr(client, "close", None), getattr(session, "close", None)):
            if close is not None:
                try:
                    close()
                except (self._chromadb.errors.ChromaError, httpx.HTTPError, OSError, RuntimeError) as exc:
                    # a client that cannot close has nothing left to release
                    log.debug("closing the client of the Chroma server at %s failed: %s", self.url, exc)

    # -- both -------------------------------------------------------------------------------------------------
    def _collection(self) -> Any:
        """The collection, created if need be; on a server, one that belongs to another memory is refused."""
        mine = self._memory_id if self.url is not None else None
        col = self._client.get_or_create_collection(
            self.collection,
            metadata={_OWNER_KEY: mine} if mine else None,
            configuration={"hnsw": {"space": "cosine", "ef_search": self.config.hnsw_ef_search}},
            embedding_function=None,
        )
        if mine:
            owner = (col.metadata or {}).get(_OWNER_KEY)
            if owner is None:  # made by hand, or by an index that knew no memory id: this memory's from now on
                col.modify(metadata={**(col.metadata or {}), _OWNER_KEY: mine})
            elif owner != mine:
                raise ConfigError(
                    f"the collection {self.collection!r} on the Chroma server at {self.url} holds the vectors of "
                    f"another memory (memory id {owner}, this one is {mine}); set index.collection to a name of this "
                    "memory's own, or leave it unset (memkit-<memory id>)")
        return col

    def _where(self) -> str:
        return f"the vector index at {self.path}" if self.url is None else \
            f"the vector index on the Chroma server at {self.url} (collection {self.collection!r})"

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            if self._col is None:
                raise VectorIndexError(f"{self._where()} is not open")
            yield
        except MemkitError:
            raise
        except BaseException as exc:
            if self.url is not None:
                if not isinstance(exc, Exception):  # KeyboardInterrupt and the like
                    raise
                raise VectorIndexError(self._server_failure(doing, exc)) from None
            if not (isinstance(exc, self._chromadb.errors.ChromaError) or _is_panic(exc)):
                raise
            self._failed = True
            raise VectorIndexError(
                f"the vector index at {self.path} failed while {doing} ({type(exc).__name__}: {exc}); the notes "
                f"themselves are safe in {self._home}: the index is checked and repaired when the store is opened "
                "again, or rebuilt by `memkit reindex`") from None

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[Mapping[str, Any]]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._guard("writing vectors"):
            if self._batch is None:
                self._batch = int(self._client.get_max_batch_size())
            step = self._batch
            for i in range(0, len(ids), step):
                self._col.upsert(
                    ids=list(ids[i : i + step]),
                    embeddings=vectors[i : i + step],
                    metadatas=[dict(m) for m in metadatas[i : i + step]],
                )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._guard("deleting vectors"):
                self._col.delete(ids=list(ids))

    def query(self, vectors: np.ndarray, k: int, where: Filter | None = None) -> list[list[tuple[str, float]]]:
        """Up to ``k`` hits per row: fewer when fewer pass, and sometimes fewer even when more pass (Chroma's
        filtered HNSW walk may end early; the engine completes a short answer)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if k <= 0 or not len(vectors):
            return [[] for _ in range(len(vectors))]
        compiled, unchecked = _compile(where) if where is not None else (None, [])
        with self._guard("searching"):
            if unchecked:
                return self._query_present(vectors, k, compiled, {key for _, key in unchecked})
            # Chroma returns fewer than k hits (none on an empty collection) by itself; no count() round trip
            res = self._col.query(query_embeddings=vectors, n_results=k, where=compiled, include=["distances"])
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(res["ids"], res["distances"], strict=True)
        ]

    def _query_present(self, vectors: np.ndarray, k: int, where: dict[str, Any] | None, keys: set[str]
                       ) -> list[list[tuple[str, float]]]:
        """A search whose ``where`` also lets through notes without some of ``keys`` (an ``$ne`` or ``$nin``, see
        :func:`chroma_where`): those are dropped from the hits, and a row left short asks for more, a few times."""
        out: list[list[tuple[str, float]]] = [[] for _ in range(len(vectors))]
        rows, n = list(range(len(vectors))), k
        for _ in range(_WIDENINGS + 1):
            res = self._col.query(query_embeddings=vectors[rows], n_results=n, where=where,
                                  include=["distances", "metadatas"])
            short = []
            for row, ids, dists, metas in zip(rows, res["ids"], res["distances"], res["metadatas"], strict=True):
                kept = [(i, 1.0 - float(d)) for i, d, m in zip(ids, dists, metas, strict=True)
                        if keys <= (m or {}).keys()]
                out[row] = kept[:k]
                if len(kept) < k and len(ids) == n:  # the index has more that pass the where
                    short.append(row)
            if not short:
                break
            rows, n = short, n * _WIDEN
        return out

    def versions(self) -> dict[str, int]:
        out: dict[str, int] = {}
        step, offset = 10_000, 0
        with self._guard("reading versions"):
            while True:
                got = self._col.get(include=["metadatas"], limit=step, offset=offset)
                for i, m in zip(got["ids"], got["metadatas"], strict=True):
                    out[i] = int((m or {}).get("version", 0))
                if len(got["ids"]) < step:
                    return out
                offset += step

    def count(self) -> int:
        with self._guard("counting vectors"):
            return int(self._col.count())

    def reset(self) -> None:
        """An empty index, whatever state the old one is in (``memkit reindex``).

        On a server, the collection is deleted and made again.  Embedded, nothing is asked of the old client,
        which may be what is broken: the old folder is moved aside; when an operation of this index failed, it is
        kept as ``<name>.broken-<time>``, else removed once the new index exists.
        """
        if self.url is not None:
            self._reset_server()
            return
        assert self.path is not None
        if self._failed:
            self._discard("an operation on it failed")
            return
        self._release(force=True)
        old = _move_aside(self.path, "old")
        self._connect_new()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            if old.exists():
                log.warning("could not remove the old vector index at %s; it is not used, delete it by hand", old)

    def _reset_server(self) -> None:
        if self._client is None:
            self._open_server()
        try:
            try:
                self._client.delete_collection(self.collection)
            except self._chromadb.errors.NotFoundError:
                pass  # deleted behind memkit's back: nothing to empty
            self._col = self._collection()
        except MemkitError:
            raise
        except Exception as exc:  # noqa: BLE001 - as in _open_server
            raise VectorIndexError(self._server_failure("emptying the index", exc)) from None

    def close(self) -> None:
        if self.url is not None:
            self._release_server()
            return
        # chromadb keeps a process-wide system per path; the last client's close releases its files (a failed
        # index's system is dropped whatever its close raises, so that closing the store always completes)
        self._release(force=self._failed)
