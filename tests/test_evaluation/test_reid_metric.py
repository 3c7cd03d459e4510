"""Re-ID CMC / mAP: a hand-worked case, a brute-force reference, the metric
end to end."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.structures import DataSample

from rkd_mm.evaluation import ReIDMetric, eval_cmc_map
from rkd_mm.registry import METRICS

# The 3-query, 6-gallery case worked out by hand.
#
# gallery  g0      g1      g2      g3      g4            g5
# pid      1       1       1       2       0 distractor  -1 junk
# camid    1       2       3       1       2             1
G_PIDS = [1, 1, 1, 2, 0, -1]
G_CAMIDS = [1, 2, 3, 1, 2, 1]
# queries q0 = (pid 1, cam 1), q1 = (pid 2, cam 2), q2 = (pid 1, cam 3)
Q_PIDS = [1, 2, 1]
Q_CAMIDS = [1, 2, 3]
DISTMAT = [
    # g0   g1   g2   g3   g4   g5
    [0.1, 0.5, 0.9, 0.3, 0.2, 0.05],  # q0
    [0.4, 0.3, 0.6, 0.2, 0.1, 0.7],  # q1
    [0.2, 0.8, 0.1, 0.4, 0.6, 0.3],  # q2
]
# q0 (pid 1, cam 1), by distance: g5 g0 g4 g3 g1 g2
#   g5 junk -> removed; g0 same pid and camera -> removed
#   valid ranking g4 g3 g1 g2: true matches g1, g2 at ranks 3 and 4
#   first match rank 3;  AP = (1/3 + 2/4) / 2 = 5/12
# q1 (pid 2, cam 2), by distance: g4 g3 g1 g0 g2 g5
#   g5 junk -> removed; g3 is pid 2 but camera 1 -> stays, the distractor
#   g4 stays as a negative; valid ranking g4 g3 g1 g0 g2: match at rank 2
#   first match rank 2;  AP = 1/2
# q2 (pid 1, cam 3), by distance: g2 g0 g5 g3 g4 g1
#   g2 same pid and camera -> removed; g5 junk -> removed
#   valid ranking g0 g3 g4 g1: matches g0, g1 at ranks 1 and 4
#   first match rank 1;  AP = (1/1 + 2/4) / 2 = 3/4
# CMC: rank 1 = {q2} = 1/3; rank 2 = {q1, q2} = 2/3; rank >= 3 = 1
# mAP = (5/12 + 6/12 + 9/12) / 3 = 5/9
HAND_CMC = [1 / 3, 2 / 3, 1, 1, 1]
HAND_MAP = 5 / 9


def test_hand_worked_case():
    result = eval_cmc_map(DISTMAT, Q_PIDS, G_PIDS, Q_CAMIDS, G_CAMIDS,
                          max_rank=5)
    np.testing.assert_allclose(result.cmc, HAND_CMC, rtol=0, atol=1e-12)
    assert result.mAP == pytest.approx(HAND_MAP, abs=1e-12)
    assert (result.num_queries, result.num_skipped) == (3, 0)


def test_hand_worked_case_without_the_rule_differs():
    # Sanity check of the case itself: keep the junk (junk_pid None) and
    # give the queries cameras of their own, so nothing is removed.
    # q0 ranking g5 g0 g4 g3 g1 g2: matches at 2, 5, 6, AP (1/2+2/5+3/6)/3
    # q1 ranking g4 g3 g1 g0 g2 g5: match at 2, AP 1/2
    # q2 ranking g2 g0 g5 g3 g4 g1: matches at 1, 2, 6, AP (1+1+3/6)/3
    # CMC [1/3, 1, ...], mAP (1.4/3 + 1/2 + 2.5/3) / 3 = 0.6, not 5/9
    result = eval_cmc_map(DISTMAT, Q_PIDS, G_PIDS, [7, 8, 9],
                          G_CAMIDS, max_rank=3, junk_pid=None)
    np.testing.assert_allclose(result.cmc, [1 / 3, 1, 1], atol=1e-12)
    assert result.mAP == pytest.approx(0.6, abs=1e-12)


def test_query_without_valid_match_is_skipped():
    # q2 becomes (pid 2, cam 1): its only pid-2 gallery image g3 is on
    # camera 1 too, so it is removed and q2 has nothing to find.
    # Left: q0 (first match rank 3, AP 5/12), q1 (rank 2, AP 1/2).
    result = eval_cmc_map(DISTMAT, [1, 2, 2], G_PIDS, [1, 2, 1], G_CAMIDS,
                          max_rank=3)
    np.testing.assert_allclose(result.cmc, [0, 1 / 2, 1], atol=1e-12)
    assert result.mAP == pytest.approx((5 / 12 + 1 / 2) / 2)
    assert (result.num_queries, result.num_skipped) == (2, 1)


def test_junk_and_distractor_queries_are_skipped():
    # a junk (-1) or distractor (0) query has no identity to find, even
    # though distractor g4 would "match" a distractor query
    result = eval_cmc_map(DISTMAT, [1, -1, 0], G_PIDS, [1, 2, 3], G_CAMIDS,
                          max_rank=3)
    assert (result.num_queries, result.num_skipped) == (1, 2)
    assert result.mAP == pytest.approx(5 / 12)


def test_distractors_are_negatives_not_removed():
    # one query (pid 5, cam 1); gallery: distractor, junk, match (cam 2)
    # the junk is removed, the nearer distractor stays: match at rank 2
    result = eval_cmc_map([[0.1, 0.05, 0.3]], [5], [0, -1, 5], [1],
                          [1, 1, 2], max_rank=2)
    np.testing.assert_allclose(result.cmc, [0, 1])
    assert result.mAP == pytest.approx(1 / 2)


def test_cmc_is_cumulative_beyond_the_gallery_size():
    # 2 valid gallery images, max_rank 10: CMC stays 1 after the match
    result = eval_cmc_map([[0.2, 0.1]], [1], [1, 2], [1], [2, 2],
                          max_rank=10)
    np.testing.assert_allclose(result.cmc, [0] + [1] * 9)


def test_equal_distances_keep_the_gallery_order():
    # stable sort: the earlier gallery entry ranks first
    first = eval_cmc_map([[0.5, 0.5]], [1], [1, 2], [1], [2, 2], 1)
    second = eval_cmc_map([[0.5, 0.5]], [1], [2, 1], [1], [2, 2], 1)
    assert (first.mAP, second.mAP) == (1.0, 0.5)


@pytest.mark.parametrize('kwargs, match', [
    (dict(q_pids=[1, 2]), 'query pids'),
    (dict(g_camids=[1, 2]), 'gallery pids'),
    (dict(distmat=np.zeros((0, 6))), '0 queries'),
    (dict(distmat=np.zeros((3, 0)), g_pids=[], g_camids=[]),
     '0 gallery images'),
    (dict(distmat=[[np.nan] * 6] * 3), 'NaN'),
    (dict(max_rank=0), 'max_rank'),
    (dict(q_camids=[1, 1, 1], q_pids=[2, 2, 2]), 'None of the 3 queries'),
])
def test_bad_input(kwargs, match):
    args = dict(distmat=DISTMAT, q_pids=Q_PIDS, g_pids=G_PIDS,
                q_camids=Q_CAMIDS, g_camids=G_CAMIDS)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        eval_cmc_map(**args)


def _reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """The definition with plain loops over (distance, index) tuples."""
    hits_at = [0] * max_rank
    ap_sum, evaluated = 0.0, 0
    for qi, row in enumerate(distmat):
        if q_pids[qi] in (-1, 0):
            continue
        ranking = []
        for _, gi in sorted((d, gi) for gi, d in enumerate(row)):
            if g_pids[gi] == -1:
                continue
            if g_pids[gi] == q_pids[qi] and g_camids[gi] == q_camids[qi]:
                continue
            ranking.append(g_pids[gi] == q_pids[qi])
        if True not in ranking:
            continue
        evaluated += 1
        first = ranking.index(True)
        for k in range(first, max_rank):
            hits_at[k] += 1
        found, precisions = 0, []
        for position, hit in enumerate(ranking, start=1):
            if hit:
                found += 1
                precisions.append(found / position)
        ap_sum += sum(precisions) / len(precisions)
    return [h / evaluated for h in hits_at], ap_sum / evaluated, evaluated


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_matches_the_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    num_q, num_g = 15, 40
    q_pids = rng.integers(-1, 6, num_q)
    g_pids = rng.integers(-1, 6, num_g)
    q_camids = rng.integers(1, 4, num_q)
    g_camids = rng.integers(1, 4, num_g)
    distmat = rng.random((num_q, num_g))
    cmc, mean_ap, evaluated = _reference(
        distmat.tolist(), q_pids.tolist(), g_pids.tolist(),
        q_camids.tolist(), g_camids.tolist(), max_rank=10)
    result = eval_cmc_map(distmat, q_pids, g_pids, q_camids, g_camids, 10)
    np.testing.assert_allclose(result.cmc, cmc, atol=1e-12)
    assert result.mAP == pytest.approx(mean_ap, abs=1e-12)
    assert result.num_queries == evaluated


def _sample(embedding, pid, camid, is_query):
    sample = DataSample()
    sample.set_field(torch.tensor(embedding, dtype=torch.float32),
                     'embedding')
    sample.set_field(pid, 'pid')
    sample.set_field(camid, 'camid')
    sample.set_field(is_query, 'is_query')
    return sample


def _evaluator(**kwargs):
    return Evaluator(METRICS.build(dict(type='rkd_mm.ReIDMetric', **kwargs)))


def test_metric_end_to_end_by_hand():
    # 1-D embeddings. Query (pid 1, cam 1) at 0. Gallery: pid 1 cam 1 at 0
    # (same camera: removed), junk at 0.5 (removed), pid 2 at 1.0, pid 1
    # cam 2 at 2.0 -> valid ranking: pid 2, pid 1: match at rank 2.
    samples = [
        _sample([0.0], 1, 1, True),
        _sample([0.0], 1, 1, False),
        _sample([0.5], -1, 2, False),
        _sample([1.0], 2, 2, False),
        _sample([2.0], 1, 2, False),
    ]
    evaluator = _evaluator(topk=(1, 2))
    evaluator.process(samples[:2])
    evaluator.process(samples[2:])
    metrics = evaluator.evaluate(len(samples))
    assert metrics == {'rank1': 0.0, 'rank2': 100.0, 'mAP': 50.0}


def test_metric_matches_the_functional_core():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 8))
    pids = rng.integers(1, 5, 30)
    camids = rng.integers(1, 4, 30)
    is_query = np.arange(30) < 8
    samples = [_sample(e, int(p), int(c), bool(q))
               for e, p, c, q in zip(emb, pids, camids, is_query)]
    for dist in ('euclidean', 'cosine'):
        evaluator = _evaluator(dist=dist)
        evaluator.process(samples)
        metrics = evaluator.evaluate(len(samples))
        q, g = emb[is_query], emb[~is_query]
        if dist == 'euclidean':
            distmat = np.sqrt(((q[:, None] - g[None]) ** 2).sum(-1))
        else:
            qn = q / np.linalg.norm(q, axis=1, keepdims=True)
            gn = g / np.linalg.norm(g, axis=1, keepdims=True)
            distmat = 1 - qn @ gn.T
        cmc, mean_ap, _ = _reference(
            distmat.tolist(), pids[is_query].tolist(),
            pids[~is_query].tolist(), camids[is_query].tolist(),
            camids[~is_query].tolist(), max_rank=10)
        assert set(metrics) == {'rank1', 'rank5', 'rank10', 'mAP'}
        for k in (1, 5, 10):
            assert metrics[f'rank{k}'] == pytest.approx(100 * cmc[k - 1])
        assert metrics['mAP'] == pytest.approx(100 * mean_ap)


def test_cosine_ignores_the_embedding_norm():
    # the gallery match points the query's way but lies far away: cosine
    # ranks it first, Euclidean last
    samples = [
        _sample([1.0, 0.0], 1, 1, True),
        _sample([10.0, 0.5], 1, 2, False),
        _sample([0.5, 0.6], 2, 2, False),
    ]
    results = {}
    for dist in ('euclidean', 'cosine'):
        evaluator = _evaluator(topk=(1, ), dist=dist)
        evaluator.process(samples)
        results[dist] = evaluator.evaluate(3)['rank1']
    assert results == {'euclidean': 0.0, 'cosine': 100.0}


def test_metric_reads_what_pack_inputs_packs():
    pack = PackInputs(algorithm_keys=('pid', 'camid', 'is_query'))
    samples = []
    for emb, pid, camid, is_query in [(0.0, 3, 1, True), (0.1, 4, 1, False),
                                      (0.2, 3, 2, False)]:
        packed = pack.transform(
            dict(img=np.zeros((4, 4, 3), np.uint8), pid=pid, camid=camid,
                 is_query=is_query, sample_idx=0))['data_samples']
        packed.set_field(torch.tensor([emb]), 'embedding')
        samples.append(packed)
    evaluator = _evaluator(topk=(1, 2))
    evaluator.process(samples)
    assert evaluator.evaluate(3) == {'rank1': 0.0, 'rank2': 100.0,
                                     'mAP': 50.0}


def test_metric_errors():
    metric = ReIDMetric()
    without_embedding = DataSample()
    without_embedding.set_field(1, 'pid')
    with pytest.raises(ValueError, match='embedding head'):
        metric.process({}, [without_embedding.to_dict()])
    unpacked = DataSample()
    unpacked.set_field(torch.zeros(4), 'embedding')
    with pytest.raises(ValueError, match=r"algorithm_keys=\('pid'"):
        metric.process({}, [unpacked.to_dict()])

    only_queries = [_sample([0.0], 1, 1, True).to_dict()] * 2
    metric.process({}, only_queries)
    with pytest.raises(ValueError, match='2 query and 0 gallery'):
        metric.evaluate(2)

    with pytest.raises(ValueError, match='dist must be'):
        ReIDMetric(dist='manhattan')
    with pytest.raises(ValueError, match='topk'):
        ReIDMetric(topk=(0, 5))
