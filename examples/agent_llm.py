"""An agent that remembers across runs and answers with a language model through litellm.

The model sees the notes memkit retrieves for each message; the message is then stored.
Any litellm model works (``gpt-4o-mini`` with OPENAI_API_KEY, ``ollama/llama3``, ...); the
default ``local/smollm2`` runs the bundled SmolLM2-135M-Instruct on this machine, offline
(a 135M model often ignores the facts it is given: a larger model answers from them).
With ``--llm-notes`` the same model also builds the notes (keywords, tags, context) and decides
their links; a ``local/...`` model answers under the notes' JSON schema (constrained decoding),
so its notes are always valid, and a bar shows each note being built (the bundled model takes
about 5 s a note on a busy 2-core CPU).  Links of a local model's notes come from similarity and
shared keywords: a 135M model's link decisions are close to noise.

    python examples/agent_llm.py --store ~/.memkit/agent-llm "My sister Ines lives in Porto"
    python examples/agent_llm.py --store ~/.memkit/agent-llm "Where does my sister live?"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from memkit import Memory
from memkit.llm.client import complete_text


def answer(mem: Memory, model: str, user: str, message: str) -> tuple[list[str], str]:
    """The facts recalled for ``message`` and the model's reply."""
    recalled = [h.note.content for h in mem.search(message, k=4, user_id=user)]
    known = "\n".join(f"- {fact}" for fact in recalled) or "- (nothing yet)"
    messages = [
        {"role": "system", "content": "You are a helpful assistant with a long-term memory. "
                                      f"Facts the user told you earlier:\n{known}\nAnswer briefly."},
        {"role": "user", "content": message},
    ]
    reply = complete_text(model, messages, max_tokens=80, temperature=0)
    return recalled, reply.strip()


def remember(mem: Memory, user: str, message: str) -> str:
    """Store ``message``; returns a line on the note built from it."""
    note = mem.add(message, user_id=user, metadata={"speaker": user, "source": "agent_llm"})
    built = note.metadata.get("memkit", {})
    how = "heuristic fallback" if "fallback" in built else built.get("builder", "heuristic")
    return f"  (noted by {how}) keywords: {', '.join(note.keywords)} | tags: {', '.join(note.tags)} | {note.context}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("messages", nargs="+")
    ap.add_argument("--store", type=Path, default=Path.home() / ".memkit" / "agent-llm")
    ap.add_argument("--model", default="local/smollm2", help="a litellm model string")
    ap.add_argument("--user", default="me")
    ap.add_argument("--llm-notes", action="store_true", help="build notes (and links, unless local) with the model too")
    args = ap.parse_args(argv)
    config = None
    if args.llm_notes:
        config = {"builder": {"kind": "llm", "model": args.model, "max_tokens": 128}}
        if args.model.startswith("local/"):
            # a small local model's link decisions are close to noise: links come from similarity and the
            # model's keywords instead (a larger model, e.g. ollama/llama3, decides links itself)
            config["linker"] = {"judge": "heuristic"}
    with Memory(args.store, config) as mem:
        for message in args.messages:
            recalled, reply = answer(mem, args.model, args.user, message)
            noted = remember(mem, args.user, message)
            print(f"> {message}")
            for fact in recalled:
                print(f"  (recalled) {fact}")
            if args.llm_notes:
                print(noted)
            print(f"{reply}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
