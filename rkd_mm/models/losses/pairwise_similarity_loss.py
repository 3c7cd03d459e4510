"""Pair-wise constraint: the batch's similarity structure, teacher -> student.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS


def flatten_pair(feat_S: torch.Tensor, feat_T: torch.Tensor):
    """Flatten student/teacher features to ``(N, D_S)`` and ``(N, D_T)``.

    4-D maps of different spatial size (LR student, HR teacher) are first
    area-pooled (``adaptive_avg_pool2d``) to the *smaller* of the two grids,
    so both describe the same image regions; for an integer size ratio this
    is the exact block mean of the larger map. The channel counts may differ:
    only the N x N similarity matrices are compared.
    """
    if feat_S.dim() == 4 and feat_T.dim() == 4:
        h = min(feat_S.shape[2], feat_T.shape[2])
        w = min(feat_S.shape[3], feat_T.shape[3])
        # (pooling to its own size is the identity; skipped: its CPU
        # kernel still costs time)
        if tuple(feat_S.shape[-2:]) != (h, w):
            feat_S = F.adaptive_avg_pool2d(feat_S, (h, w))
        if tuple(feat_T.shape[-2:]) != (h, w):
            feat_T = F.adaptive_avg_pool2d(feat_T, (h, w))
    elif feat_S.dim() != feat_T.dim():
        raise ValueError(f'Student features {tuple(feat_S.shape)} and '
                         f'teacher features {tuple(feat_T.shape)} must both '
                         'be (N, D) or both (N, C, H, W).')
    if feat_S.shape[0] != feat_T.shape[0]:
        raise ValueError('Student and teacher features must have the same '
                         f'batch size, got {feat_S.shape[0]} and '
                         f'{feat_T.shape[0]}.')
    return feat_S.flatten(1), feat_T.flatten(1)


@MODELS.register_module()
class PairwiseSimilarityLoss(nn.Module):
    """Similarity-preserving KD (Tung & Mori, "Similarity-Preserving
    Knowledge Distillation", ICCV 2019) as the pair-wise constraint.

    With ``F`` the ``(N, D)`` features of a batch (see :func:`flatten_pair`),
    ``G = F F^T`` with each row L2-normalised, and::

        L = ||G_S - G_T||_F^2 / N^2

    Two images that the HR teacher finds alike should look alike to the LR
    student too, whatever the feature widths.

    Args:
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    @staticmethod
    def similarity(feat: torch.Tensor) -> torch.Tensor:
        """Row-normalised Gram matrix ``(N, N)`` of ``(N, D)`` features."""
        return F.normalize(feat @ feat.t(), p=2, dim=1)

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student features, ``(N, D)`` or ``(N, C, h, w)``.
            preds_T: Teacher features, ``(N, D')`` or ``(N, C', H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        feat_S, feat_T = flatten_pair(preds_S, preds_T.detach())
        n = feat_S.shape[0]
        diff = self.similarity(feat_S) - self.similarity(feat_T)
        return self.loss_weight * diff.pow(2).sum() / (n * n)
