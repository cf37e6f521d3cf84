"""The assistant source of the demo corpus: slot values and paraphrase templates per intent.

Data only; `mtkeras.demo.corpus` draws utterances from it.
"""


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
POOLS = {
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

TEMPLATES = {
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
COMMAND_VERBS = frozenset((
    "add", "book", "check", "create", "drop", "email", "find", "get", "give",
    "guide", "include", "let", "make", "message", "navigate", "play", "put",
    "queue", "remind", "reply", "reserve", "route", "save", "send", "set",
    "shoot", "show", "shuffle", "start", "stick", "take", "tell", "text",
    "throw", "turn", "wake", "write",
))
QUESTION_WORDS = frozenset((
    "can", "could", "do", "how", "is", "should", "what", "which", "will",
))
GREETINGS = (
    "hey", "hey ,", "hi", "hi ,", "ok", "ok ,", "hey assistant", "hey assistant ,",
    "assistant ,", "hello ,",
)
REQUESTS = (
    "please", "can you", "could you", "would you", "can you please",
    "could you please", "i need you to", "i want you to", "go ahead and",
)
SUFFIXES = ("please", ", please", "thanks", ", thanks", "thank you")

