"""A small synthetic multi-task corpus for a voice assistant, made on the spot.

`generate_demo_corpus` writes two sources in the joint intent/slot folder
format that `mtkeras.data.read_joint_nlu` reads, so a demo can train a real
multi-task model without downloading anything:

    <out_dir>/assistant/{train,valid,test}/seq.in    words, one utterance a line
    <out_dir>/assistant/{train,valid,test}/seq.out   one BIO slot tag per word
    <out_dir>/assistant/{train,valid,test}/label     one intent per line
    <out_dir>/feedback/{train,valid,test}/seq.in     short feedback to the assistant
    <out_dir>/feedback/{train,valid,test}/label      `positive` or `negative`

The feedback source has no `seq.out`: it has no slot labels. All text is lower
case; words are separated by single spaces, punctuation ("?", ",", "!", ":")
stands alone as a word and is tagged `O`. Every word is stable under
`mtkeras.text.tokenizer.split_words` (no punctuation glued to a word's ends), so
the tags line up with what the model sees at serving time.

Utterances are drawn from many paraphrase templates per intent (see `INTENTS`)
filled with slot values from large lists (`SLOT_TYPES`; multi-word values get
`B-x I-x ...`), with optional greetings and polite requests around them. The
exact text of an utterance is never repeated: train, valid and test are
disjoint, and none of them contains a `DEMO_QUERIES` text verbatim (their words
and slot values do occur in training data). Classes are balanced within one
utterance per split. The same seed gives byte-identical files.

Example:
>>> import tempfile
>>> from mtkeras.data import read_joint_nlu
>>> from mtkeras.data.demo import generate_demo_corpus
>>> out = tempfile.mkdtemp()
>>> summary = generate_demo_corpus(out, seed=0)
>>> summary["sources"]["assistant"]["train"]["count"]
2400
>>> train = read_joint_nlu(summary["sources"]["assistant"]["train"]["dir"])
>>> reviews = read_joint_nlu(
...     summary["sources"]["feedback"]["train"]["dir"],
...     label_task="sentiment", tags_task=None)

From a shell: `python -m mtkeras.data.demo OUT_DIR [--seed N]`.
"""

import argparse
import os
import random
import re
import unicodedata

__all__ = [
    "DEMO_QUERIES",
    "INTENTS",
    "SENTIMENTS",
    "SLOT_TYPES",
    "generate_demo_corpus",
]

# --------------------------------------------------------------------------
# Slot values. An entry is either a value ("8 pm") or a pair (lead-in, value)
# whose lead-in words are tagged O: ("on", "friday") gives "on/O friday/B-date".
# --------------------------------------------------------------------------

_CITIES = (
    "amsterdam", "athens", "atlanta", "austin", "bangkok", "barcelona", "berlin",
    "boston", "buenos aires", "cairo", "cape town", "chicago", "copenhagen",
    "delhi", "denver", "dublin", "edinburgh", "hong kong", "istanbul", "kyoto",
    "lisbon", "london", "los angeles", "madrid", "manchester", "melbourne",
    "mexico city", "miami", "montreal", "mumbai", "munich", "nairobi",
    "new orleans", "new york", "oslo", "paris", "prague", "rio de janeiro",
    "rome", "san francisco", "sao paulo", "seattle", "seoul", "singapore",
    "stockholm", "sydney", "tokyo", "toronto", "vancouver", "vienna", "zurich",
)

_CUISINES = (
    "bbq", "chinese", "ethiopian", "french", "greek", "indian", "italian",
    "japanese", "korean", "lebanese", "mexican", "middle eastern", "moroccan",
    "persian", "peruvian", "pizza", "ramen", "seafood", "spanish", "steak",
    "sushi", "tapas", "thai", "turkish", "vegan", "vegetarian", "vietnamese",
)

_RESTAURANTS = (
    "bella napoli", "blue door", "casa maria", "el toro", "golden lotus",
    "green fork", "le petit bistro", "noodle house", "ocean grill",
    "sakura garden", "spice route", "taj palace", "the corner cafe",
    "the golden dragon", "the hungry fox", "the olive tree", "the red lantern",
    "the salt cellar", "the smoking pig", "trattoria roma", "villa verde",
    "wild thyme",
)

_NUMBER_WORDS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve",
)

_PARTY_SIZES = _NUMBER_WORDS[1:10] + tuple(str(n) for n in range(2, 13))


