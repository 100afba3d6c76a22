"""The life-event catalog behind :mod:`memkit.bench.convdata`: slot values and event types.

Templates are ``str.format_map`` strings.  Keys: ``{when}`` a relative time ("last weekend"; announcements
only, always written as `` {when}`` so it can be dropped), ``{you}`` the nickname of the person spoken to,
``{name}`` the owner's full name and ``{their}``/``{they}``/``{them}`` the owner's pronouns (questions and
answers), life slots ``{partner}`` ``{kid}`` ``{sib}`` ``{sib_rel}`` ``{parent_rel}`` ``{friend}``
``{hometown}``, and the event's own slots (``{pet[name]}``).  Alternatives in one string are separated by
`` | ``.  People, traits and small talk live in :mod:`memkit.bench.convtalk`.  Announcements, replies and follow-ups are
first person, by the owner; reactions and probe questions are by the other speaker.  Questions are worded
the way people ask about a friend, not the way the friend said it ("instrument" vs "violin lessons").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Probe", "EventType", "POOLS", "EVENTS", "GROUPS", "META_GROUPS", "rows"]


@dataclass(frozen=True)
class Probe:
    """A follow-up the other speaker asks, and the owner's short reply that holds a detail."""

    ask: tuple[str, ...]
    reply: tuple[str, ...]
    question: tuple[str, ...]
    answer: str
    needs_ask: bool = False  # the reply is elliptical: the asking turn is evidence too


@dataclass(frozen=True)
class EventType:
    key: str
    topic: str
    thing: str  # how friends refer back to it ("the pottery class", "Max")
    slots: tuple[str, ...]  # pool names; the slot is named like its pool
    announce: tuple[str, ...]
    questions: tuple[str, ...]
    answer: str
    vp: str  # "When did {name} <vp>?"
    probe: Probe | None = None
    after: tuple[str, ...] = ()
    react: tuple[str, ...] = ()
    callback: tuple[tuple[str, str], ...] = ()
    group: str | None = None  # multi-hop aggregation ("What pets does X have?"); repeatable when set
    item: str = ""
    traits: tuple[str, ...] = ()
    follows: str | None = None  # parent event key: this one continues that story in a later session
    chain_q: tuple[str, str] | None = None
    photo: str | None = None
    needs: tuple[str, ...] = ()  # life slots required ("kid", "partner")


