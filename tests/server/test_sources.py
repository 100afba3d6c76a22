"""Sources registered on the daemon: ingested by the daemon, watched, resumed after a restart."""

from __future__ import annotations

import time

from memkit import Client


def _wait(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_a_watched_source_is_kept_ingested_across_restarts(daemon_factory, tmp_path):
    d = daemon_factory()
    folder = tmp_path / "journal"
    folder.mkdir()
    (folder / "monday.md").write_text("# Monday\n\nRan 5 km along the river.\n")
    with Client(d.url, d.token) as c:
        job = c.add_source(folder, user_id="me", watch=True, interval=30)
        assert job.watch and job.path == str(folder)
        found = lambda text: any(text in h.note.content for h in c.search(text, k=5, user_id="me"))  # noqa: E731
        assert _wait(lambda: found("Ran 5 km"))
        note = c.search("Ran 5 km", k=1, user_id="me")[0].note
        assert note.metadata["memkit_client"] == "default" and note.source == str(folder / "monday.md")
        (folder / "tuesday.md").write_text("# Tuesday\n\nSwam 40 lengths.\n")
        assert _wait(lambda: found("Swam 40 lengths"))
    d.stop()
    (folder / "wednesday.md").write_text("# Wednesday\n\nClimbed at the gym.\n")  # while the daemon is down
    d.start()
    with Client(d.url, d.token) as c:
        assert _wait(lambda: any("Climbed" in h.note.content for h in c.search("Climbed at the gym", k=3,
                                                                                   user_id="me")))
        # the catch-up scan commits its notes before it reports itself done and the watch begins again
        assert _wait(lambda: c.source(job.id).status == "watching")
        c.remove_source(job.id)
        with d.http() as h:
            assert h.get(f"/v1/sources/{job.id}").status_code == 404
        contents = [h.note.content for h in c.search("Monday Ran", k=20, user_id="me")]
        assert sum("Ran 5 km" in x for x in contents) == 1  # rescans added nothing twice