def _times():
    values = []
    for hour in range(1, 13):
        values.append(f"{hour} am" if 5 <= hour <= 11 else f"{hour} pm")
        if hour in (6, 7, 8, 9, 10):
            values.append(f"{hour} pm" if hour >= 6 else f"{hour} am")
        values.append(f"{hour}:30")
    for hour in (6, 7, 8, 9):
        values += [f"{hour}:15 am", f"{hour}:45 pm", f"{hour}:00"]
    for word in ("six", "seven", "eight", "nine", "ten"):
        values += [word, f"{word} thirty", f"half past {word}", f"{word} pm"]
    values += ["noon", "midnight", "quarter to eight", "quarter past seven",
               "eleven am", "five in the morning", "six in the evening"]
    return tuple(sorted(set(values)))


_TIMES = _times()

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_DAYS = (
    "may 3", "june 14", "july 4", "august 21", "september 9", "october 30",
    "march 12", "april 1", "december 24", "january 15",
)
_ORDINALS = ("the 1st", "the 3rd", "the 14th", "the 20th", "the 22nd", "the 31st")
_RELATIVE_DATES = (
    "today", "tomorrow", "tonight", "this weekend", "next week", "this evening",
    "tomorrow morning", "tomorrow night", "tomorrow afternoon",
    "the day after tomorrow",
)

# Dates as bare noun phrases ("for friday", "will tomorrow be ...").
_DATES_BARE = (
    _RELATIVE_DATES
    + _WEEKDAYS
    + tuple(f"next {day}" for day in _WEEKDAYS)
    + _MONTH_DAYS
    + _ORDINALS
)
# Dates as adverbials at the end of a clause ("... in paris on friday").
_DATES = (
    _RELATIVE_DATES
    + tuple(("on", day) for day in _WEEKDAYS)
    + tuple(f"next {day}" for day in _WEEKDAYS)
    + tuple(f"this {day}" for day in _WEEKDAYS[:5])
    + tuple(("on", day) for day in _MONTH_DAYS)
    + tuple(("on", day) for day in _ORDINALS)
)
_DATES_WEATHER = _DATES + ("right now", "this afternoon", "later today")
_DATES_ALARM = _DATES + ("every day", "every weekday", "every morning", "on weekdays")

_CONDITION_VERBS = ("rain", "snow", "hail", "drizzle", "storm", "freeze", "pour")
_CONDITION_ADJECTIVES = (
    "sunny", "cold", "hot", "windy", "foggy", "cloudy", "humid", "freezing",
    "warm", "rainy", "snowy", "stormy", "chilly", "clear",
)
_CONDITION_DEGREES = ("cold", "hot", "warm", "windy", "humid", "chilly", "wet")
_CONDITION_NOUNS = (
    "rain", "snow", "sunshine", "fog", "wind", "thunder", "hail", "frost",
    "a storm", "heavy rain", "strong wind", "a heat wave",
)

_ARTISTS = (
    "adele", "aretha franklin", "beyonce", "billie eilish", "bob dylan",
    "bob marley", "coldplay", "daft punk", "drake", "ed sheeran", "ella fitzgerald",
    "elton john", "fleetwood mac", "herbie hancock", "john coltrane",
    "kendrick lamar", "louis armstrong", "madonna", "metallica", "miles davis",
    "nina simone", "norah jones", "prince", "queen", "radiohead", "rihanna",
    "shakira", "stevie wonder", "taylor swift", "the beatles", "the rolling stones",
    "the weeknd", "whitney houston", "abba", "david bowie", "dua lipa",
)

_GENRES = (
    "ambient", "blues", "bossa nova", "classical", "country", "disco", "electronic",
    "folk", "funk", "gospel", "heavy metal", "hip hop", "house", "indie rock",
    "jazz", "latin", "lofi", "opera", "pop", "punk", "reggae", "rock", "smooth jazz",
    "soul", "techno",
)

_TRACKS = (
    "bad guy", "billie jean", "blinding lights", "bohemian rhapsody", "clocks",
    "dancing queen", "halo", "hallelujah", "hey jude", "hotel california", "imagine",
    "let it be", "purple rain", "respect", "rolling in the deep", "shape of you",
    "smooth", "so what", "superstition", "thriller", "wonderwall", "yellow",
    "yesterday", "take five", "heroes", "levitating", "dreams", "one love",
    "feeling good", "blue in green",
)

