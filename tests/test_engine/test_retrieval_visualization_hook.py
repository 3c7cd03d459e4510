"""RetrievalVisualizationHook: the rank lists and hardest pairs it draws,
against hand-worked cases, and the files it writes."""
import os
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from rkd_mm.engine.hooks import RetrievalVisualizationHook
from rkd_mm.evaluation import ReIDMetric, best_threshold
from rkd_mm.registry import HOOKS

TILE = 32  # tile height here; images are 8x8, upscaled x4
# BGR border colours of the hook
BLUE, GREEN, RED = (200, 110, 0), (0, 160, 0), (0, 0, 210)

# 1-D embeddings: euclidean distance = |q - g|.
# queries (value, pid, cam); gallery (value, pid, cam)
QUERIES = [(0.0, 1, 1), (10.0, 2, 1), (20.0, 3, 2)]
GALLERY = [
    (0.5, 1, 1),   # g0: query 0's person, same camera: removed for q0
    (1.0, 2, 2),   # g1
    (2.0, 1, 2),   # g2: query 0's person, other camera
    (3.0, -1, 3),  # g3: junk: removed everywhere
    (11.0, 2, 1),  # g4: query 1's person, same camera: removed for q1
    (12.0, 2, 3),  # g5
]
# by hand: each query's valid ranking by |q - g|, closest first
# q0 (0.0):  g1 (1.0), g2 (2.0), g4 (11), g5 (12)        [g0 same view,
#            g3 junk]
# q1 (10.0): g5 (2.0), g2 (8.0), g1 (9.0), g0 (9.5)      [g4 same view]
# q2 (20.0): g5 (8.0), g4 (9.0), g2 (18), g1 (19), g0 (19.5)
EXPECTED = {
    0: ([1, 2, 4, 5], [1.0, 2.0, 11.0, 12.0], [False, True, False, False]),
    1: ([5, 2, 1, 0], [2.0, 8.0, 9.0, 9.5], [True, False, True, False]),
    2: ([5, 4, 2, 1, 0], [8.0, 9.0, 18.0, 19.0, 19.5],
        [False, False, False, False, False]),
}


def write_image(path: str, level: int) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((8, 8), level, np.uint8))
    return path


def sample(path: str, emb, idx: int, **fields) -> DataSample:
    s = DataSample(metainfo=dict(img_path=path, sample_idx=idx))
    s.set_field(torch.tensor(emb, dtype=torch.float32), 'embedding')
    for key, value in fields.items():
        s.set_field(value, key, field_type='metainfo')
    return s


@pytest.fixture
def reid_samples(tmp_path):
    out = []
    for i, (v, pid, cam) in enumerate(QUERIES):
        path = write_image(str(tmp_path / 'query' / f'q{i}.png'), 40 * i)
        out.append(sample(path, [v], i, pid=pid, camid=cam, is_query=True))
    for j, (v, pid, cam) in enumerate(GALLERY):
        path = write_image(str(tmp_path / 'gallery' / f'g{j}.png'), 20 * j)
        out.append(sample(path, [v], 3 + j, pid=pid, camid=cam,
                          is_query=False))
    return out


class FakeVisualizer:

    def __init__(self):
        self.shown, self.added = [], []

    def show(self, image, win_name='', wait_time=0.):
        self.shown.append((win_name, image.shape, wait_time))

    def add_image(self, name, image, step=0):
        self.added.append((name, image.shape))


def fake_runner(tmp_path, metrics=(), pairs=None):
    dataset = SimpleNamespace(metainfo=dict(pairs=pairs) if pairs else {})
    return SimpleNamespace(
        work_dir=str(tmp_path / 'work'), timestamp='20261202_000000',
        test_evaluator=SimpleNamespace(metrics=list(metrics)),
        test_dataloader=SimpleNamespace(dataset=dataset),
        visualizer=FakeVisualizer())


