"""A synthetic counterfactual edit set that needs no download.

Real subjects (countries, people, companies, landmarks) with their true object, a
counterfactual target drawn from the same relation's objects (every other one of several
words, so about half the targets are several tokens long, as in real counterfactual sets), one paraphrase of the
prompt, and an unrelated general-knowledge locality probe.  :func:`irrelevant_texts`
gives everyday sentences (disjoint from the locality probes) that editors may train on
as out-of-scope inputs.
"""

from __future__ import annotations

import random

from memkit.editing.types import EditRequest
from memkit.errors import InvalidInputError

__all__ = ["synthetic_edits", "irrelevant_texts", "RELATIONS", "max_synthetic_edits"]

# name: (prompt template, paraphrase templates, extra objects)
RELATIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "capital": (
        "The capital of {} is",
        ("What is the capital of {}? It is", "The capital city of {} is", "{}'s seat of government is in"),
        ("Kuala Lumpur", "Cape Town", "Rio de Janeiro"),
    ),
    "language": (
        "The official language of {} is",
        ("The main language spoken in {} is", "In {}, most people speak", "The national language of {} is"),
        ("Mandarin Chinese", "Swiss German", "Haitian Creole", "Scottish Gaelic"),
    ),
    "continent": (
        "{} is located in the continent of",
        ("The continent where {} lies is", "Geographically, {} belongs to", "{} is a country on the continent of"),
        ("Antarctica", "Central America", "the Middle East"),
    ),
    "occupation": (
        "The occupation of {} was",
        ("By profession, {} was a", "{} earned a living as a", "The profession of {} was"),
        ("chemist", "architect", "poet", "opera singer", "marine biologist"),
    ),
    "citizenship": (
        "{} was a citizen of",
        ("{} held the citizenship of", "The country of citizenship of {} is", "{} was a national of"),
        ("Canada", "Portugal", "Egypt"),
    ),
    "company_country": (
        "The company {} was founded in",
        ("{} is a company that comes from", "The home country of {} is", "{} was established in the country of"),
        ("Brazil", "Canada", "Australia"),
    ),
    "product": (
        "The company {} is best known for making",
        ("The main products of {} are", "{} is a company that produces", "Most of what {} sells is"),
        ("bicycles", "medicines", "watches", "kitchen appliances", "video games"),
    ),
    "landmark_city": (
        "The {} is located in the city of",
        ("You can visit the {} in", "The {} stands in the city of", "The city that is home to the {} is"),
        ("Vienna", "Lisbon", "Cairo"),
    ),
}

