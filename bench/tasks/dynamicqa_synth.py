"""Synthetic DynamicQA files in the paper's released format (for tests and smoke runs).

The real data (Marjanović et al. 2024, ``copenlu/dynamicqa``, ``Data/*_final.csv``) is
user-supplied.  These files have the same columns, the same leading unnamed index
column and the same conventions (``possible_answers`` a JSON list, ``[ENTITY]`` slots
in static/temporal contexts, the object spelled out in disputable contexts), but the
facts are about invented entities: a reader has no prior belief about them, so they
measure updating, not intra-memory conflict.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

__all__ = ["write_synthetic_dynamicqa", "STATIC_COLUMNS", "DISPUTABLE_COLUMNS"]

STATIC_COLUMNS = [
    "id", "subj", "prop", "obj", "subj_id", "prop_id", "obj_id", "s_pop", "o_pop", "question",
    "possible_answers", "num_edits", "context", "replace_quality", "replace_name", "s_pop_new", "o_pop_new",
]
DISPUTABLE_COLUMNS = ["id", "subj", "question", "context", "obj", "replace_name", "num_edits", "dir_info", "s_pop"]

_SYL = ["ka", "lo", "mir", "ven", "tor", "sa", "bel", "dru", "nis", "pha", "qui", "ros", "tal", "ul", "zen", "ori"]
_OCCUPATIONS = [("journalist", ["journalist", "journo"]), ("composer", ["composer"]), ("architect", ["architect"]),
                ("diplomat", ["diplomat"]), ("painter", ["painter", "artist"]), ("astronomer", ["astronomer"]),
                ("politician", ["politician", "political leader"]), ("chemist", ["chemist"])]
_PEOPLE_ROLES = ["head coach", "chief executive", "mayor", "conductor", "editor-in-chief", "captain"]
_ORG_KINDS = ["football club", "shipping company", "town", "orchestra", "newspaper", "rowing team"]
_DISPUTES = [
    ("Which method does {s} use to treat its water?", "{s} treats its water by filtration before distribution.",
     "filtration", "chlorination"),
    ("Which language is most spoken in {s}?", "the most spoken language in {s} is Velish, followed by Orn.",
     "velish", "ornic"),
    ("What kind of state is {s} described as?", "{s} is often described as a federal state with three provinces.",
     "federal", "unitary"),
    ("Which festival is {s} best known for?", "{s} is best known for its lantern festival held every spring.",
     "lantern", "harvest"),
]


def _name(rng: random.Random, parts: int = 2) -> str:
    return " ".join("".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(parts))


def write_synthetic_dynamicqa(folder: str | Path, n: int = 6, seed: int = 0) -> Path:
    """Write ``Static_final.csv``, ``Temporal_final.csv`` and ``Disputable_final.csv`` with ``n`` rows each."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    static, temporal, disputable = [], [], []
    for i in range(n):
        person = _name(rng)
        (occ, aliases), (new_occ, _) = rng.sample(_OCCUPATIONS, 2)
        static.append({
            "id": 1000 + i, "subj": person, "prop": "occupation", "obj": occ, "subj_id": f"Q{900000 + i}",
            "prop_id": "P106", "obj_id": f"Q{800000 + i}", "s_pop": rng.randint(20, 900),
            "o_pop": rng.randint(1000, 90000), "question": f"What is {person}'s occupation?",
            "possible_answers": json.dumps(aliases), "num_edits": 1.0,
            "context": f" {person} (born {rng.randint(1920, 1990)}) is a [ENTITY] who lives in {_name(rng, 1)}.",
            "replace_quality": round(rng.uniform(0.6, 0.95), 6), "replace_name": new_occ,
            "s_pop_new": float(rng.randint(20, 900)), "o_pop_new": float(rng.randint(1, 20)),
        })
        role, kind = rng.choice(_PEOPLE_ROLES), rng.choice(_ORG_KINDS)
        org, old, new = f"{_name(rng, 1)} {kind}", _name(rng), _name(rng)
        temporal.append({
            "id": 2000 + i, "subj": org, "prop": role, "obj": old, "subj_id": f"Q{700000 + i}",
            "prop_id": "P286", "obj_id": f"Q{600000 + i}", "s_pop": rng.randint(20, 900),
            "o_pop": rng.randint(20, 900), "question": f"Who is the {role} of {org}?",
            "possible_answers": json.dumps([old, old.split()[-1]]), "num_edits": float(rng.randint(2, 9)),
            "context": f" The {role} of the {org} is [ENTITY], appointed after a long search.",
            "replace_quality": round(rng.uniform(0.6, 0.95), 6), "replace_name": new,
            "s_pop_new": float(rng.randint(20, 900)), "o_pop_new": float(rng.randint(20, 900)),
        })
        q, ctx, obj, rep = rng.choice(_DISPUTES)
        place = _name(rng, 1)
        disputable.append({
            "id": 3000 + i, "subj": place, "question": q.format(s=place),
            "context": ctx.format(s=place).lower(), "obj": obj, "replace_name": rep,
            "num_edits": rng.randint(1, 5), "dir_info": f"./result/{place}-{i}/{rng.randint(10**6, 10**9)}",
            "s_pop": rng.randint(1000, 500000),
        })
    rows_sets = (("Static_final.csv", STATIC_COLUMNS, static), ("Temporal_final.csv", STATIC_COLUMNS, temporal),
                 ("Disputable_final.csv", DISPUTABLE_COLUMNS, disputable))
    for name, cols, rows in rows_sets:
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["", *cols])
            for idx, row in enumerate(rows):
                w.writerow([idx * 3, *(row[c] for c in cols)])
    return folder
