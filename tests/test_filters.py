import pytest

from memkit.errors import FilterError
from memkit.filters import build_filter


def meta(**kw):
    base = {"valid_from": 0.0, "valid_to": 1e18, "version": 1, "owner": ""}
    base.update(kw)
    return base


def test_equality_in_and_range():
    f = build_filter({"src": "chat", "n": {"$gte": 3, "$lt": 10}, "lang": ["en", "pt"]}, user_id="u1")
    assert f.matches(meta(user_id="u1", **{"m.src": "chat", "m.n": 5, "m.lang": "pt"}))
    assert not f.matches(meta(user_id="u2", **{"m.src": "chat", "m.n": 5, "m.lang": "pt"}))
    assert not f.matches(meta(user_id="u1", **{"m.src": "chat", "m.n": 10, "m.lang": "pt"}))
    assert not f.matches(meta(user_id="u1", **{"m.src": "chat", "m.n": 5, "m.lang": "de"}))
    assert not f.matches(meta(user_id="u1", **{"m.n": 5, "m.lang": "pt"}))  # missing key never matches


def test_chroma_where_and_sql_agree_on_shape():
    f = build_filter({"src": "chat"}, user_id="u1", include_superseded=True)
    assert f.to_chroma() == {"$and": [{"user_id": {"$eq": "u1"}}, {"m.src": {"$eq": "chat"}}]}
    sql, params = f.to_sql("n")
    assert "n.user_id = ?" in sql and "json_extract" in sql
    assert params == ["u1", '$."src"', "chat"]


def test_current_only_by_default():
    f = build_filter(None)
    assert f.open_at is not None
    assert not f.matches(meta(valid_to=1.0))
    assert build_filter(None, include_superseded=True).matches(meta(valid_to=1.0))


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
