"""Pair-wise constraint over *pixel* pairs: the spatial affinity structure
of the teacher's feature map, transferred to the student's."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS
from .fitnet_loss import align_maps, check_align
from .unit_vectors import unit_vectors


@MODELS.register_module()
class PixelAffinityLoss(nn.Module):
    """Pair-wise distillation of Liu et al., "Structured Knowledge
    Distillation for Semantic Segmentation", CVPR 2019 (Sec. 3.2), as the
    pair-wise constraint of dense CRKD.

    Student and teacher maps are brought onto one grid (``align``; in the
    RKD configs a learned :class:`~rkd_mm.models.connectors.
    UpsampleConnector` has already lifted the student map to the teacher's
    grid), optionally area-pooled to ``grid_size`` (Liu et al.'s
    beta x beta pooling of nodes, which bounds the cost), and for every
    image the cosine affinity of every pair of locations is compared::

        a_ij = f_i . f_j / (||f_i|| ||f_j||)
        L = mean_n (1 / (HW)^2) sum_ij (a^S_ij - a^T_ij)^2

    Cosine affinities do not depend on the channel widths or the feature
    scale, so student and teacher widths may differ and no normalisation
    is needed. A location whose feature vector has no direction (all
    channels 0, common where every ReLU of a random LR student is off; or
    shorter than 1e-3 of the map's mean norm) has affinity 0 with every
    location and no gradient (:func:`unit_vectors`; ``F.normalize`` would
    give it a gradient of 1e12 times the upstream one).

    The sum is computed in whichever of two exact forms costs less. With
    ``F`` the ``(C, HW)`` map of unit columns, ``A = F^T F`` and
    ``sum_ij (A^S - A^T)_ij^2 = ||F_S F_S^T||^2 - 2 ||F_S F_T^T||^2 +
    ||F_T F_T^T||^2`` (Frobenius norms; trace cyclicity), which needs
    ``C x C`` Gram matrices instead of ``HW x HW`` affinities: 4.6x less
    time at 32 x 32 locations, 128 channels, batch 8 (1 CPU thread, forward
    + backward: 92 ms instead of 426 ms), the same value up to rounding
    (the Gram form runs in float64 because its three sums cancel).

    Unlike the similarity-preserving term on pooled vectors
    (:class:`PairwiseSimilarityLoss`, N x N per batch), this gives every
    location of every image a gradient: which regions the teacher sees as
    one structure (a crack along its length) the student should too.

    Args:
        align: ``'upsample_student'`` or ``'pool_teacher'`` for maps still
            on different grids (see :func:`~rkd_mm.models.losses.
            fitnet_loss.align_maps`).
        grid_size: Pool both aligned maps to this size (int or (h, w)) before
            the affinities; ``None`` keeps the aligned grid (cost grows as
            (HW)^2 per image: 32 x 32 is ~1M pairs).
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, align: str = 'upsample_student',
                 grid_size: Optional[Union[int, Sequence[int]]] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.align = check_align(align)
        if isinstance(grid_size, int):
            grid_size = (grid_size, grid_size)
        if grid_size is not None and (len(grid_size) != 2
                                      or min(grid_size) < 1):
            raise ValueError(f'grid_size={grid_size}: give a positive int '
                             'or (h, w).')
        self.grid_size = None if grid_size is None else tuple(grid_size)
        self.loss_weight = float(loss_weight)

    @staticmethod
    def affinity(feat: torch.Tensor) -> torch.Tensor:
        """Cosine affinity ``(N, HW, HW)`` of the locations of a map."""
        f = unit_vectors(feat.flatten(2), dim=1)  # (N, C, HW), unit columns
        return f.transpose(1, 2) @ f

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student map ``(N, C_S, h, w)``.
            preds_T: Teacher map ``(N, C_T, H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        feat_S, feat_T = align_maps(preds_S, preds_T.detach(), self.align,
                                    'PixelAffinityLoss')
        if self.grid_size is not None:
            feat_S = F.adaptive_avg_pool2d(feat_S, self.grid_size)
            feat_T = F.adaptive_avg_pool2d(feat_T, self.grid_size)
        _, c_s, h, w = feat_S.shape
        c_t, hw = feat_T.shape[1], h * w
        # multiply-adds (forward + backward) of the two forms, up to a
        # common factor: (HW)^2 per channel, or HW per pair of channels
        if hw * (c_s + c_t) <= c_s * c_s + c_s * c_t + c_t * c_t:
            diff = self.affinity(feat_S) - self.affinity(feat_T)
            return self.loss_weight * diff.pow(2).mean()
        # float64: the three sums are large and cancel (in float32 a loss
        # of 1e-8 came out 15 % off); still ~4x faster than the affinities
        f_s = unit_vectors(feat_S.flatten(2), dim=1).double()
        f_t = unit_vectors(feat_T.flatten(2), dim=1).double()

        def sq_norm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a @ b.transpose(1, 2)).pow(2).sum((1, 2))

        total = sq_norm(f_s, f_s) - 2 * sq_norm(f_s, f_t) + sq_norm(f_t, f_t)
        loss = (total / hw**2).mean().to(feat_S.dtype)
        return self.loss_weight * loss


__all__ = ['PixelAffinityLoss']
