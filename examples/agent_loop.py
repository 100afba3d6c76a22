"""An agent that remembers across runs, with no language model.

Each message you type is stored as a note; before storing it, the agent recalls what it
already knows that is related and says so.  Run it twice: the second run remembers the first.

    python examples/agent_loop.py --store ~/.memkit/agent "I adopted a cat named Miso"
    python examples/agent_loop.py --store ~/.memkit/agent "what is my cat called?"
    echo "hello" | python examples/agent_loop.py --store ~/.memkit/agent -     # messages from stdin
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memkit import Memory


def respond(mem: Memory, user: str, message: str) -> str:
    hits = mem.search(message, k=3, user_id=user)
    mem.add(message, user_id=user, metadata={"speaker": user, "source": "agent_loop"})
    if not hits:
        return "Noted. I don't remember anything related yet."
    lines = [f"- {h.note.content} ({h.note.valid_from:%Y-%m-%d})" for h in hits]
    return "Noted. Related things you told me before:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("messages", nargs="+", help="messages, or '-' to read one per line from stdin")
    ap.add_argument("--store", type=Path, default=Path.home() / ".memkit" / "agent")
    ap.add_argument("--user", default="me")
    args = ap.parse_args(argv)
    messages = [m.strip() for m in sys.stdin] if args.messages == ["-"] else args.messages
    with Memory(args.store) as mem:
        for message in filter(None, messages):
            print(f"> {message}\n{respond(mem, args.user, message)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
