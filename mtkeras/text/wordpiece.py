"""Raw text to WordPiece ids aligned with mtkeras words, inside the model graph."""

import json
import os
import weakref

import keras
import keras_hub
import tensorflow as tf

from mtkeras.text.tokenizer import pad_words, split_words


@keras.saving.register_keras_serializable(package="mtkeras")
class WordPiecePreprocessor(keras.layers.Layer):
    """Turns raw strings into BERT inputs plus the position of every word.

    mtkeras labels *words* (`mtkeras.text.split_words`), BERT reads WordPiece
    sub-tokens. Each word is tokenized on its own by keras-hub's
    `WordPieceTokenizer` (BERT's own pre-tokenization inside the word, so
    `"don't"` is `don ' t`, but never across two words), and `word_starts`
    records where each word's first piece sits. A word that yields no piece
    (it only holds characters BERT drops, e.g. U+200B) becomes `[UNK]`, so
    every word keeps exactly one position.

    A text longer than `sequence_length` pieces (`[CLS]` and `[SEP]` included)
    loses whole words from its end; `tokenize` returns the words kept, which
    are the words of the encoder's word-level outputs.

    Outputs of `call(text)` (`[B]` strings), with `S` the batch's longest piece
    sequence and `T` its most kept words (at least 1):
    - `token_ids` `[B, S]` int32: `[CLS] pieces... [SEP]`, padded with `[PAD]`.
    - `segment_ids` `[B, S]` int32: zeros (one segment).
    - `padding_mask` `[B, S]` bool: real pieces.
    - `word_starts` `[B, T]` int32: index in `S` of each word's first piece,
      0 for padding words.
    - `word_mask` `[B, T]` bool: real words.

    Args:
        vocabulary: list of str. WordPiece vocabulary, id order.
        sequence_length: int. Most pieces per text, `[CLS]` and `[SEP]`
            included (at least 3).
        lowercase: bool. Case-fold words before WordPiece (uncased models).
        strip_accents: bool. Remove accent marks before WordPiece.
        split_on_cjk: bool. Split CJK characters into pieces of their own.
        suffix_indicator: str. Prefix of a piece continuing a word.
        oov_token: str. The unknown piece.
        cls_token: str. Piece starting every sequence.
        sep_token: str. Piece ending every sequence.
        pad_token: str. Piece padding sequences.

    Example:
    >>> pre = WordPiecePreprocessor.from_preset(mtkeras.encoders.pretrained.minilm_preset())
    >>> pre(tf.constant(["Unbelievable, isn't it?"]))["word_starts"]  # 5 words
    """

    def __init__(
        self,
        vocabulary,
        sequence_length=128,
        lowercase=True,
        strip_accents=False,
        split_on_cjk=True,
        suffix_indicator="##",
        oov_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        **kwargs,
    ):
        super().__init__(**kwargs)
        vocabulary = [str(piece) for piece in vocabulary]
        if not isinstance(sequence_length, int) or sequence_length < 3:
            raise ValueError(
                "Received an invalid value for `sequence_length`, expected an "
                "integer >= 3 ([CLS], one piece, [SEP]). "
                f"Received: sequence_length={sequence_length!r}"
            )
        missing = [t for t in (oov_token, cls_token, sep_token, pad_token) if t not in vocabulary]
        if missing:
            raise ValueError(
                f"Received a `vocabulary` without the special pieces {missing} "
                f"({len(vocabulary)} entries, e.g. {vocabulary[:5]})"
            )
        self.vocabulary = vocabulary
        self.sequence_length = sequence_length
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.split_on_cjk = split_on_cjk
        self.suffix_indicator = suffix_indicator
        self.oov_token = oov_token
        self.cls_token = cls_token
        self.sep_token = sep_token
        self.pad_token = pad_token
        ids = {piece: i for i, piece in enumerate(vocabulary)}
        self._oov_id, self._cls_id, self._sep_id, self._pad_id = (
            ids[oov_token], ids[cls_token], ids[sep_token], ids[pad_token]
        )
        # === Layers ===
        # `split=True` on one word at a time: BERT's punctuation split can cut
        # a word into several pieces, never merge two words.
        self.tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=vocabulary,
            lowercase=lowercase,
            strip_accents=strip_accents,
            split=True,
            split_on_cjk=split_on_cjk,
            suffix_indicator=suffix_indicator,
            oov_token=oov_token,
            dtype="int32",
            name="wordpiece",
        )
        self.built = True

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    @classmethod
    def from_preset(cls, preset, sequence_length=128, **kwargs):
        """Reads the tokenizer of a keras-hub preset or Hugging Face directory.

        Vocabulary, case and accent settings and the special pieces come from
        the preset's keras-hub tokenizer (`keras_hub.tokenizers.Tokenizer.from_preset`),
        except that a Hugging Face directory strips accents as Hugging Face's
        BERT tokenizer does (keras-hub 0.32 does not, so uncased models read
        "café" as `[UNK]`). `kwargs` override them. The returned layer holds
        the vocabulary itself.
        """
        tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
        strip_accents = _hugging_face_strip_accents(preset)
        if not isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
            raise ValueError(
                f"The preset {preset!r} has a {type(tokenizer).__name__}; "
                "WordPiecePreprocessor needs a WordPiece (BERT-family) tokenizer."
            )
        settings = {
            "vocabulary": tokenizer.get_vocabulary(),
            "sequence_length": sequence_length,
            "lowercase": tokenizer.lowercase,
            "strip_accents": tokenizer.strip_accents if strip_accents is None else strip_accents,
            "split_on_cjk": tokenizer.split_on_cjk,
            "suffix_indicator": tokenizer.suffix_indicator,
            "oov_token": tokenizer.oov_token,
            "cls_token": getattr(tokenizer, "cls_token", "[CLS]"),
            "sep_token": getattr(tokenizer, "sep_token", "[SEP]"),
            "pad_token": getattr(tokenizer, "pad_token", "[PAD]"),
        }
        return cls(**{**settings, **kwargs})

    def _align(self, text):
        """Kept words `[B, (W)]` and their pieces `[B, (W), (P)]`, with each
        word's first-piece offset among its text's pieces."""
        words = split_words(text)
        pieces = _wordpieces(self.tokenizer, words.flat_values)  # [N, (P)]
        counts = pieces.row_lengths()
        # A word BERT reads as nothing (only control or format characters,
        # e.g. U+200B) still needs a position: it becomes [UNK].
        empty = tf.equal(counts, 0)
        unknown = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(tf.cast(empty, tf.int32))], tf.constant(self._oov_id, tf.int32)),
            tf.cast(empty, tf.int64),
        )
        pieces = tf.concat([pieces, unknown], axis=1)
        counts = pieces.row_lengths()
        # Offset of each word's first piece within its own text.
        before = tf.cumsum(counts, exclusive=True)
        text_start = tf.gather(
            tf.concat([before, tf.reduce_sum(counts, keepdims=True)], axis=0), words.row_starts()
        )
        offsets = before - tf.gather(text_start, words.value_rowids())
        # Offsets grow within a text, so the words that fit are a prefix.
        keep = offsets + counts <= self.sequence_length - 2
        kept_words = tf.ragged.boolean_mask(words, words.with_flat_values(keep))
        kept_pieces = tf.RaggedTensor.from_row_lengths(
            tf.ragged.boolean_mask(pieces, keep), kept_words.row_lengths()
        )
        kept_offsets = kept_words.with_flat_values(tf.boolean_mask(offsets, keep))
        return kept_words, kept_pieces, kept_offsets

    def tokenize(self, text):
        """Returns `(words, lengths)` for the words kept: `[B, T]` strings
        ("" padded) and int32 `[B]`, the `T` of the word-level outputs."""
        words, _, _ = self._align(tf.convert_to_tensor(text, tf.string))
        return pad_words(words)

    def sequence_lengths(self, text):
        """int32 `[B]`: the steps each text takes in a padded batch (its pieces kept, `[CLS]` and `[SEP]` included)."""
        _, pieces, _ = self._align(tf.convert_to_tensor(text, tf.string))
        return tf.cast(pieces.merge_dims(1, 2).row_lengths() + 2, tf.int32)

    def call(self, text):
        words, pieces, offsets = self._align(tf.convert_to_tensor(text, tf.string))
        batch = words.nrows()
        pieces = pieces.merge_dims(1, 2)  # [B, (S - 2)]
        column = tf.ones(tf.stack([batch, 1]), tf.int32)
        sequence = tf.concat(
            [
                tf.RaggedTensor.from_tensor(column * self._cls_id),
                pieces,
                tf.RaggedTensor.from_tensor(column * self._sep_id),
            ],
            axis=1,
        )
        # At least 2 wide, also for an empty batch: [CLS] [SEP].
        steps = tf.reduce_max(tf.concat([sequence.row_lengths(), [2]], axis=0))
        token_ids = sequence.to_tensor(default_value=self._pad_id, shape=tf.stack([batch, steps]))
        padding_mask = tf.sequence_mask(sequence.row_lengths(), steps)
        lengths = tf.cast(words.row_lengths(), tf.int32)
        width = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], axis=0)), 1)  # T as in `tokenize`
        word_starts = tf.cast(offsets + 1, tf.int32).to_tensor(  # + 1: after [CLS]
            default_value=0, shape=tf.stack([batch, tf.cast(width, tf.int64)])
        )
        return {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids),
            "padding_mask": padding_mask,
            "word_starts": word_starts,
            "word_mask": tf.sequence_mask(lengths, width),
        }

    def compute_output_spec(self, text):
        shape = (text.shape[0], None)
        return {
            "token_ids": keras.KerasTensor(shape, dtype="int32"),
            "segment_ids": keras.KerasTensor(shape, dtype="int32"),
            "padding_mask": keras.KerasTensor(shape, dtype="bool"),
            "word_starts": keras.KerasTensor(shape, dtype="int32"),
            "word_mask": keras.KerasTensor(shape, dtype="bool"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "sequence_length": self.sequence_length,
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "split_on_cjk": self.split_on_cjk,
                "suffix_indicator": self.suffix_indicator,
                "oov_token": self.oov_token,
                "cls_token": self.cls_token,
                "sep_token": self.sep_token,
                "pad_token": self.pad_token,
            }
        )
        return config


