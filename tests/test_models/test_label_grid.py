"""labels_to_grid: block majority against hand-worked maps and a numpy loop."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rkd_mm.models.losses import labels_to_grid


def majority_ref(labels, size, num_classes, ignore_index=255):
    """Block majority with numpy loops, one cell at a time.

    Cell ``i`` of ``h`` covers rows ``floor(i H / h)`` to
    ``ceil((i + 1) H / h) - 1`` (likewise for columns); ignored pixels do not
    vote, ties go to the lowest class, an all-ignored cell is ignored.
    """
    labels = np.asarray(labels)
    n, H, W = labels.shape
    h, w = size
    out = np.empty((n, h, w), dtype=np.int64)
    for b in range(n):
        for i in range(h):
            r0, r1 = (i * H) // h, math.ceil((i + 1) * H / h)
            for j in range(w):
                c0, c1 = (j * W) // w, math.ceil((j + 1) * W / w)
                cell = labels[b, r0:r1, c0:c1].ravel()
                cell = cell[cell != ignore_index]
                out[b, i, j] = ignore_index if cell.size == 0 else \
                    np.bincount(cell, minlength=num_classes).argmax()
    return out


def nearest(labels, size):
    """What the losses used before: nearest resizing."""
    return F.interpolate(labels[:, None].float(), size=size,
                         mode='nearest')[:, 0].long()


def test_majority_not_the_top_left_pixel():
    labels = torch.tensor([[[1, 0, 2, 2],
                            [0, 0, 2, 1],
                            [3, 3, 0, 4],
                            [3, 1, 4, 4]]])
    # blocks {1,0,0,0} -> 0, {2,2,2,1} -> 2, {3,3,3,1} -> 3, {0,4,4,4} -> 4
    expected = torch.tensor([[[0, 2], [3, 4]]])
    got = labels_to_grid(labels, (2, 2), num_classes=5)
    assert got.dtype == torch.long
    assert torch.equal(got, expected)
    # nearest keeps each block's top-left pixel: the minority 1 and 0
    assert torch.equal(nearest(labels, (2, 2)),
                       torch.tensor([[[1, 2], [3, 0]]]))
    # (N, 1, H, W) maps give the same
    assert torch.equal(labels_to_grid(labels[:, None], (2, 2), 5), expected)


def test_ignored_pixels_do_not_vote():
    labels = torch.tensor([[[255, 255, 1, 255],
                            [255, 0, 255, 255],
                            [255, 255, 2, 2],
                            [255, 255, 2, 3]]])
    # {0 and three ignored} -> 0, {1 and three ignored} -> 1,
    # all ignored -> 255, {2,2,2,3} -> 2
    assert torch.equal(labels_to_grid(labels, (2, 2), num_classes=4),
                       torch.tensor([[[0, 1], [255, 2]]]))
    # another ignore label: 9 is skipped and fills the empty cell
    other = torch.where(labels == 255, 9, labels)
    assert torch.equal(
        labels_to_grid(other, (2, 2), num_classes=4, ignore_index=9),
        torch.tensor([[[0, 1], [9, 2]]]))


def test_ties_go_to_the_lowest_class():
    labels = torch.tensor([[[2, 1, 0, 3],
                            [1, 2, 3, 0],
                            [4, 4, 255, 3],
                            [1, 1, 2, 4]]])
    # {2,1,1,2} -> 1, {0,3,3,0} -> 0, {4,4,1,1} -> 1,
    # {3,2,4 and one ignored} -> 2
    assert torch.equal(labels_to_grid(labels, (2, 2), num_classes=5),
                       torch.tensor([[[1, 0], [1, 2]]]))


@pytest.mark.parametrize('in_size,out_size', [
    ((7, 10), (3, 4)),  # non-integer ratios: cells share border pixels
    ((8, 12), (2, 3)),  # integer ratio, 4 x 4 blocks
    ((9, 6), (4, 6)),  # non-integer rows, same columns
    ((3, 5), (4, 7)),  # a grid finer than the labels
])
def test_matches_the_numpy_loop(in_size, out_size):
    g = torch.Generator().manual_seed(sum(in_size) + sum(out_size))
    labels = torch.randint(0, 4, (2, *in_size), generator=g)
    labels[torch.rand(labels.shape, generator=g) < 0.2] = 255
    labels[1, :3, :3] = 255  # an ignored corner: at least one empty cell
    expected = majority_ref(labels.numpy(), out_size, num_classes=4)
    got = labels_to_grid(labels, out_size, num_classes=4)
    assert got.shape == (2, *out_size)
    assert np.array_equal(got.numpy(), expected)


def test_thin_structures_majority_versus_nearest():
    """128 x 128 -> 32 x 32 (k = 4): a 1-pixel diagonal line (class 1) and
    a 3-pixel-wide band (class 2, columns 65-67, rows 0-63) on class 0."""
    labels = torch.zeros(1, 128, 128, dtype=torch.long)
    idx = torch.arange(128)
    labels[0, idx, idx] = 1
    labels[0, :64, 65:68] = 2
    major = labels_to_grid(labels, (32, 32), num_classes=3)
    near = nearest(labels, (32, 32))
    # each diagonal block (i, i) holds 4 line pixels of 16, its top-left
    # one among them: nearest labels all 32 of them 1, majority none
    assert int((near == 1).sum()) == 32 and int((major == 1).sum()) == 0
    # the band fills 12 of 16 pixels of the 16 blocks in column 16 (columns
    # 64-67) but misses their top-left pixel: majority labels all 16 of
    # them 2, nearest none
    assert int((major == 2).sum()) == 16 and int((near == 2).sum()) == 0
    assert bool((major[0, :16, 16] == 2).all())
    assert int((major != near).sum()) == 32 + 16
    assert np.array_equal(major.numpy(),
                          majority_ref(labels.numpy(), (32, 32), 3))


def test_same_size_is_unchanged():
    labels = torch.tensor([[[0, 255], [3, 1]]], dtype=torch.uint8)
    got = labels_to_grid(labels, (2, 2), num_classes=4)
    assert got.dtype == torch.long
    assert torch.equal(got, labels.long())


def test_errors_name_the_problem_and_the_fix():
    labels = torch.tensor([[[0, 7], [-1, 255]]])
    with pytest.raises(ValueError,
                       match=r'labels must lie in \[0, 5\) or equal '
                       r'ignore_index=255, got \[-1, 7\]\. Map those values'):
        labels_to_grid(labels, (1, 1), num_classes=5)
    # checked at the same size too
    with pytest.raises(ValueError, match=r'got \[-1, 7\]'):
        labels_to_grid(labels, (2, 2), num_classes=5)
    with pytest.raises(ValueError, match='MyLoss: labels must lie'):
        labels_to_grid(labels, (1, 1), 5, owner='MyLoss')
    with pytest.raises(TypeError, match='integers'):
        labels_to_grid(labels.float(), (1, 1), num_classes=8)
    with pytest.raises(ValueError, match=r'\(N, H, W\) or \(N, 1, H, W\)'):
        labels_to_grid(labels[0], (1, 1), num_classes=8)
