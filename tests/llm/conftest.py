"""A small byte-level BPE tokenizer trained on JSON answers (so it has tokens like ``"],`` and `` ["``) and
tiny randomly initialised Llama models: any output they give under constraints must still validate."""

from __future__ import annotations

import json
import random

import pytest

from tests.tiny_models import bpe_tokenizer

WORDS = ("Alice moved to Lisbon in May for a new job at a fintech startup . Bob plays the cello ; the cat Miso "
         "needs a kidney diet ! travel pets work music health relocation city Porto sister Ines lives "
         "caf\u00e9 na\u00efve \u00fcber \u65e5\u672c 123 4.5 -7 true false null").split()


def json_corpus(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pick = lambda k: [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(k)]  # noqa: E731
        out.append(json.dumps({"keywords": pick(rng.randint(1, 5)), "tags": pick(rng.randint(0, 3)),
                               "context": " ".join(rng.sample(WORDS, 8))}, ensure_ascii=False))
        ids = [f"{rng.getrandbits(32):08x}" for _ in range(3)]
        out.append(json.dumps({"links": ids[:2], "updates": [{"id": ids[0], "tags": None, "context": "x y"}],
                               "supersedes": []}))
        out.append(" ".join(rng.sample(WORDS, 10)) + ' "quoted" {braces} [list], \\ back\nslash\ttab')
    return out


@pytest.fixture(scope="session")
def json_tokenizer():
    pytest.importorskip("transformers")
    return bpe_tokenizer(json_corpus(), vocab_size=700, min_frequency=2)
