"""The dense CRKD terms (pixel affinities, pixel MMD) against references
written out independently on tiny tensors."""
import math

import pytest
import torch

from rkd_mm.models.losses import MMDLoss, PixelAffinityLoss, PixelMMDLoss


def _cos(u, v):
    dot = sum(a * b for a, b in zip(u, v))
    return dot / (math.sqrt(sum(a * a for a in u)) *
                  math.sqrt(sum(b * b for b in v)))


def _affinity_loss_by_hand(s, t):
    """mean_n (1/(HW)^2) sum_ij (cos(s_i, s_j) - cos(t_i, t_j))^2."""
    total = 0.0
    n = s.shape[0]
    for k in range(n):
        fs = s[k].flatten(1).t().tolist()  # HW vectors
        ft = t[k].flatten(1).t().tolist()
        m = len(fs)
        total += sum((_cos(fs[i], fs[j]) - _cos(ft[i], ft[j]))**2
                     for i in range(m) for j in range(m)) / m**2
    return total / n


def test_pixel_affinity_by_hand_with_different_widths():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 2, 3), torch.randn(2, 5, 2, 3)
    loss = PixelAffinityLoss(loss_weight=2.0)(s, t)
    assert loss.item() == pytest.approx(2 * _affinity_loss_by_hand(s, t),
                                        rel=1e-5)


def test_pixel_affinity_aligns_and_pools():
    torch.manual_seed(1)
    s, t = torch.randn(2, 4, 2, 2), torch.randn(2, 4, 4, 4)
    up = torch.nn.functional.interpolate(s, size=(4, 4), mode='bilinear',
                                         align_corners=False)
    assert PixelAffinityLoss()(s, t).item() == pytest.approx(
        _affinity_loss_by_hand(up, t), rel=1e-5)
    pooled = torch.nn.functional.avg_pool2d(t, 2)
    assert PixelAffinityLoss(align='pool_teacher')(s, t).item() == \
        pytest.approx(_affinity_loss_by_hand(s, pooled), rel=1e-5)
    assert PixelAffinityLoss(grid_size=2)(up, t).item() == pytest.approx(
        _affinity_loss_by_hand(torch.nn.functional.avg_pool2d(up, 2),
                               pooled), rel=1e-5)


def test_pixel_affinity_zero_for_rescaled_teacher_and_gradient_on_student():
    torch.manual_seed(2)
    t = torch.randn(2, 4, 3, 3)
    assert PixelAffinityLoss()(3.0 * t, t).item() == pytest.approx(
        0.0, abs=1e-6)
    s = torch.randn(2, 4, 3, 3, requires_grad=True)
    t.requires_grad_(True)
    PixelAffinityLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    with pytest.raises(ValueError, match='grid_size'):
        PixelAffinityLoss(grid_size=(0, 2))


@pytest.mark.parametrize('shape', [(2, 8, 16, 16), (2, 64, 3, 3)])
def test_pixel_affinity_zero_vectors_have_no_direction_and_no_gradient(
        shape):
    """An all-zero location (every ReLU channel off) is 0 with every other
    location; ``F.normalize`` gave it a gradient of ~6e9 against ~5e-3
    elsewhere. Both exact forms (Gram: many locations; direct: few)."""
    torch.manual_seed(6)
    s = torch.randn(*shape).relu()
    s[0, :, 0, 0] = 0.0  # a zero vector
    s[1, :, 1, 1] = 1e-9  # and one without a direction at this scale
    s.requires_grad_(True)
    t = torch.randn(shape[0], 5, *shape[2:])
    loss = PixelAffinityLoss()(s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    per_location = s.grad.norm(dim=1)
    assert per_location[0, 0, 0] == 0 and per_location[1, 1, 1] == 0
    others = per_location.flatten()[per_location.flatten() > 0]
    assert per_location.max() < 100 * others.median()
    # the zero location counts as affinity 0 with everything, by hand
    ref = s.detach().clone()
    f = ref.flatten(2)
    norm = f.norm(dim=1, keepdim=True)
    unit = torch.where(norm > 1e-3 * norm[norm > 0].mean(), f / norm,
                       torch.zeros_like(f))
    a_s = unit.transpose(1, 2) @ unit
    ft = torch.nn.functional.normalize(t.flatten(2), dim=1)
    a_t = ft.transpose(1, 2) @ ft
    assert loss.item() == pytest.approx((a_s - a_t).pow(2).mean().item(),
                                        rel=1e-5)


def test_pixel_mmd_zero_vectors_have_finite_ordinary_gradients():
    torch.manual_seed(7)
    s = torch.randn(2, 4, 4, 4).relu()
    s[0, :, 0, 0] = 0.0
    s.requires_grad_(True)
    t = torch.randn(2, 4, 4, 4)
    loss = PixelMMDLoss(max_samples=None)(s, t)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    assert s.grad[0, :, 0, 0].abs().max() == 0


def test_pixel_mmd_subsets_leave_the_global_stream_alone():
    """The subsets come from a generator of the iteration: the global
    stream (the student's dropout) is where it was, and the same
    iteration draws the same subsets."""
    t = torch.randn(1, 4, 8, 8)
    s = torch.randn(1, 4, 8, 8)
    loss = PixelMMDLoss(max_samples=10)
    torch.manual_seed(0)
    first = loss(s, t)
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(3), after)
    assert torch.equal(loss(s, t), first)


