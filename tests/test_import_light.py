import json
import subprocess
import sys


def test_import_memkit_loads_no_heavy_library():
    code = (
        "import sys, memkit, memkit.stores, memkit.builders, memkit.editing, memkit.bench, memkit.cli\n"
        "from memkit import Note, MemkitError\n"
        "from memkit.registry import vector_indexes, embedders, note_builders\n"
        "vector_indexes.names(); embedders.names(); note_builders.names()\n"
        "heavy = [m for m in ('torch', 'chromadb', 'litellm', 'transformers', 'sentence_transformers', 'networkx')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_memory_class_is_lazy_but_available():
    code = "import sys, memkit; M = memkit.Memory; print(M.__name__, 'torch' in sys.modules, 'chromadb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Memory False False"


def test_offline_defaults_are_set_quietly():
    code = "import os, memkit; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'], os.environ['ANONYMIZED_TELEMETRY'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={})
    assert out.stdout.strip() == "True False"


_PROBE = """
import json, sys
from memkit.cli.main import cli
code = None
try:
    cli(sys.argv[1:], prog_name="memkit")
except SystemExit as exc:
    code = exc.code
heavy = [m for m in ("torch", "sentence_transformers", "transformers", "chromadb") if m in sys.modules]
print(json.dumps([code, heavy]), file=sys.stderr)
"""


def test_commands_that_need_no_vectors_load_neither_torch_nor_chroma(tmp_path):
    """show, history, stats, export, related, a metadata update and delete open neither the embedder nor the
    vector index; the index follows the changes when it is next opened."""
    from memkit import Memory

    store = tmp_path / "store"
    with Memory(store) as mem:  # the real default: the bundled embedder and Chroma
        a = mem.add("Alice moved to Lisbon in May", user_id="u")
        b = mem.add("Alice works at a fintech startup in Lisbon", user_id="u", links=[a.id])
        version = mem.get(a.id).version
        short = mem.short_ids([a.id, b.id])  # prefixes no other note shares (two ids of one millisecond do)
    commands = [["show", short[a.id]], ["history", a.id], ["stats"], ["export", str(tmp_path / "out.jsonl")],
                ["related", a.id], ["update", a.id, "--meta", "k=1"], ["delete", short[b.id]], ["stats", "--json"]]
    for args in commands:
        res = subprocess.run([sys.executable, "-c", _PROBE, "--store", str(store), *args], capture_output=True,
                             text=True)
        code, heavy = json.loads(res.stderr.strip().splitlines()[-1])
        assert code == 0 and heavy == [], (args, res.stderr)
    assert json.loads(res.stdout)["vector_count"] == 1
    with Memory(store) as mem:
        assert mem.index.versions() == {a.id: version + 1}  # b's vector gone, a's follows its update
        assert mem.store.index_pending() == [] and mem.stats().vector_count == 1