_PLAYLISTS = (
    "chill vibes", "dinner party", "focus", "late night", "morning coffee",
    "party mix", "rainy day", "road trip", "running", "study beats",
    "summer hits", "sunday morning", "throwback", "workout", "cooking",
    "sleep", "gym", "wedding", "favorites", "discover weekly",
)

_ALARM_NAMES = (
    "work", "gym", "medicine", "school run", "yoga", "meeting", "flight",
    "pick up kids", "morning run", "laundry", "dentist", "nap", "study", "bus",
)

_CONTACTS = (
    "mom", "dad", "grandma", "grandpa", "my brother", "my sister", "my boss",
    "my wife", "my husband", "alex", "sarah", "john", "emma", "david", "maria",
    "james", "olivia", "liam", "sophie", "mike", "anna", "chris", "laura", "tom",
    "kate", "daniel", "lucy", "ben", "nina", "carlos", "priya", "wei", "fatima",
    "aunt rose", "uncle joe",
)

_MESSAGES = (
    "i am running late", "see you soon", "call me back", "happy birthday",
    "dinner is ready", "on my way", "i will be home at six",
    "do not forget the milk", "the meeting is cancelled", "good luck today",
    "i love you", "can we talk later", "i miss you", "thanks for everything",
    "let us meet at noon", "pick up the kids", "i am at the station",
    "see you at the gym", "the package arrived", "congratulations",
    "running ten minutes late", "meet me downstairs", "i will call you tonight",
    "where are you", "i just landed", "bring an umbrella", "good night",
    "the door is open", "save me a seat", "i am stuck in traffic",
)

_PLACES = (
    "my house", "my office", "the airport", "the train station", "central station",
    "the bus station", "the nearest gas station", "the nearest pharmacy",
    "the hospital", "the museum", "the city center", "the beach", "the mall",
    "the university", "the stadium", "the library", "the post office", "the zoo",
    "the harbor", "the supermarket", "the hotel", "the park", "main street",
    "the conference center", "my parents house", "the gym", "the cinema",
    "the nearest atm", "the old town", "the ferry terminal", "the bakery",
    "the school",
)

_TRANSPORTS = (
    ("by", "car"), ("by", "bike"), ("by", "bus"), ("by", "train"), ("by", "subway"),
    ("by", "taxi"), ("by", "tram"), ("on", "foot"), "walking", "driving", "cycling",
    ("with", "public transport"), ("by", "public transport"),
)

# Pool name -> values. A placeholder `{slot}` draws from the pool named like the
# slot; `{slot:pool}` draws from another pool but still tags the value `slot`.
_POOLS = {
    "alarm_name": _ALARM_NAMES,
    "artist": _ARTISTS,
    "city": _CITIES,
    "cond_adj": _CONDITION_ADJECTIVES,
    "cond_degree": _CONDITION_DEGREES,
    "cond_noun": _CONDITION_NOUNS,
    "cond_verb": _CONDITION_VERBS,
    "contact": _CONTACTS,
    "cuisine": _CUISINES,
    "date": _DATES,
    "date_alarm": _DATES_ALARM,
    "date_bare": _DATES_BARE,
    "date_weather": _DATES_WEATHER,
    "destination": _PLACES,
    "genre": _GENRES,
    "message": _MESSAGES,
    "origin": _PLACES,
    "party_size": _PARTY_SIZES,
    "playlist": _PLAYLISTS,
    "restaurant_name": _RESTAURANTS,
    "time": _TIMES,
    "track": _TRACKS,
    "transport": _TRANSPORTS,
}

# --------------------------------------------------------------------------
# Templates. `(a|b)` picks one alternative, `[a|b]` picks one or nothing,
# `{slot}` / `{slot:pool}` is a slot value, and `a/an` becomes "a" or "an"
# by the next word.
# --------------------------------------------------------------------------

