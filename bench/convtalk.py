"""People, personality traits and small talk for :mod:`memkit.bench.convdata`.

Same template keys as :mod:`memkit.bench.convcatalog`.  Trait statements are how a person shows a trait
without naming it ("I'd pick a mountain trail over a mall"); the open-domain questions ask about the trait
("Would X enjoy a hiking trip?").  Small talk is what most of a real chat is: greetings, fillers, vague
remarks on the same topics as the facts (hard distractors), and goodbyes.
"""

from __future__ import annotations

from dataclasses import dataclass

from memkit.bench.convcatalog import rows

__all__ = ["Trait", "PEOPLE", "LIFE", "TRAITS", "GREETINGS", "GREETING_REPLIES", "OPENERS", "REACTIONS",
           "PREFIXES", "SUFFIXES", "HAPPY_PREFIXES", "HAPPY_SUFFIXES", "SYMPATHY", "TRAIT_REACTIONS",
           "TOPIC_TALK", "FILLERS", "FEEL", "FEEL_SAD", "LISTEN", "LISTEN_SAD", "ACKS", "TRAIT_ADDONS",
           "CONTINUATIONS", "QUESTION_TAILS", "ELABORATE", "ELABORATE_NOW", "CHATTER", "CLOSINGS", "LEADS",
           "LEAD_REPLIES"]


@dataclass(frozen=True)
class Trait:
    key: str
    statements: tuple[str, ...]
    questions: tuple[tuple[str, str], ...]

PEOPLE = rows(
    "name nick gender",
    ("Melanie", "Mel", "f"), ("Caroline", "Caro", "f"), ("Jonathan", "Jon", "m"), ("Gina", "Gigi", "f"),
    ("Andrew", "Drew", "m"), ("Audrey", "Aud", "f"), ("Samuel", "Sam", "m"), ("Evan", "Ev", "m"),
    ("Joanna", "Jo", "f"), ("Nathaniel", "Nate", "m"), ("Deborah", "Deb", "f"), ("Timothy", "Tim", "m"),
    ("Jolene", "Jo", "f"), ("Maria", "Mari", "f"), ("James", "Jamie", "m"), ("Calvin", "Cal", "m"),
    ("Tasha", "Tash", "f"), ("Daniel", "Danny", "m"), ("Priya", "Pri", "f"), ("Marcus", "Marc", "m"),
    ("Elena", "Lena", "f"), ("Rachel", "Rach", "f"), ("Oscar", "Ozzy", "m"), ("Beatrice", "Bea", "f"),
    ("Theodore", "Theo", "m"), ("Natalie", "Nat", "f"), ("Gabriel", "Gabe", "m"), ("Victoria", "Tori", "f"),
    ("Leonard", "Leo", "m"), ("Isabel", "Izzy", "f"), ("Benjamin", "Ben", "m"), ("Kimberly", "Kim", "f"),
)

LIFE = {
    "partner": ("Tom", "Alex", "Jordan", "Chris", "Sara", "Dana", "Mike", "Nina", "Omar", "Leah", "Ryan", "Emma"),
    "kid": ("Lily", "Noah", "Ava", "Leo", "Mia", "Ethan", "Zoe", "Owen", "Ruby", "Finn"),
    "sib": ("Katie", "Paul", "Jess", "Mark", "Hannah", "Luis", "Meg", "Ian"),
    "friend": ("Becca", "Dave", "Marisol", "Kevin", "Tanya", "Greg", "Ana", "Jules"),
    "hometown": ("Ohio", "Michigan", "Texas", "Georgia", "Oregon", "Vermont", "Arizona", "Iowa"),
}


def _t(key: str, statements: str, *questions: str) -> Trait:
    return Trait(key, tuple(statements.split(" | ")), tuple(tuple(q.split(" => ")) for q in questions))


