"""Binary AUROC against the Mann-Whitney pair count, ties included."""
import itertools

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from rkd_mm.evaluation import AUROC, binary_auroc


def _pairwise_auroc(scores, labels):
    """The definition, by brute force: P(score_pos > score_neg), ties 1/2."""
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
               for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_ties_by_hand():
    # positives 0.9, 0.5, 0.5; negatives 0.5, 0.2. Pairs:
    # 0.9 beats both (2); each 0.5 ties 0.5 (1/2) and beats 0.2 (1) -> 3
    # AUROC = 5 / 6
    scores = [0.9, 0.5, 0.5, 0.5, 0.2]
    labels = [1, 1, 1, 0, 0]
    assert binary_auroc(scores, labels) == pytest.approx(5 / 6)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_the_pair_count_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    labels[:2] = (0, 1)
    # rounded scores that lean towards the positives: many ties
    scores = np.round(rng.random(60) * 0.7 + 0.3 * labels, 1)
    assert binary_auroc(scores, labels) == pytest.approx(
        _pairwise_auroc(scores, labels), abs=1e-12)


def test_extremes():
    labels = [0, 0, 1, 1]
    assert binary_auroc([0.1, 0.2, 0.3, 0.4], labels) == 1.0
    assert binary_auroc([0.4, 0.3, 0.2, 0.1], labels) == 0.0
    assert binary_auroc([0.5] * 4, labels) == 0.5
    # only the order matters: logits give the same area as probabilities
    logits = torch.tensor([-2.0, 1.0, 0.5, 3.0])
    assert binary_auroc(logits, labels) == binary_auroc(
        torch.sigmoid(logits), labels) == pytest.approx(0.75)


@pytest.mark.parametrize('scores, labels, match', [
    ([0.1, 0.2], [0, 1, 1], 'one score per label'),
    ([0.1, 0.2, 0.3], [0, 1, 2], 'must be 0'),
    ([0.1, float('nan')], [0, 1], 'NaN'),
    ([0.1, 0.2], [1, 1], 'only one class'),
])
def test_bad_input(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        binary_auroc(scores, labels)


def _sample(gt, score):
    return DataSample().set_gt_label(gt).set_pred_score(
        torch.tensor(score)).to_dict()


def test_metric_in_percent():
    metric = AUROC()
    metric.process({}, [_sample(1, [0.1, 0.9]), _sample(0, [0.5, 0.5])])
    metric.process({}, [_sample(1, [0.5, 0.5]), _sample(0, [0.8, 0.2])])
    # positives 0.9, 0.5; negatives 0.5, 0.2 -> (2 + 1.5) / 4
    assert metric.evaluate(4) == {'auroc': pytest.approx(87.5)}


def test_metric_refuses_non_binary_input():
    with pytest.raises(ValueError, match='3 classes'):
        AUROC().process({}, [_sample(0, [0.2, 0.3, 0.5])])
    with pytest.raises(ValueError, match='ground-truth label is 2'):
        AUROC().process({}, [_sample(2, [0.2, 0.8])])
    label_only = DataSample().set_gt_label(0).set_pred_label(1).to_dict()
    with pytest.raises(ValueError, match='pred_score'):
        AUROC().process({}, [label_only])
