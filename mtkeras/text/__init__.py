"""In-graph text preprocessing: raw strings to words and word ids; pretrained word vectors."""

from mtkeras.lazy import lazy_exports

# Each name is imported from its module on first use (`mtkeras.lazy`): the vectors need no TensorFlow.
_HOMES = {
    "OOV_TOKEN": "mtkeras.text.preprocessor",
    "PADDING_TOKEN": "mtkeras.text.preprocessor",
    "WordPreprocessor": "mtkeras.text.preprocessor",
    "pad_words": "mtkeras.text.tokenizer",
    "split_words": "mtkeras.text.tokenizer",
    "WordPiecePreprocessor": "mtkeras.text.wordpiece",
    "WordVectors": "mtkeras.text.vectors",
    "load_vectors": "mtkeras.text.vectors",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = sorted(_HOMES)
