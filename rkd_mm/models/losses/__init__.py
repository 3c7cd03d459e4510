"""Distillation losses, one per file: ``forward(preds_S, preds_T)``; and
:func:`labels_to_grid`, the HR labels on a logit grid for those that take
``gt``. :class:`TripletLoss` is a task loss of embedding heads
(``forward(feats, labels)``)."""
from .adversarial_loss import AdversarialLoss
from .attention_transfer_loss import AttentionTransferLoss
from .channel_wise_divergence_loss import ChannelWiseDivergenceLoss
from .decoupled_kd_loss import DecoupledKDLoss
from .fitnet_loss import FitNetLoss
from .label_grid import labels_to_grid
from .mmd_loss import MMDLoss
from .pairwise_similarity_loss import PairwiseSimilarityLoss
from .pixel_affinity_loss import PixelAffinityLoss
from .pixel_mmd_loss import PixelMMDLoss
from .relational_kd_loss import RelationalKDLoss
from .resolution_aware_kd_loss import ResolutionAwareKDLoss
from .triplet_loss import TripletLoss

__all__ = [
    'AdversarialLoss', 'AttentionTransferLoss', 'ChannelWiseDivergenceLoss',
    'DecoupledKDLoss', 'FitNetLoss', 'MMDLoss', 'PairwiseSimilarityLoss',
    'PixelAffinityLoss', 'PixelMMDLoss', 'RelationalKDLoss',
    'ResolutionAwareKDLoss', 'TripletLoss', 'labels_to_grid'
]
