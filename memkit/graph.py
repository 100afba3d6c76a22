"""The note graph as retrieval's link expansion sees it: an embedded store's links, loaded lazily into networkx and
kept in step with its writes (:class:`NoteGraph`), or a shared store's, read where they are (:class:`StoreGraph`).

Walks of several hops (``Memory.related``) run inside the store (``NoteStore.within``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from memkit.types import Link

if TYPE_CHECKING:
    import networkx as nx

    from memkit.protocols import NoteStore

__all__ = ["NoteGraph", "StoreGraph"]


class NoteGraph:
    """An undirected view of the links; built on first use, then kept in step with writes."""

    def __init__(self, load_links: Callable[[], list[Link]]):
        self._load_links = load_links
        self._g: nx.Graph | None = None

    @property
    def graph(self) -> nx.Graph:
        if self._g is None:
            import networkx as nx

            g = nx.Graph()
            for lk in self._load_links():
                self._add(g, lk)
            self._g = g
        return self._g

    @staticmethod
    def _add(g: nx.Graph, lk: Link) -> None:
        if g.has_edge(lk.src, lk.dst):
            data = g.edges[lk.src, lk.dst]
            data["kinds"].add(lk.kind)
            data["weight"] = max(data["weight"], lk.weight)
        else:
            g.add_edge(lk.src, lk.dst, kinds={lk.kind}, weight=lk.weight)

    def add_links(self, links: Iterable[Link]) -> None:
        if self._g is not None:
            for lk in links:
                self._add(self._g, lk)

    def remove_link(self, a: str, b: str, kind: str | None = None) -> None:
        if self._g is None or not self._g.has_edge(a, b):
            return
        kinds = self._g.edges[a, b]["kinds"]
        kinds.discard(kind) if kind else kinds.clear()
        if not kinds:
            self._g.remove_edge(a, b)

    def remove_node(self, node_id: str) -> None:
        if self._g is not None and node_id in self._g:
            self._g.remove_node(node_id)

    def invalidate(self) -> None:
        self._g = None

    def neighbours(self, node_id: str) -> list[tuple[str, float, frozenset[str]]]:
        g = self.graph
        if node_id not in g:
            return []
        return [(n, d["weight"], frozenset(d["kinds"])) for n, d in g[node_id].items()]


class StoreGraph:
    """The links of a store other processes write too: read from the store at each call, nothing cached."""

    def __init__(self, store: Callable[[], NoteStore]):
        self._store = store

    def neighbours(self, node_id: str) -> list[tuple[str, float, frozenset[str]]]:
        found: dict[str, tuple[float, set[str]]] = {}
        for lk in self._store().links_of(node_id):
            other = lk.dst if lk.src == node_id else lk.src
            weight, kinds = found.get(other, (0.0, set()))
            found[other] = (max(weight, lk.weight), kinds | {lk.kind})
        return [(n, w, frozenset(k)) for n, (w, k) in found.items()]

    # the store holds every change already
    def add_links(self, links: Iterable[Link]) -> None:
        pass

    def remove_link(self, a: str, b: str, kind: str | None = None) -> None:
        pass

    def remove_node(self, node_id: str) -> None:
        pass

    def invalidate(self) -> None:
        pass
