"""FitNets hint loss between a connected student map and a teacher map."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS

ALIGN_MODES = ('upsample_student', 'pool_teacher')


def check_align(align: str) -> str:
    """Validate an ``align`` argument (see :func:`align_maps`)."""
    if align not in ALIGN_MODES:
        raise ValueError(f'align={align!r}: choose from {ALIGN_MODES}.')
    return align


def align_maps(feat_S: torch.Tensor, feat_T: torch.Tensor, align: str,
               owner: str = 'loss') -> Tuple[torch.Tensor, torch.Tensor]:
    """Bring an LR student map and an HR teacher map onto one grid.

    * ``'upsample_student'``: the student map is resized bilinearly
      (``align_corners=False``) to the teacher's ``(H, W)``; the loss is then
      computed on the teacher's (finer) grid.
    * ``'pool_teacher'``: the teacher map is area-pooled
      (``adaptive_avg_pool2d``) to the student's ``(h, w)``; for an integer
      size ratio each student location is compared with the mean of the
      teacher block it covers.

    Maps already on the same grid are returned unchanged.

    Args:
        feat_S: Student map ``(N, C_S, h, w)``.
        feat_T: Teacher map ``(N, C_T, H, W)``.
        align: ``'upsample_student'`` or ``'pool_teacher'``.
        owner: Name of the calling loss, for error messages.

    Returns:
        tuple: The student and teacher maps on a common grid.
    """
    if feat_S.dim() != 4 or feat_T.dim() != 4:
        raise ValueError(
            f'{owner} takes (N, C, H, W) maps, got student '
            f'{tuple(feat_S.shape)} and teacher {tuple(feat_T.shape)}.')
    if feat_S.shape[0] != feat_T.shape[0]:
        raise ValueError(
            f'{owner}: student and teacher batch sizes differ '
            f'({feat_S.shape[0]} vs {feat_T.shape[0]}).')
    size_S, size_T = tuple(feat_S.shape[-2:]), tuple(feat_T.shape[-2:])
    if size_S == size_T:
        return feat_S, feat_T
    if check_align(align) == 'upsample_student':
        feat_S = F.interpolate(feat_S, size=size_T, mode='bilinear',
                               align_corners=False)
    else:
        feat_T = F.adaptive_avg_pool2d(feat_T, size_S)
    return feat_S, feat_T


@MODELS.register_module()
class FitNetLoss(nn.Module):
    """Hint loss of FitNets (Romero et al., "FitNets: Hints for Thin Deep
    Nets", ICLR 2015).

    The student's *guided* map goes through a regressor to the teacher's
    width -- in the distiller, a :class:`~rkd_mm.models.ConvConnector`
    configured in ``connectors`` for that student tap -- and is compared with
    the teacher's *hint* map by the mean squared error::

        L = mean_{n,c,i} (r(S)_{n,c,i} - T_{n,c,i})^2

    over all elements of the aligned maps (the paper's
    ``1/2 ||u_h - r(v_g)||^2`` up to a constant factor; training is joint
    with the task loss rather than the paper's separate hint stage).

    Student (LR) and teacher (HR) maps of different spatial size are put on
    one grid as ``align`` says (see :func:`align_maps`). ``(N, D)``
    features (e.g. after a ``LinearConnector``) are compared as they are.

    Args:
        align: ``'upsample_student'`` (bilinear student -> teacher grid) or
            ``'pool_teacher'`` (adaptive average pool teacher -> student
            grid).
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, align: str = 'upsample_student',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.align = check_align(align)
        self.loss_weight = float(loss_weight)

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Connected student map ``(N, C, h, w)`` or ``(N, C)``.
            preds_T: Teacher hint map ``(N, C, H, W)`` or ``(N, C)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        preds_T = preds_T.detach()
        if preds_S.dim() != preds_T.dim() or preds_S.dim() not in (2, 4):
            raise ValueError(
                'FitNetLoss takes student and teacher features that are both '
                f'(N, C, H, W) or both (N, C), got {tuple(preds_S.shape)} '
                f'and {tuple(preds_T.shape)}.')
        if preds_S.shape[1] != preds_T.shape[1]:
            raise ValueError(
                f'FitNetLoss: the student map has {preds_S.shape[1]} '
                f'channels and the teacher map {preds_T.shape[1]}. Add a '
                "ConvConnector for this student tap in the distiller's "
                'connectors, e.g. connectors=dict(<student tap>=dict('
                f"type='rkd_mm.ConvConnector', in_channels="
                f'{preds_S.shape[1]}, out_channels={preds_T.shape[1]})).')
        if preds_S.dim() == 4:
            preds_S, preds_T = align_maps(preds_S, preds_T, self.align,
                                          'FitNetLoss')
        elif preds_S.shape[0] != preds_T.shape[0]:
            raise ValueError('FitNetLoss: student and teacher batch sizes '
                             f'differ ({preds_S.shape[0]} vs '
                             f'{preds_T.shape[0]}).')
        return self.loss_weight * F.mse_loss(preds_S, preds_T)
