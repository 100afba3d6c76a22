"""Generated study sentences and their foils for the recognition/recall/retention task.

Every sentence has the form ``"<Name> the <adj> <role> <verb> a <adj> <object> in the
<place>."``; the first four words are the recall cue.  Foils (Orhan 2023's 2AFC):

* ``paraphrase``: the same content in another structure
  (``"In the <place>, a <adj> <object> was <verb-pp> by <Name> the <adj> <role>."``);
* ``synonym``: two words replaced by synonyms;
* ``random``: a new sentence of the same form built from random words.

Foils are never written; a reader without memory cannot tell them apart from the seen
sentence better than chance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Sentence", "SentenceGenerator", "FOILS"]

FOILS = ("paraphrase", "synonym", "random")

NAMES = ("Mira", "Tomas", "Lena", "Arlo", "Nina", "Felix", "Ida", "Omar", "Rosa", "Yusuf", "Greta", "Hugo", "Elena",
         "Ravi", "Sofia", "Bruno", "Kai", "Alma", "Dario", "Vera", "Lars", "Noor", "Iris", "Milo", "Zara", "Otto",
         "Leila", "Pavel", "June", "Ezra")
ROLES = ("baker", "sailor", "teacher", "farmer", "painter", "doctor", "tailor", "miner", "pilot", "poet", "nurse",
         "judge", "clerk", "hunter", "singer", "potter", "weaver", "guard", "merchant", "cook")
ADJECTIVES = {"quiet": "silent", "happy": "cheerful", "tired": "weary", "angry": "furious", "clever": "smart",
              "brave": "bold", "old": "elderly", "rich": "wealthy", "big": "large", "broken": "damaged",
              "shiny": "gleaming", "strange": "odd", "tiny": "small", "dirty": "filthy", "famous": "renowned",
              "ancient": "antique"}
OBJECTS = {"boat": "ship", "box": "crate", "lamp": "lantern", "rug": "carpet", "coat": "jacket", "stone": "rock",
           "bag": "sack", "cup": "mug", "gift": "present", "chair": "seat", "map": "chart", "jar": "pot",
           "rope": "cord", "bottle": "flask", "painting": "picture", "couch": "sofa", "hat": "cap",
           "bucket": "pail"}
VERBS = {  # past, past participle -> synonym past, synonym participle
    ("painted", "painted"): ("colored", "colored"), ("fixed", "fixed"): ("repaired", "repaired"),
    ("found", "found"): ("discovered", "discovered"), ("carried", "carried"): ("hauled", "hauled"),
    ("sold", "sold"): ("traded", "traded"), ("built", "built"): ("constructed", "constructed"),
    ("cleaned", "cleaned"): ("washed", "washed"), ("hid", "hidden"): ("concealed", "concealed"),
    ("bought", "bought"): ("purchased", "purchased"), ("lifted", "lifted"): ("raised", "raised"),
    ("chose", "chosen"): ("picked", "picked"), ("threw", "thrown"): ("tossed", "tossed"),
}
PLACES = {"harbor": "port", "garden": "yard", "forest": "woods", "market": "bazaar", "street": "road",
          "attic": "loft", "shop": "store", "field": "meadow", "cellar": "basement", "barn": "stable",
          "village": "hamlet", "river": "stream"}


@dataclass(frozen=True)
class Sentence:
    name: str
    adj1: str
    role: str
    verb: tuple[str, str]
    adj2: str
    obj: str
    place: str

    @property
    def text(self) -> str:
        art = "an" if self.adj2[0] in "aeiou" else "a"
        return f"{self.name} the {self.adj1} {self.role} {self.verb[0]} {art} {self.adj2} {self.obj} in the {self.place}."

    @property
    def cue(self) -> str:
        return f"{self.name} the {self.adj1} {self.role}"

    @property
    def rest(self) -> str:
        return self.text[len(self.cue) + 1 :]

    def paraphrase(self) -> str:
        art = "An" if self.adj2[0] in "aeiou" else "A"
        return (f"In the {self.place}, {art.lower()} {self.adj2} {self.obj} was {self.verb[1]} "
                f"by {self.name} the {self.adj1} {self.role}.")

    def synonym_swap(self, rng: random.Random) -> str:
        slots = rng.sample(["adj1", "verb", "adj2", "obj", "place"], 2)
        changed = {
            "adj1": ADJECTIVES.get(self.adj1, self.adj1) if "adj1" in slots else self.adj1,
            "verb": VERBS.get(self.verb, self.verb) if "verb" in slots else self.verb,
            "adj2": ADJECTIVES.get(self.adj2, self.adj2) if "adj2" in slots else self.adj2,
            "obj": OBJECTS.get(self.obj, self.obj) if "obj" in slots else self.obj,
            "place": PLACES.get(self.place, self.place) if "place" in slots else self.place,
        }
        return Sentence(self.name, changed["adj1"], self.role, changed["verb"], changed["adj2"], changed["obj"],
                        changed["place"]).text


class SentenceGenerator:
    """Seeded sentences with unique cues (no two sentences share their first four words)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.cues: set[str] = set()
        self.texts: set[str] = set()

    def _draw(self) -> Sentence:
        r = self.rng
        return Sentence(r.choice(NAMES), r.choice(list(ADJECTIVES)), r.choice(ROLES), r.choice(list(VERBS)),
                        r.choice(list(ADJECTIVES)), r.choice(list(OBJECTS)), r.choice(list(PLACES)))

    def sentence(self) -> Sentence:
        for _ in range(10_000):
            s = self._draw()
            if s.cue not in self.cues and s.adj1 != s.adj2:
                self.cues.add(s.cue)
                self.texts.add(s.text)
                return s
        raise RuntimeError("ran out of distinct sentences")  # pragma: no cover - 30*16*20 cues

    def foil(self, s: Sentence, kind: str) -> str:
        if kind == "paraphrase":
            return s.paraphrase()
        if kind == "synonym":
            return s.synonym_swap(self.rng)
        if kind == "random":
            return self.sentence().text
        raise ValueError(f"unknown foil kind {kind!r}; use one of {FOILS}")
