"""Attention transfer: match the spatial attention maps of two networks."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS
from .fitnet_loss import align_maps, check_align


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Activation-based attention transfer (Zagoruyko & Komodakis, "Paying
    More Attention to Attention", ICLR 2017).

    The spatial attention map of a feature map ``F`` (``(N, C, H, W)``) is
    the channel mean of ``|F_c|^p``, one ``(H, W)`` map per sample::

        a_n = mean_c |F_{n,c}|^p

    Student (LR) and teacher (HR) attention maps are brought onto one grid
    as ``align`` says (the 1-channel maps are resized or pooled, see
    :func:`~rkd_mm.models.losses.fitnet_loss.align_maps`), flattened and
    L2-normalised, ``q_n = a_n / ||a_n||_2``, and with ``H * W`` the size of
    that common grid::

        L = mean over n and the H * W locations of (q_S,n - q_T,n)^2
          = 1 / (N * H * W) * sum_n || q_S,n - q_T,n ||_2^2

    which is the authors' code (``at_loss`` in
    github.com/szagoruyko/attention-transfer:
    ``(at(x) - at(y)).pow(2).mean()``). Their training scripts add
    ``beta * at_loss`` per stage with ``beta = 1000`` (``--beta 1e+3``), so
    ``loss_weight=1000`` on every stage reproduces them: the mean already
    divides by each stage's ``H * W`` (and by N). The paper's Eq. 2 writes
    ``beta / 2 * sum_n ||q_S,n - q_T,n||_p`` (not squared) with
    ``beta = 1000 / (H * W * N)``; we follow the released code. Give one
    loss per tapped stage. The channel counts of student and teacher may
    differ: only the attention maps are compared.

    Args:
        p: Exponent of the activations (2 in the paper).
        align: ``'upsample_student'`` (bilinear student attention ->
            teacher grid) or ``'pool_teacher'`` (adaptive average pool of
            the teacher attention -> student grid).
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, p: float = 2.0, align: str = 'upsample_student',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'p={p}: the exponent must be > 0.')
        self.p = float(p)
        self.align = check_align(align)
        self.loss_weight = float(loss_weight)

    def attention(self, feat: torch.Tensor) -> torch.Tensor:
        """Spatial attention ``(N, 1, H, W)``: ``mean_c |F_c|^p``."""
        if feat.dim() != 4:
            raise ValueError('AttentionTransferLoss takes (N, C, H, W) '
                             f'feature maps, got {tuple(feat.shape)}.')
        return feat.abs().pow(self.p).mean(dim=1, keepdim=True)

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student feature map ``(N, C_S, h, w)``.
            preds_T: Teacher feature map ``(N, C_T, H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        att_S, att_T = align_maps(
            self.attention(preds_S), self.attention(preds_T.detach()),
            self.align, 'AttentionTransferLoss')
        att_S = F.normalize(att_S.flatten(1), dim=1)
        att_T = F.normalize(att_T.flatten(1), dim=1)
        return self.loss_weight * (att_S - att_T).pow(2).mean()
