"""Word tokenization, defined once for training data and serving text.

A *word* is what mtkeras labels, scores and returns: one tag per word for
token tasks, one entry of the exported `words` output. Words come from raw text
by splitting on white space and then splitting runs of punctuation off the start
and end of each piece, so "Book a table for two, please!" gives
`Book a table for two , please !` while "don't", "3:00" and "e-mail" stay whole.

The rule is written with TensorFlow string ops only, so it runs in the model
graph, in `tf.data`, and inside an exported SavedModel (TF Serving needs no
extra ops). Because it never looks across white space, tokenizing
`" ".join(words)` gives exactly the concatenation of tokenizing each word:
training data that is already split into words (with one tag per word) lines up
with what the model sees at serving time.

Raw requests can hold any bytes: each byte sequence that is not valid UTF-8
becomes U+FFFD before splitting, so every word (and the exported `words`) is
valid UTF-8. Valid text passes through unchanged.
"""

import tensorflow as tf

# White space as Python's `str.split()` knows it (RE2's \s is ASCII only and
# has no \v): readers split files with `str.split()`, the model with this.
_WHITE_SPACE = r"[\t\n\v\f\r\x{1c}-\x{1f}\x{85}\p{Z}]+"
# What replaces each byte sequence that is not valid UTF-8.
REPLACEMENT_CHARACTER = 0xFFFD
# Unicode punctuation (RE2 class \pP) at the start or end of a white-space piece.
_LEADING_PUNCTUATION = r"(^|\s)(\pP+)"
_TRAILING_PUNCTUATION = r"(\pP+)(\s|$)"


def split_words(texts):
    """Splits a batch of texts into words.

    Args:
        texts: string tensor (or list of str) of shape `[B]`.

    Returns:
        A `tf.RaggedTensor` of strings, shape `[B, (words)]`. Case is kept;
        lower-casing belongs to the vocabulary lookup. Invalid UTF-8 is
        replaced by U+FFFD.

    Example:
    >>> split_words(["Book a table, please!"]).to_list()
    [[b'Book', b'a', b'table', b',', b'please', b'!']]
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=REPLACEMENT_CHARACTER
    )
    spaced = tf.strings.regex_replace(texts, _WHITE_SPACE, " ")
    spaced = tf.strings.regex_replace(spaced, _LEADING_PUNCTUATION, r"\1\2 ")
    spaced = tf.strings.regex_replace(spaced, _TRAILING_PUNCTUATION, r" \1\2")
    return tf.strings.split(spaced)


def pad_words(words, max_words=None):
    """Pads ragged words to a dense `[B, T]` string tensor with `""`.

    `T` is the longest text in the batch, cut to `max_words` when given, and at
    least 1 so that a batch of empty texts still has a time axis.

    Returns:
        `(dense_words, lengths)` where `lengths` is an int32 `[B]` tensor of
        words kept per text.
    """
    if max_words is not None:
        words = words[:, :max_words]
    lengths = tf.cast(words.row_lengths(), tf.int32)
    width = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], axis=0)), 1)
    dense = words.to_tensor(
        default_value="", shape=tf.stack([words.nrows(), tf.cast(width, tf.int64)])
    )
    return dense, lengths
