"""One registry per kind of part, with lazy ``"module:attr"`` targets.

An implementation registers itself next to its code, in the light ``__init__``
of its package, by *name* and *import path*::

    from memkit.registry import vector_indexes
    vector_indexes.register("chroma", "memkit.stores.chroma:ChromaIndex")

so that looking up the registry imports nothing heavy until a part is asked for.
Third parties register through the entry-point group ``memkit.<kind>``
(e.g. ``memkit.vector_indexes``), whose value is the same ``"module:attr"``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from memkit.errors import RegistryError

__all__ = [
    "Registry",
    "embedders",
    "vector_indexes",
    "note_builders",
    "parametric_memories",
    "bench_tasks",
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


class Registry(Generic[T]):
    """Names to implementations of one kind.

    ``providers`` are the built-in packages whose import registers entries;
    they are imported on first lookup, so nothing is loaded at ``import memkit``.
    """

    def __init__(self, kind: str, providers: tuple[str, ...] = ()):
        self.kind = kind
        self._providers = providers
        self._targets: dict[str, str | T] = {}
        self._loaded = False

    # -- registration -------------------------------------------------------
    def register(self, name: str, target: str | T | None = None) -> Callable[[T], T] | None:
        """Register ``target`` under ``name``; used as a decorator when target is omitted."""
        key = self._key(name)
        if target is None:

            def decorator(obj: T) -> T:
                self._targets[key] = obj
                return obj

            return decorator
        self._targets[key] = target
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
            self._targets.setdefault(self._key(ep.name), ep.value)

    def names(self) -> list[str]:
        self._load_providers()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._load_providers()
        return isinstance(name, str) and name.strip().lower() in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The implementation registered under ``name`` (imported on first use)."""
        self._load_providers()
        key = self._key(name)
        if key not in self._targets:
            close = difflib.get_close_matches(key, self._targets, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._targets)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        target = self._targets[key]
        if isinstance(target, str):
            target = load_target(target)
            self._targets[key] = target
        return target  # type: ignore[return-value]

    def create(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)  # type: ignore[operator]


embedders: Registry[Any] = Registry("embedders", ("memkit.embedders",))
vector_indexes: Registry[Any] = Registry("vector_indexes", ("memkit.stores",))
note_builders: Registry[Any] = Registry("note_builders", ("memkit.builders",))
parametric_memories: Registry[Any] = Registry("parametric_memories", ("memkit.editing",))
bench_tasks: Registry[Any] = Registry("bench_tasks", ("memkit.bench",))