def _hugging_face_strip_accents(preset):
    """Whether a Hugging Face BERT tokenizer strips accents; None if `preset`
    is no local Hugging Face directory.

    `BertTokenizer(do_lower_case=True, strip_accents=None)`, the uncased
    default, strips them; `strip_accents` set explicitly decides otherwise.
    """
    path = os.path.join(str(preset), "tokenizer_config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    strip_accents = config.get("strip_accents")
    if config.get("do_lower_case", False):
        return strip_accents is not False
    return bool(strip_accents)


def _wordpieces(tokenizer, words):
    """`tokenizer(words)` as a `tf.RaggedTensor` `[N, (pieces)]`.

    In a graph (the model, `tf.data`, a SavedModel) this is a plain call.
    Called eagerly, keras-hub tokenizers run a pure-Python path and return
    Python lists, so eager calls go through one graph function per tokenizer
    (kept outside the layer, where a SavedModel would pick it up).
    """
    if not tf.executing_eagerly():
        return tokenizer(words)
    function = _EAGER_WORDPIECES.get(tokenizer)
    if function is None:
        ref = weakref.ref(tokenizer)  # The cache must not keep the tokenizer alive.
        function = tf.function(
            lambda words: ref()(words),
            input_signature=[tf.TensorSpec([None], tf.string)],
            autograph=False,
        )
        _EAGER_WORDPIECES[tokenizer] = function
    return function(words)


_EAGER_WORDPIECES = weakref.WeakKeyDictionary()
