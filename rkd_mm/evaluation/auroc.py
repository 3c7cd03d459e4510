"""Binary AUROC from the positive-class score (mmpretrain has none)."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from rkd_mm.registry import METRICS

__all__ = ['binary_auroc', 'AUROC']


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``; tied values share their mean rank."""
    order = np.argsort(values, kind='mergesort')
    ordered = values[order]
    new_group = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], len(values)]
    # a group at sorted positions starts..ends-1 holds ranks starts+1..ends
    mean_rank = (starts + 1 + ends) / 2
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def binary_auroc(scores, labels) -> float:
    """Area under the ROC curve of a binary problem, in [0, 1].

    Computed as the Mann-Whitney statistic: the probability that a random
    positive scores higher than a random negative, ties counting one half,
    ``(R_pos - P (P + 1) / 2) / (P N)`` with ``R_pos`` the sum of the
    positives' ranks (ties share their mean rank), ``P`` positives and
    ``N`` negatives. Exact and O(n log n); it equals the trapezoidal area
    under the ROC curve.

    Args:
        scores: ``(n,)`` scores of the positive class (any monotone score:
            probability, logit).
        labels: ``(n,)`` ground truth, 1 = positive, 0 = negative.

    Returns:
        float: The AUROC.

    Raises:
        ValueError: On mismatched lengths, labels other than 0/1, scores
            that are not finite, or only one class among the labels (the
            AUROC is then undefined).
    """
    scores = np.asarray(torch.as_tensor(scores).double().cpu()).ravel()
    labels = np.asarray(torch.as_tensor(labels).cpu()).ravel()
    if scores.shape != labels.shape:
        raise ValueError(
            f'AUROC needs one score per label; got {scores.size} scores and '
            f'{labels.size} labels.')
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(
            'AUROC is binary: labels must be 0 (negative) or 1 (positive), '
            f'got {np.unique(labels).tolist()}. Map the classes to 0/1 '
            "first (e.g. ELPVDataset's label_mode='binary').")
    if not np.isfinite(scores).all():
        raise ValueError(
            'AUROC got NaN or infinite scores: check the model outputs.')
    num_pos = int(labels.sum())
    num_neg = labels.size - num_pos
    if num_pos == 0 or num_neg == 0:
        raise ValueError(
            f'AUROC is undefined with only one class among the {labels.size} '
            f'labels (positives: {num_pos}, negatives: {num_neg}): evaluate '
            'on a split that holds both classes, or drop AUROC.')
    rank_sum = _average_ranks(scores)[labels == 1].sum()
    return float((rank_sum - num_pos * (num_pos + 1) / 2) /
                 (num_pos * num_neg))


@METRICS.register_module()
class AUROC(BaseMetric):
    """Binary AUROC (percent) from each sample's positive-class score.

    mmpretrain's single-label metrics all threshold the prediction
    (accuracy, precision, recall, F1); the AUROC ranks the scores instead,
    so it does not depend on a decision threshold, which matters on
    imbalanced data such as ELPV's binary mode (31 % defective).

    Reads ``pred_score`` and ``gt_label`` of mmpretrain's ``DataSample``;
    the score of class ``pos_label`` is the positive score. Returns
    ``{'auroc': value}`` in percent, like mmpretrain's accuracy.

    Args:
        pos_label: Index of the positive class in ``pred_score``.
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (none by default).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 pos_label: int = 1,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pos_label = pos_label

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise ValueError(
                    'AUROC needs class scores (pred_score) but the sample '
                    'holds only a predicted label: use a classifier that '
                    'outputs scores (mmpretrain ImageClassifier does).')
            score = sample['pred_score'].cpu()
            if score.numel() != 2:
                raise ValueError(
                    f'AUROC is binary but pred_score has {score.numel()} '
                    'classes: use a two-class head (e.g. ELPVDataset '
                    "label_mode='binary').")
            gt = int(sample['gt_label'].cpu().item())
            if gt not in (0, 1):
                raise ValueError(
                    f'AUROC is binary but a ground-truth label is {gt}: '
                    "evaluate two-class data (e.g. ELPVDataset label_mode="
                    "'binary').")
            self.results.append(
                dict(score=float(score[self.pos_label]),
                     positive=int(gt == self.pos_label)))

    def compute_metrics(self, results: List[dict]) -> dict:
        scores = [r['score'] for r in results]
        labels = [r['positive'] for r in results]
        return dict(auroc=100 * binary_auroc(scores, labels))
