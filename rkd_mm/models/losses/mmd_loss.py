"""Maximum mean discrepancy between student and teacher feature sets."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS


def _as_set(feat: torch.Tensor) -> torch.Tensor:
    """``(N, D)`` as is; ``(N, C, H, W)`` globally average-pooled to (N, C)."""
    if feat.dim() == 4:
        return feat.mean(dim=(2, 3))
    if feat.dim() != 2:
        raise ValueError(f'MMDLoss takes (N, D) or (N, C, H, W) features, '
                         f'got {tuple(feat.shape)}.')
    return feat


@MODELS.register_module()
class MMDLoss(nn.Module):
    """Multi-kernel Gaussian MMD (Gretton et al., "A Kernel Two-Sample
    Test", JMLR 2012; the multi-kernel form of Long et al., DAN, ICML 2015).

    On ``Z = [S; T]`` (2N rows) with pairwise squared distances ``L2``, the
    base bandwidth ``b = sum(L2) / ((2N)^2 - 2N)`` (the mean off-diagonal
    distance, held constant: no gradient flows through it) and::

        K = sum_i exp(-L2 / (b * kernel_mul^(i - kernel_num // 2))),
            i = 0 .. kernel_num - 1
        L = mean(K_SS) + mean(K_TT) - 2 * mean(K_ST)

    (the biased estimator). It is 0 for identical sets and grows as the
    student's LR feature distribution drifts from the teacher's HR one.

    Both sets must have the same width D: give the student a connector to the
    teacher's width. 4-D maps are globally average-pooled first.

    Args:
        kernel_mul: Ratio between neighbouring kernel bandwidths.
        kernel_num: Number of Gaussian kernels.
        normalize: L2-normalise each feature vector first. Without it a
            teacher whose features are 10x larger than the student's puts
            every kernel value near 0 and the loss at its maximum from the
            start, which gives no useful gradient.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, kernel_mul: float = 2.0, kernel_num: int = 5,
                 normalize: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        if kernel_num < 1 or kernel_mul <= 0:
            raise ValueError('MMDLoss needs kernel_num >= 1 and '
                             'kernel_mul > 0.')
        self.kernel_mul = float(kernel_mul)
        self.kernel_num = int(kernel_num)
        self.normalize = normalize
        self.loss_weight = float(loss_weight)

    def kernel(self, z: torch.Tensor) -> torch.Tensor:
        """Summed Gaussian kernel matrix of the rows of ``z``."""
        l2 = torch.cdist(z, z).pow(2)
        n = z.shape[0]
        bandwidth = (l2.sum() / (n * n - n)).detach().clamp_min(1e-12)
        centre = self.kernel_num // 2
        return sum(
            torch.exp(-l2 / (bandwidth * self.kernel_mul**(i - centre)))
            for i in range(self.kernel_num))

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student features ``(N, D)`` or ``(N, D, h, w)``.
            preds_T: Teacher features ``(N, D)`` or ``(N, D, H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        s, t = _as_set(preds_S), _as_set(preds_T.detach())
        if s.shape[1] != t.shape[1]:
            raise ValueError(
                f'MMDLoss compares sets of equal width, got student D='
                f'{s.shape[1]} and teacher D={t.shape[1]}: add a connector '
                'that maps the student features to the teacher width.')
        if self.normalize:
            s, t = F.normalize(s, dim=1), F.normalize(t, dim=1)
        return self.loss_weight * self.discrepancy(s, t)

    def discrepancy(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Biased multi-kernel MMD between the row sets ``s`` and ``t``
        (equal sizes), unweighted."""
        n = s.shape[0]
        k = self.kernel(torch.cat([s, t], dim=0))
        return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()
