"""memkit.retrieval.query: the words BM25 ORs, and the speakers a question names (by name, or a chat role)."""

from __future__ import annotations

import pytest

from memkit.config import RetrievalConfig
from memkit.retrieval.query import lexical_match, speakers_named

ROLES = RetrievalConfig().speaker_roles  # user: user/human; assistant: assistant/ai/bot/model
CHAT = ["user", "assistant"]


# -- lexical_match -------------------------------------------------------------------------------------------------
def test_lexical_match_keeps_content_words_lowercased_once_in_order():
    assert lexical_match("What did I say about the Porto trip? The PORTO one!") == ("porto", "trip")
    assert lexical_match("Which vegan bakery did Maya like in Lisbon?") == ("vegan", "bakery", "maya", "lisbon")


def test_lexical_match_keeps_numbers():
    assert "2023" in lexical_match("Where was I in 2023?")
    assert "5" in lexical_match("the 5 cats")


def test_lexical_match_of_stopwords_only_is_empty():
    assert lexical_match("What did you say to me?") == ()
    assert lexical_match("") == ()


# -- speakers by chat role -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "What did you recommend for dinner?",
    "Can you remind me what you suggested for my trip?",
    "What was the name of the app you mentioned?",
    "You told me about a book, what was it?",
    "What have you listed as the main causes?",
])
def test_a_question_about_what_you_said_names_the_assistant(query):
    assert speakers_named(query, CHAT, ROLES) == {"assistant"}


@pytest.mark.parametrize("query", [
    "What did I say about the Porto trip?",
    "What is the name of my cat?",
    "How long did I wait for the decision?",
    "Which of my plants need repotting?",
])
def test_a_question_in_the_first_person_names_the_user(query):
    assert speakers_named(query, CHAT, ROLES) == {"user"}


def test_role_values_are_matched_case_insensitively_and_by_every_value():
    speakers = ["Human", "AI", "bot"]
    assert speakers_named("What did you recommend?", speakers, ROLES) == {"AI", "bot"}
    assert speakers_named("What did I say?", speakers, ROLES) == {"Human"}


def test_a_question_neither_about_me_nor_you_names_no_role():
    assert speakers_named("Where is the nearest station?", CHAT, ROLES) == set()


def test_without_roles_pronouns_name_nobody():
    assert speakers_named("What did I say?", CHAT) == set()
    assert speakers_named("What did you recommend?", CHAT, None) == set()


def test_roles_only_name_speakers_present():
    assert speakers_named("What did you recommend?", ["user", "Caroline"], ROLES) == set()


# -- speakers by name ------------------------------------------------------------------------------------------------
def test_a_name_in_the_question_names_that_speaker():
    speakers = ["Caroline", "Melanie"]
    assert speakers_named("What did Caroline research?", speakers) == {"Caroline"}
    assert speakers_named("what did caroline and MELANIE do?", speakers) == {"Caroline", "Melanie"}
    assert speakers_named("What did Carol research?", speakers) == set()  # whole words only


def test_the_first_name_of_a_full_name_speaker():
    speakers = ["Caroline Smith", "Melanie Jones"]
    assert speakers_named("When did Caroline move?", speakers) == {"Caroline Smith"}
    assert speakers_named("When did Jones move?", speakers) == set()  # the first name, not the last


def test_names_and_roles_together():
    speakers = ["user", "assistant", "Caroline"]
    assert speakers_named("What did I tell Caroline?", speakers, ROLES) == {"user", "Caroline"}
    assert speakers_named("What did you recommend to Caroline?", speakers, ROLES) == {"assistant", "Caroline"}


# A blank speaker value ('' or '   ', which metadata.speaker may hold) names nobody.
def test_a_blank_speaker_value_names_nobody():
    assert speakers_named("What did Mel say?", ["", "   ", "Mel"]) == {"Mel"}
