"""``memkit export --obsidian DIR``: a memory as an Obsidian vault, to browse its graph.

One markdown file per note, named by its id, with YAML front matter (tags, times, scope, metadata, an
alias made of its first words, so Obsidian's search and link suggestions show something readable) and
its links as ``[[id|first words]]``.  Written from a memkit export (JSON lines), so it works the same
from a store opened directly and through the daemon.  A folder is written only when it is new, empty,
or an earlier vault export (marked by ``.memkit-vault``); files of notes no longer exported are removed
from such a folder, and nothing else in it is touched.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from memkit.errors import InvalidInputError, MissingDependencyError, StoreError

__all__ = ["write_vault", "MARKER"]

MARKER = ".memkit-vault"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def _title(content: str, width: int = 60) -> str:
    line = " ".join(content.split())
    line = re.sub(r"[\[\]|#^]", " ", line).strip()
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def _check_folder(folder: Path) -> set[str]:
    """The files an earlier export wrote there; raise when the folder holds anything else of the user's."""
    if not folder.exists():
        folder.mkdir(parents=True)
        return set()
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} exists and is not a folder")
    marker = folder / MARKER
    if marker.is_file():
        return set(json.loads(marker.read_text(encoding="utf-8")).get("files", []))
    if any(folder.iterdir()):
        raise InvalidInputError(f"{folder} is not empty and was not written by `memkit export --obsidian`; give a "
                                "new or empty folder")
    return set()


def write_vault(lines: Iterable[str], folder: Path) -> int:
    """Write the notes of a memkit export (its lines) as a vault in ``folder``; returns the number of notes."""
    try:
        import yaml
    except ImportError:
        raise MissingDependencyError("pyyaml", "server", "writing an Obsidian vault") from None
    folder = Path(folder).expanduser()
    before = _check_folder(folder)
    notes: list[dict[str, Any]] = []
    links: dict[str, set[str]] = defaultdict(set)
    for n, line in enumerate(lines):
        if not line.strip() or n == 0:
            continue
        obj = json.loads(line)
        if "note" in obj:
            notes.append(obj["note"])
        elif "link" in obj:
            links[obj["link"]["src"]].add(obj["link"]["dst"])
            links[obj["link"]["dst"]].add(obj["link"]["src"])
    titles = {n["id"]: _title(n["content"]) for n in notes}
    written: set[str] = set()
    for note in notes:
        nid = note["id"]
        if not _SAFE_ID.match(nid):
            raise StoreError(f"note id {nid!r} cannot be a file name")
        front = {"id": nid, "aliases": [titles[nid]], "tags": note.get("tags") or [],
                 "keywords": note.get("keywords") or []}
        for key in ("user_id", "agent_id", "session_id", "source", "created_at", "updated_at", "valid_from",
                    "valid_to", "version"):
            if note.get(key) is not None:
                front[key] = note[key]
        if note.get("metadata"):
            front["metadata"] = note["metadata"]
        body = [note["content"].rstrip(), ""]
        if note.get("context"):
            body += [f"> {note['context']}", ""]
        linked = sorted(d for d in links.get(nid, ()) if d in titles)
        if linked:
            body += ["## Links", ""] + [f"- [[{d}|{titles[d]}]]" for d in linked] + [""]
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + "\n".join(body)
        name = f"{nid}.md"
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / name)
        written.add(name)
    for stale in before - written:  # only files this export itself wrote: ``<id>.md``
        if stale.endswith(".md") and _SAFE_ID.match(stale[:-3]):
            (folder / stale).unlink(missing_ok=True)
    (folder / MARKER).write_text(json.dumps({"files": sorted(written)}) + "\n", encoding="utf-8")
    return len(notes)
