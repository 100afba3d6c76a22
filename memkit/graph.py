"""The note graph: networkx, loaded lazily from the note store's links, then kept in step with its writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from memkit.types import Link

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["NoteGraph"]


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

    def within(self, node_id: str, depth: int, keep: Callable[[set[str]], set[str]] | None = None) -> dict[str, int]:
        """Every note reachable in at most ``depth`` hops, with its distance (the start excluded).

        ``keep`` takes the notes first reached at one distance and returns those the walk may enter (and go on
        from); ``related`` keeps the notes of the start's own user, so no link can lead to another user's note.
        """
        g = self.graph
        if node_id not in g:
            return {}
        dist = {node_id: 0}
        frontier = {node_id}
        for d in range(1, depth + 1):
            reached = {nb for n in frontier for nb in g[n]} - dist.keys()
            if keep is not None and reached:
                reached = keep(reached) & reached
            if not reached:
                break
            dist.update(dict.fromkeys(reached, d))
            frontier = reached
        dist.pop(node_id)
        return dist
