"""Baseline KD losses against plain-Python references on tiny tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from rkd_mm.models.losses import (AttentionTransferLoss,
                                  ChannelWiseDivergenceLoss, DecoupledKDLoss,
                                  FitNetLoss, RelationalKDLoss,
                                  ResolutionAwareKDLoss)
from rkd_mm.models.losses.fitnet_loss import align_maps
from rkd_mm.registry import MODELS

# ----------------------------------------------------------------------
# plain-Python references
# ----------------------------------------------------------------------


def _bilinear_1d(n_in, n_out):
    """(i0, i1, lambda) per output index: PyTorch's align_corners=False."""
    out = []
    for i in range(n_out):
        src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        out.append((i0, min(i0 + 1, n_in - 1), src - i0))
    return out


def upsample_ref(x, size):
    """Bilinear resize of nested lists [n][c][h][w] with Python loops."""
    rows, cols = _bilinear_1d(len(x[0][0]), size[0]), \
        _bilinear_1d(len(x[0][0][0]), size[1])
    return [[[[(1 - ly) * ((1 - lx) * m[y0][x0] + lx * m[y0][x1]) +
               ly * ((1 - lx) * m[y1][x0] + lx * m[y1][x1])
               for (x0, x1, lx) in cols] for (y0, y1, ly) in rows]
             for m in sample] for sample in x]


def block_mean_ref(x, size):
    """Mean of each (H/h x W/w) block, nested lists [n][c][H][W]."""
    bh, bw = len(x[0][0]) // size[0], len(x[0][0][0]) // size[1]
    return [[[[sum(m[i * bh + a][j * bw + b] for a in range(bh)
                   for b in range(bw)) / (bh * bw)
               for j in range(size[1])] for i in range(size[0])]
             for m in sample] for sample in x]


def flat(m):
    """A nested [h][w] list as one list."""
    return [v for row in m for v in row]


def softmax(v, tau=1.0):
    e = [math.exp(a / tau) for a in v]
    z = sum(e)
    return [a / z for a in e]


def kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def huber(a, b):
    d = abs(a - b)
    return 0.5 * d * d if d < 1 else d - 0.5


