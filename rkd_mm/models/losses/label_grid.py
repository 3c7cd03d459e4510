"""HR label maps on a coarser logit grid, by block majority."""
from typing import Sequence

import torch
import torch.nn.functional as F


def labels_to_grid(labels: torch.Tensor,
                   size: Sequence[int],
                   num_classes: int,
                   ignore_index: int = 255,
                   owner: str = 'labels_to_grid') -> torch.Tensor:
    """Label maps at the resolution of a logit grid, by majority vote.

    Each output cell takes the most frequent class among the non-ignored
    label pixels it covers. Nearest resizing instead keeps one pixel per cell
    (the block's top-left one, for an integer ratio), which misses thin
    classes: a 1-pixel-wide scratch shows up in a 4 x 4 block only if it
    crosses that pixel, and it wins the block only if it is the majority.

    Which pixels a cell covers is that of ``F.adaptive_avg_pool2d`` (the
    ``'area'`` mode of ``F.interpolate``): output row ``i`` of ``h`` covers
    input rows ``floor(i * H / h)`` to ``ceil((i + 1) * H / h) - 1`` (and
    likewise for columns), every pixel voting with weight 1. When ``H % h ==
    0`` and ``W % w == 0`` these are the exact, disjoint ``H/h x W/w``
    blocks; for other ratios neighbouring cells share the pixels on their
    common border, each of which votes fully in both. A grid finer than the
    labels repeats them (each cell covers one pixel, or two at a shared
    border).

    * Ignored pixels (``ignore_index``) do not vote; a cell with no valid
      pixel gets ``ignore_index``.
    * A tie goes to the lowest class index: ``torch.max`` returns the first
      maximum, and the votes of one cell are its integer counts (exact in
      float) over one divisor, so equal counts compare equal.
    * Labels already at ``size`` are returned as they are (as ``long``).

    One-hot votes of all ``C`` classes are pooled at once, so the function
    holds one ``(N, C + 1, H, W)`` float tensor: 3 MiB for 8 maps of
    128 x 128 with 5 classes.

    Args:
        labels: Integer label maps ``(N, H, W)`` or ``(N, 1, H, W)`` of any
            size.
        size: The grid ``(h, w)``.
        num_classes: Number of classes ``C``; valid labels lie in
            ``[0, C)``.
        ignore_index: Label of pixels that do not vote.
        owner: Name of the caller, for error messages.

    Returns:
        torch.Tensor: Labels ``(N, h, w)``, dtype ``long``.

    Raises:
        TypeError: If ``labels`` are not integers.
        ValueError: If ``labels`` are not ``(N, [1,] H, W)`` maps, or hold
            values outside ``[0, num_classes)`` other than ``ignore_index``.
    """
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(
            f'{owner}: label maps must be (N, H, W) or (N, 1, H, W), got '
            f'{tuple(labels.shape)}.')
    if labels.dtype.is_floating_point or labels.dtype.is_complex:
        raise TypeError(f'{owner}: label maps must be integers, got '
                        f'{labels.dtype}.')
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f'{owner}: size must be (h, w), got {size}.')
    labels = labels.long()
    valid = labels != ignore_index
    out_of_range = valid & ((labels < 0) | (labels >= num_classes))
    if bool(out_of_range.any()):
        bad = torch.unique(labels[out_of_range]).tolist()
        raise ValueError(
            f'{owner}: labels must lie in [0, {num_classes}) or equal '
            f'ignore_index={ignore_index}, got {bad[:10]}'
            f'{" ..." if len(bad) > 10 else ""}. Map those values to '
            f'{ignore_index} in the dataset (or its label map), or set '
            'num_classes / ignore_index to match the data.')
    if tuple(labels.shape[-2:]) == size:
        return labels
    # ignored pixels vote for an extra class C that is dropped before the
    # argmax; this keeps one scatter for every pixel
    index = torch.where(valid, labels, labels.new_tensor(num_classes))
    votes = labels.new_zeros((labels.shape[0], num_classes + 1,
                              *labels.shape[-2:]), dtype=torch.float32)
    votes.scatter_(1, index.unsqueeze(1), 1.0)
    # per cell, the share of its pixels per class: the same divisor for all
    # classes of a cell, so the argmax is that of the counts
    votes = F.adaptive_avg_pool2d(votes, size)[:, :num_classes]
    share, grid = votes.max(dim=1)
    return grid.masked_fill_(share == 0, ignore_index)