_COUNTRIES = [  # country, capital, official language, continent
    ("France", "Paris", "French", "Europe"), ("Germany", "Berlin", "German", "Europe"),
    ("Italy", "Rome", "Italian", "Europe"), ("Spain", "Madrid", "Spanish", "Europe"),
    ("Portugal", "Lisbon", "Portuguese", "Europe"), ("Japan", "Tokyo", "Japanese", "Asia"),
    ("China", "Beijing", "Chinese", "Asia"), ("Russia", "Moscow", "Russian", "Europe"),
    ("Brazil", "Brasilia", "Portuguese", "South America"), ("Argentina", "Buenos Aires", "Spanish", "South America"),
    ("Mexico", "Mexico City", "Spanish", "North America"), ("Canada", "Ottawa", "English", "North America"),
    ("Australia", "Canberra", "English", "Oceania"), ("Egypt", "Cairo", "Arabic", "Africa"),
    ("Kenya", "Nairobi", "Swahili", "Africa"), ("India", "New Delhi", "Hindi", "Asia"),
    ("Greece", "Athens", "Greek", "Europe"), ("Turkey", "Ankara", "Turkish", "Asia"),
    ("Poland", "Warsaw", "Polish", "Europe"), ("Sweden", "Stockholm", "Swedish", "Europe"),
    ("Norway", "Oslo", "Norwegian", "Europe"), ("Finland", "Helsinki", "Finnish", "Europe"),
    ("the Netherlands", "Amsterdam", "Dutch", "Europe"), ("Austria", "Vienna", "German", "Europe"),
    ("Hungary", "Budapest", "Hungarian", "Europe"), ("Ireland", "Dublin", "English", "Europe"),
    ("Thailand", "Bangkok", "Thai", "Asia"), ("Vietnam", "Hanoi", "Vietnamese", "Asia"),
    ("Indonesia", "Jakarta", "Indonesian", "Asia"), ("Peru", "Lima", "Spanish", "South America"),
    ("Chile", "Santiago", "Spanish", "South America"), ("Colombia", "Bogota", "Spanish", "South America"),
    ("Nigeria", "Abuja", "English", "Africa"), ("Morocco", "Rabat", "Arabic", "Africa"),
    ("Iran", "Tehran", "Persian", "Asia"), ("South Korea", "Seoul", "Korean", "Asia"),
    ("Denmark", "Copenhagen", "Danish", "Europe"), ("the Czech Republic", "Prague", "Czech", "Europe"),
    ("Ukraine", "Kyiv", "Ukrainian", "Europe"), ("Cuba", "Havana", "Spanish", "North America"),
    ("Ethiopia", "Addis Ababa", "Amharic", "Africa"), ("Pakistan", "Islamabad", "Urdu", "Asia"),
    ("Saudi Arabia", "Riyadh", "Arabic", "Asia"), ("the Philippines", "Manila", "Filipino", "Asia"),
    ("New Zealand", "Wellington", "English", "Oceania"), ("Iceland", "Reykjavik", "Icelandic", "Europe"),
    ("Romania", "Bucharest", "Romanian", "Europe"), ("Ghana", "Accra", "English", "Africa"),
]

_PEOPLE = [  # person, occupation, citizenship
    ("Albert Einstein", "physicist", "Germany"), ("Marie Curie", "physicist", "Poland"),
    ("Pablo Picasso", "painter", "Spain"), ("Wolfgang Amadeus Mozart", "composer", "Austria"),
    ("Ludwig van Beethoven", "composer", "Germany"), ("William Shakespeare", "playwright", "England"),
    ("Leonardo da Vinci", "painter", "Italy"), ("Frida Kahlo", "painter", "Mexico"),
    ("Charles Darwin", "naturalist", "England"), ("Vincent van Gogh", "painter", "the Netherlands"),
    ("Johann Sebastian Bach", "composer", "Germany"), ("Frederic Chopin", "composer", "Poland"),
    ("Gabriel Garcia Marquez", "novelist", "Colombia"), ("Leo Tolstoy", "novelist", "Russia"),
    ("Haruki Murakami", "novelist", "Japan"), ("Akira Kurosawa", "film director", "Japan"),
    ("Galileo Galilei", "astronomer", "Italy"), ("Sigmund Freud", "neurologist", "Austria"),
    ("Ernest Hemingway", "novelist", "the United States"), ("Jane Austen", "novelist", "England"),
    ("Victor Hugo", "novelist", "France"), ("Claude Monet", "painter", "France"),
    ("Salvador Dali", "painter", "Spain"), ("Pele", "footballer", "Brazil"),
    ("Usain Bolt", "sprinter", "Jamaica"), ("Roger Federer", "tennis player", "Switzerland"),
    ("Lionel Messi", "footballer", "Argentina"), ("Michael Jordan", "basketball player", "the United States"),
    ("Giuseppe Verdi", "composer", "Italy"), ("Hans Christian Andersen", "writer", "Denmark"),
]

_COMPANIES = [  # company, founding country, product
    ("Toyota", "Japan", "cars"), ("Nokia", "Finland", "phones"), ("IKEA", "Sweden", "furniture"),
    ("Volkswagen", "Germany", "cars"), ("Samsung", "South Korea", "electronics"),
    ("Nestle", "Switzerland", "food"), ("Ferrari", "Italy", "sports cars"), ("Sony", "Japan", "electronics"),
    ("Adidas", "Germany", "sportswear"), ("Philips", "the Netherlands", "electronics"),
    ("LEGO", "Denmark", "toys"), ("Heineken", "the Netherlands", "beer"), ("Microsoft", "the United States", "software"),
    ("Boeing", "the United States", "aircraft"), ("Zara", "Spain", "clothing"), ("Lindt", "Switzerland", "chocolate"),
    ("Rolex", "Switzerland", "watches"), ("Michelin", "France", "tyres"),
]

