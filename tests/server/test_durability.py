"""Many writers, retries, and a daemon killed or stopped under load: nothing acknowledged is lost, nothing is
written twice."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid

from memkit import Client
from memkit.errors import DaemonError
from memkit.server.runtime import RUNTIME_FILE


def _export_contents(client: Client, user: str, tmp_path) -> list[str]:
    out = tmp_path / f"{user}.jsonl"
    client.export(out, user_id=user)
    return [json.loads(line)["note"]["content"] for line in out.read_text().splitlines() if '"note"' in line[:10]]


def test_eight_concurrent_writers_lose_and_duplicate_nothing(daemon_factory, tmp_path):
    d = daemon_factory()
    user = "writers"
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            with Client(d.url, d.token) as c:
                for b in range(8):  # 8 batches x 25 notes = 200 notes per writer
                    c.add_many([f"writer {w} wrote note {b * 25 + i} about topic {(w * 7 + i) % 13}"
                                for i in range(25)], user_id=user, metadata={"writer": w})
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which fails the test
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert not errors, errors
    with Client(d.url, d.token) as c:
        contents = _export_contents(c, user, tmp_path)
        assert len(contents) == 1600 and len(set(contents)) == 1600
        assert c.search("writer 3 wrote note 117", k=1, user_id=user)[0].note.metadata["writer"] == 3
    assert elapsed < 60, f"8 writers x 200 notes took {elapsed:.1f} s"


def test_sigkill_mid_batch_loses_no_acknowledged_write(daemon_factory, tmp_path):
    d = daemon_factory()
    user = "killed"
    acked: list[str] = []
    pending: dict[int, tuple[str, list[str]]] = {}  # writer -> (idempotency key, items) of its unanswered request
    stop = threading.Event()

    def write(w: int) -> None:
        with Client(d.url, d.token, retries=0) as c:
            b = 0
            while not stop.is_set():
                key, items = uuid.uuid4().hex, [f"w{w} batch {b} item {i}" for i in range(10)]
                pending[w] = (key, items)
                try:
                    notes = c.add_many(items, user_id=user, idempotency_key=key)
                except DaemonError:
                    return  # killed in flight: the request stays pending
                acked.extend(n.id for n in notes)
                del pending[w]
                b += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    d.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 100
    d.start()  # the same store: SQLite recovers its journal, the vector index is reconciled
    with Client(d.url, d.token) as c:
        assert c.existing(acked) == set(acked)
        for key, items in pending.values():  # the client retries what got no answer: it is added once
            c.add_many(items, user_id=user, idempotency_key=key)
        contents = _export_contents(c, user, tmp_path)
        assert len(contents) == len(set(contents))
        expected = len(acked) + sum(len(items) for _, items in pending.values())
        assert len(contents) == expected
        hits = c.search(contents[0], k=3, user_id=user)  # and the index serves them
        assert any(h.note.content == contents[0] for h in hits)


def test_sigterm_stops_cleanly_and_keys_survive_a_restart(daemon_factory, tmp_path):
    d = daemon_factory()
    key = uuid.uuid4().hex
    with Client(d.url, d.token) as c:
        first = c.add("written before the restart", user_id="restart", idempotency_key=key)
    assert d.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    assert d.log.read_text().rstrip().endswith("closed")  # its last words: the store was closed
    assert not (d.store / RUNTIME_FILE).exists()
    d.start()
    with Client(d.url, d.token) as c:
        again = c.add("written before the restart", user_id="restart", idempotency_key=key)
        assert again.id == first.id
        assert len(_export_contents(c, "restart", tmp_path)) == 1
