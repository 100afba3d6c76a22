"""memkit.bench: score any memory, retrieval or parametric, on recall, retention and locality.

Light on import: tasks register here by name and lazy ``"module:Class"`` target, so
``import memkit.bench`` loads neither torch, chromadb, litellm nor matplotlib.

>>> from memkit.bench import run_task
>>> path, manifest = run_task("sort", ["base", "retrieval:reader=none"], limit=8)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from memkit.registry import bench_tasks

__all__ = ["run_task", "load_run", "bench_tasks", "TASKS"]

#: name -> lazy target; the single list of built-in tasks
TASKS = {
    "sort": "memkit.bench.tasks.sort:SortTask",
    "dynamicqa": "memkit.bench.tasks.dynamicqa:DynamicQATask",
    "conflictqa": "memkit.bench.tasks.conflictqa:ConflictQATask",
    "rrr": "memkit.bench.tasks.rrr:RecognitionRecallRetentionTask",
    "locality": "memkit.bench.tasks.locality:LocalityTask",
}
for _name, _target in TASKS.items():
    bench_tasks.register(_name, _target)


def run_task(*args: Any, **kwargs: Any) -> Any:
    """See :func:`memkit.bench.runner.run_task`."""
    from memkit.bench.runner import run_task as _run

    return _run(*args, **kwargs)


def load_run(path: Any) -> Any:
    """See :func:`memkit.bench.runner.load_run`."""
    from memkit.bench.runner import load_run as _load

    return _load(path)
