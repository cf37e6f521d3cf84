"""Task heads: encoder outputs to one task's predictions (one class per file)."""

from mtkeras.heads.dense_head import DenseHead
from mtkeras.heads.multi_label_classification_head import MultiLabelClassificationHead
from mtkeras.heads.regression_head import RegressionHead
from mtkeras.heads.sentence_classification_head import SentenceClassificationHead
from mtkeras.heads.token_classification_head import TokenClassificationHead

__all__ = [
    "DenseHead",
    "MultiLabelClassificationHead",
    "RegressionHead",
    "SentenceClassificationHead",
    "TokenClassificationHead",
]
