"""Distillation losses, one per file: ``forward(preds_S, preds_T)``."""
from .adversarial_loss import AdversarialLoss
from .attention_transfer_loss import AttentionTransferLoss
from .channel_wise_divergence_loss import ChannelWiseDivergenceLoss
from .decoupled_kd_loss import DecoupledKDLoss
from .fitnet_loss import FitNetLoss
from .mmd_loss import MMDLoss
from .pairwise_similarity_loss import PairwiseSimilarityLoss
from .relational_kd_loss import RelationalKDLoss
from .resolution_aware_kd_loss import ResolutionAwareKDLoss

__all__ = [
    'AdversarialLoss', 'AttentionTransferLoss', 'ChannelWiseDivergenceLoss',
    'DecoupledKDLoss', 'FitNetLoss', 'MMDLoss', 'PairwiseSimilarityLoss',
    'RelationalKDLoss', 'ResolutionAwareKDLoss'
]
