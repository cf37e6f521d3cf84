"""Task heads: encoder outputs to one task's predictions (one class per file)."""

from mtkeras.heads.dense_head import DenseHead
from mtkeras.ops.bio import decode_bio, viterbi_decode  # earlier home of these ops, kept for old imports
from mtkeras.ops.crf import crf_marginals
from mtkeras.heads.multi_label_classification_head import MultiLabelClassificationHead
from mtkeras.heads.private_layers import TaskPrivateLayers
from mtkeras.heads.regression_head import RegressionHead
from mtkeras.heads.sentence_classification_head import SentenceClassificationHead
from mtkeras.heads.token_classification_head import TokenClassificationHead

__all__ = [
    "DenseHead",
    "MultiLabelClassificationHead",
    "RegressionHead",
    "SentenceClassificationHead",
    "TaskPrivateLayers",
    "TokenClassificationHead",
    "crf_marginals",
    "decode_bio",
    "viterbi_decode",
]
