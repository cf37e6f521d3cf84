"""The feedback source of the demo corpus: sentiment templates and their word pools.

Data only; `mtkeras.demo.corpus` draws texts from it.
"""


# --------------------------------------------------------------------------
# Feedback to the assistant.
# --------------------------------------------------------------------------

POOLS = {
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

TEMPLATES = {
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
TWISTS = {
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
TWIST_RATE = 0.08
OPENERS = {
    "positive": ("wow ,", "oh ,", "honestly ,", "well ,", "hey ,", "thanks ,", "nice ,", "great ,"),
    "negative": ("ugh ,", "seriously ,", "come on ,", "honestly ,", "well ,", "oh ,", "hey ,", "hmm ,"),
}
CLOSERS = {
    "positive": ("!", "thanks", "thank you", "keep it up", "thanks a lot", "!"),
    "negative": ("!", "please fix it", "do better", "seriously", "again", "!"),
}

