"""memkit.bench: score any memory, retrieval or parametric, on recall, retention and locality.

Light on import: tasks register here by name and lazy ``"module:Class"`` target, so
``import memkit.bench`` loads neither torch, chromadb, litellm nor matplotlib.

>>> from memkit.bench import run_task
>>> path, manifest = run_task("sort", ["base", "retrieval:reader=none"], limit=8)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from memkit.registry import bench_readers, bench_systems, bench_tasks

__all__ = ["run_task", "load_run", "bench_tasks", "bench_systems", "bench_readers"]

# tasks: name, task class, its parameters' model
bench_tasks.register("sort", "memkit.bench.tasks.sort:SortTask", config="memkit.bench.tasks.sort:SortParams")
bench_tasks.register("dynamicqa", "memkit.bench.tasks.dynamicqa:DynamicQATask",
                     config="memkit.bench.tasks.dynamicqa:DynamicQAParams")
bench_tasks.register("conflictqa", "memkit.bench.tasks.conflictqa:ConflictQATask",
                     config="memkit.bench.tasks.conflictqa:ConflictQAParams")
bench_tasks.register("rrr", "memkit.bench.tasks.rrr:RecognitionRecallRetentionTask",
                     config="memkit.bench.tasks.rrr:RRRParams")
bench_tasks.register("chats", "memkit.bench.tasks.chats:ChatsTask", config="memkit.bench.tasks.chats:ChatsParams")
bench_tasks.register("locality", "memkit.bench.tasks.locality:LocalityTask",
                     config="memkit.bench.tasks.locality:LocalityParams")

# systems under test: kind, factory (spec, workdir, task) -> BenchSystem, the spec it is configured by
_SPEC = "memkit.bench.systems:SystemSpec"
bench_systems.register("base", "memkit.bench.systems:base_system", config=_SPEC)
bench_systems.register("oracle", "memkit.bench.systems:oracle_system", config=_SPEC)
bench_systems.register("retrieval", "memkit.bench.systems:retrieval_system", config=_SPEC)
bench_systems.register("parametric", "memkit.bench.systems:parametric_system", config=_SPEC)

# readers: name (a system's ``reader=NAME[:argument]``), factory (argument, task) -> Reader
bench_readers.register("smollm2", "memkit.bench.readers:smollm2_reader")
bench_readers.register("hf", "memkit.bench.readers:hf_reader")
bench_readers.register("litellm", "memkit.bench.readers:litellm_reader")
bench_readers.register("none", "memkit.bench.readers:llm_free_reader")


def run_task(*args: Any, **kwargs: Any) -> Any:
    """See :func:`memkit.bench.runner.run_task`."""
    from memkit.bench.runner import run_task as _run

    return _run(*args, **kwargs)


def load_run(path: Any) -> Any:
    """See :func:`memkit.bench.runner.load_run`."""
    from memkit.bench.runner import load_run as _load

    return _load(path)