TRAITS: tuple[Trait, ...] = (
    _t("outdoors", "Nothing beats waking up with pine trees outside the window. | I'd pick a mountain trail over a "
       "shopping mall any day of the week. | I feel most like myself out in the woods with no signal. | Every time "
       "I'm stressed I just drive up to the mountains and breathe. | My dream is a tiny cabin in the woods, honestly.",
       "Would {name} likely enjoy a weekend hiking trip in the mountains? => yes, {they} love{s} nature",
       "Would {name} rather vacation in a cabin or a big city? => a cabin in nature"),
    _t("homebody", "Big parties drain me, I'd rather stay in with tea and a movie. | My ideal Friday is pajamas and a "
       "thousand-piece puzzle, no joke. | Crowds stress me out, I left the street fair after twenty minutes. | I'm "
       "such an introvert, I need a whole day to recharge after seeing people. | I turned down three invites this "
       "weekend just to sit on my couch and it was glorious.",
       "Would {name} enjoy a packed music festival with huge crowds? => probably not; crowds drain {them}",
       "Is {name} more of an introvert or an extrovert? => an introvert"),
    _t("animals", "I literally stop to pet every dog I pass on the sidewalk. | Someday I want a little farm full of "
       "rescue animals. | I cried at the end of that documentary about elephants, not ashamed. | Animals just get "
       "me, you know? Way more than people do. | The shelter posted a new batch of kittens and I have to "
       "physically stop myself.",
       "Would {name} be interested in fostering rescue animals? => likely yes; {they} adore{s} animals",
       "Would {name} enjoy volunteering with animals? => yes"),
    _t("books", "I go through like three novels a month, my library card is falling apart. | Rainy Sunday, blanket, "
       "good story - that's my happy place. | I always pack more paperbacks than clothes when I travel. | I "
       "reorganized my shelves by color and now I can't find anything haha.",
       "Would {name} appreciate a bookstore gift card? => yes, {they} read{s} constantly",
       "What might {name} do on a quiet Sunday? => curl up and read"),
    _t("cooking", "Cooking is my therapy, I could spend all Sunday in the kitchen. | I've been experimenting with "
       "spices, my cabinet looks like a market stall. | Food is my love language, I feed everyone who comes over. | "
       "I watched six hours of baking shows and now I want a stand mixer for my kitchen.",
       "Would {name} enjoy a cooking class? => yes, {they} love{s} cooking",
       "What kind of gift would {name} like for {their} kitchen? => cooking gear / a stand mixer"),
    _t("fitness", "I get so cranky if I skip my morning run. | Leg day destroyed me but I love that feeling. | I try "
    "to "
       "exercise every single day, even if it's just a long walk. | Nothing clears my head like a hard workout.",
       "Would {name} likely sign up for a charity 10K run? => yes, {they} love{s} working out",
       "Is {name} someone who exercises regularly? => yes"),
    _t("creative", "I always feel better after a few hours with my sketchbook. | I see colors and shapes everywhere "
       "and just want to make art. | My apartment is basically covered in half-finished projects. | Making things "
       "with my hands is how I process stuff.",
       "Would {name} enjoy making things at an art workshop? => likely yes; {they} {are} very creative",
       "Would {name} enjoy a career in art or design? => likely yes"),
    _t("family", "Sunday dinners with my family are sacred, I never miss one. | My family is my whole world, "
       "honestly. | I call my {parent_rel} every single day. | Being there for the people I love is what I value "
       "most.", "Would {name} likely move far away from {their} family for a job? => probably not; family is "
       "{their} priority", "What does {name} value most? => family"),
    _t("helping", "Helping people through hard times is what gives me purpose. | I keep thinking about how much I "
       "loved mentoring those teens. | Friends always come to me when they're struggling, and I don't mind. | I've "
       "been reading about careers in counseling lately.",
       "What career field would {name} likely pursue? => counseling / social work",
       "Would {name} be a good fit for a job helping people? => yes, {they} care{s} about others"),
    _t("eco", "We stopped buying plastic bags, I carry a tote everywhere now. | I started composting and my "
       "{partner_or_friend} thinks I'm nuts. | Fast fashion makes me so sad, I only buy secondhand now. | I try to "
       "be kind to the environment wherever I can, I bike to work most days.",
       "Would {name} support a community ban on plastic bags? => yes, {they} care{s} about the environment",
       "Is {name} environmentally conscious? => yes"),
    _t("flying", "Planes terrify me, I'd drive twelve hours before I'd fly. | Every bit of turbulence and I'm "
       "gripping the armrest like it owes me money. | I took a ferry instead of a flight last time just to avoid "
       "the airport. | When I travel it's road trips or trains, never planes if I can help it.",
       "Would {name} likely book a long-haul flight to Australia? => probably not; {they} {are} scared of flying",
       "How does {name} prefer to travel? => by car, train or boat, not planes"),
    _t("music", "I always have music on, even in the shower haha. | My playlists are basically my diary. | I can't "
       "focus without something playing in my headphones. | Live music gives me chills every time.",
       "Would {name} enjoy going to a live concert? => yes, music is a big part of {their} life",
       "Would {name} enjoy a music-themed birthday gift? => yes, like concert tickets or records"),
    _t("spiritual", "Church on Sunday mornings keeps me grounded. | I pray every night, it's how I settle my mind. | "
       "My faith got me through the hardest year of my life. | I'm pretty religious, always have been.",
       "Would {name} be considered religious? => yes", "What role does faith play in {name}'s life? => a big "
       "one; it grounds {them} and got {them} through hard times"),
    _t("early", "I'm such a morning person, I'm up at five every day. | Sunrise with a coffee on the porch is my "
       "favorite part of the day. | I'm in bed by nine, I'm basically a grandma lol.",
       "Would {name} enjoy a sunrise yoga class? => likely yes; {they} {are} an early riser",
       "Is {name} a morning person? => yes"),
    _t("adventurous", "I'll try anything once, bungee jumping is next on my list. | Spontaneous plans are the best "
       "plans, I booked a trip two days before leaving once. | Routine makes me itchy, I need new things.",
       "Would {name} try bungee jumping? => probably yes; {they} love{s} adventure",
       "Would {name} enjoy an unplanned trip? => yes"),
    _t("beach", "Give me a beach, some waves and a good book and I'm set. | I grew up near the ocean and I still want "
       "to live there someday. | Salt air fixes everything, I swear.",
       "Would {name} prefer a beach vacation or a ski trip? => a beach vacation",
       "Where would {name} likely want to live someday? => near the ocean"),
    _t("learning", "I love learning new things, I have like four online courses going. | I get a little obsessed "
       "whenever I pick up a new subject. | Sometimes I think about going back to school, honestly. | "
       "Documentaries are my guilty pleasure, I watch one a night.",
       "Would {name} enjoy taking another online course? => probably yes; {they} love{s} learning",
       "Would {name} consider going back to school? => likely yes"),
    _t("ambitious", "I've got a five-year plan and I'm sticking to it. | I want to run my own team someday. | I stay "
       "late at work a lot but I honestly love what I'm building.",
       "Would {name} want to run {their} own team someday? => likely yes; {they} {are} driven",
       "How would you describe {name}'s attitude to work? => ambitious"),
)


