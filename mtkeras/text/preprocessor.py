"""Raw text to word ids, inside the model graph."""

import collections
import collections.abc

import keras
import tensorflow as tf

from mtkeras.text.tokenizer import pad_words, split_words

PADDING_TOKEN = ""
OOV_TOKEN = "[UNK]"

# Word shapes, id 0 being padding; each is a full-match pattern (RE2) tried in this order.
SHAPES = (
    ("lower", r"\p{Ll}+"),
    ("title", r"\p{Lu}\p{Ll}+"),
    ("upper", r"\p{Lu}+"),
    ("mixed", r"\p{L}+"),
    ("digits", r"[0-9]+([.,:/-][0-9]+)*"),
    ("alphanumeric", r".*[0-9].*"),
    ("other", r".+"),
)


def word_shapes(words):
    """`[B, T]` int32 shape ids (1 + the index in `SHAPES`; 0 for padding) of dense words."""
    shape_ids = tf.zeros(tf.shape(words), tf.int32)
    # Later patterns first, so that the first matching one in `SHAPES` order is the one kept.
    for index in reversed(range(len(SHAPES))):
        matched = tf.strings.regex_full_match(words, SHAPES[index][1])
        shape_ids = tf.where(matched, index + 1, shape_ids)
    return shape_ids


