"""Channel-wise distillation for dense prediction (Shu et al. 2021)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS
from .fitnet_loss import align_maps, check_align


@MODELS.register_module()
class ChannelWiseDivergenceLoss(nn.Module):
    """Channel-wise knowledge distillation (Shu et al., "Channel-wise
    Knowledge Distillation for Dense Prediction", ICCV 2021).

    Each channel ``c`` of a map (``(N, C, H, W)``, e.g. segmentation logits)
    becomes a distribution over its ``H * W`` locations::

        phi(y)_{n,c,i} = exp(y_{n,c,i} / tau) / sum_j exp(y_{n,c,j} / tau)

    and the student matches the teacher's distributions::

        L = tau^2 / (N * C) * sum_{n,c} KL(phi(T)_{n,c} || phi(S)_{n,c})
          = tau^2 / (N * C) * sum_{n,c,i} phi(T)_{n,c,i}
                * (log phi(T)_{n,c,i} - log phi(S)_{n,c,i})

    so each channel's most activated regions are what the student learns.
    The LR student map and the HR teacher map are first put on one grid as
    ``align`` says (see
    :func:`~rkd_mm.models.losses.fitnet_loss.align_maps`); the locations
    ``i`` are those of that grid. Student and teacher must have the same
    channels (the same classes, for logits).

    Args:
        tau: Softmax temperature (4 in the paper's segmentation setting).
        align: ``'upsample_student'`` (bilinear student -> teacher grid) or
            ``'pool_teacher'`` (adaptive average pool teacher -> student
            grid).
        loss_weight: Multiplier of the loss (3 in the paper's segmentation
            setting).
    """

    def __init__(self, tau: float = 4.0, align: str = 'upsample_student',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau={tau}: the temperature must be > 0.')
        self.tau = float(tau)
        self.align = check_align(align)
        self.loss_weight = float(loss_weight)

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student map ``(N, C, h, w)``.
            preds_T: Teacher map ``(N, C, H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        preds_T = preds_T.detach()
        if preds_S.dim() == 4 and preds_T.dim() == 4 and \
                preds_S.shape[1] != preds_T.shape[1]:
            raise ValueError(
                f'ChannelWiseDivergenceLoss compares channel by channel, but '
                f'the student map has {preds_S.shape[1]} channels and the '
                f'teacher map {preds_T.shape[1]}: tap maps with the same '
                'channels (e.g. both logits) or add a ConvConnector for the '
                'student tap.')
        preds_S, preds_T = align_maps(preds_S, preds_T, self.align,
                                      'ChannelWiseDivergenceLoss')
        n, c = preds_T.shape[:2]
        log_p_S = F.log_softmax(preds_S.flatten(2) / self.tau, dim=2)
        log_p_T = F.log_softmax(preds_T.flatten(2) / self.tau, dim=2)
        kl = (log_p_T.exp() * (log_p_T - log_p_S)).sum()
        return self.loss_weight * self.tau**2 * kl / (n * c)