def _alts(s: str) -> tuple[str, ...]:
    return tuple(s.split(" | "))


def _pairs(s: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(x.split(" >> ")) for x in s.split(" | "))  # type: ignore[misc]


GREETINGS = _alts(
    "Hey {you}! Long time no talk, how've you been? | Hi {you}! How was your week? | {you}!! It's been forever. "
    "What's new? | Hey hey, got a minute to catch up? | Morning {you}! Hope your week's been kind to you. | Hey "
    "{you}, good to see you! How are things? | Hi! Sorry I've been MIA, life got crazy. How are you? | Hey you! I "
    "was just thinking about you. | Happy Friday {you}! Survived the week? | Hiii, finally a free evening to chat!")
GREETING_REPLIES = _alts(
    "Hey! I've been good, busy but good. You? | Hi {you}! Honestly the week was a blur but I'm hanging in there. "
    "| So good to hear from you! Things are ok, just tired lol. | Heyyy! Pretty good overall. Can't complain. | "
    "Hi {you}! All good here, just recovering from a long week. | Barely survived haha. How about you? | Oh hey! "
    "Perfect timing, I just made coffee. | Hi! Doing alright, it's been one of those weeks. | Hey {you}! Same, "
    "I've missed our chats.")
OPENERS = _alts(
    "So what's new with you? | Anything exciting going on? | How was your weekend? | What have you been up to "
    "lately? | Tell me something good, what's happening with you? | How've things been on your end? | Okay your "
    "turn, any news? | What's been keeping you busy? | Anything fun happen since we last talked? | How are you "
    "holding up these days?")
REACTIONS = _alts(
    "That's amazing, {you}! | Wow, I'm so happy for you! | No way!! Good for you. | Haha love that. | Omg yes. | "
    "That's so exciting! | Aww, that made my day. | Wait, really?! | I love hearing that. | That's wonderful, "
    "seriously. | Ha, classic you. | You deserve it, {you}. | Ahh, that's the best! | Okay that's so cool. | I'm so "
    "proud of you! | That sounds incredible. | Love this for you. | Yay!! | Get it, {you}!")
