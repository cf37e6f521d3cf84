"""In-graph text preprocessing: raw strings to words and word ids."""

from mtkeras.text.preprocessor import OOV_TOKEN, PADDING_TOKEN, WordPreprocessor
from mtkeras.text.tokenizer import pad_words, split_words
from mtkeras.text.wordpiece import WordPiecePreprocessor

__all__ = ["OOV_TOKEN", "PADDING_TOKEN", "WordPiecePreprocessor", "WordPreprocessor", "pad_words", "split_words"]
