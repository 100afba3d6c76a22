"""Stores: the SQLite note store (authoritative), vector indexes (derived) and the note graph.

Registration of vector indexes lives here, next to their modules, as lazy targets.
"""

from memkit.registry import vector_indexes

vector_indexes.register("chroma", "memkit.stores.chroma:ChromaIndex")
vector_indexes.register("exact", "memkit.stores.exact:ExactIndex")