SYMPATHY = _alts(
    "Oh no, I'm so sorry. | Ugh, that's awful, {you}. | Oh {you}, that's rough. | That's so stressful, I'm sorry. "
    "| Sending you a big hug. | Oof. Are you doing ok? | That's the worst, I'm sorry you're dealing with that.")
TRAIT_REACTIONS = _alts(
    "Ha, that's so you. | Honestly same. | I love that about you. | Not me, but I get it haha. | That's a good way "
    "to be. | Haha I can totally picture that. | You've always been like that! | Respect. | Lol I believe it.")
PREFIXES = _alts("Okay so, | Well, | Anyway, enough about that. | Haha right? Anyway, | Not much, except | Oh, and")
HAPPY_PREFIXES = _alts("Oh! Before I forget, | Honestly things have been a whirlwind. | You'll never guess what. | "
                       "So, news! | Things are good!")
SUFFIXES = _alts("Still processing it tbh. | Life, huh? | Anyway, what's new with you? | I'll tell you more later.")
HAPPY_SUFFIXES = _alts("Still buzzing honestly. | How about you? | Crazy, right? | Feels like a dream. | Wild week. | "
                       "It's been a good month.")
LEADS = _alts("Guess what I did {when}! | Okay I have to tell you what happened {when}. | So something big "
              "happened {when}... | You won't believe what I did {when}.")
LEAD_REPLIES = _alts("What?? Okay, you have to tell me everything, {you}. | Ooh, spill! I'm all ears. | Uh oh, "
                     "what did you do haha? Now I'm nervous. | Okay now I'm curious, don't leave me hanging!")
CHATTER = _pairs(
    "Work has been absolutely nonstop this week. >> Ugh, same. I need a vacation. | I've had like four coffees "
    "today and I'm still sleepy. >> Haha relatable. | It's been raining for days here. >> Same here! Perfect "
    "couch weather though. | Have you been watching anything good? >> I just started a baking show, it's so "
    "wholesome. | We should really hang out in person soon. >> Yes! Let's plan something. | My neighbor's dog "
    "barked all night lol. >> Oh no, did you get any sleep? | I keep meaning to start exercising again. >> "
    "Tomorrow, always tomorrow haha. | Do you have any plans for the weekend? >> Not really, maybe just rest. | "
    "I need a trip somewhere warm so bad. >> Take me with you! | Have you read anything good lately? >> Not "
    "really, I keep falling asleep after two pages lol. | My phone screen cracked again, third time this year. "
    ">> You need a better case haha. | I tried a new cafe downtown, their muffins are huge. >> Ooh, send me the "
    "name! | Traffic this morning was a nightmare. >> The worst. I'm so glad I work from home some days. | I've "
    "been trying to drink more water. >> Haha me too, it's harder than it sounds. | Summer went by way too fast. "
    ">> Right? I feel like it was June yesterday. | My family group chat is out of control lately. >> Haha mine "
    "too, so many memes. | I finally cleaned out my closet. >> Oh that feels so good. | I've been sleeping so "
    "badly. >> Have you tried that tea I told you about? | Everyone at work is sick right now. >> Stay away "
    "from them haha. | I'm thinking about getting bangs. >> Do it! Or don't. Wait, do it. | The grocery bill "
    "this week was insane. >> Everything's so expensive now. | I burned dinner last night lol. >> Cereal for "
    "dinner is a valid choice. | I love that we still do this, just catching up. >> Me too, it means a lot. | "
    "I'm so behind on emails. >> Inbox zero is a myth. | There's a street fair near me next month. >> Fun! "
    "Those are always a good time. | We should do a trip together someday. >> Yes! Somewhere with mountains or "
    "a beach. | I've been thinking about adopting a pet honestly. >> You'd be a great pet parent! | My back is "
    "killing me from my desk chair. >> Get a better chair, seriously. | I saw the cutest puppy at the park. >> "
    "Ugh, I want one. | I almost signed up for a painting class but chickened out. >> Next time! | I've been "
    "craving my mom's cooking. >> Nothing beats home cooking. | The new season of that show is out! >> No "
    "spoilers please haha. | I can't believe it's already almost the holidays. >> Don't remind me! | My "
    "coworker brought in homemade cookies today. >> Best kind of coworker. | I've been listening to the same "
    "album on repeat. >> Haha I do that too. | Honestly I just want a nap. >> Naps are underrated. | How's the "
    "weather where you are? >> Freezing! I'm in three sweaters.")
