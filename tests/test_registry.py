import pytest

from memkit.errors import RegistryError
from memkit.registry import Registry, embedders, note_builders, vector_indexes


def test_builtin_parts_are_registered_lazily():
    assert {"chroma", "exact"} <= set(vector_indexes.names())
    assert {"sentence-transformers", "hash"} <= set(embedders.names())
    assert {"heuristic", "llm"} <= set(note_builders.names())


def test_unknown_name_suggests_the_closest():
    with pytest.raises(RegistryError, match="did you mean 'chroma'"):
        vector_indexes.get("chromaa")


def test_register_decorator_and_string_target():
    r: Registry = Registry("things")

    @r.register("Mine")
    class Mine:
        pass

    r.register("ordered", "collections:OrderedDict")
    assert r.get("mine") is Mine
    from collections import OrderedDict

    assert r.get("ORDERED") is OrderedDict
    with pytest.raises(RegistryError):
        r.register(" ", "x:y")
