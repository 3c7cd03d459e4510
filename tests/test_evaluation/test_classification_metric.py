"""ClassificationMetric against a 3-class example worked out by hand."""
import pytest
import torch
from mmpretrain.evaluation import SingleLabelMetric
from mmpretrain.structures import DataSample

from rkd_mm.evaluation import ClassificationMetric, binary_auroc
from rkd_mm.registry import METRICS

# 8 samples, 3 classes. Confusion matrix (rows truth, columns prediction):
#   truth 0: [2, 1, 1]   truth 1: [0, 2, 0]   truth 2: [0, 1, 1]
# accuracy  = (2 + 2 + 1) / 8                          = 62.5 %
# precision = column-wise: 2/2, 2/4, 1/2               = 100, 50, 50 %
# recall    = row-wise:    2/4, 2/2, 1/2               = 50, 100, 50 %
# F1 = 2PR/(P+R):          2/3, 2/3, 1/2
# macro-F1  = (2/3 + 2/3 + 1/2) / 3 = 11/18            = 61.11 %
# (not the F1 of the macro precision 2/3 and recall 2/3, which is 66.67 %)
GT = [0, 0, 0, 0, 1, 1, 2, 2]
PRED = [0, 0, 1, 2, 1, 1, 1, 2]
CLASSES = ('ok', 'crack', 'dark')
EXPECTED = {
    'accuracy': 62.5,
    'macro_f1': 100 * 11 / 18,
    'precision.ok': 100.0, 'precision.crack': 50.0, 'precision.dark': 50.0,
    'recall.ok': 50.0, 'recall.crack': 100.0, 'recall.dark': 50.0,
    'f1.ok': 100 * 2 / 3, 'f1.crack': 100 * 2 / 3, 'f1.dark': 50.0,
}
MATRIX = [[2, 1, 1], [0, 2, 0], [0, 1, 1]]


def _scores(pred, num_classes, seed=0):
    """Softmax-like scores whose argmax is ``pred``."""
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(len(pred), num_classes, generator=g) * 0.4
    scores[torch.arange(len(pred)), torch.tensor(pred)] += 1.0
    return scores / scores.sum(1, keepdim=True)


def _samples(gt, pred=None, scores=None):
    samples = []
    for i, label in enumerate(gt):
        s = DataSample().set_gt_label(label)
        if scores is not None:
            s.set_pred_score(scores[i])
        else:
            s.set_pred_label(pred[i])
        samples.append(s.to_dict())
    return samples


def _evaluate(metric, samples, classes=CLASSES, batch=3):
    metric.dataset_meta = dict(classes=classes) if classes else None
    for i in range(0, len(samples), batch):  # several batches, as in a loop
        metric.process({}, samples[i:i + batch])
    return metric.evaluate(len(samples))


def test_three_classes_by_hand():
    out = _evaluate(ClassificationMetric(),
                    _samples(GT, scores=_scores(PRED, 3)))
    for key, value in EXPECTED.items():
        assert out[key] == pytest.approx(value, abs=1e-4), key
    assert out['confusion_matrix'].tolist() == MATRIX
    assert 'auroc' not in out  # three classes: no AUROC


def test_labels_without_scores_give_the_same_numbers():
    out = _evaluate(ClassificationMetric(num_classes=3),
                    _samples(GT, pred=PRED), classes=None)
    assert out['macro_f1'] == pytest.approx(EXPECTED['macro_f1'], abs=1e-4)
    assert out['precision.0'] == pytest.approx(100.0)
    assert out['recall.0'] == pytest.approx(50.0)


def test_macro_f1_equals_mmpretrains_macro_average():
    scores = _scores(PRED, 3)
    ours = _evaluate(ClassificationMetric(), _samples(GT, scores=scores))
    _, _, f1, _ = SingleLabelMetric.calculate(
        scores, torch.tensor(GT), average='macro')[0]
    assert ours['macro_f1'] == pytest.approx(float(f1), abs=1e-4)


