"""Shared fixtures: a fast memory (hashing embedder, exact index) for logic tests, and the real one
(bundled all-MiniLM-L6-v2 + Chroma + SQLite) for behaviour through the real parts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from memkit import Memory

REPO = Path(__file__).resolve().parents[1]
FAST = {"embedder": {"kind": "hash", "model": "hash"}, "index": {"kind": "exact"}}


def data_dir() -> Path:
    """The shared data sets (never copied into the repo): $MEMKIT_DATA_DIR or ../shared/data."""
    path = Path(os.environ.get("MEMKIT_DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}; set MEMKIT_DATA_DIR")
    return path


@pytest.fixture
def fast_mem(tmp_path):
    with Memory(tmp_path / "fast", FAST) as mem:
        yield mem


@pytest.fixture
def real_mem(tmp_path):
    with Memory(tmp_path / "real") as mem:
        yield mem


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """One PostgreSQL (with pgvector) for the session: ``postgres_server.database()`` is a new database's URL."""
    from tests.servers import PostgresServer, started

    yield from started(PostgresServer, tmp_path_factory)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One Chroma server for the session (``chroma_server.url``)."""
    from tests.servers import ChromaServer, started

    yield from started(ChromaServer, tmp_path_factory)


@pytest.fixture
def pg_url(postgres_server) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return postgres_server.database()