def rows(keys: str, *rows: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    names = keys.split()
    return tuple(dict(zip(names, r, strict=True)) for r in rows)


_PET_NAMES = {"he": ("Max", "Oliver", "Milo", "Bailey", "Ziggy", "Biscuit", "Teddy", "Charlie"),
              "she": ("Luna", "Coco", "Nala", "Pepper", "Daisy", "Hazel", "Mochi", "Olive")}
_SPECIES = (("dog", "puppy", ("golden retriever", "beagle", "corgi", "husky", "lab mix", "border collie")),
            ("cat", "kitten", ("tabby", "Maine Coon", "black cat", "Siamese", "calico")),
            ("rabbit", "bunny", ("Holland Lop", "lionhead")), ("bird", "parakeet", ("budgie", "green parakeet")))


def _pets() -> tuple[dict[str, str], ...]:
    out = []
    for species, kind, breeds in _SPECIES:
        for b in breeds:
            for subj, names in _PET_NAMES.items():
                obj, pos = ("him", "his") if subj == "he" else ("her", "her")
                for n in names[:4] if species in ("rabbit", "bird") else names:
                    out.append({"species": species, "kind": kind, "breed": b, "name": n, "subj": subj,
                                "Subj": subj.capitalize(), "obj": obj, "pos": pos})
    return tuple(out)


POOLS: dict[str, tuple[dict[str, str], ...]] = {
    "pet": _pets(),
    "place": rows(
        "city country sight",
        ("Kyoto", "Japan", "the bamboo forest"), ("Lisbon", "Portugal", "the old tram up the hill"),
        ("Reykjavik", "Iceland", "the hot springs"), ("Oaxaca", "Mexico", "the market stalls"),
        ("Cusco", "Peru", "Machu Picchu"), ("Florence", "Italy", "the Duomo"),
        ("Barcelona", "Spain", "Sagrada Familia"), ("Paris", "France", "the Louvre"),
        ("Chiang Mai", "Thailand", "the night bazaar"), ("Hanoi", "Vietnam", "Ha Long Bay"),
        ("Dublin", "Ireland", "the Cliffs of Moher"), ("Marrakech", "Morocco", "the souks"),
        ("Santorini", "Greece", "the sunsets in Oia"), ("Banff", "Canada", "Lake Louise"),
        ("Bergen", "Norway", "the fjords"), ("Cape Town", "South Africa", "Table Mountain"),
        ("Seoul", "South Korea", "the palaces"), ("Edinburgh", "Scotland", "the castle")),
    "city": rows("name", ("Portland",), ("Austin",), ("Denver",), ("Chicago",), ("Seattle",), ("Boston",),
                  ("San Diego",), ("Minneapolis",), ("Nashville",), ("Asheville",), ("Savannah",), ("Santa Fe",),
                  ("Pittsburgh",), ("Sacramento",), ("Tucson",), ("Burlington",)),
    "park": rows("name feature", ("Yosemite", "the waterfalls"), ("Lake Tahoe", "the lake"),
                  ("the Smokies", "the misty ridges"), ("Zion", "the canyon walls"), ("Big Sur", "the cliffs"),
                  ("the Adirondacks", "the lakes"), ("Acadia", "the rocky coast"), ("Mount Rainier", "the glaciers")),
    "beach": rows("name", ("Cannon Beach",), ("Santa Cruz",), ("the Outer Banks",), ("Cape Cod",),
                   ("Myrtle Beach",), ("Half Moon Bay",)),
    "job": rows("title field", ("nurse", "healthcare"), ("graphic designer", "design"),
                 ("software developer", "tech"), ("middle school teacher", "education"), ("accountant", "finance"),
                 ("physical therapist", "healthcare"), ("marketing coordinator", "marketing"),
                 ("paralegal", "law"), ("lab technician", "science"), ("social worker", "social services")),
    "biz": rows("kind thing", ("a little bakery", "cinnamon rolls"), ("an Etsy shop", "handmade candles"),
                 ("a dog-walking business", "dog walks"), ("a food truck", "tacos"),
                 ("a photography studio", "portrait sessions"), ("a bike repair shop", "tune-ups")),
    "craft": rows("name piece noun", ("pottery", "a lopsided little bowl", "ceramics"),
                   ("watercolor painting", "a sunset over the lake", "painting"),
                   ("knitting", "a very wonky scarf", "knitting"), ("woodworking", "a small spice rack", "woodwork"),
                   ("embroidery", "a hoop full of wildflowers", "needlework"),
                   ("film photography", "a roll of shots from the pier", "photography"),
                   ("stained glass", "a tiny sun catcher", "glass art"), ("candle making", "lavender candles",
                                                                        "candles")),
    "veg": rows("name", ("tomatoes",), ("zucchini",), ("peppers",), ("strawberries",), ("green beans",), ("kale",)),
    "dish": rows("name", ("homemade ramen",), ("lasagna",), ("sourdough bread",), ("pad thai",), ("tamales",),
                  ("paella",), ("chicken tikka masala",), ("banana bread",), ("pork dumplings",), ("pho",)),
    "instrument": rows("name", ("violin",), ("guitar",), ("piano",), ("cello",), ("ukulele",), ("drums",),
                        ("saxophone",), ("flute",), ("banjo",)),
    "band": rows("name", ("The Paper Lanterns",), ("Static Bloom",), ("Rusty Hinges",), ("Velvet Porch",)),
    "artist": rows("name", ("Hozier",), ("Taylor Swift",), ("Lizzo",), ("Coldplay",), ("Phoebe Bridgers",),
                    ("The Lumineers",), ("Bruno Mars",), ("Florence + the Machine",), ("Bon Iver",),
                    ("Maggie Rogers",)),
    "sport": rows("name place", ("rock climbing", "the climbing gym"), ("tennis", "the park courts"),
                   ("swimming", "the rec center pool"), ("beach volleyball", "the pier"),
                   ("boxing", "a boxing gym downtown"), ("pickleball", "the community center"),
                   ("kayaking", "the river"), ("yoga", "a studio near work"), ("salsa dancing", "a dance studio"),
                   ("fencing", "a club across town")),
    "injury": rows("did noun how part", ("sprained my ankle", "sprained ankle", "playing frisbee", "ankle"),
                    ("broke my wrist", "broken wrist", "slipping on the ice", "wrist"),
                    ("threw out my back", "back injury", "carrying a couch", "back"),
                    ("tore a ligament in my knee", "knee injury", "at soccer", "knee"),
                    ("pulled a hamstring", "hamstring injury", "sprinting for a bus", "hamstring")),
    "race": rows("name", ("a half marathon",), ("a charity 5K",), ("a 10K trail race",), ("a sprint triathlon",)),
    "course": rows("name subject", ("a Spanish class", "Spanish"), ("a coding bootcamp", "web development"),
                    ("an online photography course", "photography"), ("a pastry course", "French pastry"),
                    ("an ASL class", "sign language"), ("a first aid certification", "first aid"),
                    ("a night class in accounting", "accounting"), ("a creative writing workshop", "writing")),
    "program": rows("field school", ("counseling", "Portland State"), ("nursing", "a school in Denver"),
                     ("public health", "the state university"), ("social work", "a program in Chicago"),
                     ("art therapy", "a small college upstate"), ("data science", "an online program")),
    "exam": rows("name", ("my nursing boards",), ("the CPA exam",), ("my driving test",), ("the bar exam",)),
    "item": rows("name cat", ("a used Subaru", "car"), ("a road bike", "bike"), ("a mirrorless camera", "camera"),
                  ("a secondhand kayak", "kayak"), ("a standing desk", "desk"), ("a little telescope", "telescope"),
                  ("an espresso machine", "espresso machine"), ("a sewing machine", "sewing machine"),
                  ("an old camper van", "camper van"), ("an electric scooter", "scooter")),
    "volunteer": rows("place task", ("the animal shelter", "walking the dogs"),
                       ("the food bank", "sorting donations"), ("a soup kitchen", "serving lunch"),
                       ("a literacy program", "reading with second graders"),
                       ("a beach cleanup", "picking up trash"), ("Habitat for Humanity", "framing a house"),
                       ("a hospice", "keeping patients company"), ("a youth center", "mentoring teens"),
                       ("the community garden", "weeding and watering"), ("a crisis hotline", "taking calls")),
    "cause": rows("name", ("the children's hospital",), ("a homeless shelter",), ("cancer research",),
                   ("the local library",), ("wildfire relief",)),
    "book": rows("title author", ("Project Hail Mary", "Andy Weir"), ("Educated", "Tara Westover"),
                  ("The Night Circus", "Erin Morgenstern"), ("Little Women", "Louisa May Alcott"),
                  ("Becoming", "Michelle Obama"), ("Dune", "Frank Herbert"), ("Circe", "Madeline Miller"),
                  ("Atomic Habits", "James Clear"), ("Pachinko", "Min Jin Lee"), ("The Hobbit", "J.R.R. Tolkien"),
                  ("Braiding Sweetgrass", "Robin Wall Kimmerer"), ("Where the Crawdads Sing", "Delia Owens")),
    "tattoo": rows("name", ("a tiny sunflower",), ("a wave",), ("a paper crane",), ("my grandma's handwriting",),
                    ("a little mountain range",)),
    "museum": rows("name thing", ("the science museum", "the dinosaur hall"), ("the art museum", "a Monet"),
                    ("the aquarium", "the jellyfish tank"), ("the history museum", "a moon rock")),
    "habit": rows("name", ("coffee",), ("soda",), ("sugar",), ("social media",), ("smoking",)),
    "award": rows("name", ("employee of the month",), ("first place in a local photo contest",),
                   ("a teaching award",), ("the chili cook-off",)),
    "kidthing": rows("event detail", ("first soccer game", "scored a goal"), ("piano recital", "played Fur Elise"),
                      ("school play", "was a singing tree"), ("first day of kindergarten", "didn't even cry"),
                      ("science fair", "built a baking soda volcano"), ("swim meet", "got a ribbon")),
    "relative": rows("rel", ("grandma",), ("aunt",), ("dad",), ("mom",), ("cousins",)),
}


def _p(ask: str, reply: str, question: str, answer: str, needs_ask: bool = False) -> Probe:
    return Probe(tuple(ask.split(" | ")), tuple(reply.split(" | ")), tuple(question.split(" | ")), answer, needs_ask)


def _ev(key: str, topic: str, thing: str, slots: str, announce: str, questions: str, answer: str, vp: str,
        **kw: Any) -> EventType:
    """Alternatives inside one string are separated by `` | ``."""
    def alts(s: str) -> tuple[str, ...]:
        return tuple(x for x in s.split(" | ") if x)
    for name in ("after", "react"):
        kw[name] = alts(kw.get(name, ""))
    kw["callback"] = tuple(tuple(c.split(" >> ")) for c in alts(kw.get("callback", "")))
    kw["traits"] = tuple(kw.get("traits", "").split())
    kw["needs"] = tuple(kw.get("needs", "").split())
    if "chain_q" in kw:
        kw["chain_q"] = tuple(kw["chain_q"].split(" => "))
    return EventType(key, topic, thing, tuple(slots.split()), alts(announce), alts(questions), answer, vp, **kw)


EVENTS: tuple[EventType, ...] = (
    # --- pets
    _ev("adopt_pet", "pets", "the new {pet[kind]}", "pet",
        "We adopted a {pet[kind]} {when}! I'm completely obsessed. | So I finally adopted a little {pet[kind]} "
        "from the shelter {when}. | There's a new furry roommate at my place as of {when} - I adopted a {pet[breed]}!",
        "What kind of pet did {name} adopt? | What animal did {name} bring home?", "a {pet[breed]} {pet[kind]}",
        "adopt {their} {pet[species]}", group="pets", item="{pet[name]} the {pet[species]}", traits="animals",
        probe=_p("Stop it, that's adorable. What did you name {pet[obj]}? | Aww! What's {pet[pos]} name?",
                 "{pet[name]}! {pet[Subj]} already runs the house. | We went with {pet[name]}, "
                 "{pet[subj]} just looked like one haha",
                 "What is the name of {name}'s {pet[species]}?", "{pet[name]}", True),
        after="{pet[Subj]} sleeps right on my pillow every night lol | Honestly {pet[subj]} has been the best "
              "part of this whole year.",
        react="Aww, I love that so much! | No way, I'm so jealous!",
        callback="How's {pet[name]} doing? >> {pet[Subj]}'s great! Chewed through a phone charger though haha. | "
                 "Is {pet[name]} still stealing your socks? >> Every single day. It's a whole game now.",
        photo="a {pet[breed]} curled up on a striped blanket"),
    _ev("pet_training", "pets", "{pet[name]}'s training", "", "{pet[name]} learned {pet[pos]} first real trick "
        "{when}! {pet[Subj]} comes when I call now. | We've been doing clicker training and {when} {pet[name]} "
        "finally learned to high five. | Training paid off {when} "
        "- {pet[name]} learned to stay put while I open the door!",
        "What did {name}'s {pet[species]} learn?", "a trick (coming when called / a high five)",
        "teach {pet[name]} a trick", follows="adopt_pet", react="Genius {pet[kind]}!! | A star student, obviously.",
        chain_q="What did {name} teach {pet[name]} after adopting {pet[obj]}? => tricks, like coming when called"),
    _ev("pet_vet", "pets", "{pet[name]}", "", "Spent the whole night at the emergency vet {when}. {pet[name]} ate a "
        "sock. | Ugh {pet[name]} needed stitches at the vet {when}, {pet[subj]} cut {pet[pos]} paw on some glass. | "
        "Had a scare with {pet[name]} {when}, {pet[subj]} stopped eating and we rushed to the vet.",
        "What health scare did {name}'s {pet[species]} have? | Why did {name} take {pet[name]} to the vet?", "an "
        "emergency ({pet[subj]} ate a sock / cut a paw / stopped eating)",
        "take {pet[name]} to the emergency vet", follows="adopt_pet", react="Oh no, poor baby! Is {pet[subj]} ok?",
        after="{pet[Subj]}'s fine now, just wearing the cone of shame.",
        chain_q="What happened to {pet[name]} some time after {name} adopted {pet[obj]}? => "
                "{pet[subj]} had to go to the emergency vet"),
    # --- travel
    _ev("trip_abroad", "travel", "the {place[city]} trip", "place",
        "Just got back from my trip to {place[city]}! We flew out {when} and I'm still jet-lagged. | My trip to "
        "{place[city]} {when} was unreal, a whole week. | So I finally did the big trip {when} - {place[city]}, {you}!",
        "Which country did {name} visit? | Where did {name} go on {their} trip abroad?", "{place[country]}",
        "travel to {place[country]}", group="countries", item="{place[country]}", traits="adventurous",
        probe=_p("What was the highlight? | Ok what was the best part??",
                 "{place[sight]}, hands down. I cried a little. | Honestly {place[sight]}. Nothing compares.",
                 "What was {name}'s favorite part of {their} trip to {place[country]}?", "{place[sight]}", True),
        after="The food alone was worth the flight. | I didn't want to come home, not gonna lie.",
        react="Okay I need to hear everything. | That's been on my bucket list forever!",
        photo="a view of {place[sight]} at golden hour"),
    _ev("camping", "outdoors", "the camping trip", "park",
        "We went camping at {park[name]} {when}. | Spent the weekend camping up at {park[name]} {when}, no "
        "cell service at all. | Took the kids out to {park[name]} {when} to camp under the stars.",
        "Where did {name} go camping? | Which park did {name} camp in?", "{park[name]}",
        "go camping at {park[name]}", traits="outdoors", group="outdoor trips", item="camping at {park[name]}",
        after="It was so peaceful up there. | We just sat by the fire and listened to the owls.",
        react="That sounds so peaceful. | Bugs though? I'd get eaten alive haha.",
        probe=_p("Did you see any wildlife? | What was the best part?",
                 "A bear! From far away thankfully. | {park[feature]}. Unbelievable in the morning light.",
                 "What did {name} see on {their} camping trip?", "{park[feature]} / wildlife", True),
        photo="a tent beside a lake with pine trees behind it"),
    _ev("hike", "outdoors", "the hike", "park",
        "Went hiking in {park[name]} {when}, like twelve miles. | I hiked up to a summit at {park[name]} "
        "{when} and my legs are still dead. | {you}, I did my first solo hiking trip {when}! {park[name]}, all day.",
        "Where did {name} go hiking?", "{park[name]}", "hike in {park[name]}", traits="outdoors",
        group="outdoor trips", item="hiking in {park[name]}", after="The view from the top made it worth it.",
        react="Twelve miles?! My feet hurt just hearing that."),
    _ev("road_trip", "travel", "the road trip", "city",
        "We did a road trip down to {city[name]} {when}. | Took a road trip to {city[name]} on a whim {when}, just me "
        "and a playlist. | Took a long weekend road trip to {city[name]} {when}.",
        "Where did {name} drive to on {their} road trip?", "{city[name]}", "take a road trip to {city[name]}",
        traits="adventurous", after="Gas station snacks and bad singing the whole way.",
        react="A road trip sounds perfect right now."),
    _ev("beach_trip", "travel", "the beach trip", "beach",
        "Spent a beach day at {beach[name]} {when}, I'm so sunburnt lol. | We drove out to the beach at {beach[name]} "
        "{when} and just read in the sand. | I watched the sunset on the beach at {beach[name]} {when}, so calming.",
        "Which beach did {name} visit?", "{beach[name]}", "go to {beach[name]}", traits="beach",
        after="The sound of the waves is like therapy for me.", react="Ugh I miss the ocean."),
    _ev("visit_family", "family", "the visit to {city[name]}", "relative city",
        "I flew out to visit my {relative[rel]} in {city[name]} {when}. | Went to visit my {relative[rel]} {when}, "
        "first time in two years. | Spent a few days visiting my {relative[rel]} in {city[name]} {when}.",
        "Which relative did {name} go to see? | Who did {name} visit out of town?", "{their} {relative[rel]}",
        "visit {their} {relative[rel]}", traits="family", group="family visits", item="{their} {relative[rel]}",
        after="We just cooked and looked at old photo albums. It was really special.",
        react="That's so sweet, family time is everything."),
    # --- work
    _ev("new_job", "work", "the new job", "job",
        "I started a new job {when}! I'm a {job[title]} now. | {when} was my first day at the new job, I'm a "
        "{job[title]} now. Nervous but excited. | So I accepted the job "
        "offer - I'm officially working as a {job[title]} as of {when}.",
        "What is {name}'s new job? | What does {name} do for work now?", "{job[title]}",
        "start {their} new job", group="jobs", item="{job[title]}",
        probe=_p("How's the team? | Do you like your coworkers?",
                 "They're lovely, one of them already brought me cookies. | Mostly great. My manager's a bit intense.",
                 "How does {name} feel about {their} coworkers?", "mostly likes them"),
        after="It's a lot to learn but it feels right.", react="Congrats!! That's huge."),
    _ev("promotion", "work", "the new role", "",
        "I got promoted {when}! Team lead now, new role and everything. | My boss called me in {when} and offered me "
        "the senior role! | Guess who's running the whole department now? Got the promotion and the new role {when}.",
        "What happened in {name}'s career recently? | What new role did {name} get at work?",
        "{they} got promoted", "get promoted", react="You totally deserve it! | About time they noticed!",
        after="More meetings though, ugh.", traits="ambitious"),
    _ev("quit_job", "work", "life after the job", "",
        "I quit my job {when}. Like actually handed in my notice. | So {when} I walked into my boss's office and "
        "resigned from my job. Felt terrifying and amazing. | I left "
        "my job at the firm {when}, I just couldn't do it anymore.",
        "What did {name} do about {their} job? | Why "
        "is {name} no longer at {their} old company?", "{they} quit {their} job", "quit {their} job",
        probe=_p("Whoa. What made you finally do it? | Oh wow, what happened?",
                 "Burnout. I was crying in the parking lot most days. "
                 "| The hours were killing me, I never saw my family.",
                 "Why did {name} leave {their} job?", "burnout / the hours were too much"),
        react="Honestly good for you. | That's so brave, {you}.", after="Now I just have to figure out what's next."),
    _ev("start_business", "work", "the business", "biz",
        "I opened {biz[kind]} {when}! | So I took the plunge {when} and opened {biz[kind]}. | Opened "
        "{biz[kind]} {when}, and we sold out of {biz[thing]} by noon!",
        "What business did {name} open? | What did {name} launch on {their} own?", "{biz[kind]}",
        "open {their} {biz[kind]}", follows="quit_job", traits="ambitious",
        chain_q="What did {name} do after quitting {their} job? => opened {biz[kind]}",
        react="Your own business! I'm so proud of you.", after="It's scary being my own boss but I love it.",
        photo="a small shop counter with a handwritten chalkboard menu"),
    _ev("conference_talk", "work", "the talk in {city[name]}", "city",
        "I gave my first conference talk {when} in {city[name]}! | Gave a talk on our research at a conference "
        "in {city[name]} {when}, my hands were shaking. | {when} I spoke on a panel at a conference in {city[name]} "
        "in front of like two hundred people.",
        "Where did {name} give a talk? | In which city did {name} speak at a conference?", "{city[name]}",
        "give a talk at a conference", traits="ambitious", react="Public speaking?! You're braver than me."),
    _ev("laid_off", "work", "the job search", "",
        "Rough news, my company laid off the whole team {when}, me included. | My company did layoffs {when} and "
        "I was one of them. | So... I'm unemployed as of {when}. Budget cuts at the company.",
        "What happened to {name} at {their} company? | Why is {name} looking for work?", "{they} got laid off",
        "get laid off", react="Oh {you}, I'm so sorry. That's awful.", after="I'm trying to see it as a fresh start."),
    _ev("award", "work", "the award", "award",
        "I won {award[name]} {when}! | They announced it {when} - I won {award[name]}, I nearly fell over. | "
        "Small brag: I won {award[name]} {when}. Still can't believe it.",
        "What recognition did {name} receive? | What has {name} won recently?", "{award[name]}", "win {award[name]}",
        react="Brag away, that's amazing!", traits="ambitious"),
    # --- art and hobbies
    _ev("art_class", "art", "the {craft[name]} class", "craft",
        "I signed up for a {craft[name]} class {when}! | So I started a {craft[name]} class {when}, there's a "
        "studio by my place. | Took my first {craft[name]} class {when} and I think I'm hooked.",
        "What class did {name} sign up for? | What kind of art has {name} started doing?", "{craft[name]}",
        "start {craft[name]}", group="crafts", item="{craft[name]}", traits="creative",
        probe=_p("Ooh what did you make? | Did you make anything yet?",
                 "{craft[piece]}! It's not great but I love it. | Just {craft[piece]} so far haha",
                 "What did {name} make in {their} first {craft[noun]} class?", "{craft[piece]}", True),
        after="It's like therapy, my brain finally goes quiet. | I lose track of time completely when I'm doing it.",
        react="You're so creative, I love that. | That's such a good way to unwind!",
        callback="How's the {craft[name]} going? >> Getting better! My teacher says I have a good eye.",
        photo="{craft[piece]} on a wooden table"),
    _ev("sell_art", "art", "the craft fair", "", "I sold my first piece {when}! Someone bought my {craft[noun]} at "
        "the craft fair. | A stranger bought one of my {craft[noun]} pieces at the craft fair {when}, I almost cried. "
        "| Opened a little table at the art fair {when} and actually sold some of my {craft[noun]}!",
        "What milestone did {name} reach with {their} art? "
        "| What happened for {name} at the craft "
        "fair?", "sold a piece at a craft fair", "sell {their} first piece", follows="art_class", traits="creative",
        chain_q="What happened after {name} took up {craft[name]}? => {they} sold {their} first piece at a fair",
        react="Wait, you're a professional artist now!"),
    _ev("art_show", "art", "the art show", "", "One of my paintings got into a gallery show {when}! | I had my work "
        "hung at the coffee shop's art wall {when}. | {when} a local "
        "gallery picked two of my pieces for their spring show.",
        "Where did {name} "
        "show {their} work?", "a local gallery / the coffee shop art wall", "have {their} work in a show",
        traits="creative", react="That's incredible, I need to come see it!"),
    _ev("garden", "home", "the garden", "veg",
        "I planted a vegetable garden {when}, mostly {veg[name]}. | We built raised beds in the backyard {when} "
        "and planted {veg[name]}. | Planted a little balcony garden {when}. Fingers crossed for the {veg[name]}.",
        "What did {name} grow at home? | What vegetable did {name} plant?", "{veg[name]}", "plant {their} garden",
        traits="outdoors eco", after="Getting my hands in the dirt is so grounding.",
        react="Fresh veggies! Save me some."),
    _ev("harvest", "home", "the garden", "", "Our garden's first harvest came in {when}! A whole basket of "
        "{veg[name]}. | Picked my first {veg[name]} from the garden {when}, tasted like sunshine. | {when} the garden "
        "gave us so many {veg[name]} I handed bags "
        "out to the neighbors.", "What came of {name}'s garden?", "a harvest of {veg[name]}", "harvest {their} garden",
        follows="garden", chain_q="What happened a while after {name} planted {their} garden? => "
        "{they} harvested a basket of {veg[name]}", react="Homegrown is just better."),
    _ev("cook_dish", "food", "the {dish[name]}", "dish",
        "I made {dish[name]} from scratch {when}. | Tried making {dish[name]} from scratch {when}, took all "
        "afternoon. | {when} I finally nailed my grandma's {dish[name]} recipe, all from scratch.",
        "What dish did {name} cook from scratch? | What has {name} made in the kitchen?", "{dish[name]}",
        "cook {dish[name]}", group="dishes", item="{dish[name]}", traits="cooking",
        after="The whole apartment smelled amazing. | Honestly it turned out better than the restaurant one.",
        react="Omg save me some next time! | Recipe please!!", photo="a steaming plate of {dish[name]}"),
    _ev("cookoff", "food", "the cooking contest", "dish",
        "I entered a cooking contest at work {when} with my {dish[name]}. | There was a potluck competition at "
        "church {when} and my {dish[name]} got second place! | I brought {dish[name]} to the neighborhood cooking "
        "competition "
        "{when}.", "What did {name} bring to the cooking competition?", "{dish[name]}", "enter a cooking contest",
        traits="cooking", react="Of course you placed, your food is the best."),
    _ev("learn_instrument", "music", "the {instrument[name]}", "instrument",
        "I started taking {instrument[name]} lessons {when}. | Bought a secondhand {instrument[name]} {when} and "
        "signed up for lessons. | My first {instrument[name]} lesson was {when}, I sound like a dying goose lol.",
        "What instrument is {name} taking lessons in? | What instrument does {name} play?", "{instrument[name]}",
        "start learning the {instrument[name]}", group="instruments", item="{instrument[name]}", traits="music",
        probe=_p("What are you practicing? | Can you play a song yet?",
                 "Just scales. So many scales. | Twinkle Twinkle, don't laugh haha",
                 "What has {name} been practicing?", "scales / simple songs"),
        react="I'd love to hear you play sometime!", after="My neighbors are being very patient haha.",
        callback="Still practicing? >> Every night! I can almost play a whole song now."),
    _ev("join_band", "music", "{band[name]}", "band",
        "I joined a band {when}! We're called {band[name]}. | Some friends and I started a little band {when}, "
        "{band[name]}. | {when} a coworker asked me to sing for their band, {band[name]}!",
        "What is the name of {name}'s band?", "{band[name]}", "join {band[name]}", traits="music",
        react="A rock star in the making!", after="We mostly practice in a garage but it's so fun."),
    _ev("first_gig", "music", "the band", "", "{band[name]} played our first real show {when}! | We played our first "
        "gig at a bar downtown {when}, like forty people came. | "
        "Played a set at the open mic {when}, my knees were shaking.",
        "What did {name} play with {their} band?", "their first show", "play {their} first gig", follows="join_band",
        chain_q="What happened after {name} joined {band[name]}? => they played their first show", traits="music",
        react="I'm coming to the next one, no excuses."),
    _ev("concert", "music", "the {artist[name]} concert", "artist",
        "I saw {artist[name]} live {when}! | We got last-minute tickets to see {artist[name]} live {when}. | "
        "Went to see {artist[name]} live {when} and screamed until I lost my voice.",
        "Which artist did {name} see in concert? | Who did {name} see perform live?", "{artist[name]}",
        "see {artist[name]} in concert", group="concerts", item="{artist[name]}", traits="music",
        react="Jealous!! How was the crowd?", after="The energy in that stadium was something else.",
        photo="a blurry stage with purple lights and a huge crowd"),
    # --- sport and health
    _ev("try_sport", "sport", "{sport[name]}", "sport",
        "I started {sport[name]} {when}, there's a group at {sport[place]}. | Started {sport[name]} {when}, first time "
        "ever, and I'm so sore. | I started going to {sport[place]} {when}, {sport[name]} "
        "is my new thing.", "What sport did {name} start? | What new activity keeps {name} active?", "{sport[name]}",
        "start {sport[name]}", group="sports", item="{sport[name]}", traits="fitness",
        react="Look at you being all active! | I could never, I'd fall over.",
        after="I feel stronger already honestly.",
        callback="Still doing {sport[name]}? >> Three times a week now! It's kind of my whole personality."),
    _ev("injury", "health", "the {injury[part]}", "injury",
        "I {injury[did]} {when}, {injury[how]}. | Ugh, {when} I {injury[did]} {injury[how]}. | Bad news, I "
        "{injury[did]} {when}. So dumb, I was {injury[how]}.",
        "What injury did {name} have? | What "
        "happened to {name}'s {injury[part]}?", "{injury[noun]}", "get {their} {injury[noun]}",
        group="injuries", item="{injury[noun]}", react="Oh no, that sounds so painful! | Ouch, heal fast {you}.",
        after="Physical therapy twice a week now, it's humbling."),
    _ev("run_race", "sport", "the race", "race",
        "I ran and finished {race[name]} {when}! | Finished {race[name]} {when}, slowest time ever but I finished. | "
        "{when} I crossed the finish line of {race[name]}, my first one since getting hurt.",
        "What race did {name} finish?", "{race[name]}", "run {race[name]}", follows="injury", traits="fitness",
        chain_q="What did {name} do after recovering from {their} {injury[noun]}? => ran {race[name]}",
        react="You're unstoppable!", photo="a race bib pinned to a running shirt"),
    _ev("illness", "health", "the recovery", "",
        "I was sick with the flu {when}, totally knocked out. | I was sick with a nasty fever {when}, spent three "
        "days on the couch. | I was sick with covid {when}, finally testing negative.",
        "Why was {name} unwell? | "
        "What was {name} sick with?", "the flu / a fever", "get sick", react="Feel better!! Soup and sleep."),
    _ev("therapy", "health", "therapy", "",
        "I started seeing a therapist {when}. | I had my first counseling session {when}, finally doing something for "
        "my mental health. | So {when} I finally booked an appointment with a therapist.",
        "What did {name} start doing for {their} mental health?", "seeing a therapist", "start therapy",
        react="That takes real courage. Proud of you.", after="It's helping me untangle a lot of stuff."),
    _ev("diet", "health", "the vegetarian thing", "",
        "I went vegetarian {when}! No more meat, I eat veggies only now. | I've been eating plant-based since "
        "{when}, going pretty well so far. | Cut out meat {when}, I eat plant-based now, mostly for the planet.",
        "What change did {name} make to {their} "
        "diet? | What does {name} eat now?", "went vegetarian", "go vegetarian", traits="eco cooking",
        react="Wow, I could never give up bacon haha."),
    _ev("quit_habit", "health", "quitting {habit[name]}", "habit",
        "I quit {habit[name]} {when}. Cold turkey. | Quit {habit[name]} {when} and day one was rough. "
        "| I gave up {habit[name]} {when}, I have so much more energy.",
        "What did {name} give up? "
        "| What did {name} quit?", "{habit[name]}", "quit {habit[name]}", react="Respect, that's hard.",
        traits="fitness"),
    _ev("meditation", "health", "the meditation", "",
        "I've been meditating every morning since {when}, it really helps with stress. | Started a meditation app "
        "{when}, ten minutes a day for the stress. | Went to a silent "
        "meditation retreat {when}, no talking and zero stress for two days!",
        "What has {name} done to manage stress?", "meditation", "start meditating", traits="spiritual",
        react="I need to try that, my brain never shuts up."),
    # --- study
    _ev("take_course", "study", "the {course[subject]} class", "course",
        "I signed up for {course[name]} {when}. | I started {course[name]} {when}, homework and everything. | "
        "{when} was my first night of {course[name]}.",
        "What subject is {name} studying? | What is {name} learning in {their} class?", "{course[subject]}",
        "start {their} {course[subject]} class", group="courses", item="{course[subject]}", traits="learning",
        react="Always learning, I love that about you.", after="My brain hurts but in a good way."),
    _ev("grad_apply", "study", "the {program[field]} application", "program",
        "I applied to a grad program in {program[field]} {when}! | Hit submit on my application to the "
        "{program[field]} program {when}. | {when} I sent off my application for the {program[field]} "
        "program at {program[school]}.", "What graduate program did {name} apply to?", "{program[field]}",
        "apply to grad school", traits="learning helping",
        react="Fingers crossed!! They'd be lucky to have you.",
        probe=_p("Why that field? | What made you pick that?",
                 "I want to help people the way someone helped me. | I've always been the friend people "
                 "call when things fall apart.", "Why does {name} want to study {program[field]}?", "to help people"),
        ),
    _ev("grad_accept", "study", "grad school", "", "I got into the {program[field]} program {when}!!! | The "
        "acceptance letter from the {program[field]} program came {when}! | {when} I opened my email and it said "
        "congratulations, I'm in the program!",
        "Which program did {name} get into?", "{program[field]} at {program[school]}",
        "get into grad school", follows="grad_apply", traits="learning",
        chain_q="What happened after {name} applied to grad school? => {they} got accepted into the {program[field]}"
                " program", react="AHHH congratulations!!"),
    _ev("exam", "study", "the exam", "exam",
        "I passed {exam[name]} {when}! | Results came in {when} - I passed {exam[name]}. | Took {exam[name]} {when} "
        "and I think it went ok? Fingers crossed.", "What exam did {name} take?", "{exam[name]}",
        "take {exam[name]}", react="So proud of you, all that studying paid off."),
    _ev("read_book", "books", "{book[title]}", "book",
        "I just finished {book[title]} {when}. | Stayed up way too late {when} finishing {book[title]}. | "
        "I finished {book[title]} by {book[author]} {when}, couldn't put it down.",
        "What book did {name} finish? | What has {name} been reading?", "{book[title]}", "read {book[title]}",
        group="books", item="{book[title]}", traits="books",
        react="Ooh is it good? I need a new read. | That's on my list!", after="The ending wrecked me honestly."),
    _ev("book_club", "books", "the book club", "book",
        "I joined a book club at the library {when}. First pick is {book[title]}. | Went to my first book club "
        "meeting {when}, we're reading {book[title]}. | A few neighbors and I started a book club {when}.",
        "What group did {name} join? | Where does {name} discuss books?", "a book club", "join a book club",
        traits="books", react="That sounds so cozy."),
    # --- home and purchases
    _ev("move_city", "home", "{city[name]}", "city",
        "We moved to {city[name]} {when}! New apartment and all. | I signed a lease on a new apartment in "
        "{city[name]} {when}, boxes everywhere. | So I officially moved to {city[name]} "
        "{when}, new apartment and everything.", "Where is {name}'s new apartment? | Which city does {name} live in "
        "now?", "{city[name]}", "move to {city[name]}",
        group="cities", item="{city[name]}",
        probe=_p("How do you like the new place? | What's the new neighborhood like?",
                 "Tiny kitchen but the light is amazing. | Super walkable, there's a bakery right downstairs.",
                 "What does {name} like about {their} new home?", "the light / walkable neighborhood"),
        react="A fresh start! Send me the address.", after="Still haven't unpacked the kitchen lol."),
    _ev("renovate", "home", "the renovation", "",
        "We finally redid the kitchen {when}. | Spent the weekend tearing out old carpet {when}. | I painted the "
        "whole living room sage green {when}, took forever.",
        "What home project did {name} work on?", "renovating (kitchen / floors / painting)", "renovate {their} home",
        react="Before and after pics please!", photo="a freshly painted living room with drop cloths"),
    _ev("roommate", "home", "the new roommate", "", "A new roommate moved in with me {when}, she's a nurse. | My "
        "cousin moved in with me {when}. | So we found a roommate {when} and she moved in, rent is finally manageable.",
        "Who moved in with {name}?", "a new roommate", "get a roommate", react="Fingers crossed they're tidy haha."),
    _ev("buy_house", "home", "the new house", "city",
        "We closed on a house in {city[name]} {when}!! | Got the keys to our first house in {city[name]} {when}. | "
        "We bought a little house on the edge of {city[name]} {when}.", "What big purchase did {name} make? | "
        "Where is {name}'s "
        "house?", "a house in {city[name]}", "buy {their} house", react="Homeowners!! That's huge.", needs="partner"),
    _ev("buy_item", "purchases", "the {item[cat]}", "item",
        "I treated myself to {item[name]} {when}. | Finally treated myself to {item[name]} {when}. | Picked up "
        "{item[name]} {when}, best "
        "purchase of the year.", "What did {name} buy? | What did {name} treat {them}self to?",
        "{item[name]}", "buy {their} {item[cat]}", group="purchases", item="{item[name]}",
        react="Ooh fancy! | Treat yourself, you earned it.", photo="{item[name]} in a driveway"),
    # --- giving back
    _ev("volunteer", "volunteering", "{volunteer[place]}", "volunteer",
        "I started volunteering at {volunteer[place]} {when}. | I volunteered at {volunteer[place]} {when}, "
        "{volunteer[task]}. | Signed up to volunteer at {volunteer[place]} {when}.",
        "Where does {name} volunteer? | How does {name} give back to the community?", "{volunteer[place]}",
        "volunteer at {volunteer[place]}", group="volunteering", item="{volunteer[place]}", traits="helping",
        probe=_p("What do you do there? | What's that like?",
                 "Mostly {volunteer[task]}. It fills my cup. | {volunteer[task]}, "
                 "and it puts my problems in perspective.", "What does {name} do as a volunteer?", "{volunteer[task]}"),
        react="That's so kind of you, {you}."),
    _ev("fundraiser", "volunteering", "the fundraiser", "cause",
        "I organized a bake sale to raise money for {cause[name]} {when}. | We raised money for {cause[name]} "
        "{when}, almost two grand! | I ran a charity "
        "raffle to raise money for {cause[name]} {when}.", "Which cause did {name} raise money for?",
        "{cause[name]}", "organize a fundraiser", traits="helping", react="You have the biggest heart."),
    # --- relationships and family
    _ev("start_dating", "relationships", "{partner}", "",
        "I've been seeing someone since {when}, {partner}! | I went on a date with {partner} {when} and we've "
        "been seeing each other since! | Soooo I met someone {when}. {partner}. We've been seeing each other.",
        "Who has {name} been seeing? | What is the name of {name}'s partner?", "{partner}", "start dating {partner}",
        needs="partner", react="WHAT. Tell me everything!",
        probe=_p("How did you two meet? | Where did you meet??",
                 "At a friend's barbecue, we bonded over terrible dad jokes. | At the dog park, believe it or not.",
                 "How did {name} meet {partner}?", "at a barbecue / the dog park", True)),
    _ev("engaged", "relationships", "the engagement", "",
        "{partner} proposed {when}!!! | We got engaged {when}! I said yes, obviously. | {when} {partner} "
        "got down on one knee at the beach.", "What big relationship news did {name} share?", "{they} got engaged",
        "get engaged", follows="start_dating", needs="partner",
        chain_q="What happened after {name} started dating {partner}? => they got engaged",
        react="AHHHH congratulations!!! I'm crying.", photo="a hand with an engagement ring"),
    _ev("wedding_guest", "relationships", "the wedding", "city",
        "We went to my cousin's wedding in {city[name]} {when}. | {friend} got married {when}! I was a "
        "bridesmaid. | Danced all night at a wedding {when}, my feet are destroyed.",
        "Whose wedding did {name} attend?", "{their} cousin's / {friend}'s wedding", "go to a wedding",
        react="Weddings are the best, I love a dance floor."),
    _ev("anniversary", "relationships", "the anniversary", "",
        "{partner} and I celebrated five years {when}. | It was our anniversary {when}, we went back to our first "
        "date spot. | Had the sweetest anniversary dinner with {partner} {when}.",
        "What did {name} and {partner} celebrate?", "their anniversary", "celebrate {their} anniversary",
        needs="partner", traits="family", react="Five years! You two are goals."),
    _ev("kid_event", "family", "{kid}'s {kidthing[event]}", "kidthing",
        "It was {kid}'s {kidthing[event]} {when}! | {when} was {kid}'s {kidthing[event]}. | We went to {kid}'s "
        "{kidthing[event]} {when}, {kid} {kidthing[detail]}.",
        "What event of {name}'s child did {they} attend? "
        "| Which of {kid}'s events did {name} go to?", "{kid}'s {kidthing[event]}",
        "go to {kid}'s {kidthing[event]}", group="kid events", item="{kidthing[event]}", needs="kid",
        traits="family", react="Aww {kid} is growing up so fast!"),
    _ev("new_baby", "family", "the baby", "",
        "My {sib_rel} {sib} had a baby {when}! I'm an {auntie} now. | {when} my {sib_rel} had a little girl! | "
        "Baby news: {sib} had the baby {when}, everyone's healthy.", "Who in {name}'s family had a baby?",
        "{their} {sib_rel} {sib}", "become an {auntie}", traits="family", react="A new baby!! Congratulations!"),
    _ev("reunion", "family", "the reunion", "",
        "We had a huge family reunion {when}, like sixty people. | The whole family got together back in "
        "{hometown} {when}. | {when} we had the family reunion at my aunt's lake house.",
        "What family gathering did {name} go to?", "a family reunion", "go to the family reunion", traits="family",
        react="That sounds chaotic in the best way."),
    _ev("parent_health", "family", "the hospital stuff", "",
        "My {parent_rel} had heart surgery {when}. | Spent {when} in the hospital with my {parent_rel}. | "
        "{when} my {parent_rel} had a fall and broke a hip.",
        "What happened to {name}'s {parent_rel}?", "{their} {parent_rel} was hospitalized", "go to the hospital with "
        "{their} {parent_rel}", traits="family", react="Oh no, sending love. How is {parent_rel} now?"),
    _ev("old_friend", "relationships", "{friend}", "",
        "I ran into my old college roommate {friend} {when}. | Reconnected with {friend} {when}, we hadn't talked "
        "in years. | {friend} called me out of the blue {when}, my best friend from high school!",
        "Who did {name} reconnect with?", "{friend}", "reconnect with {friend}", react="I love when that happens."),
    _ev("surprise_party", "relationships", "the party", "",
        "I threw a surprise party for {partner}'s birthday {when}. | We surprised {partner} {when} with a birthday "
        "dinner, {partner} had no idea. | Pulled off a surprise party {when}, nobody spilled.",
        "Who did {name} throw a surprise party for?", "{partner}", "throw a surprise party", needs="partner",
        react="You're the best at planning stuff."),
    # --- misc
    _ev("tattoo", "misc", "the tattoo", "tattoo",
        "I got my first tattoo {when}! {tattoo[name]} on my wrist. | Finally got inked {when}, {tattoo[name]}. | "
        "So I went to a tattoo shop {when}. It's {tattoo[name]}!", "What tattoo did {name} get?",
        "{tattoo[name]}", "get {their} tattoo", react="Show me!! Did it hurt?", traits="adventurous",
        photo="a small fresh tattoo of {tattoo[name]}"),
    _ev("museum", "misc", "{museum[name]}", "museum",
        "We went to {museum[name]} {when}. | Spent the afternoon at {museum[name]} {when}, saw {museum[thing]}. | "
        "I dragged everyone to {museum[name]} {when}.", "Which museum did {name} go to?", "{museum[name]}",
        "visit {museum[name]}", traits="learning", react="I haven't been there in forever!"),
    _ev("lost_item", "misc", "the whole mess", "", "I lost my wallet at the farmers market {when}. | Left my phone in "
        "a cab {when}, total nightmare. | My bike got stolen {when} right outside the library.",
        "What did {name} lose?", "wallet / phone / bike", "lose {their} stuff", react="Nooo, that's the worst."),
    _ev("car_accident", "misc", "the car", "", "Someone rear-ended me at a light {when}. I'm fine, car's not. | Had a "
        "little fender bender in my car {when}. | {when} I slid my car into a ditch in the rain, just shaken up.",
        "What happened to {name}'s car?", "a minor accident", "have a car accident",
        react="Oh my gosh, are you ok?!", after="Just sore. Glad it wasn't worse."),
    _ev("festival", "music", "the festival", "city",
        "We went to a music festival in {city[name]} {when}. | Spent three days at a festival outside "
        "{city[name]} {when}. | {when} I camped at a folk festival near {city[name]}.",
        "Which festival did {name} attend?", "a music festival in {city[name]}", "go to the festival",
        traits="music", react="Festivals are the best kind of exhausting."),
    _ev("skydive", "misc", "the skydive", "", "I went skydiving {when}!!! | Jumped out of a plane {when}. On purpose. "
        "| Did a tandem skydive {when}, I screamed the whole way down.", "What thrill-seeking thing did {name} do?",
        "skydiving", "go skydiving", traits="adventurous", react="You're insane. I love it."),
)

GROUPS: dict[str, tuple[str, ...]] = {
    "pets": ("What pets does {name} have?", "What animals live with {name}?"),
    "countries": ("Which countries has {name} visited?", "What countries has {name} traveled to?"),
    "outdoor trips": ("What outdoor trips has {name} taken?", "Where has {name} been in nature?"),
    "family visits": ("Which relatives has {name} visited?",),
    "jobs": ("What jobs has {name} had?",),
    "crafts": ("What kinds of art has {name} tried?", "What creative hobbies does {name} have?"),
    "dishes": ("What dishes has {name} cooked?", "What has {name} made from scratch?"),
    "instruments": ("What instruments does {name} play?",),
    "concerts": ("Which musicians has {name} seen perform?",),
    "sports": ("What sports does {name} do?", "What physical activities is {name} into?"),
    "injuries": ("What injuries has {name} had?",),
    "courses": ("What subjects has {name} studied?", "What classes has {name} taken?"),
    "books": ("What books has {name} read?",),
    "cities": ("Where has {name} lived?", "Which cities has {name} called home?"),
    "purchases": ("What has {name} bought for {them}self?",),
    "volunteering": ("Where has {name} volunteered?",),
    "kid events": ("What events of {their} kid has {name} attended?",),
}


# broader multi-hop questions that gather different kinds of events ("What activities does X do?")
META_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hobbies": (("What hobbies has {name} picked up?", "What activities does {name} do in {their} free time?"),
                ("art_class", "learn_instrument", "try_sport", "join_band", "garden", "cook_dish", "book_club")),
    "trips": (("Where has {name} traveled?", "What trips has {name} taken?"),
              ("trip_abroad", "road_trip", "beach_trip", "camping", "hike", "festival", "visit_family")),
    "setbacks": (("What setbacks has {name} dealt with?", "What hard times has {name} gone through?"),
                 ("injury", "illness", "car_accident", "parent_health", "laid_off", "lost_item", "pet_vet")),
    "career": (("What has happened in {name}'s work life?", "How has {name}'s career changed?"),
               ("new_job", "promotion", "quit_job", "start_business", "laid_off", "award", "conference_talk")),
    "wellbeing": (("What has {name} done for {their} well-being?", "How does {name} take care of {them}self?"),
                  ("meditation", "therapy", "diet", "quit_habit", "try_sport", "run_race")),
    "learning": (("What has {name} been learning?", "What has {name} studied?"),
                 ("take_course", "grad_apply", "exam", "learn_instrument", "art_class", "read_book")),
    "family": (("What has been going on in {name}'s family?",),
               ("visit_family", "kid_event", "new_baby", "reunion", "parent_health", "anniversary")),
}
