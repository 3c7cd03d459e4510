"""Face verification on image pairs: k-fold accuracy and TAR at a FAR."""
import logging
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from rkd_mm.registry import METRICS

__all__ = [
    'pair_similarities', 'best_threshold', 'kfold_verification_accuracy',
    'TarAtFar', 'tar_at_far', 'far_key', 'FaceVerificationMetric'
]

# Convention shared by every function here: a pair is accepted as "same
# person" when its similarity is strictly greater than the threshold.


def _as_pairs(similarities, is_same):
    """Flat float64 similarities and bool labels of equal length."""
    sims = np.asarray(similarities, dtype=np.float64).ravel()
    same = np.asarray(is_same).ravel()
    if sims.shape != same.shape:
        raise ValueError(
            f'Verification needs one label per similarity; got {sims.size} '
            f'similarities and {same.size} labels.')
    if not np.isfinite(sims).all():
        raise ValueError(
            'Verification similarities contain NaN or infinite values: '
            'check the embeddings.')
    return sims, same.astype(bool)


def pair_similarities(embeddings: Mapping[int, torch.Tensor],
                      pairs: Sequence) -> np.ndarray:
    """Cosine similarity of each pair, float64: what verification
    thresholds.

    Args:
        embeddings: ``{sample_idx: 1-D embedding}`` of the evaluated images.
        pairs: ``(idx_a, idx_b, is_same, fold)`` per pair, as
            :class:`~rkd_mm.datasets.LFWPairsDataset`'s meta ``pairs``.

    Returns:
        np.ndarray: ``(num_pairs,)`` similarities in [-1, 1].

    Raises:
        ValueError: When a pair's image was not evaluated.
    """
    idx_a = [int(p[0]) for p in pairs]
    idx_b = [int(p[1]) for p in pairs]
    missing = sorted(set(idx_a + idx_b) - set(embeddings))
    if missing:
        raise ValueError(
            f'{len(missing)} images of the pairs were not evaluated '
            f'(sample_idx {missing[:5]}...): the test dataloader must '
            'cover the whole pairs data set (no subset, no drop_last).')
    emb_a = torch.nn.functional.normalize(
        torch.stack([embeddings[i] for i in idx_a]).double(), dim=1)
    emb_b = torch.nn.functional.normalize(
        torch.stack([embeddings[i] for i in idx_b]).double(), dim=1)
    return (emb_a * emb_b).sum(dim=1).numpy()


def best_threshold(similarities, is_same) -> float:
    """The threshold of highest accuracy on the given pairs.

    Candidates are the midpoints between consecutive sorted distinct
    similarities, plus ``-inf`` (accept every pair) and ``+inf`` (reject
    every pair); each candidate's accuracy is counted exactly. Ties go to
    the **smallest** threshold, so the choice is deterministic.

    Args:
        similarities: ``(n,)`` pair similarities, higher = more alike.
        is_same: ``(n,)`` True for same-person pairs.

    Returns:
        float: The chosen threshold (pairs with similarity ``>`` it are
        accepted).
    """
    sims, same = _as_pairs(similarities, is_same)
    if sims.size == 0:
        raise ValueError('best_threshold needs at least one pair.')
    values = np.unique(sims)
    candidates = np.concatenate(
        ([-np.inf], (values[:-1] + values[1:]) / 2, [np.inf]))
    pos = np.sort(sims[same])
    neg = np.sort(sims[~same])
    # accepted positives: > t; rejected negatives: <= t
    true_accepts = pos.size - np.searchsorted(pos, candidates, side='right')
    true_rejects = np.searchsorted(neg, candidates, side='right')
    # argmax returns the first maximum = the smallest threshold
    return float(candidates[np.argmax(true_accepts + true_rejects)])


