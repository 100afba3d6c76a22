"""The engine behind :func:`memkit.bench.convdata.generate`: two lives, a schedule, rendered chat, questions.

One conversation is built in four steps.  *Lives*: each friend gets facts drawn from the event catalog
(:mod:`memkit.bench.convcatalog`) -- groups of related events (pets, countries, instruments) that multi-hop
questions gather, stories that continue in a later session (quit a job, then open a bakery), and events of
the same kind for both friends -- plus a few personality traits (:mod:`memkit.bench.convtalk`).  *Schedule*:
every fact, trait mention and later callback ("How's Max doing?") gets a session, within a turn budget.
*Rendering*: each session is greetings, the blocks told in turns (openers, announcements with relative time,
probing questions with elliptical replies, reactions, topical talk), small talk, goodbyes; drafts carry marks
that say which fact or trait they state.  *Questions*: written from the marks, with the turns as evidence.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import zip_longest
from typing import Any, Literal

from memkit.bench import convtalk as talk
from memkit.bench.convcatalog import EVENTS, GROUPS, META_GROUPS, POOLS, EventType
from memkit.bench.convdata import CATEGORIES, Conversation, Question, Session, Turn, content_terms, dia_key

__all__ = ["build_conversation"]


@dataclass
class _Person:
    name: str
    nick: str
    gender: str
    life: dict[str, str]
    traits: list[talk.Trait] = field(default_factory=list)

    def ctx(self) -> dict[str, Any]:
        f = self.gender == "f"
        return {**self.life, "name": self.name, "nick": self.nick, "they": "she" if f else "he",
                "them": "her" if f else "him", "their": "her" if f else "his", "s": "s", "are": "is",
                "auntie": "auntie" if f else "uncle", "partner_or_friend": self.life.get("partner", "roommate")}


@dataclass
class _Fact:
    id: str
    owner: _Person
    event: EventType
    values: dict[str, Any]
    parent: _Fact | None = None
    session: int = 0


@dataclass
class _Block:
    kind: Literal["fact", "trait", "callback"]
    owner: _Person
    fact: _Fact | None = None
    trait: talk.Trait | None = None


@dataclass
class _Draft:
    speaker: _Person
    text: str
    marks: list[str] = field(default_factory=list)


_REL = (("yesterday", "day", 1), ("last night", "day", 1), ("this morning", "day", 0), ("three days ago", "day", 3),
        ("a few days ago", "few", 0), ("last weekend", "weekend", 0), ("last week", "week", 0),
        ("two weeks ago", "2weeks", 0), ("last month", "month", 0), ("last Friday", "weekday", 4),
        ("last Saturday", "weekday", 5), ("last Sunday", "weekday", 6), ("last Tuesday", "weekday", 1))
_COST = {"fact": 5, "trait": 3, "callback": 3}  # turn budget a block takes in scheduling; each needs >= 3 turns
ECHO_RATE = 0.6  # share of single-hop questions worded after the evidence turn rather than picked at random
_ECHOES = ("Wow, {thing}!", "Ooh, {thing}!", "Omg, {thing}!", "Wait, {thing}?!")
_SAD = frozenset({"injury", "illness", "laid_off", "pet_vet", "parent_health", "lost_item", "car_accident"})


def _fmt_date(d: datetime) -> str:
    return f"{d.day} {d:%B} {d.year}"


def _relative_time(rng: random.Random, date: datetime, since: bool = False) -> tuple[str, str]:
    """A relative time phrase and the absolute answer it stands for, as a LoCoMo annotator writes it."""
    phrase, kind, n = rng.choice([r for r in _REL if r[0].startswith("last ")] if since else _REL)
    if kind == "day":
        return phrase, _fmt_date(date - timedelta(days=n))
    if kind == "weekday":
        back = (date.weekday() - n) % 7 or 7
        return phrase, _fmt_date(date - timedelta(days=back))
    if kind == "month":
        prev = date.replace(day=1) - timedelta(days=1)
        return phrase, f"{prev:%B} {prev.year}"
    lead = {"few": "a few days", "weekend": "the weekend", "week": "the week", "2weeks": "two weeks"}[kind]
    return phrase, f"{lead} before {_fmt_date(date)}"


def _join(a: str, b: str) -> str:
    """Two sentences of one turn: 'haha' + 'It was fun.' -> 'haha. It was fun.'"""
    return f"{a}{'' if a.endswith(('.', '!', '?', ')', ']')) else '.'} {b}"


def _strip_the(s: str) -> str:
    return s[4:] if s.lower().startswith("the ") else s


def _key(slot: str, value: dict[str, str]) -> str:
    return f"pet:{value['name']}" if slot == "pet" else json.dumps(value, sort_keys=True)


def _cap(s: str) -> str:
    s = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s{2,}", " ", s)).strip()
    s = re.sub(r"\b([Aa]) (?=[aeioAEIO])", r"\1n ", s)  # "a accountant" -> "an accountant"
    return s[:1].upper() + s[1:]


def _prefixed(prefix: str, text: str) -> str:
    """'Well,' + 'I did' -> 'Well, I did'; 'Well,' + 'Took ...' (no subject) gets a sentence-ending prefix instead."""
    if prefix[-1] in ".!?":
        return f"{prefix} {text}"
    if not re.match(r"(I|We|My|There's|Someone|Our)\b", text):
        return f"Honestly? {text}"
    keep = re.match(r"I\b", text) is not None
    return f"{prefix} {text if keep else text[:1].lower() + text[1:]}"


def _droppable(template: str) -> bool:
    return " {when}" in template and not re.search(r"(since|as of|was|with) \{when\}", template)


class _Builder:
    """Builds one conversation: two lives, a schedule of blocks over sessions, the rendered turns, questions."""

    def __init__(self, rng: random.Random, conv_id: str, sessions: tuple[int, int], turns: tuple[int, int]):
        self.rng, self.id, self.turn_range = rng, conv_id, turns
        self.n_sessions = rng.randint(*sessions)
        self.facts: list[_Fact] = []
        self.when: dict[str, tuple[str, str]] = {}  # fact id -> (relative phrase, absolute answer)
        self.used_values: set[str] = set()
        self.chatter: list[tuple[str, str]] = []
        self.said: Counter[str] = Counter()

    # --- lives
    def _person(self, spec: dict[str, str], taken: set[str]) -> _Person:
        life = {k: self.rng.choice([v for v in vals if v not in taken]) for k, vals in talk.LIFE.items()}
        taken.update(life.values())
        life["sib_rel"] = "sister" if life["sib"] in ("Katie", "Jess", "Hannah", "Meg") else "brother"
        life["parent_rel"] = self.rng.choice(("mom", "dad"))
        for k in ("partner", "kid"):
            if self.rng.random() < 0.35:
                del life[k]
        return _Person(spec["name"], spec["nick"], spec["gender"], life)

    def _fact(self, owner: _Person, event: EventType, parent: _Fact | None = None) -> _Fact | None:
        values: dict[str, Any] = dict(parent.values) if parent else {}
        for slot in event.slots:
            options = [v for v in POOLS[slot] if _key(slot, v) not in self.used_values]
            if not options:
                return None
            values[slot] = self.rng.choice(options)
            if event.group:  # group items stay distinct within a conversation so answers are unambiguous
                self.used_values.add(_key(slot, values[slot]))
        fact = _Fact(f"f{len(self.facts) + 1}", owner, event, values, parent)
        self.facts.append(fact)
        return fact

    def _lives(self, a: _Person, b: _Person) -> None:
        rng = self.rng

        def ok(p: _Person, e: EventType) -> bool:
            return all(n in p.life for n in e.needs)

        groups = sorted({e.group for e in EVENTS if e.group})
        shared = rng.sample(groups, 2)
        for p in (a, b):
            own = shared + rng.sample([g for g in groups if g not in shared], 2)
            for g in own:
                types = [e for e in EVENTS if e.group == g and ok(p, e)]
                for _ in range(rng.choice((2, 3, 3, 4)) if types else 0):
                    self._fact(p, rng.choice(types))
        roots = [e for e in EVENTS if not e.group and not e.follows]
        common = rng.sample(roots, 3)  # the same kind of event happens to both friends
        for p in (a, b):
            for e in common + rng.sample([e for e in roots if e not in common], rng.randint(5, 7)):
                if ok(p, e) and not any(f.owner is p and f.event is e for f in self.facts):
                    self._fact(p, e)
            children = [e for e in EVENTS if e.follows and ok(p, e)]
            for e in rng.sample(children, rng.randint(2, 3)):
                parents = [f for f in self.facts if f.owner is p and f.event.key == e.follows]
                parent = parents[0] if parents else self._fact(p, next(x for x in EVENTS if x.key == e.follows))
                if parent is not None:
                    self._fact(p, e, parent)
            p.traits = rng.sample(talk.TRAITS, rng.randint(2, 3))

    # --- schedule
    def _schedule(self, budgets: list[int]) -> list[list[_Block]]:
        rng, n = self.rng, self.n_sessions
        plan: list[list[_Block]] = [[] for _ in range(n)]

        def place(block: _Block, lo: int, hi: int, avoid: set[int]) -> int:
            cands = [s for s in range(max(lo, 0), min(hi, n)) if budgets[s] >= _COST[block.kind] and s not in avoid]
            if not cands:
                return -1
            s = rng.choices(cands, weights=[budgets[c] ** 2 for c in cands])[0]  # spread blocks evenly
            budgets[s] -= _COST[block.kind]
            plan[s].append(block)
            return s

        placed: list[_Fact] = []
        for fact in sorted(self.facts, key=lambda f: (f.parent is not None, rng.random())):
            if fact.parent is not None and fact.parent.session == 0:
                continue  # its parent never made it into the chat
            siblings = {f.session - 1 for f in placed if f.owner is fact.owner and f.event.group
                        and f.event.group == fact.event.group}
            has_child = any(f.parent is fact for f in self.facts)
            lo = fact.parent.session + 1 if fact.parent else 0
            hi = int(n * 0.6) if has_child else n
            s = place(_Block("fact", fact.owner, fact=fact), lo, hi, siblings)
            if s >= 0:
                fact.session = s + 1
                placed.append(fact)
        self.facts = placed
        for p in self.people:
            for trait in p.traits:
                avoid: set[int] = set()
                for _ in range(rng.randint(2, 3)):
                    avoid.add(place(_Block("trait", p, trait=trait), 0, n, avoid))
        for fact in placed:  # friends come back to earlier news in later sessions
            if fact.event.key not in _SAD and rng.random() < (0.6 if fact.event.callback else 0.35):
                place(_Block("callback", fact.owner, fact=fact), fact.session, n, set())
        for s, blocks in enumerate(plan):  # shuffle, then let the friends take turns telling their news
            rng.shuffle(blocks)
            ordered: list[_Block] = []
            while blocks:
                turn = next((b for b in blocks if not ordered or b.owner is not ordered[-1].owner), blocks[0])
                blocks.remove(turn)
                ordered.append(turn)
            plan[s] = ordered
        return plan

    # --- rendering
    def _say(self, speaker: _Person, template: str, fact: _Fact | None = None, when: str = "",
             marks: Sequence[str] = ()) -> _Draft:
        listener = self.people[1] if speaker is self.people[0] else self.people[0]
        owner = fact.owner if fact else speaker
        ctx = {**owner.ctx(), **(fact.values if fact else {}), "when": when, "you": listener.nick}
        return _Draft(speaker, _cap(template.format_map(ctx)), list(marks))

    def _pick(self, options: Sequence[str]) -> str:
        """A random option, preferring ones not yet said in this conversation (people rarely repeat lines)."""
        least = min(self.said[o] for o in options)
        choice = self.rng.choice([o for o in options if self.said[o] == least])
        self.said[choice] += 1
        return choice

    def _elaboration(self, fact: _Fact, now: bool = False) -> tuple[str, str]:
        """A generic question back about a fact ("Any news on the pottery class?") and the owner's answer."""
        pool = talk.ELABORATE_NOW if now else talk.ELABORATE
        ask, reply = pool[self.rng.randrange(len(pool))]
        thing = fact.event.thing
        return ask.replace("{thing}", thing), reply.replace("{thing}", thing)

    def _opener(self) -> str:
        """'Ha, I love that. Anything exciting going on?' -- a friend hands the word over."""
        opener = self._pick(talk.OPENERS)
        return f"{self.rng.choice(talk.ACKS)} {opener}" if self.rng.random() < 0.85 else opener

    def _other(self, p: _Person) -> _Person:
        return self.people[1] if p is self.people[0] else self.people[0]

    def _fact_block(self, fact: _Fact, first: _Person, room: int, when: tuple[str, str]) -> list[_Draft]:
        rng, ev, owner = self.rng, fact.event, fact.owner
        other, out = self._other(owner), []
        if first is other:
            out.append(self._say(other, self._opener()))
        sad = ev.key in _SAD
        droppable = [t for t in ev.announce if _droppable(t)] if not sad else []
        if droppable and room - len(out) >= 5 and rng.random() < 0.15:
            out.append(self._say(owner, rng.choice(talk.LEADS), when=when[0], marks=[f"{fact.id}:when"]))
            out.append(self._say(other, rng.choice(talk.LEAD_REPLIES)))
            text = self._pick(droppable).replace(" {when}", "")
            out.append(self._say(owner, text, fact, marks=[f"{fact.id}:main", f"{fact.id}:when"]))
        else:
            text = self._pick(ev.announce)
            if re.search(r"since \{when\}", text) and not when[0].startswith("last "):  # not "since this morning"
                when = self.when[fact.id] = _relative_time(rng, self.dates[fact.session - 1], since=True)
            if rng.random() < 0.35 and not re.match(r"\{|So\b", text):
                text = _prefixed(rng.choice(talk.PREFIXES + (() if sad else talk.HAPPY_PREFIXES)), text)
            out.append(self._say(owner, text, fact, when[0], marks=[f"{fact.id}:main", f"{fact.id}:when"]))
        tail = [rng.choice(talk.FEEL_SAD if sad else talk.FEEL)] if rng.random() < 0.7 else []
        if rng.random() < 0.3:
            tail.append(rng.choice(talk.SUFFIXES + (() if sad else talk.HAPPY_SUFFIXES)))
        if ev.photo and rng.random() < 0.3:
            tail.append(f"[shares a photo: {ev.photo}]")
        if tail:
            for t in tail:
                out[-1].text = _join(out[-1].text, self._say(owner, t, fact).text)
        general = talk.SYMPATHY if sad else talk.REACTIONS
        react = rng.choice(ev.react) if ev.react and rng.random() < 0.6 else rng.choice(general)
        listen = rng.choice(talk.LISTEN_SAD if sad else talk.LISTEN)
        if not sad and rng.random() < 0.35:  # the friend repeats the news back: same words, no new fact
            react = f"{rng.choice(_ECHOES).format(thing=ev.thing)} {react}"
        # topical small talk around the news, evidence for nothing; nobody asks the same thing three times
        chat = [t for t in talk.TOPIC_TALK["sad" if sad else ev.topic] if self.said[t[0]] < 2]
        rng.shuffle(chat)
        self.said.update(t[0] for t in chat[:2])
        if ev.probe and room - len(out) >= 2 and rng.random() < 0.8:
            ask = self._pick(ev.probe.ask)
            out.append(self._say(other, f"{react} {ask}" if rng.random() < 0.85 else ask, fact,
                                 marks=[f"{fact.id}:ask"]))
            reply = _Draft(owner, self._say(owner, self._pick(ev.probe.reply), fact).text, [f"{fact.id}:reply"])
            if ev.after and rng.random() < 0.3:  # "Max! He already runs the house. He sleeps on my pillow lol"
                reply.text = _join(reply.text, self._say(owner, self._pick(ev.after), fact).text)
                reply.marks.append(f"{fact.id}:after")
            out.append(reply)
        elif room - len(out) >= 1:
            if chat and room - len(out) >= 2 and rng.random() < 0.5:  # reaction and a question in one turn
                ask, answer = chat.pop()
                out += [self._say(other, f"{react} {ask}", fact), self._say(owner, answer, fact)]
            else:
                out.append(self._say(other, f"{react} {listen}" if rng.random() < 0.7 else react, fact))
        if ev.after and room - len(out) >= 1 and out[-1].speaker is other and rng.random() < 0.5:
            out.append(self._say(owner, self._pick(ev.after), fact, marks=[f"{fact.id}:after"]))
        if not sad and rng.random() < 0.4:
            chat.insert(0, self._elaboration(fact, now=True))
        for ask, answer in chat[: rng.choice((0, 1, 1, 2))]:
            if room - len(out) < 2:
                break
            if out[-1].speaker is other:  # the friend asks on in the same turn
                out[-1].text = _join(out[-1].text, self._say(other, ask, fact).text)
                out.append(self._say(owner, answer, fact))
            else:
                lead = rng.choice(general) if rng.random() < 0.7 else ""
                out += [self._say(other, f"{lead} {ask}", fact), self._say(owner, answer, fact)]
        return out

    def _trait_block(self, p: _Person, trait: talk.Trait, first: _Person) -> list[_Draft]:
        rng, other, out = self.rng, self._other(p), []
        if first is other:
            out.append(self._say(other, self._opener()))
        statement = self._pick(trait.statements)
        if rng.random() < 0.3:
            statement = _prefixed(rng.choice(("Honestly,", "Ha, you know me.", "Same old me.", "I swear,")), statement)
        if rng.random() < 0.4:
            statement = f"{statement} {rng.choice(talk.TRAIT_ADDONS)}"
        out.append(self._say(p, statement, marks=[f"trait:{p.name}:{trait.key}"]))
        out.append(self._say(other, " ".join(rng.sample(talk.TRAIT_REACTIONS, rng.choice((1, 2))))))
        return out

    def _callback_block(self, fact: _Fact, first: _Person) -> list[_Draft]:
        other, out = self._other(fact.owner), []
        if first is fact.owner:
            out.append(self._say(fact.owner, self.rng.choice(talk.TRAIT_REACTIONS)))
        options = list(fact.event.callback) if self.rng.random() < 0.6 else []
        ask, reply = self.rng.choice(options or [self._elaboration(fact)])
        out.append(self._say(other, ask, fact))
        out.append(self._say(fact.owner, reply, fact))
        return out

    def _session(self, date: datetime, blocks: list[_Block], target: int) -> list[_Draft]:
        rng = self.rng
        first = rng.choice(self.people)
        out = [self._say(first, rng.choice(talk.GREETINGS)),
               self._say(self._other(first), rng.choice(talk.GREETING_REPLIES))]

        def nxt() -> _Person:
            return self._other(out[-1].speaker)

        def chatter(n: int) -> None:
            if not self.chatter:
                self.chatter = list(talk.CHATTER)
                rng.shuffle(self.chatter)
            if n == 1:
                out.append(self._say(nxt(), rng.choice(talk.FILLERS)))
                return
            line, reply = self.chatter.pop()
            out.append(self._say(nxt(), line))
            out.append(self._say(nxt(), reply))

        for i, block in enumerate(blocks):
            room = target - 2 - len(out) - 3 * (len(blocks) - i - 1)  # what this block may use (closing excluded)
            if room >= 5 and rng.random() < 0.4:
                chatter(2)
                room -= 2
            # people pivot to their own news inside the turn that reacts to the friend's ("Aww! I also ...")
            merge = (block.kind != "callback" and out[-1].speaker is block.owner and len(out) > 2
                     and not out[-1].text.endswith("?") and rng.random() < 0.5)
            first = block.owner if merge else nxt()
            if block.kind == "fact" and block.fact is not None:
                self.when[block.fact.id] = _relative_time(rng, date)
                drafts = self._fact_block(block.fact, first, room + int(merge), self.when[block.fact.id])
            elif block.kind == "trait" and block.trait is not None:
                drafts = self._trait_block(block.owner, block.trait, first)
            elif block.fact is not None:
                drafts = self._callback_block(block.fact, first)
            else:
                continue
            if merge:
                out[-1].text = _join(out[-1].text, drafts[0].text)
                out[-1].marks += drafts[0].marks
                drafts = drafts[1:]
            out += drafts
        while len(out) < target - 2:
            chatter(target - 2 - len(out))
        for d in out[2:]:  # short small talk gets the rest of a real turn; evidence stays as it was said
            if not d.marks and (len(d.text.split()) < 4 or (len(d.text.split()) < 8 and rng.random() < 0.8)):
                tail = talk.QUESTION_TAILS if d.text.endswith("?") else talk.CONTINUATIONS
                d.text = _join(d.text, self._say(d.speaker, self._pick(tail)).text)
        bye, reply = rng.choice(talk.CLOSINGS)
        out.append(self._say(nxt(), bye))
        out.append(self._say(nxt(), reply))
        return out

    # --- the whole conversation
    def build(self) -> Conversation:
        rng = self.rng
        specs = rng.sample(talk.PEOPLE, 2)
        while specs[0]["nick"] == specs[1]["nick"]:
            specs = rng.sample(talk.PEOPLE, 2)
        taken = {s["name"] for s in specs} | {s["nick"] for s in specs}
        a = self._person(specs[0], taken)
        b = self._person(specs[1], taken)
        self.people = (a, b)
        self._lives(a, b)
        start = datetime(rng.choice((2022, 2023)), rng.randint(1, 12), rng.randint(1, 28), rng.randint(8, 21),
                         rng.randint(0, 59), tzinfo=timezone.utc)
        dates = [start]
        for _ in range(self.n_sessions - 1):
            dates.append(dates[-1] + timedelta(days=rng.randint(3, 21), minutes=rng.randint(-300, 300)))
        self.dates = dates
        targets = [rng.randint(*self.turn_range) for _ in dates]
        plan = self._schedule([t - 4 for t in targets])
        sessions, marks = [], defaultdict(list)
        for s, (date, blocks, target) in enumerate(zip(dates, plan, targets, strict=True), start=1):
            drafts = self._session(date, blocks, target)
            turns = []
            for i, d in enumerate(drafts, start=1):
                dia = f"D{s}:{i}"
                turns.append(Turn(dia_id=dia, speaker=d.speaker.name, text=d.text))
                for m in d.marks:
                    marks[m].append(dia)
            sessions.append(Session(index=s, date_time=date, turns=turns))
        texts = {t.dia_id: t.text for s in sessions for t in s.turns}
        questions = _Questions(self, marks, texts).pick()
        return Conversation(id=self.id, speakers=(a.name, b.name), sessions=sessions, questions=questions)


