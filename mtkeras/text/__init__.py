"""In-graph text preprocessing: raw strings to words and word ids."""

from mtkeras.text.preprocessor import OOV_TOKEN, PADDING_TOKEN, WordPreprocessor
from mtkeras.text.tokenizer import pad_words, split_words

__all__ = ["OOV_TOKEN", "PADDING_TOKEN", "WordPreprocessor", "pad_words", "split_words"]
