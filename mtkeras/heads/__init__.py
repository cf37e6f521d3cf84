"""Task heads: encoder outputs to one task's predictions."""

from mtkeras.heads.bio_decoding import decode_bio, viterbi_decode
from mtkeras.heads.crf import crf_marginals
from mtkeras.heads.classification import (
    MultiLabelClassificationHead,
    RegressionHead,
    SentenceClassificationHead,
    TokenClassificationHead,
)

__all__ = [
    "MultiLabelClassificationHead",
    "RegressionHead",
    "SentenceClassificationHead",
    "TokenClassificationHead",
    "crf_marginals",
    "decode_bio",
    "viterbi_decode",
]
