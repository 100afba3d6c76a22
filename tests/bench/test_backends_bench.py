"""The back-end benchmark (``memkit.bench.backends``) on a real PostgreSQL: a memory an earlier run filled is
searched again with ``--reuse``, and never filled twice."""

from __future__ import annotations

import pytest

from memkit.bench.backends import main, measure


def test_reuse_searches_the_memory_an_earlier_run_filled(pg_url, capsys):
    schema = {"store": {"schema_name": "postgres_30"}}  # the schema the script gives a 30-note run
    first = measure("postgres", pg_url, schema, 30, 3, False, None)
    assert first["stored"] == 30 and first["ingest_notes_per_s"] > 0
    again = measure("postgres", pg_url, schema, 30, 3, False, None, reuse=True)
    assert again["stored"] == 30 and again["ingest_s"] is None and again["user"]["idle"]["p95_ms"] > 0
    with pytest.raises(SystemExit, match="holds 30 notes"):  # without --reuse a filled memory is not filled again
        measure("postgres", pg_url, schema, 30, 3, False, None)
    with pytest.raises(SystemExit, match="holds 30 notes"):  # nor one of another size with it
        measure("postgres", pg_url, schema, 20, 3, False, None, reuse=True)
    # the script's table shows a reused run without an ingest rate
    assert main(["--sizes", "30", "--backends", "postgres", "--queries", "3", "--no-load", "--postgres-url",
                 pg_url, "--reuse"]) == 0
    table = capsys.readouterr().out.splitlines()[-1].split()
    assert table[:3] == ["postgres", "30", "-"]
