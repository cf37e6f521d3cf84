"""Task heads: encoder outputs to one task's predictions."""

from mtkeras.heads.classification import SentenceClassificationHead, TokenClassificationHead

__all__ = ["SentenceClassificationHead", "TokenClassificationHead"]
