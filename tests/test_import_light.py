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
