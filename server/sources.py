"""Sources registered on the daemon (``POST /v1/sources``): ingest a path once, or keep watching it.

Each source runs in its own thread and writes through the service as the caller that registered it
(so its notes record that client and keep to the scope given).  Watched sources are kept in
``daemon.db`` and start again with the daemon.  Reading local files on the daemon's behalf needs an
unrestricted token: a token limited to one user must not be able to read the owner's files.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from memkit.errors import InvalidInputError, MemkitError, NotFoundError, PermissionDeniedError
from memkit.server.state import DaemonState, SourceRecord
from memkit.server.tokens import Caller
from memkit.sources.ingester import Ingester, IngestReport

__all__ = ["SourceManager", "Job"]

log = logging.getLogger("memkit.server")


class Job(BaseModel):
    """A source as clients see it: what it is, where its run stands, and its last report."""

    id: str
    path: str
    user_id: str | None = None
    agent_id: str | None = None
    watch: bool = False
    status: Literal["running", "watching", "done", "failed", "stopped"] = "running"
    done: int = 0
    total: int = 0
    error: str | None = None
    report: IngestReport | None = None


class _Running:
    def __init__(self, rec: SourceRecord, caller: Caller):
        self.rec, self.caller = rec, caller
        self.job = Job(id=rec.id, path=rec.path, user_id=rec.user_id, agent_id=rec.agent_id, watch=rec.watch)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None


class SourceManager:
    def __init__(self, service: Any, state: DaemonState):
        self.service, self.state = service, state
        self._jobs: dict[str, _Running] = {}
        self._guard = threading.Lock()

    def start(self) -> None:
        """Resume the watched sources (on daemon start)."""
        for rec in self.state.sources():
            self._launch(rec, Caller(client=rec.created_by))

    def stop(self) -> None:
        with self._guard:
            jobs = list(self._jobs.values())
        for run in jobs:
            run.stop.set()
        for run in jobs:
            if run.thread is not None:
                run.thread.join(timeout=10)

    def add(self, caller: Caller, body: Any) -> Job:
        if not caller.unrestricted:
            raise PermissionDeniedError("registering a source (reading files on this machine) needs an unrestricted "
                                        "token")
        path = Path(body.path).expanduser()
        if not path.is_absolute():
            raise InvalidInputError(f"source path must be absolute (it is read by the daemon): {body.path!r}")
        if not path.exists():
            raise InvalidInputError(f"no such file or folder on the daemon's machine: {path}")
        rec = SourceRecord(id=secrets.token_hex(6), path=str(path.resolve()), user_id=body.user_id,
                           agent_id=body.agent_id, watch=body.watch, interval=body.interval,
                           created_by=caller.client, created_at=time.time())
        if rec.watch:
            self.state.add_source(rec)
        return self._launch(rec, caller).job

    def _launch(self, rec: SourceRecord, caller: Caller) -> _Running:
        run = _Running(rec, caller)
        run.thread = threading.Thread(target=self._work, args=(run,), name=f"memkit-source-{rec.id}", daemon=True)
        with self._guard:
            self._jobs[rec.id] = run
        run.thread.start()
        return run

    def _work(self, run: _Running) -> None:
        rec = run.rec
        mem = self.service.bound(Caller(client=run.caller.client))
        ingester = Ingester(mem, self.service.mem.path, user_id=rec.user_id, agent_id=rec.agent_id)

        def progress(done: int, total: int) -> None:
            run.job.done, run.job.total = done, total

        def reported(report: IngestReport) -> None:
            run.job.report = report
            run.job.status = "watching"

        try:
            if rec.watch:
                from memkit.sources.watch import watch

                watch(ingester, Path(rec.path), interval=rec.interval, stop=run.stop, on_report=reported)
                run.job.status = "stopped"
            else:
                run.job.report = ingester.run(rec.path, on_progress=progress)
                run.job.status = "done"
        except MemkitError as exc:
            run.job.status, run.job.error = "failed", f"{type(exc).__name__}: {exc}"
            log.warning("source %s (%s) failed: %s", rec.id, rec.path, exc)
        except Exception as exc:  # a bug: recorded on the job and logged with its traceback, the daemon goes on
            run.job.status, run.job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            log.exception("source %s (%s) failed", rec.id, rec.path)
        finally:
            ingester.close()

    def list(self, caller: Caller) -> list[Job]:
        self._need(caller)
        with self._guard:
            return [r.job for r in self._jobs.values()]

    def get(self, caller: Caller, source_id: str) -> Job:
        self._need(caller)
        with self._guard:
            run = self._jobs.get(source_id)
        if run is None:
            raise NotFoundError(f"no source with id {source_id!r}")
        return run.job

    def remove(self, caller: Caller, source_id: str) -> None:
        self._need(caller)
        with self._guard:
            run = self._jobs.pop(source_id, None)
        removed = self.state.remove_source(source_id)
        if run is None and not removed:
            raise NotFoundError(f"no source with id {source_id!r}")
        if run is not None:
            run.stop.set()

    @staticmethod
    def _need(caller: Caller) -> None:
        if not caller.unrestricted:
            raise PermissionDeniedError("sources need an unrestricted token")