_ASSISTANT_TEMPLATES = {
    "AddToPlaylist": (
        "add {track} to my {playlist} playlist",
        "add {track} by {artist} to {playlist}",
        "add this (song|track|tune) to my {playlist} playlist",
        "put {track} on my {playlist} playlist",
        "save this (song|track) to {playlist}",
        "add {artist} to my {playlist} playlist",
        "include {track} in the {playlist} playlist",
        "add the song {track} to {playlist}",
        "can you add {track} to my {playlist} list",
        "i want {track} in my {playlist} playlist",
        "save {track} by {artist} to my {playlist} playlist",
        "add something by {artist} to {playlist}",
        "put this {artist} song on my {playlist} playlist",
        "add {track} to the {playlist} playlist",
        "stick {track} in {playlist}",
        "add this to [my] {playlist}",
        "add {track} from {artist} to my {playlist} list",
        "save this to my {playlist} playlist",
        "add another {artist} song to {playlist}",
        "i would like {track} on my {playlist} playlist",
    ),
    "BookRestaurant": (
        "book a table for {party_size} at {time} in {city}",
        "book a table for {party_size} [people] at {restaurant_name} {date}",
        "reserve a table at {restaurant_name} for {party_size} [people] at {time}",
        "find (me|us) a/an {cuisine} restaurant in {city} for {party_size} [people]",
        "i need a table for {party_size} {date} at {time}",
        "i want to book a/an {cuisine} place in {city} for {party_size}",
        "make a reservation for {party_size} at {restaurant_name} {date} at {time}",
        "can i get a table for {party_size} at {time} {date}",
        "is there a/an {cuisine} restaurant in {city} with a table for {party_size} {date}",
        "reserve {restaurant_name} for {date:date_bare} at {time}",
        "we are {party_size} , book us a table at {restaurant_name}",
        "table for {party_size} at {restaurant_name} at {time}",
        "get (me|us) a table at a/an {cuisine} restaurant in {city} {date}",
        "book {restaurant_name} in {city} for {party_size} [people] {date}",
        "i would like to reserve a table for {party_size} at {time}",
        "book a table at the best {cuisine} place in {city}",
        "could we get a table for {party_size} at {restaurant_name} around {time}",
        "reserve a spot for {party_size} at {time} {date} in {city}",
        "book a table at {restaurant_name} in {city}",
        "find a table for {party_size} at a/an {cuisine} place {date}",
        "book dinner for {party_size} at {time} at {restaurant_name}",
    ),
    "GetDirections": (
        "how do i get to {destination}",
        "directions to {destination} [from {origin}]",
        "navigate to {destination}",
        "take me to {destination}",
        "show me the way to {destination} {transport}",
        "how long does it take to get to {destination} {transport}",
        "what is the fastest route to {destination}",
        "get me directions from {origin} to {destination}",
        "i need to get to {destination} {transport}",
        "find a route from {origin} to {destination}",
        "how far is {destination} from {origin}",
        "which way to {destination}",
        "guide me to {destination} {transport}",
        "give me directions to {destination}",
        "what is the best way to get to {destination} {transport}",
        "start navigation to {destination}",
        "how do i go from {origin} to {destination} {transport}",
        "route me to {destination} [avoiding traffic]",
        "i want to go to {destination} {transport}",
        "how many minutes to {destination} {transport}",
    ),
    "GetWeather": (
        "what will the weather be like in {city} {date:date_weather}",
        "what is the weather (in|for) {city} {date:date_weather}",
        "will it {condition:cond_verb} in {city} {date:date_weather}",
        "is it going to be {condition:cond_adj} in {city} {date:date_weather}",
        "how is the weather in {city} {date:date_weather}",
        "weather forecast for {city} {date:date_weather}",
        "do i need an umbrella in {city} {date:date_weather}",
        "how {condition:cond_degree} will it be in {city} {date:date_weather}",
        "tell me the forecast for {city} {date:date_weather}",
        "check the weather in {city} for {date:date_bare}",
        "is there any {condition:cond_noun} expected in {city} {date:date_weather}",
        "what is the temperature in {city} {date:date_weather}",
        "should i expect {condition:cond_noun} in {city} {date:date_weather}",
        "give me the weather for {city}",
        "how {condition:cond_degree} is it in {city} {date:date_weather}",
        "weather in {city} {date:date_weather}",
        "what is the forecast looking like for {city} {date:date_weather}",
        "is it {condition:cond_adj} in {city} {date:date_weather}",
        "will {date:date_bare} be {condition:cond_adj} in {city}",
        "show me the weather for {city} {date:date_weather}",
        "what is the weather going to be like {date:date_weather}",
    ),
    "PlayMusic": (
        "play some {genre} by {artist}",
        "play {track} by {artist}",
        "play [some] music by {artist}",
        "put on [some] {genre} [music]",
        "play my {playlist} playlist",
        "i want to hear {track}",
        "play {track}",
        "shuffle my {playlist} playlist",
        "can you play something by {artist}",
        "play the song {track}",
        "start my {playlist} playlist",
        "i am in the mood for [some] {genre}",
        "play {artist}",
        "let me hear [some] {genre} from {artist}",
        "play the {playlist} playlist on shuffle",
        "throw on some {genre}",
        "queue up {track} by {artist}",
        "play [some] {genre} [music]",
        "turn on [some] {genre} [music]",
        "put on {track} by {artist}",
        "i want to listen to {artist}",
    ),
    "SendMessage": (
        "text {contact} that {message}",
        "send a message to {contact} saying {message}",
        "tell {contact} {message}",
        "send {contact} a text saying {message}",
        "message {contact} {message}",
        "let {contact} know {message}",
        "write to {contact} that {message}",
        "send a text to {contact}",
        "send {contact} a message",
        "can you message {contact} and say {message}",
        "shoot {contact} a text that says {message}",
        "i want to send {contact} a message",
        "send this to {contact} : {message}",
        "drop {contact} a (message|line) saying {message}",
        "text {contact} and tell them {message}",
        "send a quick message to {contact} that says {message}",
        "email {contact} saying {message}",
        "write a message to {contact} : {message}",
        "reply to {contact} with {message}",
    ),
    "SetAlarm": (
        "set an alarm for {time}",
        "set an alarm for {time} {date:date_alarm}",
        "wake me up at {time} [{date:date_alarm}]",
        "wake me up {date} at {time}",
        "set a/an {alarm_name} alarm for {time}",
        "create an alarm called {alarm_name} at {time}",
        "i need an alarm at {time} {date:date_alarm}",
        "alarm at {time} {date:date_alarm}",
        "set my alarm to {time}",
        "set an alarm named {alarm_name} for {time} {date:date_alarm}",
        "can you wake me at {time}",
        "make an alarm for {time} called {alarm_name}",
        "get me up at {time} {date}",
        "i have to be up at {time} {date}",
        "put an alarm on for {time}",
        "new alarm at {time} for {alarm_name}",
        "add an alarm for {time} {date} labeled {alarm_name}",
        "set a/an {alarm_name} alarm {date} at {time}",
        "remind me with an alarm at {time} {date}",
    ),
}

