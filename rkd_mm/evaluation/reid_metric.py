"""CMC and mAP of person re-identification, Market-1501 protocol."""
import logging
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from rkd_mm.registry import METRICS

__all__ = [
    'ReIDResult', 'eval_cmc_map', 'valid_gallery_order', 'pairwise_distances',
    'ReIDMetric'
]

_PACKING_FIX = (
    "pack them with dict(type='PackInputs', algorithm_keys=('pid', "
    "'camid', 'is_query')) in the test pipeline, on a data set that "
    "provides them (rkd_mm.Market1501Dataset, split='test').")


class ReIDResult(NamedTuple):
    """What :func:`eval_cmc_map` returns.

    Attributes:
        cmc: ``(max_rank,)`` cumulative match characteristic: ``cmc[k]`` is
            the fraction of evaluated queries whose first true match lies
            within the top ``k + 1`` valid gallery entries.
        mAP: Mean over the evaluated queries of the average precision.
        num_queries: Number of queries evaluated.
        num_skipped: Number of queries skipped (junk or distractor query,
            or no valid true match left in the gallery).
    """

    cmc: np.ndarray
    mAP: float
    num_queries: int
    num_skipped: int


def valid_gallery_order(distances: np.ndarray, q_pid: int, q_camid: int,
                        g_pids: np.ndarray, g_camids: np.ndarray,
                        junk_pid: Optional[int] = -1) -> np.ndarray:
    """One query's ranking under the official rule: gallery indices by
    increasing distance (stable), without the query person's images from
    the query's camera and without junk. :func:`eval_cmc_map` scores these
    rankings; the rank-list visualisation draws them.

    Args:
        distances: ``(num_gallery,)`` distances of the query.
        q_pid: The query's person id.
        q_camid: The query's camera id.
        g_pids: ``(num_gallery,)`` person ids of the gallery.
        g_camids: ``(num_gallery,)`` camera ids of the gallery.
        junk_pid: Gallery pid removed from the ranking (``None``: none).

    Returns:
        np.ndarray: The valid gallery indices, closest first.
    """
    order = np.argsort(distances, kind='stable')
    keep = ~((g_pids[order] == q_pid) & (g_camids[order] == q_camid))
    if junk_pid is not None:
        keep &= g_pids[order] != junk_pid
    return order[keep]


def pairwise_distances(query: torch.Tensor, gallery: torch.Tensor,
                       dist: str = 'euclidean') -> np.ndarray:
    """``(num_query, num_gallery)`` distances in float64: ``'euclidean'``
    or ``'cosine'`` (1 - cosine similarity)."""
    query, gallery = query.double(), gallery.double()
    if dist == 'cosine':
        query = torch.nn.functional.normalize(query, dim=1)
        gallery = torch.nn.functional.normalize(gallery, dim=1)
        return (1 - query @ gallery.T).numpy()
    if dist != 'euclidean':
        raise ValueError(
            f"dist must be 'euclidean' or 'cosine', got {dist!r}.")
    return torch.cdist(query, gallery).numpy()


