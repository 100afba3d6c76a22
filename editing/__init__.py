"""memkit.editing: parametric memories, back ends that write knowledge into model weights.

Light on import: the records, loaders and metrics are plain Python; torch and
transformers load only when a back end (or :func:`load_base_model`) is used.

Back ends (``memkit.registry.parametric_memories``):

- ``wise``: WISE side-memory editing, WISE-Merge (Wang et al., NeurIPS 2024);
- ``wise-retrieve``: WISE-Retrieve, shards kept apart and routed among;
- ``wise-embed``: memkit's addition: WISE side memories, one per edit, routed by the sentence embedding of
  the edit prompts instead of the activation score;
- ``ft-l``: plain fine-tuning of the same layer (the paper's FT-L baseline);
- ``compression``: a compression memory bank (CMT, Li et al. 2024; MAC, Tack et al. 2024): documents compressed
  into a few vectors each, aggregated per question into memory slots the frozen model reads;
- ``adapter``: a generative adapter (Chen et al. 2024): documents turned into a low-rank weight update in one
  forward pass;
- ``dsi``: DSI++ (Tay et al. 2022; Mehta et al. 2023): the model learns to map a note, or a query, to the note's
  id; ``search`` decodes ranked ids held to a prefix trie.

Document memories (:class:`memkit.editing.documents.DocumentMemory`) take documents (or notes) whole, not
prompt/target edits, and can ``forget`` them by id.
"""

from __future__ import annotations

from typing import Any

from memkit.editing import adapter, compression, dsi, ft, wise  # noqa: F401  each back end's package registers itself in its light __init__
from memkit.editing.data import load_edit_dataset, parse_edit_record
from memkit.editing.ft.config import FTConfig
from memkit.editing.metrics import evaluate_edits, locality_baseline
from memkit.editing.synthetic import irrelevant_texts, synthetic_edits
from memkit.editing.types import EditMetrics, EditRequest, TargetScore, WriteReport
from memkit.editing.wise.config import WISEConfig
from memkit.registry import parametric_memories

__all__ = [
    "EditRequest",
    "TargetScore",
    "WriteReport",
    "EditMetrics",
    "WISEConfig",
    "FTConfig",
    "load_edit_dataset",
    "parse_edit_record",
    "synthetic_edits",
    "irrelevant_texts",
    "evaluate_edits",
    "locality_baseline",
    "create_memory",
    "load_memory",
    "load_base_model",
    "chat_prompt",
]


def create_memory(backend: str, /, **kwargs: Any) -> Any:
    """A new parametric memory of the registered kind ``backend`` (e.g. ``"wise"``)."""
    return parametric_memories.create(backend, **kwargs)


def load_memory(path: str, /, **kwargs: Any) -> Any:
    """Reload a memory saved with ``.save(path)``, whichever back end wrote it."""
    from memkit.editing.persist import read_manifest

    return parametric_memories.get(read_manifest(path)["backend"]).load(path, **kwargs)


def load_base_model(*args: Any, **kwargs: Any) -> Any:
    """See :func:`memkit.hf.load.load_base_model` (the Hugging Face runtime's loader)."""
    from memkit.hf.load import load_base_model as _load

    return _load(*args, **kwargs)


def chat_prompt(*args: Any, **kwargs: Any) -> str:
    """See :func:`memkit.hf.runtime.chat_prompt`."""
    from memkit.hf.runtime import chat_prompt as _chat

    return _chat(*args, **kwargs)
