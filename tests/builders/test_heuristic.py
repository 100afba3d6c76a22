from datetime import datetime, timezone

from memkit.builders.base import embed_text, search_extra
from memkit.builders.heuristic import HeuristicBuilder
from memkit.text import candidate_phrases, rank_phrases
from memkit.types import Note


def test_keywords_tags_and_context():
    n = Note(content="Maya adopted a cat named Miso who needs a special kidney diet.",
             metadata={"speaker": "Maya"}, valid_from=datetime(2025, 3, 2, tzinfo=timezone.utc))
    d = HeuristicBuilder().derive(n)
    assert any("Miso" in k for k in d.keywords) and any("kidney diet" in k for k in d.keywords)
    assert "miso" in d.tags
    assert d.context.startswith("Maya on 2 March 2025:")


def test_candidate_phrases_split_long_runs_from_the_end():
    assert candidate_phrases("Sam bought new hiking boots") == ["new hiking boots", "Sam bought"]
    assert rank_phrases("", 5) == []


def test_indexed_texts_are_speaker_and_time_aware():
    n = Note(content="I went to the support group", metadata={"speaker": "Caroline"},
             valid_from=datetime(2023, 5, 8, tzinfo=timezone.utc), keywords=["support group"])
    assert embed_text(n) == "I went to the support group"
    assert embed_text(n, with_speaker=True) == "Caroline: I went to the support group"
    text = search_extra(n)
    assert "went" not in text  # the content has its own column
    assert "Caroline" in text and "8 May 2023" in text and "support group" in text