def run_epoch(hook, runner, samples, batch=4):
    hook.before_test_epoch(runner)
    for i in range(0, len(samples), batch):
        hook.after_test_iter(runner, i // batch, None, samples[i:i + batch])
    hook.after_test_epoch(runner, {})


def test_rank_lists_follow_the_official_rule_by_hand(reid_samples,
                                                     tmp_path):
    hook = RetrievalVisualizationHook(enable=True, num_queries=3, topk=10)
    runner = fake_runner(tmp_path)
    hook.after_test_iter(runner, 0, None, reid_samples)
    kept, hook._samples = hook._samples, []
    lists = hook.rank_lists(kept, 'euclidean')
    assert [rl.query for rl in lists] == [
        str(tmp_path / 'query' / f'q{i}.png') for i in range(3)]
    for i, rl in enumerate(lists):
        order, dists, matches = EXPECTED[i]
        assert rl.gallery == [str(tmp_path / 'gallery' / f'g{j}.png')
                              for j in order]
        assert rl.distances == pytest.approx(dists)
        assert rl.matches == matches
        assert (rl.pid, rl.camid) == QUERIES[i][1:]
    # topk cuts each list; num_queries picks evenly spaced queries
    hook = RetrievalVisualizationHook(num_queries=2, topk=2)
    lists = hook.rank_lists(kept, 'euclidean')
    assert [osp.basename(rl.query) for rl in lists] == ['q0.png', 'q2.png']
    assert [len(rl.gallery) for rl in lists] == [2, 2]
    # cosine as the metric's dist= (1-D: every distance 0 or 2)
    lists = hook.rank_lists(kept, 'cosine')
    assert set(lists[1].distances) <= {0.0}


def test_rank_list_files_show_query_and_matches(reid_samples, tmp_path,
                                                monkeypatch):
    hook = HOOKS.build(dict(type='rkd_mm.RetrievalVisualizationHook',
                            enable=True,
                            out_dir='vis', num_queries=3, topk=3,
                            tile_height=TILE))
    runner = fake_runner(tmp_path, metrics=[ReIDMetric(dist='euclidean')])
    monkeypatch.chdir(tmp_path)
    run_epoch(hook, runner, reid_samples)
    # a relative out_dir is taken as given, from the working directory
    out = str(tmp_path / 'vis')
    files = sorted(os.listdir(out))
    assert files == [f'ranklist_{i:03d}_q{i}.png' for i in range(3)]
    img = cv2.imread(osp.join(out, 'ranklist_000_q0.png'))
    # 4 tiles: 8x8 -> 32x32, a 4-pixel border, a 6-pixel gap
    tile_w = TILE + 2 * 4
    assert img.shape[1] == 4 * (tile_w + 6)
    assert img.shape[0] == TILE + 2 * 4 + 18
    colours = [tuple(int(c) for c in img[1, k * (tile_w + 6) + 1])
               for k in range(4)]
    # query, then g1 (other person), g2 (same person), g4 (other person)
    assert colours == [BLUE, RED, GREEN, RED]
    # the tile's pixels are the image's, upscaled: g2 has grey level 40
    x0 = 2 * (tile_w + 6) + 4
    assert (img[4:4 + TILE, x0:x0 + TILE] == 40).all()
    assert not runner.visualizer.added  # files only


def test_euclidean_vs_cosine_is_asked_of_the_metric(tmp_path):
    runner = fake_runner(tmp_path, metrics=[ReIDMetric(dist='cosine')])
    assert RetrievalVisualizationHook._reid_dist(runner) == 'cosine'
    assert RetrievalVisualizationHook._reid_dist(
        fake_runner(tmp_path)) == 'euclidean'


# verification: 2-D embeddings on the unit circle at these angles (deg);
# cosine similarity of a pair = cos(angle difference)
ANGLES = [0, 10, 90, 100, 180]
PAIRS = [  # (a, b, same, fold)
    (0, 1, True, 0),   # cos 10  = 0.985
    (2, 3, True, 0),   # cos 10  = 0.985
    (0, 2, True, 1),   # cos 90  = 0.0   hardest same
    (0, 3, False, 1),  # cos 100 = -0.17
    (1, 2, False, 0),  # cos 80  = 0.17  hardest different
    (0, 4, False, 1),  # cos 180 = -1
]


@pytest.fixture
def face_samples(tmp_path):
    out = []
    for i, deg in enumerate(ANGLES):
        rad = np.deg2rad(deg)
        path = write_image(str(tmp_path / 'lfw' / f'p{i}.png'), 30 * i)
        out.append(sample(path, [np.cos(rad), np.sin(rad)], i))
    return out


def test_hardest_pairs_by_hand(face_samples, tmp_path):
    hook = RetrievalVisualizationHook(enable=True, num_pairs=2)
    hook.after_test_iter(None, 0, None, face_samples)
    diff, same, threshold = hook.hard_pairs(hook._samples, PAIRS)
    sims = np.cos(np.deg2rad([10, 10, 90, 100, 80, 180]))
    is_same = np.array([p[2] for p in PAIRS])
    assert threshold == pytest.approx(best_threshold(sims, is_same))
    # most similar different pairs first; least similar same pairs first
    assert [(osp.basename(p.path_a)[:2], osp.basename(p.path_b)[:2])
            for p in diff] == [('p1', 'p2'), ('p0', 'p3')]
    assert [p.similarity for p in diff] == pytest.approx(sims[[4, 3]])
    assert [(osp.basename(p.path_a)[:2], osp.basename(p.path_b)[:2])
            for p in same] == [('p0', 'p2'), ('p0', 'p1')]
    assert not any(p.same for p in diff) and all(p.same for p in same)
    for p in diff + same:
        assert p.accepted == (p.similarity > threshold)


def test_hardest_pair_files(face_samples, tmp_path):
    hook = RetrievalVisualizationHook(enable=True, out_dir=str(
        tmp_path / 'abs'), num_pairs=2, tile_height=TILE)
    runner = fake_runner(tmp_path, pairs=PAIRS)
    run_epoch(hook, runner, face_samples, batch=2)
    files = sorted(os.listdir(tmp_path / 'abs'))  # absolute: as given
    assert files == ['hardest_different_pairs.png', 'hardest_same_pairs.png']
    img = cv2.imread(str(tmp_path / 'abs' / 'hardest_same_pairs.png'))
    row_h = TILE + 2 * 4 + 18 + 6
    assert img.shape[0] == 2 * row_h
    # green where the one threshold is right: the least similar same pair
    # (cos 90 = 0) first, then cos 10
    sims = np.cos(np.deg2rad([10, 10, 90, 100, 80, 180]))
    threshold = best_threshold(sims, np.array([p[2] for p in PAIRS]))
    for row, sim in enumerate((sims[2], sims[0])):
        colour = GREEN if sim > threshold else RED
        assert tuple(int(c) for c in img[row * row_h + 1, 1]) == colour


def test_without_out_dir_to_the_visualizer_and_show(face_samples, tmp_path):
    runner = fake_runner(tmp_path, pairs=PAIRS)
    run_epoch(RetrievalVisualizationHook(enable=True, tile_height=TILE),
              runner, face_samples)
    assert [n for n, _ in runner.visualizer.added] == [
        'hardest_different_pairs', 'hardest_same_pairs']
    runner = fake_runner(tmp_path, pairs=PAIRS)
    run_epoch(RetrievalVisualizationHook(enable=True, show=True,
                                         wait_time=2, tile_height=TILE),
              runner, face_samples)
    assert [(n, w) for n, _, w in runner.visualizer.shown] == [
        ('hardest_different_pairs.png', 2), ('hardest_same_pairs.png', 2)]
    assert not runner.visualizer.added


def test_disabled_draws_nothing(reid_samples, tmp_path):
    runner = fake_runner(tmp_path)
    hook = RetrievalVisualizationHook(out_dir='vis')
    run_epoch(hook, runner, reid_samples)
    assert not osp.exists(runner.work_dir) and not hook._samples


def test_errors_name_the_problem(reid_samples, face_samples, tmp_path):
    with pytest.raises(ValueError, match='topk=0 must be a positive'):
        RetrievalVisualizationHook(topk=0)
    hook = RetrievalVisualizationHook(enable=True)
    plain = DataSample(metainfo=dict(img_path='x.png'))
    with pytest.raises(ValueError, match='needs an embedding'):
        hook.after_test_iter(None, 0, None, [plain])
    # neither re-ID fields nor pairs
    with pytest.raises(ValueError, match='neither is_query'):
        run_epoch(hook, fake_runner(tmp_path), face_samples)
    # a query set without gallery
    with pytest.raises(ValueError, match='1 query and 0 gallery'):
        run_epoch(hook, fake_runner(tmp_path), reid_samples[:1])
    # pairs over images that were not tested
    with pytest.raises(ValueError, match='were not evaluated'):
        run_epoch(hook, fake_runner(tmp_path, pairs=PAIRS),
                  face_samples[:3])