def kfold_verification_accuracy(similarities, is_same, folds):
    """Accuracy of each fold, its threshold chosen on the other folds.

    The LFW protocol: for each fold, :func:`best_threshold` on the pairs of
    all the other folds, then the accuracy of that threshold on the fold.

    Args:
        similarities: ``(n,)`` pair similarities, higher = more alike.
        is_same: ``(n,)`` True for same-person pairs.
        folds: ``(n,)`` fold id of each pair (any hashable ints).

    Returns:
        tuple[np.ndarray, np.ndarray]: Per-fold accuracies (fractions) and
        thresholds, in increasing fold-id order.

    Raises:
        ValueError: With fewer than two folds, or mismatched lengths.
    """
    sims, same = _as_pairs(similarities, is_same)
    folds = np.asarray(folds).ravel()
    if folds.shape != sims.shape:
        raise ValueError(
            f'Verification needs one fold id per pair; got {folds.size} '
            f'fold ids and {sims.size} pairs.')
    fold_ids = np.unique(folds)
    if fold_ids.size < 2:
        raise ValueError(
            f'k-fold verification needs at least 2 folds, the pairs have '
            f'{fold_ids.size}: use a pairs file with several folds (LFW '
            "pairs.txt has 10; pairsDevTest.txt has one).")
    accuracies, thresholds = [], []
    for fold in fold_ids:
        test = folds == fold
        threshold = best_threshold(sims[~test], same[~test])
        accuracies.append(np.mean((sims[test] > threshold) == same[test]))
        thresholds.append(threshold)
    return np.asarray(accuracies), np.asarray(thresholds)


class TarAtFar(NamedTuple):
    """What :func:`tar_at_far` returns.

    Attributes:
        tar: True accept rate (fraction of same-person pairs accepted).
        far: False accept rate actually reached (``<= far_target``).
        threshold: The threshold (pairs with similarity ``>`` it accepted).
        resolved: False when ``far_target * num_negatives < 1``: no false
            accept is allowed, so ``tar`` is the TAR at FAR = 0.
    """

    tar: float
    far: float
    threshold: float
    resolved: bool


def tar_at_far(similarities, is_same, far_target: float) -> TarAtFar:
    """True accept rate at the smallest threshold with FAR <= target.

    With ``N`` different-person pairs, at most ``k = floor(far_target * N)``
    of them may be accepted. The threshold is the ``(k + 1)``-th highest
    negative similarity, pairs strictly above it being accepted: the
    smallest threshold whose FAR stays within the target (ties among the
    negatives can make the reached FAR lower than ``k / N``).

    Too few negatives: when ``far_target * N < 1`` (e.g. 1e-3 with 600
    negatives) no false accept is allowed, the threshold is the highest
    negative similarity and the result is the TAR at FAR = 0, a lower bound
    of the TAR at the target; ``resolved`` is then False.

    Args:
        similarities: ``(n,)`` pair similarities, higher = more alike.
        is_same: ``(n,)`` True for same-person pairs.
        far_target: Allowed false accept rate, in ``(0, 1)``.

    Returns:
        TarAtFar: TAR, reached FAR, threshold and whether the target was
        resolvable.

    Raises:
        ValueError: On a target outside ``(0, 1)`` or without both
            same-person and different-person pairs.
    """
    if not 0 < far_target < 1:
        raise ValueError(f'far_target must be in (0, 1), got {far_target}.')
    sims, same = _as_pairs(similarities, is_same)
    pos, neg = sims[same], sims[~same]
    if pos.size == 0 or neg.size == 0:
        raise ValueError(
            f'TAR at FAR needs same-person and different-person pairs, got '
            f'{pos.size} and {neg.size}.')
    # the 1e-9 absorbs float error in products such as 1e-3 * 3000
    allowed = int(np.floor(far_target * neg.size + 1e-9))
    threshold = float(np.sort(neg)[::-1][allowed])
    return TarAtFar(
        tar=float(np.mean(pos > threshold)),
        far=float(np.mean(neg > threshold)),
        threshold=threshold,
        resolved=allowed >= 1)


def far_key(far_target: float) -> str:
    """Result key of a FAR target: ``1e-3`` -> ``'tar_far_1e-3'``."""
    mantissa, exponent = f'{far_target:e}'.split('e')
    mantissa = mantissa.rstrip('0').rstrip('.')
    return f'tar_far_{mantissa}e{int(exponent)}'