# Imperatives may take a polite request ("can you ..."); questions may end in "?".
_COMMAND_VERBS = frozenset((
    "add", "book", "check", "create", "drop", "email", "find", "get", "give",
    "guide", "include", "let", "make", "message", "navigate", "play", "put",
    "queue", "remind", "reply", "reserve", "route", "save", "send", "set",
    "shoot", "show", "shuffle", "start", "stick", "take", "tell", "text",
    "throw", "turn", "wake", "write",
))
_QUESTION_WORDS = frozenset((
    "can", "could", "do", "how", "is", "should", "what", "which", "will",
))
_GREETINGS = (
    "hey", "hey ,", "hi", "hi ,", "ok", "ok ,", "hey assistant", "hey assistant ,",
    "assistant ,", "hello ,",
)
_REQUESTS = (
    "please", "can you", "could you", "would you", "can you please",
    "could you please", "i need you to", "i want you to", "go ahead and",
)
_SUFFIXES = ("please", ", please", "thanks", ", thanks", "thank you")

# --------------------------------------------------------------------------
# Feedback to the assistant.
# --------------------------------------------------------------------------

_FEEDBACK_POOLS = {
    "pos_adj": (
        "helpful", "great", "perfect", "amazing", "awesome", "excellent", "useful",
        "brilliant", "fantastic", "wonderful", "accurate", "quick", "impressive",
        "lovely", "smart", "good", "nice", "spot on", "fast", "clear",
    ),
    "neg_adj": (
        "useless", "terrible", "awful", "wrong", "annoying", "slow", "confusing",
        "frustrating", "disappointing", "bad", "horrible", "unhelpful", "pointless",
        "inaccurate", "broken", "ridiculous", "a mess", "a disaster", "lazy",
        "poor",
    ),
    "intens": (
        "really", "very", "so", "super", "extremely", "totally", "absolutely",
        "pretty", "incredibly", "quite", "truly", "just",
    ),
    "thing": (
        "the alarm", "the reservation", "the booking", "the directions",
        "the forecast", "the weather report", "that playlist", "the song choice",
        "the message", "the restaurant suggestion", "your answer", "the route",
        "the music", "that recommendation", "the text you sent", "the table you booked",
        "the wake up alarm", "that song", "the navigation", "your reply",
    ),
    "pos_feeling": ("happy", "pleased", "impressed", "satisfied", "glad", "delighted"),
    "neg_feeling": ("disappointed", "annoyed", "frustrated", "unhappy", "upset", "fed up"),
    "job_adj": ("great", "good", "nice", "excellent", "amazing", "fantastic", "brilliant", "awesome"),
}