CLOSINGS = _pairs(
    "I have to run, {you}, but this was so nice! >> Same! Talk soon, take care! | Okay, gotta go make dinner. "
    "Catch up soon? >> Definitely! Bye {you}! | Thanks for listening, {you}. Means a lot. >> Always! Talk "
    "soon. | Alright, bedtime for me. Night! >> Night {you}! Sleep well. | Let's not wait so long next time! >> "
    "Deal. Love you, bye! | Gotta get back to work, ugh. >> Go go! Talk later. | I'll let you go, have a good "
    "week! >> You too, {you}! | Okay that's all my news haha. Bye for now! >> Bye! So good catching up.")

# topical follow-ups: what a friend asks and answers around any event of a topic (not evidence for anything)
TOPIC_TALK: dict[str, tuple[tuple[str, str], ...]] = {
    "pets": _pairs("Is it a lot of work? >> So much, but honestly worth every minute of it. | Do they get along with "
                   "everyone? >> Mostly! The mailman is the sworn enemy though lol. | How's the sleep situation? >> "
                   "What sleep? Haha, we're working on it."),
    "travel": _pairs("How was the trip home? >> Long! But I slept most of the way, so not too bad. | Would you go "
                     "back? >> In a heartbeat, I already miss it. | Did you try the local food? >> Everything I could "
                     "find, I'm still full honestly."),
    "outdoors": _pairs("Was it cold at night? >> Freezing, but the stars made up for it. | Did you go alone? >> A "
                       "couple of friends came along, which made it way more fun. | How were the trails? >> Muddy but "
                       "gorgeous, I'd do it again tomorrow."),
    "family": _pairs("How's everyone doing? >> Older and louder haha, but good. | Was it emotional? >> A little, in "
                     "a good way. Lots of hugs. | Do you get to see them often? >> Not enough, honestly. I want to "
                     "change that."),
    "work": _pairs("How's the commute? >> Twenty minutes each way, I really can't complain. | Are you less stressed? "
                   ">> Some days more than others, it's a process. | What does your family think? >> They've been "
                   "super supportive, which helps a lot."),
    "art": _pairs("Where do you find the time? >> Late nights mostly haha, it's my wind-down thing. | Is it "
                  "expensive? >> The supplies add up fast, I'm learning to be thrifty. | Do you get inspired by "
                  "anyone? >> My grandma was always making things, so probably her."),
    "home": _pairs("Is it stressful? >> So stressful, but exciting at the same time. | How are you settling in? >> "
                   "Slowly but surely, one box at a time. | Did you do it yourselves? >> Mostly, plus a lot of "
                   "YouTube tutorials haha."),
    "food": _pairs("Was it hard? >> Harder than it looks! I made a huge mess. | Where did you get the recipe? >> An "
                   "old cookbook I found at a thrift store. | Did everyone like it? >> They went back for seconds, "
                   "so I'm calling it a win."),
    "music": _pairs("How do you find the time to practice? >> Every night before bed, it's become a routine. | Was "
                    "it loud? >> My ears rang for a whole day haha. | Who else was there? >> A bunch of friends from "
                    "work, it was a great night."),
    "sport": _pairs("Are you sore? >> Everything hurts haha, but the good kind of hurt. | How often do you go? >> "
                    "Twice a week if I'm being good about it. | Is it hard? >> The first few weeks were rough, "
                    "it's getting easier."),
    "health": _pairs("Are you feeling better? >> Slowly getting there, thanks for asking. | Did the doctor say "
                     "anything? >> Rest and patience, basically. Not my strong suits. | Do you need anything? >> "
                     "Just good vibes, thank you. You're sweet."),
    "study": _pairs("Is it a lot of work? >> Homework every single night, I forgot what that was like. | What "
                    "made you decide? >> I was bored and wanted a real challenge. | How are your classmates? >> "
                    "Really nice, we even have a group chat now."),
    "books": _pairs("Would you recommend it? >> Absolutely, I'll lend you my copy next time. | Do you read before "
                    "bed? >> Every night, it's my little ritual. | Any other good ones lately? >> A few, I'll send "
                    "you my list."),
    "purchases": _pairs("Was it expensive? >> Don't ask haha. Worth it though. | Did you buy it new? >> "
                        "Secondhand, I got a really good deal. | Are you happy with it? >> Best decision I've made "
                        "all year, no regrets."),
    "volunteering": _pairs("How did you find out about it? >> A friend posted about it online and I signed up. | "
                           "Is it hard emotionally? >> Sometimes, but it's so worth it. | How often do you go? >> "
                           "Most weekends, when work allows."),
    "relationships": _pairs("How are you feeling about it all? >> Honestly so happy, it still feels unreal. | Did "
                            "you cry? >> Obviously haha, like a baby. | What did your family say? >> They were "
                            "thrilled, my mom called everyone."),
    "sad": _pairs("How are you holding up? >> Better, one day at a time. | Is there anything I can do? >> Just "
                  "listening helps, honestly. | Did you at least get some rest? >> A little, I'm trying to take it "
                  "easy."),
    "misc": _pairs("Whose idea was it? >> Mine, obviously haha. Nobody else was brave enough. | Was it as fun as it "
                   "sounds? >> Even better, honestly. | Would you do it again? >> Ask me next week haha."),
}
FILLERS = _alts("Haha yeah, it's been a week, that's for sure. | Anyway, it's so good to catch up with you. | Ugh, I "
                "know what you mean. | Totally, I've been thinking the same thing. | Ha, that's so true.")
