"""Each distillation loss against a hand-computed reference on tiny tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from rkd_mm.models.losses import (AdversarialLoss, MMDLoss,
                                  PairwiseSimilarityLoss,
                                  ResolutionAwareKDLoss)


def _kl_rows(t, s, tau):
    """sum_c p_t log(p_t / p_s) per row, written out with plain loops."""
    out = []
    for tr, sr in zip(t.tolist(), s.tolist()):
        pt = [math.exp(v / tau) for v in tr]
        ps = [math.exp(v / tau) for v in sr]
        zt, zs = sum(pt), sum(ps)
        out.append(sum((a / zt) * math.log((a / zt) / (b / zs))
                       for a, b in zip(pt, ps)))
    return out


def test_kd_on_logits_matches_hinton_by_hand():
    s = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    t = torch.tensor([[2.0, 1.0, 0.0], [0.5, 0.5, 2.0]])
    tau = 2.0
    expected = tau**2 * sum(_kl_rows(t, s, tau)) / 2
    loss = ResolutionAwareKDLoss(tau=tau, loss_weight=1.0)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert ResolutionAwareKDLoss(tau=tau, loss_weight=3.0)(
        s, t).item() == pytest.approx(3 * expected, rel=1e-6)


def test_kd_is_zero_for_equal_logits_and_positive_otherwise():
    x = torch.randn(4, 5)
    loss = ResolutionAwareKDLoss()
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-7)
    assert loss(x, x + torch.randn(4, 5)).item() > 0


def test_kd_on_maps_upsamples_student_and_averages_pixels():
    torch.manual_seed(0)
    s = torch.randn(2, 3, 2, 2)
    t = torch.randn(2, 3, 4, 4)
    up = F.interpolate(s, size=(4, 4), mode='bilinear', align_corners=False)
    rows_s = up.permute(0, 2, 3, 1).reshape(-1, 3)
    rows_t = t.permute(0, 2, 3, 1).reshape(-1, 3)
    expected = 1.0 * sum(_kl_rows(rows_t, rows_s, 1.0)) / 32
    got = ResolutionAwareKDLoss(tau=1.0)(s, t).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_detail_weight_zero_is_exactly_hinton():
    torch.manual_seed(1)
    s, t, t_lr = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 6, 6), \
        torch.randn(2, 4, 6, 6)
    plain = ResolutionAwareKDLoss(tau=3.0)(s, t)
    zero = ResolutionAwareKDLoss(tau=3.0, detail_weight=0.0)(s, t, t_lr)
    assert torch.equal(plain, zero)


def test_detail_weight_emphasises_pixels_the_teacher_loses_at_lr():
    # two pixels, same student error; the teacher's LR view differs only at
    # pixel 1, so pixel 1 must weigh (1 + lambda * d) / mean
    t = torch.tensor([[4.0, 0.0], [4.0, 0.0]])
    t_lr = torch.tensor([[4.0, 0.0], [0.0, 4.0]])
    s = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    lam = 2.0
    p = F.softmax(t, 1)
    q = F.softmax(t_lr, 1)
    d = 0.5 * (p - q).abs().sum(1)
    w = (1 + lam * d) / (1 + lam * d).mean()
    kl = torch.tensor(_kl_rows(t, s, 1.0))
    expected = (w * kl).mean().item()
    got = ResolutionAwareKDLoss(tau=1.0, detail_weight=lam)(s, t, t_lr)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert w[1] > w[0]
    with pytest.raises(ValueError, match='preds_T_lr'):
        ResolutionAwareKDLoss(detail_weight=1.0)(s, t)


def test_kd_rejects_bad_arguments():
    with pytest.raises(ValueError, match='tau'):
        ResolutionAwareKDLoss(tau=0)
    with pytest.raises(ValueError, match='number of classes'):
        ResolutionAwareKDLoss()(torch.randn(2, 3), torch.randn(2, 4))


def test_pairwise_by_hand():
    fs = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    ft = torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])

    def norm_gram(f):
        g = [[sum(a * b for a, b in zip(r1, r2)) for r2 in f.tolist()]
             for r1 in f.tolist()]
        return [[v / math.sqrt(sum(x * x for x in row)) for v in row]
                for row in g]

    gs, gt = norm_gram(fs), norm_gram(ft)
    expected = sum((a - b)**2 for ra, rb in zip(gs, gt)
                   for a, b in zip(ra, rb)) / 9
    got = PairwiseSimilarityLoss(loss_weight=1.0)(fs, ft).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_pairwise_pools_maps_of_different_size_to_the_smaller_grid():
    torch.manual_seed(2)
    s = torch.randn(3, 4, 2, 2)
    t = torch.randn(3, 8, 4, 4)
    pooled_t = F.avg_pool2d(t, 2)
    loss = PairwiseSimilarityLoss()
    assert loss(s, t).item() == pytest.approx(
        loss(s.flatten(1), pooled_t.flatten(1)).item(), rel=1e-6)
    # invariant to a global scale of either side's features
    assert loss(5 * s, t).item() == pytest.approx(loss(s, t).item(),
                                                  rel=1e-5)


def _mmd_by_hand(s, t, kernel_mul=2.0, kernel_num=5):
    z = s.tolist() + t.tolist()
    n2 = len(z)
    d = [[sum((a - b)**2 for a, b in zip(zi, zj)) for zj in z] for zi in z]
    b = sum(map(sum, d)) / (n2 * n2 - n2)
    k = [[sum(math.exp(-v / (b * kernel_mul**(i - kernel_num // 2)))
              for i in range(kernel_num)) for v in row] for row in d]
    n = len(s)

    def mean(rows, cols):
        return sum(k[i][j] for i in rows for j in cols) / (len(rows) *
                                                           len(cols))

    S, T = range(n), range(n, n2)
    return mean(S, S) + mean(T, T) - 2 * mean(S, T)


def test_mmd_by_hand_zero_for_identical_positive_for_shifted():
    torch.manual_seed(3)
    s = torch.randn(4, 3)
    t = torch.randn(4, 3) + 1.5
    loss = MMDLoss(loss_weight=1.0)
    assert loss(s, t).item() == pytest.approx(_mmd_by_hand(s, t), rel=1e-5)
    assert loss(s, s.clone()).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(s, t).item() > 0.1
    assert loss(s, s + 0.1).item() < loss(s, s + 2.0).item()


def test_mmd_bandwidth_carries_no_gradient_and_widths_must_match():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3) + 1
    MMDLoss()(s, t).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()
    with pytest.raises(ValueError, match='connector'):
        MMDLoss()(torch.randn(4, 3), torch.randn(4, 5))


def test_mmd_normalize_removes_the_norm_gap():
    torch.manual_seed(4)
    s = torch.randn(6, 8)
    loss = MMDLoss(normalize=True)
    assert loss(s, 10 * s).item() == pytest.approx(0.0, abs=1e-6)
    assert MMDLoss()(s, 10 * s).item() > 0.5


@pytest.mark.parametrize('gan_type', ['vanilla', 'lsgan', 'hinge'])
def test_adversarial_losses_by_hand(gan_type):
    real = torch.tensor([2.0, -1.0])
    fake = torch.tensor([0.5, -3.0])
    loss = AdversarialLoss(gan_type, loss_weight=0.5)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    if gan_type == 'vanilla':
        d_real = -sum(math.log(sig(v)) for v in real.tolist()) / 2
        d_fake = -sum(math.log(1 - sig(v)) for v in fake.tolist()) / 2
        g = -sum(math.log(sig(v)) for v in fake.tolist()) / 2
    elif gan_type == 'lsgan':
        d_real = sum((v - 1)**2 for v in real.tolist()) / 2
        d_fake = sum(v**2 for v in fake.tolist()) / 2
        g = sum((v - 1)**2 for v in fake.tolist()) / 2
    else:
        d_real = sum(max(0, 1 - v) for v in real.tolist()) / 2
        d_fake = sum(max(0, 1 + v) for v in fake.tolist()) / 2
        g = -sum(fake.tolist()) / 2
    assert loss(real, True, is_disc=True).item() == pytest.approx(d_real)
    assert loss(fake, False, is_disc=True).item() == pytest.approx(d_fake)
    # the weight applies to the student's (generator's) term only
    assert loss(fake, True).item() == pytest.approx(0.5 * g)


def test_adversarial_loss_rejects_unknown_type():
    with pytest.raises(ValueError, match='gan_type'):
        AdversarialLoss('wgan')


def test_teacher_correct_gate_distils_only_where_the_teacher_is_right():
    t = torch.tensor([[3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    s = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    gt = torch.tensor([0, 1, 255])  # right, wrong, ignored
    kl = _kl_rows(t, s, 1.0)
    got = ResolutionAwareKDLoss(tau=1.0, gate='teacher_correct')(s, t, gt=gt)
    assert got.item() == pytest.approx(kl[0], rel=1e-6)
    # on maps each teacher cell takes the majority label of its 2 x 2 block
    # of HR labels; no block's top-left pixel holds that label (the third
    # block's is ignored), so nearest resizing would keep the other cells
    t4 = torch.zeros(1, 2, 2, 2)
    t4[0, 0] = 2.0  # teacher says class 0 everywhere
    gt4 = torch.tensor([[[1, 0, 0, 1],
                         [0, 0, 1, 1],
                         [255, 255, 1, 0],
                         [255, 0, 0, 0]]])
    # blocks: {1,0,0,0} -> 0 right; {0,1,1,1} -> 1 wrong;
    # {255,255,255,0} -> 0 right (ignored pixels do not vote);
    # {1,0,0,0} -> 0 right
    s4 = torch.tensor([[[[0.0, 1.0], [2.0, -1.0]],
                        [[0.5, 0.0], [0.0, 1.0]]]])
    rows_t = t4.permute(0, 2, 3, 1).reshape(-1, 2)
    rows_s = s4.permute(0, 2, 3, 1).reshape(-1, 2)
    kl4 = _kl_rows(rows_t, rows_s, 1.0)
    expected = (kl4[0] + kl4[2] + kl4[3]) / 3
    gate = ResolutionAwareKDLoss(tau=1.0, gate='teacher_correct')
    assert gate.correct_mask(t4, gt4).tolist() == [1.0, 0.0, 1.0, 1.0]
    got4 = gate(s4, t4, gt=gt4)
    assert got4.item() == pytest.approx(expected, rel=1e-6)
    assert gate(s4, t4, gt=gt4[:, None]).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 2\)'):
        gate(s4, t4, gt=torch.full_like(gt4, 2))
    with pytest.raises(ValueError, match='needs gt'):
        ResolutionAwareKDLoss(gate='teacher_correct')(s, t)
    with pytest.raises(ValueError, match='gate'):
        ResolutionAwareKDLoss(gate='confident')


def test_class_balanced_kd_averages_within_then_across_classes():
    """L = tau^2 * mean over classes of the class's mean KL (by hand)."""
    s = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [0.3, 0.1, 0.2],
                      [2.0, 0.0, 1.0]])
    t = torch.tensor([[2.0, 1.0, 0.0], [0.5, 0.5, 2.0], [1.0, 0.0, 0.0],
                      [0.0, 3.0, 1.0]])
    gt = torch.tensor([0, 0, 0, 2])
    kl = _kl_rows(t, s, 2.0)
    expected = 4.0 * ((kl[0] + kl[1] + kl[2]) / 3 + kl[3]) / 2
    loss = ResolutionAwareKDLoss(tau=2.0, class_balance='gt')(s, t, gt=gt)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # by the teacher's argmax: rows 0, 2 -> class 0; 1 -> 2; 3 -> 1
    expected_t = 4.0 * ((kl[0] + kl[2]) / 2 + kl[1] + kl[3]) / 3
    loss_t = ResolutionAwareKDLoss(tau=2.0, class_balance='teacher')(s, t)
    assert loss_t.item() == pytest.approx(expected_t, rel=1e-6)
    # ignored rows never count; gt is required for 'gt'
    gt_ign = torch.tensor([0, 255, 0, 2])
    expected_i = 4.0 * ((kl[0] + kl[2]) / 2 + kl[3]) / 2
    assert ResolutionAwareKDLoss(tau=2.0, class_balance='gt')(
        s, t, gt=gt_ign).item() == pytest.approx(expected_i, rel=1e-6)
    with pytest.raises(ValueError, match='needs gt'):
        ResolutionAwareKDLoss(class_balance='gt')(s, t)
    with pytest.raises(ValueError, match='class_balance'):
        ResolutionAwareKDLoss(class_balance='pixels')


def test_class_balanced_kd_on_maps_uses_block_majority_and_detail():
    """Maps: 2x2 teacher grid, 4x4 labels (majority [[0, 1], [1, 1]]),
    detail weights (mean 1) multiply the KL inside each class."""
    torch.manual_seed(0)
    s, t = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    t_lr = torch.randn(1, 3, 2, 2)
    gt = torch.tensor([[[0, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1],
                        [1, 0, 0, 1]]])
    rows = lambda x: x.permute(0, 2, 3, 1).reshape(-1, 3)  # noqa: E731
    kl = _kl_rows(rows(t), rows(s), 1.0)
    loss_fn = ResolutionAwareKDLoss(tau=1.0, detail_weight=2.0,
                                    class_balance='gt')
    w = loss_fn.detail_weights(t, t_lr).tolist()
    wkl = [a * b for a, b in zip(w, kl)]
    expected = (wkl[0] + (wkl[1] + wkl[2] + wkl[3]) / 3) / 2
    loss = loss_fn(s, t, preds_T_lr=t_lr, gt=gt)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