@keras.saving.register_keras_serializable(package="mtkeras")
class WordPreprocessor(keras.layers.Layer):
    """Turns a batch of raw strings into word ids, character ids, word shapes and a padding mask.

    Words come from `mtkeras.text.split_words`; they are lower-cased (when
    `lowercase=True`) and looked up in a fixed vocabulary; with
    `lowercase=False` a word not in it is looked up again lower-cased (so
    "Tokyo" finds "tokyo" when only that form is known). Id 0 is padding and
    id 1 is the out-of-vocabulary word, so `vocabulary_size` is
    `len(vocabulary) + 2`. Each word's first `max_word_chars` characters (case
    kept) are hashed into `char_buckets` ids (0 is padding), so words never
    seen in training still get a spelling-based representation and no
    character vocabulary has to be kept. `shape_ids` gives each word's shape
    (`SHAPES`: lower, Title, UPPER, mIxed, digits, alphanumeric, other),
    computed before lower-casing: the case and digit patterns NER needs.

    Args:
        vocabulary: list of str. Known words, most frequent first, without the
            padding and OOV entries. Build it with `from_texts`.
        max_words: int or None. Words kept per text; longer texts are cut.
        lowercase: bool. Lower-case words before the lookup.
        max_word_chars: int. Characters kept per word for `char_ids`.
        char_buckets: int. Number of character ids, padding included.

    Attributes:
        first_singleton_id: int or None. Set by `from_texts`: the id of the
            first vocabulary word seen only once in the texts (not saved).

    Example:
    >>> pre = WordPreprocessor.from_texts(["book a table", "play jazz"])
    >>> pre(tf.constant(["book jazz now"]))["token_ids"].numpy().tolist()
    [[2, 6, 1]]
    """

    def __init__(self, vocabulary, max_words=128, lowercase=True, max_word_chars=16, char_buckets=512, **kwargs):
        super().__init__(**kwargs)
        vocabulary = [str(word) for word in vocabulary]
        bad = [w for w in vocabulary if w in (PADDING_TOKEN, OOV_TOKEN)]
        if bad:
            raise ValueError(
                "Received an invalid `vocabulary`: it must not contain the "
                f"padding or OOV entries. Received: {bad[:3]}"
            )
        if max_words is not None and (not isinstance(max_words, int) or max_words < 1):
            raise ValueError(
                "Received an invalid value for `max_words`, expected a positive "
                f"integer or None. Received: max_words={max_words!r}"
            )
        for arg, value in (("max_word_chars", max_word_chars), ("char_buckets", char_buckets)):
            if not isinstance(value, int) or value < 2:
                raise ValueError(
                    f"Received an invalid value for `{arg}`, expected an integer >= 2. Received: {arg}={value!r}"
                )
        self.vocabulary = vocabulary
        self.max_words = max_words
        self.lowercase = lowercase
        self.max_word_chars = max_word_chars
        self.char_buckets = char_buckets
        self.first_singleton_id = None
        self.first_extra_id = None
        # === Layers ===
        self.lookup = keras.layers.StringLookup(
            vocabulary=vocabulary,
            mask_token=PADDING_TOKEN,
            oov_token=OOV_TOKEN,
            num_oov_indices=1,
            output_mode="int",
            name="word_lookup",
        )
        self.built = True

    @property
    def vocabulary_size(self):
        return len(self.vocabulary) + 2

    @classmethod
    def build(cls, texts=None, vocabulary=None, max_vocabulary_size=20000, max_words=128, lowercase=True):
        """From exactly one of `texts` (a vocabulary adapted on them, `from_texts`) or a given `vocabulary`."""
        if (texts is None) == (vocabulary is None):
            raise ValueError("Pass exactly one of `texts` (to adapt a vocabulary) or `vocabulary`.")
        if vocabulary is not None:
            return cls(vocabulary, max_words=max_words, lowercase=lowercase)
        return cls.from_texts(texts, max_vocabulary_size=max_vocabulary_size, max_words=max_words, lowercase=lowercase)

    @classmethod
    def from_texts(cls, texts, max_vocabulary_size=20000, min_count=1, batch_size=4096, extra_words=(), **kwargs):
        """Builds the vocabulary from training texts.

        Words are ranked by frequency (ties broken alphabetically, so the result
        is deterministic) and cut to `max_vocabulary_size` entries seen at least
        `min_count` times (counted over all the texts). `texts` may also be a
        mapping of source name to texts (a multi-task model's datasets): then
        each source keeps its own `max_vocabulary_size` most frequent words
        (ranked by its own counts) and the vocabulary is their union, ranked by
        the counts over all sources, so that a large source's words never push
        out a small one's: the model knows every word each task's own model
        would. (One cap of 20,000 over SNIPS, SST-2 and WNUT-17 cut 5,244 of
        SNIPS' 11,286 words; a SNIPS slots model given that vocabulary lost 1.9
        points of F1 on the test sentences holding one;
        benchmarks/README.md.)

        The result's `source_coverage` maps each source (None for a plain
        list) to `(words kept, words seen at least min_count times)`. Its
        `first_singleton_id` is the id of the first word seen
        only once (every later id is one too), which the from-scratch
        encoders' `singleton_dropout` uses; it is not part of the saved
        config, and None on a preprocessor built from a vocabulary.
        `extra_words` (e.g. the most frequent words of pretrained vectors) are
        added after the training words, those already in it skipped; the
        result's `first_extra_id` is the id of the first one.
        """
        lowercase = kwargs.get("lowercase", True)
        sources = texts if isinstance(texts, collections.abc.Mapping) else {None: texts}
        source_counts = {source: cls._count_words(group, lowercase, batch_size) for source, group in sources.items()}
        counts = collections.Counter()
        for source_count in source_counts.values():
            counts.update(source_count)

        def ranked(by):
            return sorted((w for w in by if counts[w] >= min_count and w not in (PADDING_TOKEN, OOV_TOKEN)),
                          key=lambda w: (-by[w], w))

        own = {source: ranked(source_count) for source, source_count in source_counts.items()}
        if len(own) == 1:  # its counts are the total ones
            (candidates,) = own.values()
            vocabulary = candidates[:max_vocabulary_size]
        else:
            kept = set().union(*(words[:max_vocabulary_size] for words in own.values()))
            candidates = vocabulary = ranked({w: counts[w] for w in kept})
        known = set(vocabulary)
        # How much of each source's own words the vocabulary holds (the words a model of it alone would know).
        coverage = {source: (sum(w in known for w in words), len(words)) for source, words in own.items()}
        extra = []
        for word in extra_words:
            word = word.lower() if lowercase else word
            if word not in known and word not in (PADDING_TOKEN, OOV_TOKEN):
                known.add(word)
                extra.append(word)
        preprocessor = cls(vocabulary=vocabulary + extra, **kwargs)
        # Ids 0 and 1 are padding and OOV; the ranking puts singletons last.
        preprocessor.first_singleton_id = 2 + sum(1 for w in candidates if counts[w] > 1)
        preprocessor.first_extra_id = 2 + len(vocabulary)
        preprocessor.source_coverage = coverage  # {source: (words kept, words seen)}; not saved either
        return preprocessor

    @staticmethod
    def _count_words(texts, lowercase, batch_size):
        """`Counter` of the words of `texts`, split (and lower-cased) as the lookup sees them."""
        counts = collections.Counter()
        texts = list(texts)
        for start in range(0, len(texts), batch_size):
            words = split_words(texts[start : start + batch_size]).flat_values
            if lowercase:
                words = tf.strings.lower(words, encoding="utf-8")
            values, _, word_counts = tf.unique_with_counts(words)
            for word, count in zip(values.numpy(), word_counts.numpy()):
                counts[word.decode("utf-8")] += int(count)
        return counts

    def tokenize(self, text):
        """Returns `(words, lengths)`: dense `[B, T]` words ("" padded), int32 `[B]`."""
        return pad_words(split_words(text), self.max_words)

    def sequence_lengths(self, text):
        """int32 `[B]`: the steps each text takes in a padded batch (its words, at most `max_words`)."""
        lengths = split_words(text).row_lengths()
        if self.max_words is not None:
            lengths = tf.minimum(lengths, self.max_words)
        return tf.cast(lengths, tf.int32)

    def call(self, text):
        words, _ = self.tokenize(text)
        char_ids = self.char_ids(words)
        shape_ids = word_shapes(words)
        lowered = tf.strings.lower(words, encoding="utf-8")
        if self.lowercase:
            token_ids = tf.cast(self.lookup(lowered), "int32")
        else:
            token_ids = tf.cast(self.lookup(words), "int32")
            token_ids = tf.where(token_ids == 1, tf.cast(self.lookup(lowered), "int32"), token_ids)
        return {"token_ids": token_ids, "padding_mask": tf.not_equal(token_ids, 0), "char_ids": char_ids,
                "shape_ids": shape_ids}

    def char_ids(self, words):
        """`[B, T, max_word_chars]` int32 hashed code points of dense words (0: padding)."""
        points = tf.strings.unicode_decode(words, "UTF-8", errors="replace")[:, :, : self.max_word_chars]
        ids = tf.math.floormod(points, self.char_buckets - 1) + 1
        shape = tf.concat([tf.shape(words, out_type=tf.int64), [self.max_word_chars]], axis=0)
        return tf.cast(ids.to_tensor(default_value=0, shape=shape), tf.int32)

    def compute_output_spec(self, text):
        shape = (text.shape[0], None)
        return {
            "token_ids": keras.KerasTensor(shape, dtype="int32"),
            "padding_mask": keras.KerasTensor(shape, dtype="bool"),
            "char_ids": keras.KerasTensor(shape + (self.max_word_chars,), dtype="int32"),
            "shape_ids": keras.KerasTensor(shape, dtype="int32"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "max_words": self.max_words,
                "lowercase": self.lowercase,
                "max_word_chars": self.max_word_chars,
                "char_buckets": self.char_buckets,
            }
        )
        return config
