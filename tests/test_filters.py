import pytest

from memkit.errors import FilterError
from memkit.filters import build_filter
from memkit.stores.chroma import chroma_where
from memkit.stores.exact import matches
from memkit.stores.sqlite import where_sql


def meta(**kw):
    base = {"valid_from": 0.0, "valid_to": 1e18, "version": 1, "owner": ""}
    base.update(kw)
    return base


def test_equality_in_and_range():
    f = build_filter({"src": "chat", "n": {"$gte": 3, "$lt": 10}, "lang": ["en", "pt"]}, user_id="u1")
    assert matches(f, meta(user_id="u1", **{"m.src": "chat", "m.n": 5, "m.lang": "pt"}))
    assert not matches(f, meta(user_id="u2", **{"m.src": "chat", "m.n": 5, "m.lang": "pt"}))
    assert not matches(f, meta(user_id="u1", **{"m.src": "chat", "m.n": 10, "m.lang": "pt"}))
    assert not matches(f, meta(user_id="u1", **{"m.src": "chat", "m.n": 5, "m.lang": "de"}))
    assert not matches(f, meta(user_id="u1", **{"m.n": 5, "m.lang": "pt"}))  # missing key never matches


def test_chroma_where_and_sql_agree_on_shape():
    f = build_filter({"src": "chat"}, user_id="u1", include_superseded=True)
    assert chroma_where(f) == {"$and": [{"user_id": {"$eq": "u1"}}, {"m.src": {"$eq": "chat"}}]}
    sql, params = where_sql(f, "n")
    assert "n.user_id = ?" in sql and "json_extract" in sql
    assert params == ["u1", '$."src"', '$."src"', "chat"]  # its JSON type, then its value


def test_current_only_by_default():
    f = build_filter(None)
    assert f.open_at is not None
    assert not matches(f, meta(valid_to=1.0))
    assert matches(build_filter(None, include_superseded=True), meta(valid_to=1.0))


@pytest.mark.parametrize("filters, message", [
    ("src=chat", "filters must be a dict"),
    ({"src": {"$regex": "x"}}, "unknown operator '$regex'"),
    ({"n": {"$gt": "3"}}, "needs a number"),
    ({"n": {"$in": []}}, "non-empty list"),
    ({"bad key": 1}, "bad filter key"),
    ({"user_id": "u1"}, "pass user_id= as a search argument"),
    ({"x": {"a": 1}}, "unknown operator 'a'"),
    ({"x": {"$eq": [1]}}, "values must be str"),
])
def test_bad_filters_name_the_problem(filters, message):
    with pytest.raises(FilterError, match=message.replace("$", r"\$").replace("(", r"\(")):
        build_filter(filters)


def test_one_key_rule_for_notes_and_filters():
    from memkit.filters import index_metadata
    from memkit.types import Note

    with pytest.raises(FilterError, match=r"bad filter key 'x\\n': keys are 1-128 letters, digits"):
        build_filter({"x\n": 1})  # a whole-string match: '$' would let a trailing newline through
    legacy = Note.model_construct(**{**Note(content="x").model_dump(), "metadata": {"x.y": 1, "ok": 2}})
    assert {k for k in index_metadata(legacy) if k.startswith("m.")} == {"m.ok"}  # stored before the rule: kept, unindexed