# sentences people wrap around their news and reactions; they make turns as long and as vague as real ones
FEEL = _alts("It's been such a good change for me. | I've been wanting to do that for ages. | Honestly it made my "
             "whole week. | Life has been a lot lately, so this felt really nice. | I'm still kind of pinching myself. "
             "| It feels like things are finally moving in the right direction. | I didn't think I'd actually go "
             "through with it, but here we are!")
FEEL_SAD = _alts("It's been a rough few days, not gonna lie. | Trying to stay positive about it. | One of those "
                 "weeks, you know? | I'm okay, just tired of bad luck. | I'll be fine, it's just a lot right now.")
LISTEN = _alts("I'm so happy for you. | That's huge! | I love that for you. | You deserve it, honestly. | That's "
               "so exciting, seriously. | I'm kind of jealous haha. | Tell me more when you have time!")
LISTEN_SAD = _alts("I'm here if you need anything at all. | That's a lot to deal with at once. | Please take care of "
                   "yourself, okay? | Let me know if I can help somehow.")
ACKS = _alts("Haha, fair enough. | Ah, gotcha. | Mm, I hear you. | Oh wow, okay. | Ha, I love that. | Makes sense!")
TRAIT_ADDONS = _alts("That's just how I'm wired, I guess. | It keeps me sane, honestly. | Some things never change "
                     "haha. | It's kind of my thing at this point.")
# what people add to a short line so it isn't just "Wait, really?!" (real chat turns run 15-20 words)
CONTINUATIONS = _alts(
    "I've been meaning to tell you that for a while. | It's been that kind of week, honestly. | Anyway, I'm "
    "rambling haha. | Sorry, my brain is all over the place today. | I keep thinking about it. | Life is funny like "
    "that. | You always get it, that's why I love talking to you. | Okay, I'm done complaining now haha. | Not much "
    "else to report on my end. | It's the little things, right? | I swear every week flies by faster. | We really "
    "need to catch up in person soon. | I was just telling my {parent_rel} the same thing. | Anyway, you know how "
    "it is. | It's been on my mind a lot lately. | I could talk about this all day haha. | Honestly it's been a "
    "weird month. | Ha, you know me too well.")
QUESTION_TAILS = _alts("I'm so curious. | I want all the details! | I've always wondered about that. | Tell me "
                       "everything. | No pressure, just curious haha. | I need to know!")
# coming back to a friend's news, later in the chat or sessions later: same names, no new facts
ELABORATE = _pairs(
    "I keep thinking about {thing}, tell me more! >> Haha there's not much more to tell, but I'm really glad about "
    "it. | Any news on {thing}? >> Not much new, honestly, but it's still the highlight of my month. | Wait, I never "
    "asked - how did {thing} turn out in the end? >> Really well! I still talk about it way too much lol. | Are you "
    "still thinking about {thing}? >> All the time, it's kind of become my whole personality haha. | So how do you "
    "feel about {thing} now, looking back? >> Honestly so good. It was the right call. | Okay but how is {thing}, "
    "really? >> Good! Some days are easier than others, but good.")
ELABORATE_NOW = _pairs(
    "Wait, tell me more about {thing}! >> Haha where do I even start? It's been a lot, in a good way. | How do you "
    "feel about {thing} so far? >> Honestly really good, better than I expected. | Okay, I need the full story of "
    "{thing} next time. >> Deal! There's a lot to tell haha. | What made you go for {thing}? >> I just felt like it "
    "was time, you know?")
