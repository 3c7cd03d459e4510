"""Batch-hard triplet loss against a hand-worked case and a brute-force
reference over all triplets."""
import itertools
import math

import pytest
import torch

from rkd_mm.models.losses import TripletLoss
from rkd_mm.models.losses.triplet_loss import euclidean_distances
from rkd_mm.registry import MODELS

# Two identities on a 3 x 4 grid, plus a lone third identity far away:
#   a = (0, 0), b = (0, 4)   identity 0
#   c = (3, 0), d = (6, 4)   identity 1
#   e = (20, 0)              identity 2 (no positive: skipped as an anchor)
POINTS = [[0., 0.], [0., 4.], [3., 0.], [6., 4.], [20., 0.]]
LABELS = [0, 0, 1, 1, 2]
# Pairwise distances:
#   d(a,b) = 4                d(c,d) = sqrt(9 + 16) = 5
#   d(a,c) = 3                d(a,d) = sqrt(36 + 16) = 7.21
#   d(b,c) = sqrt(9 + 16) = 5 d(b,d) = sqrt(36 + 0) = 6
#   e is >= 14.56 from everyone, so it is nobody's hardest negative.
# Hardest positive / hardest negative per anchor, margin 0.3:
#   a: pos d(a,b) = 4, neg min(3, 7.21, 20) = 3  -> 4 - 3 + 0.3 =  1.3
#   b: pos d(b,a) = 4, neg min(5, 6, 20.4)  = 5  -> 4 - 5 + 0.3 = -0.7 -> 0
#   c: pos d(c,d) = 5, neg min(3, 5, 17)    = 3  -> 5 - 3 + 0.3 =  2.3
#   d: pos d(d,c) = 5, neg min(7.21, 6, 14.6) = 6 -> 5 - 6 + 0.3 = -0.7 -> 0
#   e: no positive -> skipped
# loss = (1.3 + 0 + 2.3 + 0) / 4 = 0.9; with margin 0: (1 + 0 + 2 + 0) / 4.
HAND_LOSS = 0.9
HAND_LOSS_MARGIN0 = 0.75


def brute_force(feats, labels, margin):
    """Mean over anchors of the largest hinge over *all* triplets (a, p, n)
    -- equal to the batch-hard loss because the hinge is monotone -- with
    ``math.dist`` in double precision and plain loops."""
    x = feats.double().tolist()
    y = labels.tolist()
    per_anchor = []
    for a in range(len(x)):
        hinges = [max(0.0, math.dist(x[a], x[p]) - math.dist(x[a], x[n])
                      + margin)
                  for p, n in itertools.product(range(len(x)), repeat=2)
                  if p != a and y[p] == y[a] and y[n] != y[a]]
        if hinges:
            per_anchor.append(max(hinges))
    return sum(per_anchor) / len(per_anchor)


def test_hand_worked_case():
    feats, labels = torch.tensor(POINTS), torch.tensor(LABELS)
    assert TripletLoss(margin=0.3)(feats, labels).item() == pytest.approx(
        HAND_LOSS, abs=1e-5)
    assert TripletLoss(margin=0.0)(feats, labels).item() == pytest.approx(
        HAND_LOSS_MARGIN0, abs=1e-5)
    # the anchor without a positive only leaves the mean: same loss without
    assert TripletLoss()(feats[:4], labels[:4]).item() == pytest.approx(
        HAND_LOSS, abs=1e-5)
    assert TripletLoss(loss_weight=2.0)(feats, labels).item() == \
        pytest.approx(2 * HAND_LOSS, abs=1e-5)


def test_distances_match_hand_values():
    dist = euclidean_distances(torch.tensor(POINTS))
    assert dist[0, 1].item() == pytest.approx(4.0, abs=1e-5)
    assert dist[0, 3].item() == pytest.approx(math.sqrt(52), abs=1e-5)
    assert dist[1, 2].item() == pytest.approx(5.0, abs=1e-5)
    assert torch.allclose(dist, dist.t())
    assert dist.diagonal().max().item() < 1e-5


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('margin', [0.0, 0.3, 2.0])
def test_matches_brute_force_on_random_data(seed, margin):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(12, 5, generator=g)
    # P x K-like (3 ids x 3) plus a singleton and a pair
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4])
    labels = labels[torch.randperm(12, generator=g)]
    got = TripletLoss(margin=margin)(feats, labels).item()
    assert got == pytest.approx(brute_force(feats, labels, margin),
                                rel=1e-5, abs=1e-6)


def test_labels_may_be_a_column_and_features_far_from_origin():
    g = torch.Generator().manual_seed(7)
    feats = torch.randn(8, 16, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    ref = brute_force(feats, labels, 0.3)
    loss = TripletLoss()
    assert loss(feats, labels[:, None]).item() == pytest.approx(ref,
                                                                rel=1e-5)
    # distances are shift-invariant; centring keeps float32 exact enough
    # where |a|^2 + |b|^2 - 2ab alone would cancel catastrophically
    # (uncentred, float32 distances here are off by up to 2.0)
    assert loss(feats + 1000.0, labels).item() == pytest.approx(ref,
                                                                rel=1e-3)


def test_gradients_are_finite_and_match_finite_differences():
    g = torch.Generator().manual_seed(3)
    feats = torch.randn(6, 4, generator=g, dtype=torch.float64,
                        requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.autograd.gradcheck(
        lambda x: TripletLoss(margin=5.0)(x, labels), (feats, ))


@pytest.mark.parametrize('case', ['all_identical', 'identical_pairs'])
def test_gradients_finite_for_identical_features(case):
    if case == 'all_identical':
        feats = torch.ones(4, 3)
    else:  # each identity's two samples coincide: d_ap = 0 exactly
        feats = torch.tensor([[1., 2., 3.]] * 2 + [[-1., 0., 2.]] * 2)
    feats.requires_grad_(True)
    labels = torch.tensor([0, 0, 1, 1])
    loss = TripletLoss(margin=0.3)(feats, labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(feats.grad).all()
    if case == 'all_identical':
        # every distance is 0 (up to the clamp): the loss is the margin
        assert loss.item() == pytest.approx(0.3, abs=1e-5)


def test_gradients_finite_with_a_skipped_anchor():
    feats = torch.tensor(POINTS, requires_grad=True)
    TripletLoss()(feats, torch.tensor(LABELS)).backward()
    assert torch.isfinite(feats.grad).all()


@pytest.mark.parametrize('labels', [[0, 0, 0, 0], [0, 1, 2, 3], [5]])
def test_batch_without_any_valid_anchor_names_the_pk_sampler(labels):
    feats = torch.randn(len(labels), 3)
    with pytest.raises(ValueError, match='PKBatchSampler'):
        TripletLoss()(feats, torch.tensor(labels))


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        TripletLoss()(torch.randn(4, 3, 2, 2), torch.arange(4))
    with pytest.raises(ValueError, match='3 labels for 4'):
        TripletLoss()(torch.randn(4, 3), torch.arange(3))
    with pytest.raises(ValueError, match='margin'):
        TripletLoss(margin=-0.1)


def test_registered():
    loss = MODELS.build(dict(type='rkd_mm.TripletLoss', margin=0.5))
    assert isinstance(loss, TripletLoss) and loss.margin == 0.5
