"""Text helpers that retrieval depends on."""

from __future__ import annotations

import pytest

from memkit.text import asks_about_present


@pytest.mark.parametrize("query,present", [
    ("Where does Maya live now?", True),
    ("What is her current job?", True),
    ("Does he still play chess these days?", True),
    ("What does Tom eat nowadays", True),
    ("Is she not vegetarian anymore?", True),
    ("Where did Maya live in 2023?", False),
    ("When did Tom know about the move?", False),  # 'know' is not 'now'
])
def test_asks_about_present(query, present):
    assert asks_about_present(query) is present