def eval_cmc_map(distmat,
                 q_pids,
                 g_pids,
                 q_camids,
                 g_camids,
                 max_rank: int = 10,
                 junk_pid: Optional[int] = -1,
                 distractor_pid: Optional[int] = 0) -> ReIDResult:
    """CMC and mAP under the official Market-1501 evaluation rule.

    For each query the gallery is ranked by increasing distance (a stable
    sort: equal distances keep the gallery order), then

    * gallery entries with the query's pid **and** camera are removed: the
      same person seen by the same camera is too easy a match;
    * junk gallery entries (pid ``junk_pid``, Market's ``-1``) are removed;
    * distractors (pid ``distractor_pid``, Market's ``0000``) stay in the
      ranking as negatives, like every other pid.

    On what is left (the *valid* gallery), with true matches at the 1-based
    ranks ``r_1 < r_2 < ... < r_m``:

    * CMC at rank ``k`` is 1 when ``r_1 <= k`` (a cumulative match), else 0;
      also when the valid gallery is shorter than ``k``;
    * AP is the mean over the true matches of the precision at their rank,
      ``(1/m) sum_i i / r_i`` (the non-interpolated AP of torchreid,
      fast-reid and open-reid; the official MATLAB script averages
      neighbouring precisions instead, which differs slightly).

    A query is skipped, and counted, when it has no valid true match, or
    its pid is the junk or distractor one (it has no identity to find).
    CMC and mAP are averaged over the remaining queries.

    Args:
        distmat: ``(num_query, num_gallery)`` distances, smaller = closer.
        q_pids: ``(num_query,)`` person ids of the queries.
        g_pids: ``(num_gallery,)`` person ids of the gallery.
        q_camids: ``(num_query,)`` camera ids of the queries.
        g_camids: ``(num_gallery,)`` camera ids of the gallery.
        max_rank: Length of the returned CMC curve.
        junk_pid: Gallery pid removed from every ranking (``None``: none).
        distractor_pid: Pid of the distractors (``None``: none); only its
            queries are affected (skipped).

    Returns:
        ReIDResult: CMC curve (fractions), mAP (fraction) and the counts of
        evaluated and skipped queries.

    Raises:
        ValueError: On inconsistent shapes, an empty query set or gallery,
            non-finite distances, ``max_rank < 1``, or when no query has a
            valid true match.
    """
    distmat = np.asarray(distmat, dtype=np.float64)
    q_pids, g_pids, q_camids, g_camids = (
        np.asarray(a).ravel() for a in (q_pids, g_pids, q_camids, g_camids))
    if distmat.ndim != 2:
        raise ValueError(
            f'distmat must be (num_query, num_gallery), got shape '
            f'{distmat.shape}.')
    num_q, num_g = distmat.shape
    if num_q == 0 or num_g == 0:
        raise ValueError(
            f'Re-ID evaluation needs queries and gallery images, got '
            f'{num_q} queries and {num_g} gallery images.')
    if len(q_pids) != num_q or len(q_camids) != num_q:
        raise ValueError(
            f'distmat has {num_q} query rows but there are {len(q_pids)} '
            f'query pids and {len(q_camids)} query camids.')
    if len(g_pids) != num_g or len(g_camids) != num_g:
        raise ValueError(
            f'distmat has {num_g} gallery columns but there are '
            f'{len(g_pids)} gallery pids and {len(g_camids)} gallery '
            'camids.')
    if not np.isfinite(distmat).all():
        raise ValueError(
            'Re-ID distances contain NaN or infinite values: check the '
            'embeddings.')
    if max_rank < 1:
        raise ValueError(f'max_rank must be >= 1, got {max_rank}.')

    no_identity = {p for p in (junk_pid, distractor_pid) if p is not None}
    all_cmc, all_ap = [], []
    for i in range(num_q):
        if q_pids[i] in no_identity:
            continue
        order = valid_gallery_order(distmat[i], q_pids[i], q_camids[i],
                                    g_pids, g_camids, junk_pid)
        matches = g_pids[order] == q_pids[i]
        if not matches.any():
            continue
        match_ranks = np.flatnonzero(matches) + 1  # 1-based
        # CMC: 1 from the first true match's rank on
        all_cmc.append(np.arange(1, max_rank + 1) >= match_ranks[0])
        precision = np.arange(1, len(match_ranks) + 1) / match_ranks
        all_ap.append(precision.mean())

    num_eval = len(all_ap)
    if num_eval == 0:
        raise ValueError(
            f'None of the {num_q} queries has a true match in the gallery '
            'once the same-camera images of its person and the junk images '
            'are removed: query and gallery must share identities seen by '
            'different cameras (check the query/gallery folders and the '
            'pid/camid parsing).')
    cmc = np.mean(all_cmc, axis=0)
    return ReIDResult(cmc=cmc, mAP=float(np.mean(all_ap)),
                      num_queries=num_eval, num_skipped=num_q - num_eval)