def test_absent_class_counts_zero_in_the_macro_average():
    # class 'dark' is neither true nor predicted: its F1 is 0 and the macro
    # average runs over all three classes of the data set
    out = _evaluate(ClassificationMetric(),
                    _samples([0, 0, 1, 1], pred=[0, 1, 1, 1]),
                    classes=CLASSES)
    # F1 ok = 2*1*0.5/1.5 = 2/3, crack: P 2/3, R 1 -> 0.8, dark 0
    assert out['macro_f1'] == pytest.approx(100 * (2 / 3 + 0.8) / 3,
                                            abs=1e-4)


def test_binary_adds_auroc_from_the_positive_score():
    gt = [0, 0, 0, 1, 1, 1]
    pos = torch.tensor([0.1, 0.4, 0.7, 0.4, 0.8, 0.9])
    scores = torch.stack([1 - pos, pos], dim=1)
    out = _evaluate(ClassificationMetric(), _samples(gt, scores=scores),
                    classes=('functional', 'defective'))
    # pairs (pos, neg): 0.4 vs {0.1, 0.4, 0.7} -> 1 + 0.5 + 0; 0.8 and 0.9
    # beat all three -> 6; AUROC = 7.5 / 9
    assert out['auroc'] == pytest.approx(100 * 7.5 / 9)
    # argmax of [1-p, p] is 'defective' iff p > 0.5: predictions 0 0 1 0 1 1
    assert out['accuracy'] == pytest.approx(100 * 4 / 6)
    assert out['confusion_matrix'].tolist() == [[2, 1], [1, 2]]
    assert out['auroc'] == pytest.approx(
        100 * binary_auroc(pos, torch.tensor(gt)))


def test_pos_label_zero_scores_the_other_column():
    gt = [0, 0, 1, 1]
    pos = torch.tensor([0.2, 0.6, 0.4, 0.9])
    scores = torch.stack([1 - pos, pos], dim=1)
    a = _evaluate(ClassificationMetric(), _samples(gt, scores=scores),
                  classes=('a', 'b'))['auroc']
    b = _evaluate(ClassificationMetric(pos_label=0),
                  _samples(gt, scores=scores), classes=('a', 'b'))['auroc']
    assert a == pytest.approx(75.0) and b == pytest.approx(75.0)


def test_builds_from_the_registry_by_scope():
    metric = METRICS.build(dict(type='rkd_mm.ClassificationMetric'))
    assert isinstance(metric, ClassificationMetric)


def test_head_and_data_set_disagree():
    with pytest.raises(ValueError, match='num_classes to 3'):
        _evaluate(ClassificationMetric(),
                  _samples([0, 1], scores=torch.eye(4)[:2]))


def test_label_outside_the_classes():
    with pytest.raises(ValueError, match='ground-truth label is 5'):
        _evaluate(ClassificationMetric(), _samples([0, 5], pred=[0, 1]))


def test_no_way_to_know_the_number_of_classes():
    with pytest.raises(ValueError, match='num_classes'):
        _evaluate(ClassificationMetric(), _samples([0, 1], pred=[0, 1]),
                  classes=None)


def test_binary_with_one_class_only_is_an_error():
    scores = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    with pytest.raises(ValueError, match='only one class'):
        _evaluate(ClassificationMetric(), _samples([0, 0], scores=scores),
                  classes=('a', 'b'))


def test_bad_pos_label():
    with pytest.raises(ValueError, match='pos_label'):
        ClassificationMetric(pos_label=2)


def test_slash_in_a_class_name_is_not_a_prefix():
    out = _evaluate(ClassificationMetric(), _samples([0, 1], pred=[0, 1]),
                    classes=('T-shirt/top', 'Trouser'))
    assert out['recall.T-shirt_top'] == pytest.approx(100.0)
    assert 'auroc' not in out  # two classes but labels only: no scores
