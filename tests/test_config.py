import pytest

from memkit.config import MemkitConfig
from memkit.errors import ConfigError


def test_toml_round_trip(tmp_path):
    cfg = MemkitConfig.parse({"retrieval": {"graph": False, "dense_weight": 2.0},
                              "builder": {"kind": "llm", "model": "local/smollm2", "extra_params": {"a": [1, "b"]}}})
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert MemkitConfig.from_toml(path) == cfg


@pytest.mark.parametrize("data, message", [
    ({"retrieval": {"dense": False, "lexical": False}}, "at least one of dense or lexical"),
    ({"builder": {"kind": "llm"}}, "needs builder.model"),
    ({"linker": {"k": 0}}, "linker.k"),
    ({"nope": 1}, "nope"),
    ("x", "must be a MemkitConfig or a dict"),
])
def test_bad_config_is_a_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        MemkitConfig.parse(data)


def test_bad_toml_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("retrieval = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        MemkitConfig.from_toml(p)
    with pytest.raises(ConfigError, match="not found"):
        MemkitConfig.from_toml(tmp_path / "missing.toml")


def test_auto_judge_is_the_llm_only_for_a_model_other_than_a_bundled_local_one():
    from memkit.engine import _judge_kind

    def judge(model=None, kind="llm", judge="auto"):
        builder = {"kind": kind, "model": model} if kind == "llm" else {"kind": kind}
        return _judge_kind(MemkitConfig.parse({"builder": builder, "linker": {"judge": judge}}))

    assert judge(kind="heuristic") == "heuristic"
    assert judge("ollama/llama3") == "llm"
    assert judge("local/smollm2") == "heuristic"  # a 135M model links at random: notes yes, links no
    assert judge("local/smollm2", judge="llm") == "llm"  # unless asked for
