"""One registry per kind of part, with lazy ``"module:attr"`` targets.

Every part registers itself the same way, next to its code, in the light ``__init__`` of its
package (or the light module that holds it): a *name*, the *import path* of the implementation
and the *import path* of its configuration class (PEFT's pattern: the method's package
registers its config and its model together)::

    from memkit.registry import vector_indexes
    vector_indexes.register("chroma", "memkit.stores.chroma:ChromaIndex", config="memkit.config:IndexConfig")

Looking up a registry imports nothing heavy until a part is asked for (``get``), and its
configuration class can be had without importing the part (``config_class``).  Third parties
register through the entry-point group ``memkit.<kind>`` (e.g. ``memkit.vector_indexes``),
whose value is the same ``"module:attr"``; their config class is the target's ``config_class``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from memkit.errors import RegistryError

__all__ = [
    "Registry",
    "embedders",
    "vector_indexes",
    "note_stores",
    "note_builders",
    "link_judges",
    "parametric_memories",
    "bench_tasks",
    "bench_systems",
    "bench_readers",
    "load_target",
]

T = TypeVar("T")


def load_target(target: str) -> Any:
    """Import ``"package.module:attr"`` (attr may be dotted)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise RegistryError(f"bad target {target!r}: expected 'module:attr'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass
class _Entry:
    target: Any  # "module:attr" until first loaded, then the object
    config: Any = None  # "module:Class", a class, or None (then the target's ``config_class``, if any)


class Registry(Generic[T]):
    """Names to implementations of one kind (and each one's configuration class).

    ``providers`` are the built-in packages whose import registers entries;
    they are imported on first lookup, so nothing is loaded at ``import memkit``.
    """

    def __init__(self, kind: str, providers: tuple[str, ...] = ()):
        self.kind = kind
        self._providers = providers
        self._entries: dict[str, _Entry] = {}
        self._loaded = False

    # -- registration -------------------------------------------------------
    def register(self, name: str, target: str | T | None = None, *, config: str | type | None = None
                 ) -> Callable[[T], T] | None:
        """Register ``target`` (and its ``config`` class) under ``name``; a decorator when target is omitted."""
        key = self._key(name)
        if target is None:

            def decorator(obj: T) -> T:
                self._entries[key] = _Entry(obj, config)
                return obj

            return decorator
        self._entries[key] = _Entry(target, config)
        return None

    @staticmethod
    def _key(name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise RegistryError(f"a registry name must be a non-empty string, got {name!r}")
        return name.strip().lower()

    # -- lookup -------------------------------------------------------------
    def _load_providers(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._providers:
            importlib.import_module(module)
        for ep in entry_points(group=f"memkit.{self.kind}"):
            self._entries.setdefault(self._key(ep.name), _Entry(ep.value))

    def names(self) -> list[str]:
        self._load_providers()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_providers()
        return isinstance(name, str) and name.strip().lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _entry(self, name: str) -> _Entry:
        self._load_providers()
        key = self._key(name)
        if key not in self._entries:
            close = difflib.get_close_matches(key, self._entries, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._entries)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        return self._entries[key]

    def get(self, name: str) -> T:
        """The implementation registered under ``name`` (imported on first use)."""
        entry = self._entry(name)
        if isinstance(entry.target, str):
            entry.target = load_target(entry.target)
        return entry.target  # type: ignore[no-any-return]

    def config_class(self, name: str) -> type | None:
        """The configuration class of ``name``: the registered one (imported, not the part itself), else the
        implementation's ``config_class`` attribute, else None."""
        entry = self._entry(name)
        if entry.config is None:
            return getattr(self.get(name), "config_class", None)
        if isinstance(entry.config, str):
            entry.config = load_target(entry.config)
        return entry.config  # type: ignore[no-any-return]

    def create(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)  # type: ignore[operator]


embedders: Registry[Any] = Registry("embedders", ("memkit.embedders",))
vector_indexes: Registry[Any] = Registry("vector_indexes", ("memkit.stores",))
note_stores: Registry[Any] = Registry("note_stores", ("memkit.stores",))
note_builders: Registry[Any] = Registry("note_builders", ("memkit.builders",))
link_judges: Registry[Any] = Registry("link_judges", ("memkit.linking",))
parametric_memories: Registry[Any] = Registry("parametric_memories", ("memkit.editing",))
bench_tasks: Registry[Any] = Registry("bench_tasks", ("memkit.bench",))
bench_systems: Registry[Any] = Registry("bench_systems", ("memkit.bench",))
bench_readers: Registry[Any] = Registry("bench_readers", ("memkit.bench",))
