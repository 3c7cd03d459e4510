"""Distillation losses, one per file: ``forward(preds_S, preds_T)``."""
from .adversarial_loss import AdversarialLoss
from .mmd_loss import MMDLoss
from .pairwise_similarity_loss import PairwiseSimilarityLoss
from .resolution_aware_kd_loss import ResolutionAwareKDLoss

__all__ = [
    'AdversarialLoss', 'MMDLoss', 'PairwiseSimilarityLoss',
    'ResolutionAwareKDLoss'
]