_LANDMARKS = [
    ("Eiffel Tower", "Paris"), ("Colosseum", "Rome"), ("Big Ben clock tower", "London"),
    ("Statue of Liberty", "New York"), ("Sydney Opera House", "Sydney"), ("Taj Mahal", "Agra"),
    ("Brandenburg Gate", "Berlin"), ("Sagrada Familia", "Barcelona"), ("Golden Gate Bridge", "San Francisco"),
    ("Kremlin", "Moscow"), ("Acropolis", "Athens"), ("Forbidden City", "Beijing"), ("Burj Khalifa", "Dubai"),
    ("Hagia Sophia", "Istanbul"), ("CN Tower", "Toronto"), ("Petronas Towers", "Kuala Lumpur"),
    ("Space Needle", "Seattle"), ("Charles Bridge", "Prague"),
]

_LOCALITY = [  # unrelated general knowledge: (prompt, answer)
    ("The chemical symbol for gold is", "Au"), ("The chemical symbol for iron is", "Fe"),
    ("The largest planet in the solar system is", "Jupiter"), ("The planet closest to the Sun is", "Mercury"),
    ("The number of days in a week is", "seven"), ("A spider has a total number of legs equal to", "eight"),
    ("The tallest animal in the world is the", "giraffe"), ("The largest ocean on Earth is the", "Pacific Ocean"),
    ("The fastest land animal is the", "cheetah"), ("Photosynthesis takes place in the", "chloroplasts"),
    ("At sea level, water boils at", "100 degrees Celsius"), ("The square root of 81 is", "9"),
    ("The hardest natural substance is", "diamond"), ("The longest river in Africa is the", "Nile"),
    ("The most common gas in the air we breathe is", "nitrogen"), ("A baby cat is called a", "kitten"),
    ("A group of lions is called a", "pride"), ("In Fahrenheit, water freezes at", "32 degrees"),
    ("The smallest prime number is", "2"), ("The planet known as the Red Planet is", "Mars"),
    ("The organ that pumps blood through the body is the", "heart"), ("Honey is made by", "bees"),
    ("The opposite of hot is", "cold"), ("On a clear day the sky is", "blue"),
    ("The first month of the year is", "January"), ("The month that comes after June is", "July"),
    ("Ice is the solid form of", "water"), ("The instrument with black and white keys is the", "piano"),
    ("The largest mammal on Earth is the", "blue whale"), ("A triangle has", "three sides"),
    ("The chemical formula of water is", "H2O"), ("The Moon orbits the", "Earth"),
    ("Plants take in a gas from the air called", "carbon dioxide"), ("The study of living things is called", "biology"),
    ("The main ingredient of guacamole is", "avocado"), ("Bread is usually baked in an", "oven"),
    ("The largest hot desert in the world is the", "Sahara"), ("A shape with six sides is called a", "hexagon"),
    ("The metal that is liquid at room temperature is", "mercury"), ("Electrical resistance is measured in", "ohms"),
    ("The part of a plant that absorbs water from the soil is the", "root"), ("The season that follows winter is", "spring"),
    ("A period of ten years is called a", "decade"), ("The opposite of north is", "south"),
    ("The star at the centre of our solar system is the", "Sun"), ("Two plus three equals", "five"),
    ("A young dog is called a", "puppy"), ("The frozen water that falls from clouds is called", "snow"),
    ("The number of continents on Earth is", "seven"), ("Bees live together in a", "hive"),
    ("The colour you get by mixing blue and yellow is", "green"), ("A person who treats sick animals is a", "veterinarian"),
    ("The process of water turning into vapour is called", "evaporation"), ("The number of hours in a day is", "24"),
    ("Rainbows usually have a number of colours equal to", "seven"), ("The force that pulls objects toward Earth is", "gravity"),
]