_FEEDBACK_TEMPLATES = {
    "positive": (
        "that was [{intens}] {pos_adj}",
        "you are [{intens}] {pos_adj}",
        "{thing} was [{intens}] {pos_adj}",
        "thanks , {thing} was {pos_adj}",
        "thank you , that was [{intens}] {pos_adj}",
        "{job_adj} (job|work) [on {thing}]",
        "i (love|like|enjoyed) {thing}",
        "i really like how you handled {thing}",
        "{thing} worked (perfectly|great|like a charm|just fine|really well)",
        "you got {thing} exactly right",
        "you (nailed|aced) {thing}",
        "you found exactly what i wanted",
        "that (helped|helps) a lot",
        "(this|that) is exactly what i needed",
        "{thing} was spot on",
        "i am [{intens}] {pos_feeling} with {thing}",
        "{intens} {pos_adj} , thanks",
        "well done , {thing} was {pos_adj}",
        "you made my day",
        "this is [{intens}] {pos_adj}",
        "love it , {thing} was {pos_adj}",
        "best assistant ever",
        "(much|way) better than last time",
    ),
    "negative": (
        "that was [{intens}] {neg_adj}",
        "that was not {pos_adj} [at all]",
        "you are [{intens}] {neg_adj}",
        "you were not {pos_adj} [at all]",
        "{thing} was [{intens}] {neg_adj}",
        "{thing} was not {pos_adj}",
        "{thing} did not work [at all]",
        "you got {thing} wrong [again]",
        "that is not what i asked for",
        "you (messed up|ruined|botched) {thing}",
        "why did you mess up {thing}",
        "i am [{intens}] {neg_feeling} with {thing}",
        "i (hate|do not like|disliked) {thing}",
        "{thing} was (completely|totally) off",
        "that did not help [at all]",
        "(stop|quit) getting {thing} wrong",
        "you never get {thing} right",
        "{intens} {neg_adj}",
        "this is [{intens}] {neg_adj}",
        "(worse|even worse) than last time",
        "{thing} was not what i wanted",
        "you keep getting {thing} wrong",
        "worst assistant ever",
    ),
}

# Used sparingly: the sentiment is the opposite of the words' surface.
_FEEDBACK_TWISTS = {
    "positive": (
        "not bad at all",
        "that was not bad [at all]",
        "{thing} was not bad",
        "no complaints , {thing} was {pos_adj}",
        "i have no complaints",
        "you never disappoint",
        "could not have asked for better",
        "nothing to complain about",
    ),
    "negative": (
        "not great",
        "not exactly {pos_adj}",
        "i expected better",
        "{thing} could have been better",
        "not {pos_adj} at all",
        "that was not helpful",
        "hardly {pos_adj}",
    ),
}
_FEEDBACK_TWIST_RATE = 0.08
_FEEDBACK_OPENERS = {
    "positive": ("wow ,", "oh ,", "honestly ,", "well ,", "hey ,", "thanks ,", "nice ,", "great ,"),
    "negative": ("ugh ,", "seriously ,", "come on ,", "honestly ,", "well ,", "oh ,", "hey ,", "hmm ,"),
}
_FEEDBACK_CLOSERS = {
    "positive": ("!", "thanks", "thank you", "keep it up", "thanks a lot", "!"),
    "negative": ("!", "please fix it", "do better", "seriously", "again", "!"),
}

INTENTS = tuple(sorted(_ASSISTANT_TEMPLATES))
SENTIMENTS = tuple(sorted(_FEEDBACK_TEMPLATES))


def _template_slot_types():
    types = set()
    for templates in _ASSISTANT_TEMPLATES.values():
        for template in templates:
            for match in re.finditer(r"\{(\w+)(?::\w+)?\}", template):
                types.add(match.group(1))
    return tuple(sorted(types))


SLOT_TYPES = _template_slot_types()

