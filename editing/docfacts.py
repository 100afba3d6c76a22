"""Generated documents about fictional people, each with a question it answers, for training and testing the
document memories (compression bank, generative adapter).  No download; a fixed seed gives a fixed set.

The people are made up, so a model without the document cannot know the answer (SmolLM2-135M answers none of
them), while with the document in its prompt it answers most (see BENCHMARKS.md).  The ``train`` and ``test``
splits use disjoint first names, so a memory trained on one is tested on people it never saw.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict

from memkit.errors import InvalidInputError

__all__ = ["DocFact", "doc_facts", "SPLITS"]

_FIRST = {
    "train": ("Marla", "Tobin", "Quill", "Ysolde", "Bram", "Odile", "Kester", "Nessa", "Pell", "Ravi", "Sunniva",
              "Teodor", "Anouk", "Birgit", "Cosmo", "Dagny", "Eamon", "Fenna", "Gideon", "Hollis", "Ilse", "Jory",
              "Katya", "Lorcan", "Mireille", "Niamh", "Osric", "Priya", "Rufus", "Saoirse"),
    "test": ("Thea", "Ulric", "Vesna", "Wendell", "Xiomara", "Yannick", "Zelda", "Alaric", "Beatrix", "Caspian",
             "Delphine", "Emrys", "Flavia", "Griffin", "Honora", "Ignatius", "Juniper", "Leander", "Marisol",
             "Norbert"),
}
_LAST = ("Vance", "Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Ferreira", "Nakamura", "Brennan",
         "Ivanova", "Castellanos", "Dubois", "Eriksen", "Fitzgerald", "Gallagher", "Horvath", "Jansen", "Kaur",
         "Lombardi", "Mbeki", "Novak", "Oyelaran", "Petrov", "Quintero", "Rasmussen", "Szabo", "Tanaka", "Udall",
         "Varga", "Whitlock", "Yilmaz", "Zamora")
# relation: (document sentence, question, answer prefix, objects); {n} is the person, {o} the object
_RELATIONS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "city": ("{n} lives in {o}.", "Where does {n} live?", "{n} lives in",
             ("Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Quito", "Dublin", "Tunis", "Perth", "Riga", "Bergen",
              "Porto", "Kyoto", "Tallinn", "Valparaiso", "Marrakesh")),
    "job": ("{n} works as a {o}.", "What is {n}'s job?", "{n} works as a",
            ("baker", "pilot", "nurse", "plumber", "chemist", "librarian", "carpenter", "dentist", "tailor",
             "farmer", "geologist", "locksmith", "translator", "beekeeper")),
    "pet": ("{n} has a pet {o}.", "What kind of pet does {n} have?", "{n} has a pet",
            ("parrot", "tortoise", "ferret", "goldfish", "rabbit", "hamster", "iguana", "canary")),
    "colour": ("{n}'s favourite colour is {o}.", "What is {n}'s favourite colour?", "{n}'s favourite colour is",
               ("teal", "amber", "crimson", "violet", "olive", "ivory", "indigo", "coral", "maroon", "turquoise")),
    "instrument": ("{n} plays the {o}.", "Which instrument does {n} play?", "{n} plays the",
                   ("cello", "banjo", "harp", "oboe", "trumpet", "accordion", "violin", "flute", "drums")),
    "sport": ("{n}'s favourite sport is {o}.", "What is {n}'s favourite sport?", "{n}'s favourite sport is",
              ("rugby", "fencing", "curling", "badminton", "rowing", "archery", "volleyball", "cricket")),
}
SPLITS = tuple(_FIRST)


class DocFact(BaseModel):
    """One generated document and the question it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    document: str
    question: str
    answer_prefix: str
    answer: str
    relation: str

    @property
    def prompt(self) -> str:
        """The question and the start of its answer, as the memory is asked it (no document)."""
        return f"Question: {self.question}\nAnswer: {self.answer_prefix}"


def doc_facts(n: int, *, split: str = "test", seed: int = 0) -> list[DocFact]:
    """``n`` facts about distinct fictional people of ``split`` (``train`` or ``test``)."""
    if split not in _FIRST:
        raise InvalidInputError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    people = [f"{f} {last}" for f in _FIRST[split] for last in _LAST]
    if not 0 < n <= len(people):
        raise InvalidInputError(f"the {split} split has {len(people)} people; ask for 1..{len(people)} facts")
    rng = random.Random(f"{split}:{seed}")
    rng.shuffle(people)
    out = []
    for i, person in enumerate(people[:n]):
        relation = rng.choice(sorted(_RELATIONS))
        sentence, question, prefix, objects = _RELATIONS[relation]
        obj = rng.choice(objects)
        out.append(DocFact(id=f"{split}-{seed}-{i}", document=sentence.format(n=person, o=obj),
                           question=question.format(n=person), answer_prefix=prefix.format(n=person), answer=obj,
                           relation=relation))
    return out