@METRICS.register_module()
class FaceVerificationMetric(BaseMetric):
    """Face verification on the pairs of the data set (LFW protocol).

    Reads each sample's ``embedding`` (1-D, written by an embedding head
    such as :class:`~rkd_mm.models.ArcFaceEmbeddingHead`) and its
    ``sample_idx`` (metainfo kept by ``PackInputs``); the pairs come from
    ``dataset_meta['pairs']``, a list of ``(idx_a, idx_b, is_same, fold)``
    that :class:`~rkd_mm.datasets.LFWPairsDataset` provides (MMEngine's
    val/test loops copy the data set's metainfo to the metric). Each pair
    is scored by the cosine similarity of its two embeddings.

    Returned entries, in percent:

    * ``verif_acc``: mean over the folds of the accuracy with the threshold
      chosen on the other folds (:func:`kfold_verification_accuracy`);
    * ``verif_acc_std``: standard deviation of the fold accuracies
      (population, ``ddof=0``, as the LFW reference code reports it);
    * ``tar_far_1e-3`` (one per entry of ``far_targets``, see
      :func:`far_key`): TAR at that FAR over all pairs
      (:func:`tar_at_far`). When there are too few different-person pairs
      to reach the target, the value is the TAR at FAR = 0 and a warning
      says so.

    Args:
        num_folds: Number of folds the pairs must have; ``None`` takes
            whatever folds the pairs carry.
        far_targets: FAR values to report the TAR at.
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (none by default).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 num_folds: Optional[int] = 10,
                 far_targets: Sequence[float] = (1e-3, ),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_folds is not None and num_folds < 2:
            raise ValueError(
                f'num_folds must be >= 2 (or None), got {num_folds}.')
        far_targets = tuple(far_targets)
        for target in far_targets:
            if not 0 < target < 1:
                raise ValueError(
                    f'far_targets must lie in (0, 1), got {target}.')
        self.num_folds = num_folds
        self.far_targets = far_targets

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'embedding' not in sample:
                raise ValueError(
                    'FaceVerificationMetric needs an embedding per sample '
                    'but the prediction has none: use an embedding head '
                    'whose predict writes it (rkd_mm.ArcFaceEmbeddingHead).')
            if 'sample_idx' not in sample:
                raise ValueError(
                    'FaceVerificationMetric needs each sample\'s sample_idx '
                    'to find its pairs: keep it in the PackInputs meta_keys '
                    '(it is there by default).')
            embedding = torch.as_tensor(sample['embedding']).detach()
            self.results.append(
                dict(sample_idx=int(sample['sample_idx']),
                     embedding=embedding.cpu().double().view(-1)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pairs = (self.dataset_meta or {}).get('pairs')
        if not pairs:
            raise ValueError(
                "FaceVerificationMetric reads the pairs from the data set's "
                "meta 'pairs' but there are none: evaluate on "
                'rkd_mm.LFWPairsDataset (MMEngine copies its metainfo to '
                'the metric; set metric.dataset_meta when calling it '
                'directly).')
        index = {r['sample_idx']: r['embedding'] for r in results}
        sims = pair_similarities(index, pairs)
        _, _, is_same, folds = (list(c) for c in zip(*pairs))
        fold_ids = sorted(set(folds))
        if self.num_folds is not None and len(fold_ids) != self.num_folds:
            raise ValueError(
                f'The pairs have {len(fold_ids)} folds but num_folds is '
                f'{self.num_folds}: set num_folds={len(fold_ids)} (or None) '
                'or use a pairs file with that many folds.')

        is_same = np.asarray(is_same, dtype=bool)

        accuracies, _ = kfold_verification_accuracy(sims, is_same, folds)
        metrics = dict(verif_acc=100 * float(accuracies.mean()),
                       verif_acc_std=100 * float(accuracies.std()))
        for target in self.far_targets:
            result = tar_at_far(sims, is_same, target)
            if not result.resolved:
                print_log(
                    f'FaceVerificationMetric: {int((~is_same).sum())} '
                    f'different-person pairs cannot resolve FAR={target:g}; '
                    f'{far_key(target)} is the TAR at FAR=0 (a lower '
                    'bound).', logger='current', level=logging.WARNING)
            metrics[far_key(target)] = 100 * result.tar
        return metrics