def _rows(x):
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])


def test_pixel_mmd_image_mode_is_mmd_of_each_image_pixel_set():
    torch.manual_seed(3)
    s, t = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3) + 0.5
    mmd = MMDLoss(normalize=True)
    expected = (mmd(_rows(s)[0], _rows(t)[0]) +
                mmd(_rows(s)[1], _rows(t)[1])) / 2
    loss = PixelMMDLoss(mode='image', max_samples=None)(s, t)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert PixelMMDLoss(max_samples=None)(t, t).item() == pytest.approx(
        0.0, abs=1e-6)


def test_pixel_mmd_class_mode_groups_pixels_by_block_majority_label():
    torch.manual_seed(4)
    s, t = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    # 4x4 labels -> 2x2 grid by majority: [[0, 1], [1, 255]]
    gt = torch.tensor([[[0, 0, 1, 1],
                        [0, 1, 1, 1],
                        [1, 1, 255, 255],
                        [1, 0, 255, 255]]])
    mmd = MMDLoss(normalize=True)
    rs, rt = _rows(s)[0], _rows(t)[0]  # cells 0, 1, 2, 3 row-major
    cls0 = [0]  # one pixel: a set of 1 is skipped (no spread to compare)
    cls1 = [1, 2]
    expected = mmd(rs[cls1], rt[cls1])
    loss = PixelMMDLoss(mode='class', max_samples=None)(s, t, gt)
    assert len(cls0) == 1
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match='gt'):
        PixelMMDLoss(mode='class')(s, t)


def test_pixel_mmd_subsamples_the_same_locations_and_checks_widths():
    torch.manual_seed(5)
    t = torch.randn(1, 4, 8, 8)
    # identical maps stay at 0 under subsampling: same locations both sides
    assert PixelMMDLoss(max_samples=10)(t, t).item() == pytest.approx(
        0.0, abs=1e-6)
    with pytest.raises(ValueError, match='connector'):
        PixelMMDLoss()(torch.randn(1, 3, 8, 8), t)
    with pytest.raises(ValueError, match='mode'):
        PixelMMDLoss(mode='batch')


@pytest.mark.parametrize('shape_s,shape_t', [
    ((2, 8, 16, 16), (2, 8, 16, 16)),   # 256 locations, 8 channels: Gram
    ((2, 6, 12, 12), (2, 10, 12, 12)),  # different widths, Gram
    ((2, 64, 3, 3), (2, 32, 3, 3)),     # more channels than pairs: direct
])
def test_pixel_affinity_gram_form_matches_affinities(shape_s, shape_t):
    """Both exact forms, value and gradient, against the HW x HW
    affinities in float64 (an independent reference)."""
    torch.manual_seed(5)
    s = torch.randn(*shape_s, requires_grad=True)
    t = torch.randn(*shape_t)
    loss = PixelAffinityLoss(loss_weight=3.0)(s, t)
    loss.backward()
    s64 = s.detach().double().requires_grad_(True)
    diff = PixelAffinityLoss.affinity(s64) - PixelAffinityLoss.affinity(
        t.double())
    ref = 3.0 * diff.pow(2).mean()
    ref.backward()
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    torch.testing.assert_close(s.grad.double(), s64.grad, rtol=1e-4,
                               atol=1e-9)


def test_pixel_affinity_gram_form_near_zero_for_matching_maps():
    # the three float64 sums cancel: a student close to the teacher keeps
    # a small, non-negative loss
    torch.manual_seed(6)
    t = torch.randn(2, 16, 32, 32)
    s = 2.0 * t + 1e-3 * torch.randn_like(t)
    loss = PixelAffinityLoss()(s, t)
    diff = PixelAffinityLoss.affinity(s.double()) - \
        PixelAffinityLoss.affinity(t.double())
    assert loss.item() == pytest.approx(diff.pow(2).mean().item(), rel=1e-4)
