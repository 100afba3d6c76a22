"""The routing report: WISE's own routing vs. each rephrase sent to its edit's side memory."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from memkit.editing.wise.diagnose import routing_report  # noqa: E402
from memkit.editing.wise.model import WISE, WISERetrieve  # noqa: E402
from memkit.errors import EditingError  # noqa: E402

from .test_wise import tiny_config  # noqa: E402


def test_forced_route_overrides_the_scores(tiny_llama, tiny_tokenizer, edits):
    memory = WISERetrieve(tiny_config(retrieve=True, save_freq=1, merge_freq=4), model=tiny_llama,
                          tokenizer=tiny_tokenizer)
    memory.write(edits[:2])
    memory.score(["An unrelated sentence about the weather"], ["rain"])
    assert int(memory.side.decision[0]) == -1  # far from both edits: the main memory
    memory.side.force_route = 1
    memory.score(["An unrelated sentence about the weather"], ["rain"])
    assert int(memory.side.decision[0]) == 1


def test_routing_report_on_one_memory_per_edit(tiny_llama, tiny_tokenizer, edits):
    memory = WISERetrieve(tiny_config(retrieve=True, save_freq=1, merge_freq=4), model=tiny_llama,
                          tokenizer=tiny_tokenizer)
    memory.write(edits[:3])
    report = routing_report(memory, edits[:3])
    assert report.n_edits == 3
    assert report.prompt_own == 1.0  # each edit prompt finds its own side memory
    assert report.rephrase_own + report.rephrase_main + report.rephrase_other == pytest.approx(1.0)
    assert 0.0 <= report.gen <= 1.0 and 0.0 <= report.gen_oracle <= 1.0
    assert report.locality_main == 1.0  # unrelated probes stay with the main memory
    assert memory.side.force_route is None  # restored


def test_routing_report_needs_one_memory_per_edit(tiny_llama, tiny_tokenizer, edits):
    memory = WISE(tiny_config(), model=tiny_llama, tokenizer=tiny_tokenizer)  # save_freq 2: shards hold 2 edits
    memory.write(edits[:4])
    with pytest.raises(EditingError, match="one side memory per edit"):
        routing_report(memory, edits[:4])



@pytest.mark.parametrize("override,message", [
    ("mask_ratio=7", "--set: mask_ratio: Input should be less than or equal to 1"),
    ("=3", "--set: expected KEY=VALUE, got '=3'"),
])
def test_a_bad_override_is_one_line_before_any_model_loads(override, message):
    from memkit.editing.wise.diagnose import main

    with pytest.raises(SystemExit) as info:
        main(["--set", override])
    assert str(info.value.code) == message


def test_an_unknown_profile_is_one_line_before_any_model_loads():
    from memkit.editing.wise.diagnose import main

    with pytest.raises(SystemExit) as info:
        main(["--profile", "huge"])
    assert str(info.value.code) == "--profile: no WISE profile 'huge'; known: ['paper', 'smollm2']"
