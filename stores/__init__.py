"""Stores: the note stores (authoritative: SQLite embedded, PostgreSQL shared) and the vector indexes (derived
from them: Chroma embedded or on a server, exact numpy, or the note store's own pgvector search).

Each registers here, next to its module, as a lazy target with its config class.  A new store or
index is its own module (or folder) plus one line here.
"""

from memkit.registry import note_stores, vector_indexes

note_stores.register("sqlite", "memkit.stores.sqlite:SQLiteStore", config="memkit.config:StoreConfig")
note_stores.register("postgres", "memkit.stores.postgres:PostgresStore", config="memkit.stores.postgres:PostgresStoreConfig")
vector_indexes.register("chroma", "memkit.stores.chroma:ChromaIndex", config="memkit.stores.chroma:ChromaIndexConfig")
vector_indexes.register("exact", "memkit.stores.exact:ExactIndex", config="memkit.config:IndexConfig")
vector_indexes.register("store", "memkit.stores.native:StoreIndex", config="memkit.config:IndexConfig")
