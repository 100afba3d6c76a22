"""The bench package stays light on import and registers every task it ships."""

from __future__ import annotations

import subprocess
import sys

from memkit.registry import bench_tasks


def test_importing_the_bench_loads_no_heavy_library():
    code = (
        "import sys, memkit.bench, memkit.bench.runner, memkit.bench.report, memkit.bench.systems, memkit.cli.bench\n"
        "import memkit.bench.tasks.sort, memkit.bench.tasks.dynamicqa, memkit.bench.tasks.conflictqa\n"
        "import memkit.bench.tasks.rrr, memkit.bench.tasks.locality, memkit.bench.tasks.chats\n"
        "print([m for m in ('torch', 'chromadb', 'litellm', 'matplotlib', 'transformers', 'sentence_transformers')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_task_is_registered_versioned_and_consistent():
    assert bench_tasks.names() == ["chats", "conflictqa", "dynamicqa", "locality", "rrr", "sort"]
    for name in bench_tasks.names():
        cls = bench_tasks.get(name)
        spec = cls.spec
        assert spec.name == name and spec.version >= 1
        metric_names = {m.name for m in spec.metrics}
        assert all(b.metric in metric_names for b in spec.breakdowns)
        assert ("retrieval:reader=none" in spec.default_systems) == spec.llm_free
        cls()  # default parameters are valid
