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
>>> from mtkeras.demo import generate_demo_corpus
>>> out = tempfile.mkdtemp()
>>> summary = generate_demo_corpus(out, seed=0)
>>> summary["sources"]["assistant"]["train"]["count"]
2400
>>> train = read_joint_nlu(summary["sources"]["assistant"]["train"]["dir"])
>>> reviews = read_joint_nlu(
...     summary["sources"]["feedback"]["train"]["dir"],
...     label_task="sentiment", tags_task=None)

From a shell: `python -m mtkeras.demo.corpus OUT_DIR [--seed N]`.
"""
import argparse
import os
import random
import re
import unicodedata

from mtkeras.demo import assistant, feedback

__all__ = [
    "DEMO_QUERIES",
    "INTENTS",
    "SENTIMENTS",
    "SLOT_TYPES",
    "generate_demo_corpus",
]

INTENTS = tuple(sorted(assistant.TEMPLATES))
SENTIMENTS = tuple(sorted(feedback.TEMPLATES))


def _template_slot_types():
    types = set()
    for templates in assistant.TEMPLATES.values():
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
    style = "command" if first in assistant.COMMAND_VERBS else (
        "question" if first in assistant.QUESTION_WORDS else "other")
    before, after = [], []
    if rng.random() < 0.25:
        before += rng.choice(assistant.GREETINGS).split()
    asking = style == "question"
    polite = False
    if style == "command" and rng.random() < 0.35:
        request = rng.choice(assistant.REQUESTS)
        before += request.split()
        polite = "please" in request
        asking = request.split()[0] in ("can", "could", "would")
    if not polite and style != "question" and rng.random() < 0.2:
        after += rng.choice(assistant.SUFFIXES).split()
    if asking and "thanks" not in after and "thank" not in after and rng.random() < 0.5:
        after.append("?")
    return before + words + after, ["O"] * len(before) + tags + ["O"] * len(after)


def _make_assistant(intent, rng):
    template = rng.choice(assistant.TEMPLATES[intent])
    words, tags = _decorate(*_render(template, rng, assistant.POOLS), rng)
    return " ".join(words), " ".join(tags), intent


def _make_feedback(sentiment, rng):
    if rng.random() < feedback.TWIST_RATE:
        template = rng.choice(feedback.TWISTS[sentiment])
    else:
        template = rng.choice(feedback.TEMPLATES[sentiment])
    words, _ = _render(template, rng, feedback.POOLS)
    if rng.random() < 0.25:
        words = rng.choice(feedback.OPENERS[sentiment]).split() + words
    if rng.random() < 0.2:
        words = words + rng.choice(feedback.CLOSERS[sentiment]).split()
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
        prog="python -m mtkeras.demo.corpus",
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