def student_and_teacher(*shape_S, teacher_shape=None, seed=0):
    """A student tensor that requires grad and a teacher that also does (to
    show that the losses never send gradient into it)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(*shape_S, generator=g).requires_grad_()
    t = torch.randn(*(teacher_shape or shape_S), generator=g) \
        .requires_grad_()
    return s, t


def assert_student_only_gradient(loss, s, t):
    loss.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert torch.isfinite(s.grad).all()
    assert t.grad is None


@pytest.mark.parametrize('name', [
    'FitNetLoss', 'AttentionTransferLoss', 'RelationalKDLoss',
    'ChannelWiseDivergenceLoss', 'DecoupledKDLoss'
])
def test_losses_are_registered(name):
    assert type(MODELS.build(dict(type=f'rkd_mm.{name}'))).__name__ == name


# ----------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------


def test_upsample_student_matches_python_bilinear():
    s, t = student_and_teacher(2, 3, 2, 3, teacher_shape=(2, 1, 4, 6))
    a_s, a_t = align_maps(s, t, 'upsample_student')
    assert a_t is t
    ref = upsample_ref(s.tolist(), (4, 6))
    assert torch.allclose(a_s, torch.tensor(ref), atol=1e-6)


def test_pool_teacher_is_block_mean_for_integer_ratio():
    s, t = student_and_teacher(2, 1, 2, 3, teacher_shape=(2, 4, 6, 9))
    a_s, a_t = align_maps(s, t, 'pool_teacher')
    assert a_s is s
    ref = block_mean_ref(t.tolist(), (2, 3))
    assert torch.allclose(a_t, torch.tensor(ref), atol=1e-6)


def test_alignment_errors_name_the_problem():
    s, t = torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match='align='):
        align_maps(s, t, 'nearest')
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        align_maps(s.flatten(1), t, 'pool_teacher')
    with pytest.raises(ValueError, match='batch sizes differ'):
        align_maps(s[:1], t, 'pool_teacher')
    for cls in (FitNetLoss, AttentionTransferLoss, ChannelWiseDivergenceLoss):
        with pytest.raises(ValueError, match='align='):
            cls(align='bilinear')


# ----------------------------------------------------------------------
# FitNets
# ----------------------------------------------------------------------


def fitnet_ref(s, t):
    vs, vt = torch.tensor(s).flatten().tolist(), \
        torch.tensor(t).flatten().tolist()
    return sum((a - b)**2 for a, b in zip(vs, vt)) / len(vs)


def test_fitnet_same_grid_is_mse_by_hand():
    s, t = student_and_teacher(2, 3, 2, 2)
    expected = fitnet_ref(s.tolist(), t.tolist())
    loss = FitNetLoss()(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert FitNetLoss(loss_weight=2.5)(s, t).item() == pytest.approx(
        2.5 * expected, rel=1e-6)
    assert_student_only_gradient(loss, s, t)


@pytest.mark.parametrize('align', ['upsample_student', 'pool_teacher'])
def test_fitnet_aligns_lr_student_and_hr_teacher(align):
    s, t = student_and_teacher(2, 3, 2, 2, teacher_shape=(2, 3, 4, 4))
    if align == 'upsample_student':
        expected = fitnet_ref(upsample_ref(s.tolist(), (4, 4)), t.tolist())
    else:
        expected = fitnet_ref(s.tolist(), block_mean_ref(t.tolist(), (2, 2)))
    loss = FitNetLoss(align=align)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert_student_only_gradient(loss, s, t)


def test_fitnet_zero_for_identical_and_on_vectors():
    x = torch.randn(2, 4, 3, 3)
    assert FitNetLoss()(x, x.clone()).item() == 0.0
    v_s, v_t = torch.randn(3, 5), torch.randn(3, 5)
    assert FitNetLoss()(v_s, v_t).item() == pytest.approx(
        fitnet_ref(v_s.tolist(), v_t.tolist()), rel=1e-6)


def test_fitnet_channel_mismatch_asks_for_a_connector():
    with pytest.raises(ValueError, match=r'ConvConnector.*in_channels=256, '
                       r'out_channels=1024'):
        FitNetLoss()(torch.zeros(2, 256, 2, 2), torch.zeros(2, 1024, 4, 4))
    with pytest.raises(ValueError, match='both'):
        FitNetLoss()(torch.zeros(2, 4), torch.zeros(2, 4, 2, 2))


# ----------------------------------------------------------------------
# attention transfer
# ----------------------------------------------------------------------


def attention_ref(x, p):
    """[n][h][w] attention maps: mean over channels of |x|^p."""
    return [[[sum(abs(sample[c][i][j])**p for c in range(len(sample))) /
              len(sample) for j in range(len(sample[0][0]))]
             for i in range(len(sample[0]))] for sample in x]


def at_ref(att_s, att_t):
    """The authors' at_loss on [n][h][w] maps: the mean over samples and
    locations of (a_s/|a_s| - a_t/|a_t|)^2."""
    total, count = 0.0, 0
    for ms, mt in zip(att_s, att_t):
        vs, vt = flat(ms), flat(mt)
        ns, nt = math.sqrt(sum(v * v for v in vs)), \
            math.sqrt(sum(v * v for v in vt))
        total += sum((a / ns - b / nt)**2 for a, b in zip(vs, vt))
        count += len(vs)
    return total / count


@pytest.mark.parametrize('p', [2.0, 1.0, 3.0])
def test_at_matches_reference_with_different_channels(p):
    s, t = student_and_teacher(2, 3, 3, 3, teacher_shape=(2, 5, 3, 3))
    expected = at_ref(attention_ref(s.tolist(), p),
                      attention_ref(t.tolist(), p))
    loss = AttentionTransferLoss(p=p)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert AttentionTransferLoss(p=p, loss_weight=4.0)(s, t).item() == \
        pytest.approx(4 * expected, rel=1e-5)
    assert_student_only_gradient(loss, s, t)


@pytest.mark.parametrize('align', ['upsample_student', 'pool_teacher'])
def test_at_aligns_the_attention_maps(align):
    s, t = student_and_teacher(2, 3, 2, 2, teacher_shape=(2, 6, 4, 4))
    att_s, att_t = attention_ref(s.tolist(), 2), attention_ref(t.tolist(), 2)
    # the 1-channel attention maps are resized, not the features
    if align == 'upsample_student':
        att_s = [m[0] for m in upsample_ref([[m] for m in att_s], (4, 4))]
    else:
        att_t = [m[0] for m in block_mean_ref([[m] for m in att_t], (2, 2))]
    loss = AttentionTransferLoss(align=align)(s, t)
    assert loss.item() == pytest.approx(at_ref(att_s, att_t), rel=1e-5)


def test_at_is_the_mean_squared_difference_by_hand():
    # p = 1, one channel, 1 x 2 maps: a_S = (3, 4) / 5, a_T = (4, 3) / 5, so
    # the squared differences are 0.04 and 0.04 and their mean is 0.04 (the
    # 2-norm of the difference would be 0.28)
    s = torch.tensor([[[[3.0, -4.0]]]])
    t = torch.tensor([[[[4.0, 3.0]]]])
    assert AttentionTransferLoss(p=1.0)(s, t).item() == pytest.approx(
        0.04, rel=1e-6)
    # a second sample with equal maps halves the mean over the batch
    s2, t2 = torch.cat([s, t]), torch.cat([t, t])
    assert AttentionTransferLoss(p=1.0, loss_weight=1000.0)(
        s2, t2).item() == pytest.approx(20.0, rel=1e-6)


def test_at_zero_for_identical_or_rescaled_teacher_with_finite_grad():
    s = torch.randn(2, 4, 3, 3, requires_grad=True)
    loss = AttentionTransferLoss()(s, 3.0 * s.detach())
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        AttentionTransferLoss()(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='p='):
        AttentionTransferLoss(p=0)


# ----------------------------------------------------------------------
# relational KD (Park et al.)
# ----------------------------------------------------------------------


def rkd_potentials_ref(e):
    """Distance (N^2) and angle (N^3) potentials of [n][d] embeddings."""
    n = len(e)

    def sub(a, b):
        return [x - y for x, y in zip(a, b)]

    def norm(v):
        return math.sqrt(sum(x * x for x in v))

    dist = [[norm(sub(e[i], e[j])) for j in range(n)] for i in range(n)]
    mu = sum(dist[i][j] for i in range(n) for j in range(n) if i != j) / \
        (n * (n - 1))
    psi_d = [dist[i][j] / mu for i in range(n) for j in range(n)]
    psi_a = []
    for j in range(n):
        for i in range(n):
            for k in range(n):
                if i == j or k == j:
                    psi_a.append(0.0)
                    continue
                u, v = sub(e[i], e[j]), sub(e[k], e[j])
                if norm(u) * norm(v) == 0:  # coincident: no direction
                    psi_a.append(0.0)
                    continue
                psi_a.append(sum(a * b for a, b in zip(u, v)) /
                             (norm(u) * norm(v)))
    return psi_d, psi_a


def relkd_ref(e_s, e_t, wd, wa):
    d_s, a_s = rkd_potentials_ref(e_s)
    d_t, a_t = rkd_potentials_ref(e_t)
    return wd * sum(map(huber, d_s, d_t)) / len(d_s) + \
        wa * sum(map(huber, a_s, a_t)) / len(a_s)


def test_relkd_matches_reference_with_different_widths():
    s, t = student_and_teacher(4, 3, teacher_shape=(4, 6))
    expected = relkd_ref(s.tolist(), t.tolist(), 25.0, 50.0)
    loss = RelationalKDLoss()(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert RelationalKDLoss(loss_weight=0.5)(s, t).item() == pytest.approx(
        0.5 * expected, rel=1e-5)
    only_d = RelationalKDLoss(distance_weight=1.0, angle_weight=0.0)(s, t)
    assert only_d.item() == pytest.approx(
        relkd_ref(s.tolist(), t.tolist(), 1.0, 0.0), rel=1e-5)
    assert_student_only_gradient(loss, s, t)


def test_relkd_pools_maps_and_ignores_scale():
    s, t = student_and_teacher(3, 4, 2, 2, teacher_shape=(3, 8, 4, 4))
    loss = RelationalKDLoss()
    assert loss(s, t).item() == pytest.approx(
        loss(s.mean(dim=(2, 3)), t.mean(dim=(2, 3))).item(), rel=1e-6)
    # distances are normalised by their mean and angles are scale-free
    e = torch.randn(5, 4)
    assert loss(e, 7.0 * e).item() == pytest.approx(0.0, abs=1e-5)


def test_relkd_coincident_student_pairs_drop_out_of_the_angle_term():
    # a random student at 7x7 input maps different images to one embedding;
    # x / ||x|| at such a pair has no direction and a 1 / ||x|| gradient
    t = torch.randn(5, 6)
    base = torch.randn(4, 3)
    s = torch.cat([base[:1], base]).requires_grad_()  # rows 0, 1 coincide
    loss = RelationalKDLoss(distance_weight=0.0, angle_weight=1.0)
    value = loss(s, t)
    # by hand: u_01 and u_10 are 0 for both networks, so every triplet
    # that uses them is 0 on both sides
    _, a_s = rkd_potentials_ref(s.tolist())
    _, a_t = rkd_potentials_ref(t.tolist())
    n = 5
    expected = 0.0
    for j in range(n):
        for i in range(n):
            for k in range(n):
                pairs = {(i, j), (k, j)}
                if pairs & {(0, 1), (1, 0)}:
                    continue
                idx = (j * n + i) * n + k
                expected += huber(a_s[idx], a_t[idx])
    expected /= n ** 3
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert torch.isfinite(s.grad).all()
    # the same order as for a batch without coincident pairs
    s2 = torch.randn(5, 3, requires_grad=True)
    loss(s2, t).backward()
    assert s.grad.norm() < 100 * s2.grad.norm()
    # the teacher's coincident pairs drop out the same way
    assert loss(t[:, :3], torch.cat([t[:1], t[:4]])).isfinite()
    # near-coincident (not equal) pairs too: below 1e-3 of the mean distance
    s3 = torch.cat([base[:1] + 1e-7, base]).requires_grad_()
    loss(s3, t).backward()
    assert s3.grad.norm() < 100 * s2.grad.norm()
    with pytest.raises(ValueError, match='min_pair_distance'):
        RelationalKDLoss(min_pair_distance=1.5)


def relkd_grad_per_sample(s, t, loss=None):
    """Norms of d loss / d e_i, one per student sample."""
    s = s.clone().requires_grad_()
    value = (loss or RelationalKDLoss())(s, t)
    value.backward()
    return value, s.grad.norm(dim=1)


@pytest.mark.parametrize('offset', [0.0, 3.0, 10.0, 30.0])
@pytest.mark.parametrize('gap', [0.0, 1e-6])
def test_relkd_duplicates_in_a_batch_of_64_give_ordinary_gradients(
        gap, offset):
    """At N = 64 (the re-ID batch) in float32, with embeddings that share a
    common component (``offset``, as pooled ReLU features do):
    ``torch.cdist``'s matrix-product form (above 25 rows) measured exact
    duplicates at 2e-2 to 6e-2, so the old mask kept such a pair and
    divided 0 by 0 (NaN at offsets 10 and 30), and a pair 1e-6 apart got
    gradients 1,600x the rest (offset 3). The mask is now decided on the
    norms the angle term divides by."""
    g = torch.Generator().manual_seed(0)
    t = torch.randn(64, 32, generator=g) + offset
    s = torch.randn(64, 16, generator=g) + offset
    s[1] = s[0] + gap  # duplicate (or near-duplicate) student embeddings
    s[5] = s[4] + gap
    t[9] = t[8]  # and a duplicate on the teacher's side
    value, grad = relkd_grad_per_sample(s, t)
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    _, clean = relkd_grad_per_sample(
        torch.randn(64, 16, generator=g) + offset, t)
    # every sample's gradient of the order of a batch without duplicates
    assert grad.max() < 10 * clean.max(), (grad.max(), clean.max())
    assert grad.median() > 0.1 * clean.median()
    # the masked pairs are exactly the (near-)duplicates and the diagonal
    loss = RelationalKDLoss()
    _, norm_s = loss.differences(s)
    _, norm_t = loss.differences(t)
    masked = {(i, j) for i in range(64) for j in range(64)
              if not (loss.directed_pairs(norm_s) *
                      loss.directed_pairs(norm_t))[i, j] and i != j}
    assert masked == {(0, 1), (1, 0), (4, 5), (5, 4), (8, 9), (9, 8)}


def test_relkd_two_samples_have_no_structure_to_distil():
    """Two samples: one distance (normalised to 1 on both sides) and no
    angle, so the loss is 0 up to rounding -- whatever the networks."""
    s, t = torch.randn(2, 4), torch.randn(2, 9)
    assert RelationalKDLoss()(s, t).item() == pytest.approx(0.0, abs=1e-5)
    three = RelationalKDLoss()(torch.randn(3, 4), torch.randn(3, 9))
    assert three.item() > 1e-3


def test_relkd_single_sample_is_zero_and_shapes_are_checked():
    s = torch.randn(1, 4, requires_grad=True)
    loss = RelationalKDLoss()(s, torch.randn(1, 8))
    assert loss.item() == 0.0
    loss.backward()
    with pytest.raises(ValueError, match='batch sizes differ'):
        RelationalKDLoss()(torch.randn(2, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        RelationalKDLoss()(torch.randn(2, 4, 3), torch.randn(2, 4))


# ----------------------------------------------------------------------
# channel-wise distillation
# ----------------------------------------------------------------------


def cwd_ref(s, t, tau):
    """tau^2 / (N C) sum_{n,c} KL over the locations, [n][c][h][w]."""
    total, count = 0.0, 0
    for ms, mt in zip(s, t):
        for cs, ct in zip(ms, mt):
            total += kl(softmax(flat(ct), tau), softmax(flat(cs), tau))
            count += 1
    return tau**2 * total / count


def test_cwd_matches_reference():
    s, t = student_and_teacher(2, 3, 2, 3)
    expected = cwd_ref(s.tolist(), t.tolist(), 2.0)
    loss = ChannelWiseDivergenceLoss(tau=2.0)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert ChannelWiseDivergenceLoss(tau=2.0, loss_weight=3.0)(
        s, t).item() == pytest.approx(3 * expected, rel=1e-5)
    assert_student_only_gradient(loss, s, t)


@pytest.mark.parametrize('align', ['upsample_student', 'pool_teacher'])
def test_cwd_aligns_lr_student_and_hr_teacher(align):
    s, t = student_and_teacher(2, 3, 2, 2, teacher_shape=(2, 3, 4, 4))
    if align == 'upsample_student':
        expected = cwd_ref(upsample_ref(s.tolist(), (4, 4)), t.tolist(), 4.0)
    else:
        expected = cwd_ref(s.tolist(), block_mean_ref(t.tolist(), (2, 2)),
                           4.0)
    loss = ChannelWiseDivergenceLoss(align=align)(s, t)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_cwd_zero_for_identical_up_to_channel_offsets():
    x = torch.randn(2, 3, 4, 4)
    offset = torch.tensor([1.0, -2.0, 5.0]).view(1, 3, 1, 1)
    assert ChannelWiseDivergenceLoss()(x, x + offset).item() == \
        pytest.approx(0.0, abs=1e-6)
    assert ChannelWiseDivergenceLoss()(x, x.flip(-1)).item() > 0


def test_cwd_needs_same_channels():
    with pytest.raises(ValueError, match='5 channels.*teacher map 4'):
        ChannelWiseDivergenceLoss()(torch.zeros(2, 5, 2, 2),
                                    torch.zeros(2, 4, 4, 4))
    with pytest.raises(ValueError, match='tau='):
        ChannelWiseDivergenceLoss(tau=0)


# ----------------------------------------------------------------------
# decoupled KD
# ----------------------------------------------------------------------


def block_majority_ref(labels, k, ignore_index=255):
    """[n][H][W] labels -> [n][H/k][W/k]: the most frequent non-ignored label
    of each k x k block (lowest label on ties; ignore_index if none)."""
    out = []
    for m in labels:
        rows = []
        for i in range(len(m) // k):
            row = []
            for j in range(len(m[0]) // k):
                votes = [m[i * k + a][j * k + b] for a in range(k)
                         for b in range(k)]
                votes = [v for v in votes if v != ignore_index]
                row.append(min(set(votes), key=lambda v: (-votes.count(v), v))
                           if votes else ignore_index)
            rows.append(row)
        out.append(rows)
    return out


def dkd_row_ref(zs, zt, label, alpha, beta, tau):
    """(alpha TCKD + beta NCKD) tau^2 for one row of logits."""
    ps, pt = softmax(zs, tau), softmax(zt, tau)
    tckd = kl([pt[label], 1 - pt[label]], [ps[label], 1 - ps[label]])
    other = [c for c in range(len(zs)) if c != label]
    nckd = kl(softmax([zt[c] for c in other], tau),
              softmax([zs[c] for c in other], tau))
    return (alpha * tckd + beta * nckd) * tau**2


def test_dkd_on_logits_matches_reference():
    s, t = student_and_teacher(4, 5)
    gt = torch.tensor([0, 3, 4, 1])
    expected = sum(
        dkd_row_ref(a, b, y, 1.0, 8.0, 4.0)
        for a, b, y in zip(s.tolist(), t.tolist(), gt.tolist())) / 4
    loss = DecoupledKDLoss()(s, t, gt)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert DecoupledKDLoss(loss_weight=0.5)(s, t, gt).item() == \
        pytest.approx(0.5 * expected, rel=1e-5)
    assert_student_only_gradient(loss, s, t)
    x = torch.randn(3, 5)
    assert DecoupledKDLoss()(x, x.clone(), torch.tensor([1, 2, 0])).item() \
        == pytest.approx(0.0, abs=1e-6)


def test_dkd_recomposes_hinton_kd():
    """Zhao et al. Eq. 7: KD = TCKD + (1 - p_t^T) NCKD (per row)."""
    s, t = torch.randn(1, 6), torch.randn(1, 6)
    gt = torch.tensor([2])
    tau = 3.0
    tckd = DecoupledKDLoss(alpha=1.0, beta=0.0, tau=tau)(s, t, gt)
    nckd = DecoupledKDLoss(alpha=0.0, beta=1.0, tau=tau)(s, t, gt)
    p_t = F.softmax(t / tau, dim=1)[0, 2]
    kd = ResolutionAwareKDLoss(tau=tau)(s, t)
    assert (tckd + (1 - p_t) * nckd).item() == pytest.approx(kd.item(),
                                                             rel=1e-5)


def test_dkd_on_maps_resizes_and_skips_ignored_pixels():
    s, t = student_and_teacher(2, 4, 2, 2, teacher_shape=(2, 4, 4, 4))
    g = torch.Generator().manual_seed(3)
    gt = torch.randint(0, 4, (2, 8, 8), generator=g)
    gt[0, :4] = 255  # the top half of sample 0 (teacher rows 0-1)
    gt[1, 0, 0] = 255  # one ignored pixel in a block, which the others win
    labels = block_majority_ref(gt.tolist(), 2)  # 8 -> 4: 2 x 2 blocks
    # the map is one where nearest resizing (each block's top-left pixel)
    # would give other labels
    assert any(labels[n][i][j] != int(gt[n, 2 * i, 2 * j])
               for n in range(2) for i in range(4) for j in range(4))
    up = upsample_ref(s.tolist(), (4, 4))
    tl, rows = t.tolist(), []
    for n in range(2):
        for i in range(4):
            for j in range(4):
                label = labels[n][i][j]
                if label == 255:
                    continue
                rows.append(dkd_row_ref([up[n][c][i][j] for c in range(4)],
                                        [tl[n][c][i][j] for c in range(4)],
                                        label, 2.0, 0.5, 1.5))
    assert len(rows) == 24
    loss = DecoupledKDLoss(alpha=2.0, beta=0.5, tau=1.5)(s, t, gt)
    assert loss.item() == pytest.approx(sum(rows) / len(rows), rel=1e-5)
    assert DecoupledKDLoss(alpha=2.0, beta=0.5, tau=1.5)(
        s, t, gt.unsqueeze(1)).item() == pytest.approx(loss.item())
    assert_student_only_gradient(loss, s, t)


def test_dkd_all_ignored_is_zero():
    s = torch.randn(2, 3, 2, 2, requires_grad=True)
    loss = DecoupledKDLoss()(s, torch.randn(2, 3, 2, 2),
                             torch.full((2, 4, 4), 255))
    assert loss.item() == 0.0
    loss.backward()


def test_dkd_errors_name_the_problem():
    s, t = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match="gt='gt'"):
        DecoupledKDLoss()(s, t)
    with pytest.raises(ValueError, match='label maps'):
        DecoupledKDLoss()(s, t, torch.zeros(2, 3, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        DecoupledKDLoss()(s, t, torch.full((2, 4, 4), 3))
    with pytest.raises(ValueError, match='same batch size and classes'):
        DecoupledKDLoss()(torch.randn(2, 4, 2, 2), t, torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match=r'\(N,\) labels'):
        DecoupledKDLoss()(torch.randn(2, 3), torch.randn(2, 3),
                          torch.zeros(2, 1))