# Three queries for `make demo`: never generated verbatim, but every word and
# slot value occurs in the training split.
DEMO_QUERIES = (
    ("book a table for two at 8 pm in paris", "BookRestaurant"),
    ("what will the weather be like in london tomorrow", "GetWeather"),
    ("play some jazz by miles davis", "PlayMusic"),
)

_SPLITS = ("train", "valid", "test")

# --------------------------------------------------------------------------
# Rendering.
# --------------------------------------------------------------------------

_CHOICE = re.compile(r"\(([^()\[\]]*)\)")
_OPTION = re.compile(r"\[([^()\[\]]*)\]")
_PLACEHOLDER = re.compile(r"^\{(\w+)(?::(\w+))?\}$")


def _resolve_groups(template, rng):
    """Resolves `(a|b)` and `[a|b]` groups left to right."""
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    text = _OPTION.sub(
        lambda m: rng.choice(m.group(1).split("|")) if rng.random() < 0.5 else "", text
    )
    return text


def _render(template, rng, pools):
    """Fills a template; returns `(words, tags)` lists (tags are BIO slot tags)."""
    words, tags = [], []
    for piece in _resolve_groups(template, rng).split():
        match = _PLACEHOLDER.match(piece)
        if match is None:
            words.append(piece)
            tags.append("O")
            continue
        slot, pool = match.group(1), match.group(2) or match.group(1)
        value = rng.choice(pools[pool])
        lead = ""
        if isinstance(value, tuple):
            lead, value = value
        for word in lead.split():
            words.append(word)
            tags.append("O")
        for index, word in enumerate(value.split()):
            words.append(word)
            tags.append(("B-" if index == 0 else "I-") + slot)
    for index, word in enumerate(words):
        if word == "a/an":
            following = words[index + 1] if index + 1 < len(words) else ""
            words[index] = "an" if following[:1] in ("a", "e", "i", "o", "u") else "a"
    return words, tags


def _decorate(words, tags, rng):
    """Adds an optional greeting, polite request, thanks and question mark."""
    first = words[0]
    style = "command" if first in _COMMAND_VERBS else (
        "question" if first in _QUESTION_WORDS else "other")
    before, after = [], []
    if rng.random() < 0.25:
        before += rng.choice(_GREETINGS).split()
    asking = style == "question"
    polite = False
    if style == "command" and rng.random() < 0.35:
        request = rng.choice(_REQUESTS)
        before += request.split()
        polite = "please" in request
        asking = request.split()[0] in ("can", "could", "would")
    if not polite and style != "question" and rng.random() < 0.2:
        after += rng.choice(_SUFFIXES).split()
    if asking and "thanks" not in after and "thank" not in after and rng.random() < 0.5:
        after.append("?")
    return before + words + after, ["O"] * len(before) + tags + ["O"] * len(after)


def _make_assistant(intent, rng):
    template = rng.choice(_ASSISTANT_TEMPLATES[intent])
    words, tags = _decorate(*_render(template, rng, _POOLS), rng)
    return " ".join(words), " ".join(tags), intent


def _make_feedback(sentiment, rng):
    if rng.random() < _FEEDBACK_TWIST_RATE:
        template = rng.choice(_FEEDBACK_TWISTS[sentiment])
    else:
        template = rng.choice(_FEEDBACK_TEMPLATES[sentiment])
    words, _ = _render(template, rng, _FEEDBACK_POOLS)
    if rng.random() < 0.25:
        words = rng.choice(_FEEDBACK_OPENERS[sentiment]).split() + words
    if rng.random() < 0.2:
        words = words + rng.choice(_FEEDBACK_CLOSERS[sentiment]).split()
    return " ".join(words), None, sentiment


# --------------------------------------------------------------------------
# Sampling and writing.
# --------------------------------------------------------------------------


def _quotas(sizes, classes):
    """Per split, class -> count; remainders rotate so classes stay balanced."""
    quotas, offset = [], 0
    for size in sizes:
        base, extra = divmod(size, len(classes))
        quota = {}
        for index, name in enumerate(classes):
            quota[name] = base + (1 if (index - offset) % len(classes) < extra else 0)
        offset += extra
        quotas.append(quota)
    return quotas


