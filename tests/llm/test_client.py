"""The litellm client: an unreachable model server is not retried note after note."""

from __future__ import annotations

import socket
import time

import pytest
from pydantic import BaseModel

from memkit import Memory
from memkit.llm import client


@pytest.fixture
def refused_base():
    """The address of a local port nothing listens on: every call is refused, no network needed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    yield base
    for key in [k for k in client._UNREACHABLE if k[1] == base]:
        del client._UNREACHABLE[key]


def test_notes_built_while_the_server_is_down_fall_back_at_once(tmp_path, refused_base):
    cfg = {"builder": {"kind": "llm", "model": "ollama/llama3", "api_base": refused_base, "retries": 2},
           "linker": {"judge": "heuristic"}}
    with Memory(tmp_path / "m", cfg) as mem:
        notes = mem.add_many([f"note {i}: Alice likes tea and Bob likes coffee" for i in range(6)], user_id="u")
        info = [n.metadata["memkit"] for n in notes]
        assert all(i["fallback"] == "heuristic" for i in info) and all(n.keywords for n in notes)
        assert info[0]["attempts"] == 1 and "APIConnectionError" in info[0]["errors"][0]  # no retry of a refusal
        assert all(i["attempts"] == 0 and i["errors"][0].startswith("unreachable") for i in info[1:])
        assert mem.stats().notes == 6  # never dropped


def test_the_pause_doubles_while_the_server_stays_down(refused_base):
    class Answer(BaseModel):
        x: int

    server = ("ollama/llama3", refused_base)
    ask = [{"role": "user", "content": "hi"}]
    client.complete_json("ollama/llama3", ask, Answer, api_base=refused_base)
    assert client._UNREACHABLE[server][1] == client.UNREACHABLE_PAUSE_S
    failed_at, pause = client._UNREACHABLE[server]
    client._UNREACHABLE[server] = (failed_at - pause - 1, pause)  # the pause is over: the next call tries again
    res = client.complete_json("ollama/llama3", ask, Answer, api_base=refused_base)
    assert res.attempts == 1 and client._UNREACHABLE[server][1] == 2 * client.UNREACHABLE_PAUSE_S
    assert client._UNREACHABLE[server][0] > time.monotonic() - 5
