"""Decoupled KD (Zhao et al. 2022): target-class and non-target-class KD."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS
from .label_grid import labels_to_grid


def _kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Row-wise ``KL(p || q)`` from log-probabilities ``(M, K)``."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=1)


@MODELS.register_module()
class DecoupledKDLoss(nn.Module):
    """Decoupled knowledge distillation (Zhao et al., "Decoupled Knowledge
    Distillation", CVPR 2022).

    For one row of logits with label ``t`` and ``p = softmax(z / tau)``:

    * TCKD, target-class KD: KL between the binary distributions
      ``b = (p_t, 1 - p_t)`` of teacher and student,
      ``TCKD = KL(b_T || b_S)``;
    * NCKD, non-target-class KD: KL among the non-target classes,
      ``p_hat = softmax(z_{c != t} / tau)``,
      ``NCKD = KL(p_hat_T || p_hat_S)``;

    and::

        L = mean over valid rows of (alpha * TCKD + beta * NCKD) * tau^2

    Rows are the N samples of ``(N, C)`` logits with ``(N,)`` labels, or the
    pixels of ``(N, C, H, W)`` logit maps: the student's (LR) logits are
    then resized bilinearly to the teacher's grid, and each cell of that
    grid takes the majority label of the HR label pixels it covers (ignored
    pixels do not vote, ties go to the lower class; see
    :func:`~rkd_mm.models.losses.label_grid.labels_to_grid`), so a thin
    class keeps the cells it dominates rather than those whose corner pixel
    it happens to cross. Rows labelled ``ignore_index`` (cells with no valid
    pixel) are left out of the mean (a batch without valid rows gives 0). In
    the distiller, pass the labels with ``gt='gt'`` in the loss's
    ``loss_inputs`` entry.

    Args:
        alpha: Weight of TCKD (1 in the paper).
        beta: Weight of NCKD (8 in the paper's CIFAR-100 setting).
        tau: Softmax temperature.
        ignore_index: Label of pixels to leave out.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, alpha: float = 1.0, beta: float = 8.0,
                 tau: float = 4.0, ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau={tau}: the temperature must be > 0.')
        if alpha < 0 or beta < 0:
            raise ValueError('alpha and beta must be >= 0.')
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.tau = float(tau)
        self.ignore_index = int(ignore_index)
        self.loss_weight = float(loss_weight)

    def _rows(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
              gt: torch.Tensor
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Student rows, teacher rows ``(M, C)`` and labels ``(M,)``."""
        if preds_S.dim() != preds_T.dim() or preds_S.dim() not in (2, 4) \
                or preds_S.shape[:2] != preds_T.shape[:2]:
            raise ValueError(
                'DecoupledKDLoss takes student and teacher logits of the '
                'same batch size and classes, both (N, C) or both '
                f'(N, C, H, W), got {tuple(preds_S.shape)} and '
                f'{tuple(preds_T.shape)}.')
        n, c = preds_T.shape[:2]
        if c < 2:
            raise ValueError('DecoupledKDLoss needs at least 2 classes.')
        if preds_T.dim() == 2:
            if gt.shape != (n, ):
                raise ValueError(
                    f'DecoupledKDLoss: (N, C) logits take (N,) labels, got '
                    f'labels {tuple(gt.shape)} for N={n}.')
            return preds_S, preds_T, gt.long()
        if gt.dim() == 4 and gt.shape[1] == 1:
            gt = gt[:, 0]
        if gt.dim() != 3 or gt.shape[0] != n:
            raise ValueError(
                f'DecoupledKDLoss: (N, C, H, W) logits take (N, H, W) or '
                f'(N, 1, H, W) label maps, got labels {tuple(gt.shape)} for '
                f'N={n}.')
        size = tuple(preds_T.shape[-2:])
        if tuple(preds_S.shape[-2:]) != size:
            preds_S = F.interpolate(preds_S, size=size, mode='bilinear',
                                    align_corners=False)
        gt = labels_to_grid(gt, size, c, self.ignore_index,
                            owner='DecoupledKDLoss')

        def rows(x):
            return x.permute(0, 2, 3, 1).reshape(-1, c)

        return rows(preds_S), rows(preds_T), gt.reshape(-1).long()

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                gt: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student logits ``(N, C)`` or ``(N, C, h, w)``.
            preds_T: Teacher logits ``(N, C)`` or ``(N, C, H, W)``.
            gt: Labels ``(N,)``, or label maps ``(N, H', W')`` /
                ``(N, 1, H', W')`` of any size (block majority on the
                teacher's grid). Required; it defaults to None only to fail
                with a clear message.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        if gt is None:
            raise ValueError("DecoupledKDLoss needs the labels gt (in the "
                             "distiller: gt='gt' in its loss_inputs).")
        s, t, labels = self._rows(preds_S, preds_T.detach(), gt)
        c = s.shape[1]
        valid = labels != self.ignore_index
        if bool(((labels[valid] < 0) | (labels[valid] >= c)).any()):
            raise ValueError(
                f'DecoupledKDLoss: labels must lie in [0, {c}) or equal '
                f'ignore_index={self.ignore_index}.')
        if not bool(valid.any()):
            return preds_S.sum() * 0.0
        s, t, labels = s[valid] / self.tau, t[valid] / self.tau, \
            labels[valid]
        target = F.one_hot(labels, c).bool()
        m = s.shape[0]

        def split(z):
            """log (p_t, 1 - p_t) ``(M, 2)`` and non-target logits."""
            other = z[~target].view(m, c - 1)
            log_b = torch.stack(
                [z[target], torch.logsumexp(other, dim=1)], dim=1)
            return log_b - torch.logsumexp(z, dim=1, keepdim=True), other

        log_b_S, other_S = split(s)
        log_b_T, other_T = split(t)
        tckd = _kl(log_b_T, log_b_S)
        nckd = _kl(F.log_softmax(other_T, dim=1),
                   F.log_softmax(other_S, dim=1))
        loss = (self.alpha * tckd + self.beta * nckd) * self.tau**2
        return self.loss_weight * loss.mean()