def _sample(make, classes, sizes, rng, seen, forbidden):
    """Draws distinct utterances, balanced by class, dealt out to the splits."""
    quotas = _quotas(sizes, classes)
    drawn = {}
    for name in classes:
        needed = sum(quota[name] for quota in quotas)
        items, misses = [], 0
        while len(items) < needed:
            item = make(name, rng)
            if item[0] in seen or item[0] in forbidden:
                misses += 1
                if misses > 200 * needed + 1000:
                    raise ValueError(
                        f"cannot draw {needed} distinct utterances for {name!r}: "
                        f"the templates ran out after {len(items)}; ask for fewer"
                    )
                continue
            seen.add(item[0])
            items.append(item)
        rng.shuffle(items)
        drawn[name] = items
    splits = []
    for quota in quotas:
        split = []
        for name in classes:
            split += drawn[name][:quota[name]]
            drawn[name] = drawn[name][quota[name]:]
        rng.shuffle(split)
        splits.append(split)
    return splits


def _is_stable_word(word):
    """True when the tokenizer keeps `word` whole: all punctuation, or none at its ends."""
    def punct(ch):
        return unicodedata.category(ch).startswith("P")
    if all(punct(ch) for ch in word):
        return True
    return not punct(word[0]) and not punct(word[-1])


def _write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line + "\n")


def _check_sizes(name, sizes):
    sizes = tuple(sizes)
    if len(sizes) != 3 or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ValueError(f"{name} must be three positive ints (train, valid, test), got {sizes!r}")
    return sizes


def generate_demo_corpus(out_dir, seed=0, assistant_sizes=(2400, 300, 300),
                         feedback_sizes=(1200, 150, 150)):
    """Writes the demo corpus under `out_dir` (see the module docstring).

    Args:
        out_dir: str or path. Created when missing; existing files are replaced.
        seed: int. Same seed, byte-identical files.
        assistant_sizes: (train, valid, test) utterance counts for `assistant`.
        feedback_sizes: (train, valid, test) utterance counts for `feedback`.

    Returns:
        dict: `{"out_dir", "seed", "sources": {source: {split: {"dir", "files",
        "count", "label_counts"}}}}`, where `files` maps file name to path and
        `label_counts` maps each intent or sentiment to its count.

    Raises:
        ValueError: sizes that are not three positive ints, or more utterances
        asked for than the templates can make distinct.
    """
    assistant_sizes = _check_sizes("assistant_sizes", assistant_sizes)
    feedback_sizes = _check_sizes("feedback_sizes", feedback_sizes)
    out_dir = os.fspath(out_dir)
    rng = random.Random(seed)
    forbidden = frozenset(text for text, _ in DEMO_QUERIES)
    sources = {
        "assistant": (_sample(_make_assistant, INTENTS, assistant_sizes, rng, set(), forbidden),
                      ("seq.in", "seq.out", "label")),
        "feedback": (_sample(_make_feedback, SENTIMENTS, feedback_sizes, rng, set(), forbidden),
                     ("seq.in", "label")),
    }
    summary = {"out_dir": out_dir, "seed": seed, "sources": {}}
    for source, (splits, file_names) in sources.items():
        summary["sources"][source] = {}
        for split_name, items in zip(_SPLITS, splits):
            texts = [text for text, _, _ in items]
            tags = [tag for _, tag, _ in items]
            labels = [label for _, _, label in items]
            assert not forbidden.intersection(texts), "a DEMO_QUERIES text was generated"
            for text, tag in zip(texts, tags):
                words = text.split(" ")
                assert all(words) and all(_is_stable_word(w) for w in words), text
                assert tag is None or len(tag.split(" ")) == len(words), (text, tag)
            directory = os.path.join(out_dir, source, split_name)
            os.makedirs(directory, exist_ok=True)
            columns = {"seq.in": texts, "seq.out": tags, "label": labels}
            files = {}
            for file_name in file_names:
                files[file_name] = os.path.join(directory, file_name)
                _write_lines(files[file_name], columns[file_name])
            counts = {}
            for label in sorted(labels):
                counts[label] = counts.get(label, 0) + 1
            summary["sources"][source][split_name] = {
                "dir": directory,
                "files": files,
                "count": len(items),
                "label_counts": counts,
            }
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mtkeras.data.demo",
        description="Writes the synthetic voice-assistant demo corpus.")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary = generate_demo_corpus(args.out_dir, seed=args.seed)
    for source, splits in summary["sources"].items():
        for split_name, info in splits.items():
            print(f"{source}/{split_name}: {info['count']} lines in {info['dir']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
