"""Rank lists (re-ID) and hardest pairs (verification) from a test run: what
``tools/test.py --show-dir`` draws for the retrieval configs."""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook

from rkd_mm.evaluation.reid_metric import (ReIDMetric, _scalar,
                                           pairwise_distances,
                                           valid_gallery_order)
from rkd_mm.evaluation.verification_metric import (best_threshold,
                                                   pair_similarities)
from rkd_mm.registry import HOOKS

__all__ = ['RankList', 'HardPair', 'RetrievalVisualizationHook']

# BGR
_QUERY, _RIGHT, _WRONG = (200, 110, 0), (0, 160, 0), (0, 0, 210)
_BORDER, _GAP, _CAPTION = 4, 6, 18


class RankList(NamedTuple):
    """One query's drawn ranking: gallery paths, distances and matches."""
    query: str
    pid: int
    camid: int
    gallery: List[str]
    distances: List[float]
    matches: List[bool]


class HardPair(NamedTuple):
    """A verification pair and what one global threshold says of it."""
    path_a: str
    path_b: str
    similarity: float
    same: bool
    accepted: bool


@HOOKS.register_module()
class RetrievalVisualizationHook(Hook):
    """Draw what a retrieval model retrieves, after the test epoch.

    The retrieval counterpart of mmpretrain's ``VisualizationHook`` (same
    ``enable`` / ``out_dir`` / ``show`` switches, which ``tools/test.py
    --show-dir`` sets). A per-image drawing says nothing for retrieval: a
    query's result is its ranking against the whole gallery, known only
    once every embedding is in. So the hook keeps each test sample's
    ``embedding`` and meta (not the image) and, after the epoch, draws

    * **re-ID** (samples carry ``is_query``, ``pid``, ``camid``): for
      ``num_queries`` queries evenly spaced over the query set, the query
      (blue) and its ``topk`` closest gallery images under the official
      rule of :class:`~rkd_mm.evaluation.ReIDMetric` (the query person's
      same-camera images and junk removed; its ``dist``), green for the
      same person, red otherwise; one ``ranklist_<i>_<query>.png`` each;
    * **verification** (the data set's meta has ``pairs``, as for
      :class:`~rkd_mm.datasets.LFWPairsDataset`): the ``num_pairs``
      different-person pairs of highest cosine similarity and the
      same-person pairs of lowest, with the one threshold of best accuracy
      over all pairs (the metric's folds choose theirs on 9 folds; this is
      for looking, not scoring); green where that threshold is right:
      ``hardest_different_pairs.png``, ``hardest_same_pairs.png``.

    Images are read back from ``img_path`` only for what is drawn; each
    tile is ``tile_height`` pixels high (small images upscaled without
    interpolation, so pixels stay visible).

    Args:
        enable: Draw at all (off by default, as mmpretrain's hook).
        out_dir: Where the PNGs go, as given (a relative path from the
            working directory, as ``tools/test.py --show-dir`` and the
            per-image hooks take it). ``None``: to the visualizer's
            backends (``vis_data/``).
        num_queries: Re-ID queries to draw.
        topk: Gallery images per query.
        num_pairs: Verification pairs per figure.
        tile_height: Height of each image tile in pixels.
        show: Also show each figure in a window (the visualizer's
            ``show``).
        wait_time: Seconds each shown figure stays up.
    """

    priority = 'LOW'

    def __init__(self,
                 enable: bool = False,
                 out_dir: Optional[str] = None,
                 num_queries: int = 20,
                 topk: int = 10,
                 num_pairs: int = 16,
                 tile_height: int = 128,
                 show: bool = False,
                 wait_time: float = 0.) -> None:
        for name, value in (('num_queries', num_queries), ('topk', topk),
                            ('num_pairs', num_pairs),
                            ('tile_height', tile_height)):
            if int(value) != value or value < 1:
                raise ValueError(
                    f'RetrievalVisualizationHook: {name}={value!r} must be '
                    'a positive integer.')
        self.enable = enable
        self.out_dir = out_dir
        self.num_queries = int(num_queries)
        self.topk = int(topk)
        self.num_pairs = int(num_pairs)
        self.tile_height = int(tile_height)
        self.show = show
        self.wait_time = wait_time
        self._samples: List[dict] = []

    # -- collecting -------------------------------------------------------

    def before_test_epoch(self, runner) -> None:
        self._samples = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.enable:
            return
        for sample in outputs or []:
            if 'embedding' not in sample:
                raise ValueError(
                    'RetrievalVisualizationHook needs an embedding per test '
                    'sample: use an embedding head (rkd_mm.BNNeckHead, '
                    'rkd_mm.ArcFaceEmbeddingHead), or mmpretrain\'s '
                    'VisualizationHook for a classifier.')
            kept = dict(
                embedding=torch.as_tensor(
                    sample.embedding).detach().cpu().float().view(-1),
                img_path=sample.get('img_path'),
                sample_idx=sample.get('sample_idx'))
            for key in ('pid', 'camid', 'is_query'):
                if key in sample:
                    kept[key] = _scalar(sample.get(key), key)
            self._samples.append(kept)

    def after_test_epoch(self, runner, metrics=None) -> None:
        if not self.enable:
            return
        samples, self._samples = self._samples, []
        if not samples:
            return
        if all('is_query' in s for s in samples):
            figures = self.draw_rank_lists(
                self.rank_lists(samples, self._reid_dist(runner)))
        else:
            pairs = self._pairs(runner)
            if not pairs:
                raise ValueError(
                    'RetrievalVisualizationHook: the test samples carry '
                    'neither is_query/pid/camid (re-ID: pack them with '
                    "PackInputs(algorithm_keys=('pid', 'camid', "
                    "'is_query'))) nor does the data set have pairs "
                    '(verification: rkd_mm.LFWPairsDataset).')
            figures = self.draw_hard_pairs(self.hard_pairs(samples, pairs))
        self._write(runner, figures)

    @staticmethod
    def _reid_dist(runner) -> str:
        """The distance the test metric ranks by (asked of the metric)."""
        for metric in getattr(runner.test_evaluator, 'metrics', []):
            if isinstance(metric, ReIDMetric):
                return metric.dist
        return 'euclidean'

    @staticmethod
    def _pairs(runner) -> list:
        dataset = runner.test_dataloader.dataset
        return list(getattr(dataset, 'metainfo', {}).get('pairs') or [])

    # -- what to draw ----------------------------------------------------

    def rank_lists(self, samples: List[dict],
                   dist: str = 'euclidean') -> List[RankList]:
        """The drawn queries' rankings (official rule, ``dist``)."""
        query = [s for s in samples if s['is_query']]
        gallery = [s for s in samples if not s['is_query']]
        if not query or not gallery:
            raise ValueError(
                f'RetrievalVisualizationHook got {len(query)} query and '
                f'{len(gallery)} gallery samples; a rank list needs both '
                "(rkd_mm.Market1501Dataset, split='test').")
        distmat = pairwise_distances(
            torch.stack([s['embedding'] for s in query]),
            torch.stack([s['embedding'] for s in gallery]), dist)
        g_pids = np.array([s['pid'] for s in gallery])
        g_camids = np.array([s['camid'] for s in gallery])
        picks = np.unique(np.linspace(
            0, len(query) - 1, min(self.num_queries, len(query))).round()
            .astype(int))
        out = []
        for i in picks:
            q = query[i]
            order = valid_gallery_order(distmat[i], q['pid'], q['camid'],
                                        g_pids, g_camids)[:self.topk]
            out.append(RankList(
                query=q['img_path'], pid=q['pid'], camid=q['camid'],
                gallery=[gallery[j]['img_path'] for j in order],
                distances=[float(distmat[i, j]) for j in order],
                matches=[bool(g_pids[j] == q['pid']) for j in order]))
        return out

    def hard_pairs(self, samples: List[dict], pairs: Sequence
                   ) -> Tuple[List[HardPair], List[HardPair], float]:
        """The hardest different-person pairs (most similar first), the
        hardest same-person pairs (least similar first) and the global
        threshold of best accuracy."""
        by_idx = {s['sample_idx']: s for s in samples}
        sims = pair_similarities(
            {k: s['embedding'] for k, s in by_idx.items()}, pairs)
        # (idx_a, idx_b, is_same, fold), as LFWPairsDataset's meta
        idx_a, idx_b, same, _ = zip(*pairs)
        same = np.array(same, dtype=bool)
        threshold = best_threshold(sims, same)

        def pick(indices) -> List[HardPair]:
            return [HardPair(by_idx[idx_a[k]]['img_path'],
                             by_idx[idx_b[k]]['img_path'], float(sims[k]),
                             bool(same[k]), bool(sims[k] > threshold))
                    for k in indices[:self.num_pairs]]

        diff_idx = np.flatnonzero(~same)
        same_idx = np.flatnonzero(same)
        # stable sorts: ties keep the pairs file's order
        hardest_diff = diff_idx[np.argsort(-sims[diff_idx], kind='stable')]
        hardest_same = same_idx[np.argsort(sims[same_idx], kind='stable')]
        return pick(hardest_diff), pick(hardest_same), float(threshold)

    # -- drawing ---------------------------------------------------------

    def _tile(self, path: str, colour: Tuple[int, int, int],
              caption: str) -> np.ndarray:
        img = mmcv.imread(path, 'color')
        if img is None:
            raise FileNotFoundError(
                f'RetrievalVisualizationHook: cannot read {path}.')
        h, w = img.shape[:2]
        width = max(1, round(w * self.tile_height / h))
        interp = cv2.INTER_NEAREST if self.tile_height >= 2 * h \
            else cv2.INTER_AREA
        img = cv2.resize(img, (width, self.tile_height),
                         interpolation=interp)
        img = cv2.copyMakeBorder(img, _BORDER, _BORDER, _BORDER, _BORDER,
                                 cv2.BORDER_CONSTANT, value=colour)
        strip = np.full((_CAPTION, img.shape[1], 3), 255, np.uint8)
        cv2.putText(strip, caption, (2, _CAPTION - 5),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
        return np.vstack([img, strip])

    @staticmethod
    def _row(tiles: List[np.ndarray]) -> np.ndarray:
        height = max(t.shape[0] for t in tiles)
        parts = []
        for tile in tiles:
            pad = np.full((height, tile.shape[1] + _GAP, 3), 255, np.uint8)
            pad[:tile.shape[0], :tile.shape[1]] = tile
            parts.append(pad)
        return np.hstack(parts)

    @staticmethod
    def _stack(rows: List[np.ndarray]) -> np.ndarray:
        width = max(r.shape[1] for r in rows)
        parts = []
        for row in rows:
            pad = np.full((row.shape[0] + _GAP, width, 3), 255, np.uint8)
            pad[:row.shape[0], :row.shape[1]] = row
            parts.append(pad)
        return np.vstack(parts)

    def draw_rank_lists(self, rank_lists: List[RankList]
                        ) -> Dict[str, np.ndarray]:
        """``{file name: BGR image}``, one rank list per query."""
        figures = {}
        for i, rl in enumerate(rank_lists):
            tiles = [self._tile(rl.query, _QUERY,
                                f'query id {rl.pid} cam {rl.camid}')]
            for rank, (path, d, match) in enumerate(
                    zip(rl.gallery, rl.distances, rl.matches), 1):
                tiles.append(self._tile(path, _RIGHT if match else _WRONG,
                                        f'#{rank} d={d:.3f}'))
            name = osp.splitext(osp.basename(rl.query))[0]
            figures[f'ranklist_{i:03d}_{name}.png'] = self._row(tiles)
        return figures

    def draw_hard_pairs(self, hard: Tuple[List[HardPair], List[HardPair],
                                          float]) -> Dict[str, np.ndarray]:
        """``{file name: BGR image}``: one row per pair."""
        diff, same, threshold = hard
        figures = {}
        for name, pairs in (('hardest_different_pairs.png', diff),
                            ('hardest_same_pairs.png', same)):
            if not pairs:
                continue
            rows = []
            for p in pairs:
                colour = _RIGHT if p.accepted == p.same else _WRONG
                verdict = 'accept' if p.accepted else 'reject'
                rows.append(self._row([
                    self._tile(p.path_a, colour,
                               f'cos {p.similarity:.3f} {verdict}'),
                    self._tile(p.path_b, colour, f't={threshold:.3f}')
                ]))
            figures[name] = self._stack(rows)
        return figures

    def _write(self, runner, figures: Dict[str, np.ndarray]) -> None:
        out_dir = self.out_dir
        for name, image in figures.items():
            if out_dir is not None:
                mmcv.imwrite(image, osp.join(out_dir, name))
            if self.show:
                runner.visualizer.show(mmcv.bgr2rgb(image),
                                       win_name=name,
                                       wait_time=self.wait_time)
            if out_dir is None and not self.show:
                runner.visualizer.add_image(osp.splitext(name)[0],
                                            mmcv.bgr2rgb(image))
