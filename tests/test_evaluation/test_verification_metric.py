"""Face verification: k-fold accuracy and TAR at FAR, by hand and against
brute-force references; the metric end to end."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from rkd_mm.evaluation import (FaceVerificationMetric, best_threshold,
                               far_key, kfold_verification_accuracy,
                               tar_at_far)
from rkd_mm.registry import METRICS

# 12 pairs in 3 folds, worked out by hand (s = same person, d = different)
#   fold 0: 0.9 s, 0.2 d, 0.6 s, 0.5 s
#   fold 1: 0.8 s, 0.4 d, 0.3 s, 0.1 d
#   fold 2: 0.7 s, 0.35 d, 0.55 s, 0.65 d
SIMS = [0.9, 0.2, 0.6, 0.5, 0.8, 0.4, 0.3, 0.1, 0.7, 0.35, 0.55, 0.65]
SAME = [1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]
FOLDS = [0] * 4 + [1] * 4 + [2] * 4
# A pair is accepted when its similarity is > the threshold. Correct
# pairs of each candidate threshold on the training folds:
#
# test fold 0, train = folds 1+2 (4 s, 4 d), sorted
#   0.1d 0.3s 0.35d 0.4d 0.55s 0.65d 0.7s 0.8s
#   -inf:4  0.2:5  0.325:4  0.375:5  0.475:6  0.6:5  0.675:6  0.75:5  inf:4
#   tie 0.475 / 0.675 -> the smaller, 0.475
#   fold 0: 0.9 s acc, 0.2 d rej, 0.6 s acc, 0.5 s acc -> 4/4
# test fold 1, train = folds 0+2 (6 s, 3 d), sorted
#   0.2d 0.35d 0.5s 0.55s 0.6s 0.65d 0.7s 0.9s
#   -inf:6  0.275:7  0.425:8  0.525:7  0.575:6  0.625:5  0.675:6  0.8:5
#   inf:3 -> 0.425
#   fold 1: 0.8 s acc, 0.4 d rej, 0.3 s rej (wrong), 0.1 d rej -> 3/4
# test fold 2, train = folds 0+1 (6 s, 3 d), sorted
#   0.1d 0.2d 0.3s 0.4d 0.5s 0.6s 0.8s 0.9s
#   -inf:6  0.15:7  0.25:8  0.35:7  0.45:8  0.55:7  0.7:6  0.85:4  inf:3
#   tie 0.25 / 0.45 -> the smaller, 0.25
#   fold 2: 0.7 s acc, 0.35 d acc (wrong), 0.55 s acc, 0.65 d acc (wrong)
#   -> 2/4 (0.45 would have given 3/4: the tie rule matters here)
HAND_ACCS = [1.0, 0.75, 0.5]
HAND_THRESHOLDS = [0.475, 0.425, 0.25]
# mean 0.75; population std sqrt((0.25^2 + 0 + 0.25^2) / 3)
HAND_STD = math.sqrt(0.125 / 3)


def test_kfold_by_hand():
    accs, thresholds = kfold_verification_accuracy(SIMS, SAME, FOLDS)
    np.testing.assert_allclose(accs, HAND_ACCS, atol=1e-12)
    np.testing.assert_allclose(thresholds, HAND_THRESHOLDS, atol=1e-12)
    assert accs.std() == pytest.approx(HAND_STD)


def test_best_threshold_extremes():
    # all same: accepting everything (-inf) is best; all different: every
    # midpoint accepts the highest pair, so only +inf rejects them all
    assert best_threshold([0.3, 0.7], [1, 1]) == -np.inf
    assert best_threshold([0.3, 0.7], [0, 0]) == np.inf
    # separable: the midpoint of the gap
    assert best_threshold([0.1, 0.2, 0.6, 0.9], [0, 0, 1, 1]) == (
        pytest.approx(0.4))


def _reference_kfold(sims, same, folds):
    """Every candidate threshold tried in a plain loop, first best kept."""
    accs = []
    for fold in sorted(set(folds)):
        train = [(s, y) for s, y, f in zip(sims, same, folds) if f != fold]
        test = [(s, y) for s, y, f in zip(sims, same, folds) if f == fold]
        values = sorted({s for s, _ in train})
        candidates = [-math.inf] + [
            (a + b) / 2 for a, b in zip(values, values[1:])] + [math.inf]
        best, best_correct = None, -1
        for t in candidates:
            correct = sum((s > t) == bool(y) for s, y in train)
            if correct > best_correct:
                best, best_correct = t, correct
        accs.append(sum((s > best) == bool(y) for s, y in test) / len(test))
    return accs


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_kfold_matches_the_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    n = 120
    same = rng.integers(0, 2, n)
    # rounded: many ties between similarities
    sims = np.round(rng.normal(same * 0.5, 0.4), 1)
    folds = rng.integers(0, 5, n)
    accs, _ = kfold_verification_accuracy(sims, same, folds)
    np.testing.assert_allclose(
        accs, _reference_kfold(sims.tolist(), same.tolist(),
                               folds.tolist()), atol=1e-12)


# TAR at FAR on the 12 pairs above, all folds together:
#   negatives (5): 0.65 0.4 0.35 0.2 0.1
#   positives (7): 0.9 0.8 0.7 0.6 0.55 0.5 0.3
# FAR 0.2: 1 false accept allowed -> threshold = 2nd negative 0.4
#   TAR = #pos > 0.4 = 6/7, FAR reached 1/5
# FAR 0.5: floor(2.5) = 2 allowed -> threshold 0.35, TAR 6/7, FAR 2/5
# FAR 0.1: 0.1 * 5 < 1, none allowed -> threshold 0.65 (the highest
#   negative), TAR 3/7 at FAR 0, not resolved
@pytest.mark.parametrize('target, tar, far, threshold, resolved', [
    (0.2, 6 / 7, 1 / 5, 0.4, True),
    (0.5, 6 / 7, 2 / 5, 0.35, True),
    (0.1, 3 / 7, 0.0, 0.65, False),
])
def test_tar_at_far_by_hand(target, tar, far, threshold, resolved):
    result = tar_at_far(SIMS, SAME, target)
    assert result.tar == pytest.approx(tar)
    assert result.far == pytest.approx(far)
    assert result.threshold == threshold
    assert result.resolved is resolved


def test_tar_at_far_with_tied_negatives():
    # negatives 0.5, 0.5, 0.1; FAR 0.34 allows floor(1.02) = 1 false
    # accept, but the two 0.5 are inseparable: the threshold 0.5 accepts
    # neither, so the FAR reached is 0 and positive 0.5 is rejected too
    result = tar_at_far([0.5, 0.5, 0.1, 0.5, 0.7], [0, 0, 0, 1, 1], 0.34)
    assert (result.tar, result.far, result.threshold) == (0.5, 0.0, 0.5)


def _reference_tar(sims, same, target):
    """The smallest threshold of FAR <= target, by trying every one."""
    neg = [s for s, y in zip(sims, same) if not y]
    pos = [s for s, y in zip(sims, same) if y]
    for t in sorted([-math.inf] + neg):
        if sum(s > t for s in neg) / len(neg) <= target:
            return sum(s > t for s in pos) / len(pos)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('target', [1e-3, 0.01, 0.05, 0.3])
def test_tar_at_far_matches_the_brute_force_reference(seed, target):
    rng = np.random.default_rng(seed)
    same = rng.integers(0, 2, 400)
    sims = np.round(rng.normal(same * 0.5, 0.4), 2)
    assert tar_at_far(sims, same, target).tar == pytest.approx(
        _reference_tar(sims.tolist(), same.tolist(), target))


def test_tar_at_far_resolves_one_per_thousand_with_enough_negatives():
    # 3000 negatives (LFW) at 1e-3: 3 false accepts allowed, threshold =
    # the 4th highest negative 1 - 3/2999, passed by one positive of three
    sims = np.r_[np.linspace(0, 1, 3000), [0.5, 0.998, 2.0]]
    same = np.r_[np.zeros(3000), np.ones(3)]
    result = tar_at_far(sims, same, 1e-3)
    assert result.resolved
    assert result.far == pytest.approx(3 / 3000)
    assert result.tar == pytest.approx(1 / 3)


@pytest.mark.parametrize('call, match', [
    (lambda: tar_at_far(SIMS, SAME, 0.0), 'far_target'),
    (lambda: tar_at_far([0.1, 0.2], [1, 1], 0.1), 'got 2 and 0'),
    (lambda: tar_at_far([0.1], [1, 0], 0.1), 'one label per similarity'),
    (lambda: best_threshold([np.nan], [1]), 'NaN'),
    (lambda: kfold_verification_accuracy(SIMS, SAME, [0] * 12),
     'at least 2 folds'),
    (lambda: kfold_verification_accuracy(SIMS, SAME, [0, 1]),
     'one fold id per pair'),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize('target, key', [
    (1e-3, 'tar_far_1e-3'), (1e-4, 'tar_far_1e-4'), (0.01, 'tar_far_1e-2'),
    (5e-4, 'tar_far_5e-4'), (1.5e-3, 'tar_far_1.5e-3'), (0.1, 'tar_far_1e-1')
])
def test_far_key(target, key):
    assert far_key(target) == key


def _pair_samples():
    """Two 2-D embeddings per pair whose cosine is the pair's similarity;
    sample_idx 2i and 2i + 1 for pair i, returned in shuffled order."""
    samples, pairs = [], []
    for i, (sim, same, fold) in enumerate(zip(SIMS, SAME, FOLDS)):
        angle = math.acos(sim)
        # norms other than 1: the metric must normalise
        for j, emb in enumerate(([2.0, 0.0], [3 * math.cos(angle),
                                              3 * math.sin(angle)])):
            sample = DataSample(metainfo=dict(sample_idx=2 * i + j))
            sample.set_field(torch.tensor(emb), 'embedding')
            samples.append(sample)
        pairs.append((2 * i, 2 * i + 1, bool(same), fold))
    order = np.random.default_rng(0).permutation(len(samples))
    return [samples[k] for k in order], pairs


def _evaluate(pairs, samples, **kwargs):
    evaluator = Evaluator(
        METRICS.build(dict(type='rkd_mm.FaceVerificationMetric', **kwargs)))
    evaluator.dataset_meta = dict(pairs=pairs, num_folds=3)
    evaluator.process(samples[:10])
    evaluator.process(samples[10:])
    return evaluator.evaluate(len(samples))


def test_metric_end_to_end():
    samples, pairs = _pair_samples()
    metrics = _evaluate(pairs, samples, num_folds=3, far_targets=(0.2, 0.1))
    assert metrics == pytest.approx({
        'verif_acc': 75.0,
        'verif_acc_std': 100 * HAND_STD,
        'tar_far_2e-1': 100 * 6 / 7,
        'tar_far_1e-1': 100 * 3 / 7,
    })


def test_metric_default_keys_and_num_folds_none():
    samples, pairs = _pair_samples()
    metrics = _evaluate(pairs, samples, num_folds=None)
    # 5 negatives cannot resolve 1e-3: the TAR at FAR 0, as for 0.1
    assert metrics == pytest.approx({
        'verif_acc': 75.0,
        'verif_acc_std': 100 * HAND_STD,
        'tar_far_1e-3': 100 * 3 / 7,
    })


def test_metric_errors():
    samples, pairs = _pair_samples()
    with pytest.raises(ValueError, match='pairs have 3 folds'):
        _evaluate(pairs, samples)  # num_folds 10 by default
    with pytest.raises(ValueError, match='were not evaluated'):
        _evaluate(pairs, samples[:-1], num_folds=3)

    metric = FaceVerificationMetric(num_folds=3)
    metric.process({}, [s.to_dict() for s in samples])
    with pytest.raises(ValueError, match="meta 'pairs'"):
        metric.evaluate(len(samples))

    no_idx = DataSample()
    no_idx.set_field(torch.zeros(4), 'embedding')
    with pytest.raises(ValueError, match='sample_idx'):
        metric.process({}, [no_idx.to_dict()])
    with pytest.raises(ValueError, match='embedding head'):
        metric.process({}, [DataSample(metainfo=dict(sample_idx=0))
                            .to_dict()])
    with pytest.raises(ValueError, match='num_folds'):
        FaceVerificationMetric(num_folds=1)
    with pytest.raises(ValueError, match='far_targets'):
        FaceVerificationMetric(far_targets=(1.0, ))