_Candidate = tuple[str, str, list[str]]  # question, answer, evidence dia_ids


class _Questions:
    """Questions about what was actually said, with the turns that say it."""

    def __init__(self, b: _Builder, marks: dict[str, list[str]], texts: dict[str, str]):
        self.b, self.marks, self.turn_text = b, marks, texts

    def _fmt(self, template: str, person: _Person, fact: _Fact | None = None) -> str:
        return _cap(template.format_map({**person.ctx(), **(fact.values if fact else {})}))

    def _ask(self, questions: Sequence[str], p: _Person, f: _Fact, evidence: list[str]) -> str:
        """Annotators often reuse the words of the turn they read (the best-matching wording), else paraphrase."""
        texts = [self._fmt(q, p, f) for q in questions]
        if self.b.rng.random() < ECHO_RATE:
            said = {w for d in evidence for w in content_terms(self.turn_text[d])}
            return max(texts, key=lambda t: (len(set(content_terms(t)) & said), self.b.rng.random()))
        return self.b.rng.choice(texts)

    def _ev(self, *keys: str) -> list[str]:
        out = [d for k in keys for d in self.marks.get(k, [])]
        return sorted(set(out), key=dia_key)

    def candidates(self) -> dict[str, list[_Candidate]]:
        rng, b, out = self.b.rng, self.b, defaultdict(list)
        counts = Counter((f.owner.name, f.event.key) for f in b.facts)
        for f in b.facts:
            ev, p = f.event, f.owner
            if counts[p.name, ev.key] == 1:
                main = self._ev(f"{f.id}:main")
                out["single-hop"].append((self._ask(ev.questions, p, f, main), self._fmt(ev.answer, p, f), main))
                out["temporal"].append((self._fmt(f"When did {{name}} {ev.vp}?", p, f), b.when[f.id][1],
                                        self._ev(f"{f.id}:when")))
            if ev.probe and f"{f.id}:reply" in self.marks:
                keys = [f"{f.id}:reply"] + ([f"{f.id}:ask"] if ev.probe.needs_ask else [])
                out["single-hop"].append((self._fmt(rng.choice(ev.probe.question), p, f),
                                          self._fmt(ev.probe.answer, p, f), self._ev(*keys)))
            if f.parent is not None and ev.chain_q:
                q, a = ev.chain_q
                out["multi-hop:story"].append((self._fmt(q, p, f), self._fmt(a, p, f),
                                         self._ev(f"{f.parent.id}:main", f"{f.id}:main")))
        groups: dict[tuple[str, str], list[_Fact]] = defaultdict(list)
        for f in b.facts:
            if f.event.group:
                groups[f.owner.name, f.event.group].append(f)
        for (_, g), facts in groups.items():
            if len({f.session for f in facts}) >= 2:
                facts.sort(key=lambda f: f.session)
                p = facts[0].owner
                answer = ", ".join(dict.fromkeys(self._fmt(f.event.item, p, f) for f in facts))
                out["multi-hop:group"].append((self._fmt(rng.choice(GROUPS[g]), p), answer,
                                         self._ev(*(f"{f.id}:main" for f in facts))))
        for p in b.people:  # broad questions over different kinds of events
            for questions, keys in META_GROUPS.values():
                facts = [f for f in b.facts if f.owner is p and f.event.key in keys]
                facts = sorted(rng.sample(facts, min(len(facts), 5)), key=lambda f: f.session)
                if len({f.session for f in facts}) >= 2:
                    answer = ", ".join(dict.fromkeys(_strip_the(self._fmt(f.event.thing, p, f)) for f in facts))
                    out["multi-hop:broad"].append((self._fmt(rng.choice(questions), p), answer,
                                             self._ev(*(f"{f.id}:main" for f in facts))))
        by_key = {t.key: t for t in talk.TRAITS}
        for p in b.people:
            keys = {t.key for t in p.traits}
            shown = Counter(k for f in b.facts if f.owner is p for k in f.event.traits)
            keys |= {k for k, n in shown.items() if n >= 2}
            for k in sorted(keys):
                stated = self._ev(f"trait:{p.name}:{k}")
                shown = self._ev(*(f"{f.id}:main" for f in b.facts if f.owner is p and k in f.event.traits))
                if not stated and len(shown) < 3:
                    continue
                # an annotator reads what was said, asks about it, and cites the one or two plainest turns
                seen = [set(content_terms(self.turn_text[d])) for d in stated or shown]
                q, a = max(by_key[k].questions, key=lambda qa: (
                    max(len(set(content_terms(self._fmt(qa[0], p))) & w) for w in seen), rng.random()))
                words = set(content_terms(self._fmt(q, p)))
                cands = stated + [d for d in shown if d not in stated]
                rank = {d: (d in stated, len(words & set(content_terms(self.turn_text[d]))), rng.random())
                        for d in cands}
                ev = sorted(cands, key=rank.__getitem__, reverse=True)
                out["open-domain"].append((self._fmt(q, p), self._fmt(a, p), sorted(ev[: rng.choice((1, 2, 2))],
                                                                                    key=dia_key)))
        return out

    def pick(self) -> list[Question]:
        rng, cands = self.b.rng, self.candidates()
        n = rng.randint(15, 25)
        quota = {"single-hop": round(0.3 * n), "multi-hop": round(0.25 * n), "temporal": round(0.25 * n)}
        quota["open-domain"] = n - sum(quota.values())
        pools: dict[str, list[_Candidate]] = defaultdict(list)
        for kind, items in sorted(cands.items()):
            texts = Counter(q for q, _, _ in items)
            pools[kind] = [c for c in items if texts[c[0]] == 1 and c[2]]  # ambiguous questions are dropped
            rng.shuffle(pools[kind])
        kinds = [pools.pop(k, []) for k in ("multi-hop:story", "multi-hop:group", "multi-hop:broad")]
        pools["multi-hop"] = [c for row in zip_longest(*kinds) for c in row if c]  # the three kinds take turns
        chosen: list[tuple[str, _Candidate]] = []
        for cat, k in quota.items():
            chosen += [(cat, c) for c in pools.get(cat, [])[:k]]
            pools[cat] = pools.get(cat, [])[k:]
        for cat in ("single-hop", "temporal", "open-domain", "multi-hop"):  # fill any shortfall
            while len(chosen) < n and pools.get(cat):
                chosen.append((cat, pools[cat].pop()))
        order = {c: i for i, c in enumerate(CATEGORIES)}
        chosen.sort(key=lambda x: (order[x[0]], dia_key(x[1][2][0])))
        return [Question(id=f"{self.b.id}-q{i}", question=q, answer=a, evidence=ev,
                         category=cat)  # type: ignore[arg-type]
                for i, (cat, (q, a, ev)) in enumerate(chosen, start=1)]


def build_conversation(seed: str, conv_id: str, sessions: tuple[int, int], turns: tuple[int, int]) -> Conversation:
    return _Builder(random.Random(seed), conv_id, sessions, turns).build()
