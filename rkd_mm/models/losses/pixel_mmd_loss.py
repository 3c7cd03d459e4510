"""Maximum mean discrepancy between the *pixel embeddings* of student and
teacher, per image or per class."""
from typing import Optional

import torch
import torch.nn as nn

from rkd_mm.registry import MODELS
from rkd_mm.utils.rng import iteration_generator
from .fitnet_loss import align_maps, check_align
from .label_grid import labels_to_grid
from .mmd_loss import MMDLoss
from .unit_vectors import unit_vectors


@MODELS.register_module()
class PixelMMDLoss(nn.Module):
    """Multi-kernel Gaussian MMD (Gretton et al., JMLR 2012; the
    multi-kernel form of Long et al., DAN, ICML 2015; the kernel of
    :class:`MMDLoss`) between *sets of pixel embeddings*, the MMD term of
    dense CRKD.

    The maps are aligned (``align``) and every location's feature vector is
    an embedding (L2-normalised with ``normalize``). Then:

    * ``mode='image'``: for each image, the MMD between the student's and
      the teacher's sets of pixel embeddings; mean over images. The student
      must reproduce the *distribution* of the teacher's HR features over
      the image (how much crack-like, stain-like, background-like texture
      there is), not each location — a softer constraint than FitNets'
      pixel-wise regression, and one the LR student can meet where it
      cannot localise exactly.
    * ``mode='class'``: pixels are grouped by their label (the HR labels by
      block majority on the aligned grid, :func:`labels_to_grid`; pass
      ``gt``); for each class with at least 2 pixels on that grid in the
      batch (a set of one has no distribution to compare; a thin class
      below one grid cell has none) the MMD between the student's and
      teacher's embeddings of that class's pixels; mean over those
      classes, 0 (with a zero gradient) when there are none. Every class
      counts alike, so thin defect classes are not drowned by the
      background (which is ~94 % of the pixels).

    At most ``max_samples`` pixels per set are used (a random subset, the
    same locations for student and teacher): the kernel matrix is quadratic
    in the set size. The subsets are drawn from a generator of this
    iteration (:func:`rkd_mm.utils.rng.iteration_generator`: the run's seed
    and the iteration), not from torch's global one, so that the student's
    own random stream (dropout) stays that of its LR-only run, and a
    resumed run draws the same subsets.

    Args:
        mode: ``'image'`` or ``'class'``.
        align: ``'upsample_student'`` or ``'pool_teacher'``.
        normalize: L2-normalise each pixel embedding first (the teacher's
            feature norms can be 10x the student's); a vector without a
            direction (all zero) stays 0, with no gradient
            (:func:`unit_vectors`).
        kernel_mul: Ratio between neighbouring kernel bandwidths.
        kernel_num: Number of Gaussian kernels.
        max_samples: Largest set size; ``None`` uses every pixel.
        ignore_index: Label of pixels left out in ``'class'`` mode.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, mode: str = 'image',
                 align: str = 'upsample_student', normalize: bool = True,
                 kernel_mul: float = 2.0, kernel_num: int = 5,
                 max_samples: Optional[int] = 1024,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if mode not in ('image', 'class'):
            raise ValueError(f"mode={mode!r}: choose 'image' or 'class'.")
        if max_samples is not None and max_samples < 2:
            raise ValueError(f'max_samples={max_samples} must be >= 2.')
        self.mode = mode
        self.align = check_align(align)
        self.normalize = normalize
        self.max_samples = max_samples
        self.ignore_index = int(ignore_index)
        self.loss_weight = float(loss_weight)
        self._mmd = MMDLoss(kernel_mul=kernel_mul, kernel_num=kernel_num)

    def mmd(self, s: torch.Tensor, t: torch.Tensor,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Biased multi-kernel MMD between row sets ``s`` and ``t``
        (subsampled to ``max_samples`` rows with ``generator``)."""
        if self.max_samples is not None and s.shape[0] > self.max_samples:
            if generator is None:
                generator = iteration_generator('PixelMMDLoss')
            idx = torch.randperm(s.shape[0], generator=generator)
            idx = idx[:self.max_samples].to(s.device)
            s, t = s[idx], t[idx]
        return self._mmd.discrepancy(s, t)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                gt: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student map ``(N, D, h, w)``.
            preds_T: Teacher map ``(N, D, H, W)`` (same width D: give the
                student a connector).
            gt: HR label maps ``(N, [1,] H', W')``; needed for
                ``mode='class'``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        feat_S, feat_T = align_maps(preds_S, preds_T.detach(), self.align,
                                    'PixelMMDLoss')
        if feat_S.shape[1] != feat_T.shape[1]:
            raise ValueError(
                f'PixelMMDLoss compares embeddings of equal width, got '
                f'student {feat_S.shape[1]} and teacher {feat_T.shape[1]} '
                'channels: add a connector that maps the student tap to the '
                'teacher width.')
        n, d = feat_S.shape[:2]
        s = feat_S.permute(0, 2, 3, 1).reshape(n, -1, d)
        t = feat_T.permute(0, 2, 3, 1).reshape(n, -1, d)
        if self.normalize:
            s, t = unit_vectors(s, dim=-1), unit_vectors(t, dim=-1)
        gen = iteration_generator('PixelMMDLoss')  # CPU: randperm's device
        if self.mode == 'image':
            loss = torch.stack([self.mmd(s[i], t[i], gen) for i in range(n)])
            return self.loss_weight * loss.mean()
        if gt is None:
            raise ValueError("PixelMMDLoss(mode='class') needs the labels gt "
                             "(in the distiller: gt='gt' in its "
                             'loss_inputs).')
        labels = labels_to_grid(gt, feat_S.shape[-2:], self.num_classes_of(
            gt), self.ignore_index).reshape(-1)
        s, t = s.reshape(-1, d), t.reshape(-1, d)
        terms = [
            self.mmd(s[labels == c], t[labels == c], gen)
            for c in labels.unique().tolist()
            if c != self.ignore_index and int((labels == c).sum()) >= 2
        ]
        if not terms:
            return preds_S.sum() * 0.0
        return self.loss_weight * torch.stack(terms).mean()

    def num_classes_of(self, gt: torch.Tensor) -> int:
        """Classes to count: one more than the largest valid label."""
        valid = gt[gt != self.ignore_index]
        return int(valid.max()) + 1 if valid.numel() else 1


__all__ = ['PixelMMDLoss']