_IRRELEVANT_SUBJECTS = [
    "My neighbour", "The old teacher", "A small child", "The whole team", "Our manager", "The farmer",
    "A tired tourist", "The night nurse", "My cousin", "The bus driver", "A quiet student", "The baker",
]
_IRRELEVANT_PREDICATES = [
    "bought fresh bread early this morning.", "walked along the river after lunch.", "forgot the keys at home again.",
    "likes to read quietly in the evening.", "painted the garden fence last weekend.", "is learning to play the guitar.",
    "cooked a large pot of soup for everyone.", "missed the train because of the rain.", "planted tomatoes in the spring.",
    "fixed the broken chair with some glue.", "wrote a long letter to an old friend.", "went jogging before sunrise.",
    "lost an umbrella on the way to work.", "cleaned the kitchen after dinner.",
]
_IRRELEVANT_QUESTIONS = [
    "How long should an egg be boiled for a soft yolk?", "What time does the library open on Sundays?",
    "Is it better to water plants in the morning or at night?", "How do you remove a coffee stain from a shirt?",
    "What is a good way to start learning to draw?", "Should I bring a jacket if it might rain later?",
    "How many cups of flour go into a simple pancake recipe?", "Where can I park my bicycle near the station?",
    "What games can children play indoors on a rainy day?", "How often should a car's oil be changed?",
]


def _facts() -> list[tuple[str, str, str]]:
    """Every (relation, subject, true object)."""
    out: list[tuple[str, str, str]] = []
    for country, capital, language, continent in _COUNTRIES:
        out += [("capital", country, capital), ("language", country, language), ("continent", country, continent)]
    for person, occupation, country in _PEOPLE:
        out += [("occupation", person, occupation), ("citizenship", person, country)]
    for company, country, product in _COMPANIES:
        out += [("company_country", company, country), ("product", company, product)]
    out += [("landmark_city", landmark, city) for landmark, city in _LANDMARKS]
    return out


def max_synthetic_edits() -> int:
    """How many distinct edits :func:`synthetic_edits` can make."""
    return len(_facts())


def _objects() -> dict[str, list[str]]:
    objects: dict[str, list[str]] = {name: list(extra) for name, (_, _, extra) in RELATIONS.items()}
    for relation, _, obj in _facts():
        if obj not in objects[relation]:
            objects[relation].append(obj)
    return objects


def synthetic_edits(n: int = 100, seed: int = 0) -> list[EditRequest]:
    """``n`` distinct counterfactual edits (no two on the same subject and relation), seeded."""
    facts = _facts()
    if not 1 <= n <= len(facts):
        raise InvalidInputError(f"synthetic_edits makes 1 to {len(facts)} distinct edits, not {n}")
    rng = random.Random(seed)
    rng.shuffle(facts)
    objects = _objects()
    edits = []
    for i, (relation, subject, truth) in enumerate(facts[:n]):
        template, paraphrases, _ = RELATIONS[relation]
        others = [o for o in objects[relation] if o != truth]
        # every other edit's target has several words (several tokens under any tokenizer), as about half of a
        # real counterfactual set's targets have; the rest may still be several tokens (e.g. "Reykjavik")
        longer = [o for o in others if " " in o]
        target = rng.choice(longer if i % 2 and longer else [o for o in others if " " not in o] or others)
        loc_prompt, loc_answer = rng.choice(_LOCALITY)
        edits.append(
            EditRequest(
                id=f"synthetic-{seed}-{i:04d}",
                prompt=template.format(subject),
                target_new=target,
                ground_truth=truth,
                rephrase_prompt=rng.choice(paraphrases).format(subject),
                locality_prompt=loc_prompt,
                locality_ground_truth=loc_answer,
                subject=subject,
            )
        )
    return edits


def irrelevant_texts() -> list[str]:
    """Everyday sentences and questions (none is a locality probe) used as out-of-scope inputs."""
    sentences = [f"{s} {p}" for s in _IRRELEVANT_SUBJECTS for p in _IRRELEVANT_PREDICATES]
    return sentences + list(_IRRELEVANT_QUESTIONS)
