"""Resolution-aware distillation of HR teacher predictions into an LR student.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS
from .label_grid import labels_to_grid


def _as_rows(logits: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` or ``(N, C, H, W)`` -> ``(M, C)`` (one row per pixel)."""
    if logits.dim() == 2:
        return logits
    return logits.permute(0, 2, 3, 1).reshape(-1, logits.shape[1])


def resize_to(logits: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize of a logit map to ``size`` (no-op if it matches)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode='bilinear',
                         align_corners=False)


@MODELS.register_module()
class ResolutionAwareKDLoss(nn.Module):
    """Temperature KD from HR teacher logits to LR student logits.

    Plain form (``detail_weight=0``), Hinton et al., "Distilling the Knowledge
    in a Neural Network", 2015::

        L = tau^2 * mean_i KL(softmax(t_i / tau) || softmax(s_i / tau))

    over the N rows of ``(N, C)`` logits, or over the N*H*W pixels of
    ``(N, C, H, W)`` logit maps. For maps, the student's (LR) logits are first
    resized bilinearly to the teacher's (HR) size, so each HR pixel of the
    teacher supervises the student's prediction at that location.

    Resolution-aware form (``detail_weight = lambda > 0``; our reading of the
    paper's resolution-aware distillation loss, whose exact equation is not
    available): pixels where the teacher's own prediction changes when it
    sees the LR image weigh more, because that is the knowledge that is lost
    with resolution. With ``p_T`` the teacher's softmax on the HR image and
    ``q_T`` its softmax on the LR image upsampled back to HR (``preds_T_lr``),
    ``d_i = 0.5 * ||p_T,i - q_T,i||_1`` (total-variation distance, in
    [0, 1]) and the per-pixel weight is::

        w_i = (1 + lambda * d_i) / mean_j (1 + lambda * d_j)

    so the weights average to 1 (the loss keeps its scale for any lambda) and
    ``lambda = 0`` is exactly plain Hinton KD.

    Gating (``gate='teacher_correct'``): distil only where the teacher is
    right, i.e. pixels whose teacher argmax equals the ground truth ``gt``.
    Label maps of another size are brought to the teacher's grid by block
    majority: each cell takes the most frequent non-ignored label of the HR
    pixels it covers (ties to the lower class; see
    :func:`~rkd_mm.models.losses.label_grid.labels_to_grid`), so a thin
    defect counts where it dominates a cell, not where it crosses the cell's
    corner pixel. The ignore label 255 (also a cell with no valid pixel) is
    never distilled. The KL is then averaged over the kept pixels. Where the
    teacher is wrong the student learns from the labels alone.

    Class balance (``class_balance='gt'`` or ``'teacher'``; our choice for
    dense prediction, in the spirit of CWD's per-channel normalisation,
    Shu et al. 2021): the (detail-weighted, gated) KL is averaged within
    each class first, then over the classes present, so every class weighs
    the same. Without it ~95 % of a defect map's KD comes from background
    pixels, and the KD gradient nearly repeats the task loss's (whose class
    weights favour the defects); with it the thin classes get the teacher's
    signal. Classes come from ``gt`` (block majority on the teacher's grid,
    ignored pixels left out) or from the teacher's HR argmax (no labels
    needed)::

        L = tau^2 * mean_{c present} ( sum_{i in c} w_i KL_i / |c| )

    with ``w_i`` the mean-1 detail weights (1 without ``detail_weight``)
    times the gate's 0/1; ``|c|`` counts the class's kept pixels.

    Args:
        tau: Softmax temperature.
        detail_weight: lambda above; 0 gives plain Hinton KD.
        gate: ``None`` or ``'teacher_correct'`` (needs ``gt``).
        class_balance: ``None``, ``'gt'`` (needs ``gt``) or ``'teacher'``.
        ignore_index: Label never distilled (gate, ``class_balance='gt'``).
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, tau: float = 4.0, detail_weight: float = 0.0,
                 gate: Optional[str] = None,
                 class_balance: Optional[str] = None,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau={tau}: the temperature must be > 0.')
        if detail_weight < 0:
            raise ValueError(f'detail_weight={detail_weight} must be >= 0.')
        if gate not in (None, 'teacher_correct'):
            raise ValueError(f"gate={gate!r}: choose None or "
                             "'teacher_correct'.")
        if class_balance not in (None, 'gt', 'teacher'):
            raise ValueError(f"class_balance={class_balance!r}: choose None, "
                             "'gt' or 'teacher'.")
        self.tau = float(tau)
        self.detail_weight = float(detail_weight)
        self.gate = gate
        self.class_balance = class_balance
        self.ignore_index = int(ignore_index)
        self.loss_weight = float(loss_weight)

    @staticmethod
    def correct_mask(preds_T: torch.Tensor, gt: torch.Tensor,
                     ignore_index: int = 255) -> torch.Tensor:
        """Per-row 0/1: the teacher's argmax equals the label.

        Args:
            preds_T: Teacher logits ``(N, C)`` or ``(N, C, H, W)``.
            gt: Labels ``(N,)`` for ``(N, C)`` logits, else label maps
                ``(N, [1,] H', W')`` of any size, taken to the teacher's
                ``(H, W)`` grid by block majority (:func:`labels_to_grid`).
            ignore_index: Label that is never kept.

        Returns:
            torch.Tensor: ``(M,)`` float mask, one entry per row of
            ``preds_T`` (per pixel of a map, in ``(n, h, w)`` order).
        """
        if gt.shape[0] != preds_T.shape[0]:
            raise ValueError(
                f'ResolutionAwareKDLoss: gt holds {gt.shape[0]} samples, the '
                f'teacher logits {preds_T.shape[0]}.')
        if preds_T.dim() == 4:
            gt = labels_to_grid(gt, preds_T.shape[-2:], preds_T.shape[1],
                                ignore_index, owner='ResolutionAwareKDLoss')
        gt = gt.reshape(-1).long()
        pred = _as_rows(preds_T).argmax(dim=1)
        return ((pred == gt) & (gt != ignore_index)).float()

    def detail_weights(self, preds_T: torch.Tensor,
                       preds_T_lr: torch.Tensor) -> torch.Tensor:
        """Per-row weights (mean 1) from the teacher's HR/LR disagreement."""
        p = F.softmax(_as_rows(preds_T), dim=1)
        q = F.softmax(_as_rows(preds_T_lr), dim=1)
        d = 0.5 * (p - q).abs().sum(dim=1)
        w = 1.0 + self.detail_weight * d
        return w / w.mean()

    def forward(self,
                preds_S: torch.Tensor,
                preds_T: torch.Tensor,
                preds_T_lr: Optional[torch.Tensor] = None,
                gt: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student logits, ``(N, C)`` or ``(N, C, h, w)``.
            preds_T: Teacher logits on the HR input, ``(N, C)`` or
                ``(N, C, H, W)``.
            preds_T_lr: Teacher logits on the LR input upsampled to HR, same
                shape as ``preds_T``; needed only if ``detail_weight > 0``.
            gt: Labels ``(N,)`` or ``(N, [1,] H', W')``; needed only with
                ``gate='teacher_correct'`` or ``class_balance='gt'``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        if preds_S.dim() != preds_T.dim() or \
                preds_S.shape[:2] != preds_T.shape[:2]:
            raise ValueError(
                f'Student logits {tuple(preds_S.shape)} and teacher logits '
                f'{tuple(preds_T.shape)} must agree in batch size and '
                'number of classes.')
        preds_T = preds_T.detach()
        if preds_S.dim() == 4:
            preds_S = resize_to(preds_S, preds_T.shape[-2:])
        log_p_s = F.log_softmax(_as_rows(preds_S) / self.tau, dim=1)
        log_p_t = F.log_softmax(_as_rows(preds_T) / self.tau, dim=1)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
        if self.detail_weight > 0:
            if preds_T_lr is None:
                raise ValueError(
                    'detail_weight > 0 needs preds_T_lr (the teacher\'s '
                    'logits on the LR image); the distiller passes it when '
                    'the loss is configured with it.')
            kl = kl * self.detail_weights(preds_T, preds_T_lr.detach())
        needs_gt = self.gate == 'teacher_correct' or \
            self.class_balance == 'gt'
        if needs_gt and gt is None:
            raise ValueError(
                f"gate={self.gate!r} / class_balance={self.class_balance!r} "
                "needs gt (the distiller passes it for gt='gt' in "
                'loss_inputs).')
        keep = self.correct_mask(preds_T, gt, self.ignore_index) \
            if self.gate == 'teacher_correct' else torch.ones_like(kl)
        if self.class_balance is None:
            return self.loss_weight * self.tau**2 * (kl * keep).sum() / \
                keep.sum().clamp_min(1.0)
        classes = self.row_classes(preds_T, gt)
        keep = keep * (classes != self.ignore_index).float()
        per_class = [(kl * keep)[classes == c].sum() /
                     keep[classes == c].sum()
                     for c in classes.unique().tolist()
                     if keep[classes == c].sum() > 0]
        if not per_class:
            return preds_S.sum() * 0.0
        return self.loss_weight * self.tau**2 * torch.stack(per_class).mean()

    def row_classes(self, preds_T: torch.Tensor,
                    gt: Optional[torch.Tensor]) -> torch.Tensor:
        """The class of each row for ``class_balance``: the label (block
        majority on the teacher's grid) or the teacher's argmax."""
        if self.class_balance == 'teacher':
            return _as_rows(preds_T).argmax(dim=1)
        if preds_T.dim() == 4:
            gt = labels_to_grid(gt, preds_T.shape[-2:], preds_T.shape[1],
                                self.ignore_index,
                                owner='ResolutionAwareKDLoss')
        return gt.reshape(-1).long()
