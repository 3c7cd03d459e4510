"""Embedding models (re-ID, face verification) through mmpretrain."""
from torch import nn

from rkd_mm.registry import MODELS
from .classification_adapter import ClassificationAdapter


@MODELS.register_module()
class EmbeddingAdapter(ClassificationAdapter):
    """mmpretrain classifiers whose head predicts an embedding
    (:class:`~rkd_mm.models.heads.EmbeddingHeadMixin`: ``BNNeckHead`` for
    re-ID, ``ArcFaceEmbeddingHead`` for faces).

    Training is classification over the training identities, so the raw
    output is the head's identity logits ``(N, C)`` (``mode='tensor'``: KD
    on ID logits) and the labels are the identity indices ``(N, )``.
    Predictions are the ``embedding`` data field, compared by distance:
    CMC/mAP (``rkd_mm.ReIDMetric``, tables lead with ``mAP``) or 10-fold
    verification accuracy (``rkd_mm.FaceVerificationMetric``).
    """

    metric = 'mAP'

    @classmethod
    def accepts(cls, model: nn.Module) -> bool:
        from ..heads import EmbeddingHeadMixin
        return (super().accepts(model) and isinstance(
            getattr(model, 'head', None), EmbeddingHeadMixin))