def _scalar(value, key: str) -> int:
    """A packed pid / camid / is_query as a python int."""
    array = np.asarray(torch.as_tensor(value).cpu())
    if array.size != 1:
        raise ValueError(
            f'ReIDMetric expects one {key} per sample, got {array.size} '
            'values.')
    return int(array.item())


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """CMC rank-k and mAP (percent) of a re-ID embedding model.

    Reads from each data sample the ``embedding`` (1-D, written by an
    embedding head such as :class:`~rkd_mm.models.BNNeckHead`) and the data
    fields ``pid``, ``camid`` and ``is_query`` (packed from the data set by
    ``PackInputs(algorithm_keys=('pid', 'camid', 'is_query'))``). The
    queries are ranked against the gallery and scored by
    :func:`eval_cmc_map` (official Market-1501 rule: same pid and camera
    removed, junk ``-1`` removed, distractors ``0`` negatives).

    Returns ``rank{k}`` for every ``k`` in ``topk`` and ``mAP``, in percent.
    Skipped queries (no valid true match) are counted in the log.

    Args:
        topk: Ranks of the CMC curve to report.
        dist: ``'euclidean'`` (default, as BNNeck features are compared) or
            ``'cosine'`` (1 - cosine similarity).
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (none by default).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 topk: Sequence[int] = (1, 5, 10),
                 dist: str = 'euclidean',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(int(k) != k or k < 1 for k in topk):
            raise ValueError(
                f'topk must be positive integers, got {topk!r}.')
        if dist not in ('euclidean', 'cosine'):
            raise ValueError(
                f"dist must be 'euclidean' or 'cosine', got {dist!r}.")
        self.topk = tuple(int(k) for k in topk)
        self.dist = dist

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'embedding' not in sample:
                raise ValueError(
                    'ReIDMetric needs an embedding per sample but the '
                    'prediction has none: use an embedding head whose '
                    'predict writes it (rkd_mm.BNNeckHead, '
                    'rkd_mm.ArcFaceEmbeddingHead).')
            missing = [k for k in ('pid', 'camid', 'is_query')
                       if k not in sample]
            if missing:
                raise ValueError(
                    f'ReIDMetric needs pid, camid and is_query per sample '
                    f'but {missing} are missing: ' + _PACKING_FIX)
            embedding = torch.as_tensor(sample['embedding']).detach()
            self.results.append(
                dict(embedding=embedding.cpu().float().view(-1),
                     pid=_scalar(sample['pid'], 'pid'),
                     camid=_scalar(sample['camid'], 'camid'),
                     is_query=bool(_scalar(sample['is_query'], 'is_query'))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        query = [r for r in results if r['is_query']]
        gallery = [r for r in results if not r['is_query']]
        if not query or not gallery:
            raise ValueError(
                f'ReIDMetric got {len(query)} query and {len(gallery)} '
                'gallery samples; it needs both: evaluate on the query and '
                "gallery together (rkd_mm.Market1501Dataset split='test').")
        dims = {r['embedding'].numel() for r in results}
        if len(dims) != 1:
            raise ValueError(
                f'The embeddings have different sizes {sorted(dims)}: '
                'evaluate one model at a time.')
        distmat = pairwise_distances(
            torch.stack([r['embedding'] for r in query]),
            torch.stack([r['embedding'] for r in gallery]), self.dist)
        result = eval_cmc_map(
            distmat,
            [r['pid'] for r in query], [r['pid'] for r in gallery],
            [r['camid'] for r in query], [r['camid'] for r in gallery],
            max_rank=max(self.topk))
        if result.num_skipped:
            print_log(
                f'ReIDMetric: {result.num_skipped} of {len(query)} queries '
                'skipped (junk/distractor query or no true match in the '
                'gallery from another camera).', logger='current',
                level=logging.WARNING)
        metrics = {f'rank{k}': 100 * float(result.cmc[k - 1])
                   for k in self.topk}
        metrics['mAP'] = 100 * result.mAP
        return metrics
