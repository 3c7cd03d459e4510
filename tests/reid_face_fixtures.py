"""Tiny generated re-ID and face data in exactly the standard layouts.

- :func:`make_market1501`: Market-1501's ``bounding_box_train/``,
  ``query/`` and ``bounding_box_test/`` with ``PPPP_cCsS_FFFFFF_NN.jpg``
  names, junk (``-1``) and distractor (``0000``) boxes, gallery matches on
  the query's own camera, and the official zip's stray ``Thumbs.db``.
- :func:`make_lfw`: LFW's ``lfw/<Name>/<Name>_0001.jpg`` with a
  ``pairs.txt`` (header ``folds\\tn``, then per fold n same-person lines
  and n different-person lines), plus a ``train/<Name>/`` identity-folder
  tree as mmpretrain's ``CustomDataset`` reads it for face training.

The images are real JPEGs whose content depends on the identity (a coarse
colour pattern per identity, a brightness per camera, pixel noise per
image), so a model could learn them. Import with ``from reid_face_fixtures
import make_market1501, make_lfw`` (``tests/`` is on the path, as for
``conftest``).
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

__all__ = ['identity_image', 'make_market1501', 'make_lfw', 'market_name']

#: (file name, pid, camid) of one Market-1501 image.
MarketRecord = Tuple[str, int, int]


def identity_image(key: int,
                   rng: np.random.Generator,
                   size: Tuple[int, int],
                   grid: Tuple[int, int] = (4, 2),
                   light: float = 1.0) -> np.ndarray:
    """A BGR uint8 image ``size`` (h, w) of identity ``key``.

    The identity fixes a ``grid`` of colours (blown up to ``size``); the
    image scales it by ``light`` and adds noise from ``rng``.
    """
    h, w = size
    cells = np.random.default_rng(100_003 + key).integers(
        20, 236, (*grid, 3)).astype(np.float32)
    img = cv2.resize(cells, (w, h), interpolation=cv2.INTER_NEAREST)
    img = img * light + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def market_name(pid: int, camid: int, frame: int, box: int = 1,
                seq: int = 1) -> str:
    """The Market-1501 file name, e.g. ``0002_c1s1_000451_03.jpg``; junk
    (pid -1) is written ``-1_...``, as in the official data."""
    person = '-1' if pid == -1 else f'{pid:04d}'
    return f'{person}_c{camid}s{seq}_{frame:06d}_{box:02d}.jpg'


def make_market1501(root: str,
                    num_train_ids: int = 4,
                    num_test_ids: int = 3,
                    num_cameras: int = 3,
                    images_per_camera: int = 2,
                    query_cameras: int = 2,
                    num_train_junk: int = 1,
                    num_distractors: int = 2,
                    num_junk: int = 2,
                    size: Tuple[int, int] = (32, 16),
                    thumbs_db: bool = True,
                    seed: int = 0) -> Dict:
    """Write a tiny Market-1501 under ``root``.

    Train identities are 2, 5, 8, ... (not contiguous, so relabelling
    shows), test identities follow, disjoint. Every train and test identity
    has ``images_per_camera`` images on each of ``num_cameras`` cameras:
    train ones in ``bounding_box_train/``, test ones in the gallery
    ``bounding_box_test/``, so each query has a match on its own camera
    (which the official rule removes) and on the others. Each test identity
    has one query per camera ``1..query_cameras``. The train folder gets
    ``num_train_junk`` junk boxes, the gallery ``num_distractors`` ``0000``
    and ``num_junk`` ``-1`` boxes, on cycling cameras.

    Args:
        root: Folder to write into (created).
        num_train_ids: Training identities.
        num_test_ids: Test identities (query and gallery).
        num_cameras: Cameras ``c1..cN``.
        images_per_camera: Images of an identity per camera.
        query_cameras: Cameras with a query image per test identity.
        num_train_junk: Junk (-1) boxes in the train folder.
        num_distractors: Distractor (0000) boxes in the gallery.
        num_junk: Junk (-1) boxes in the gallery.
        size: Image (height, width).
        thumbs_db: Also write a ``Thumbs.db`` into each folder, as the
            official zip has.
        seed: Seed of the pixel noise.

    Returns:
        dict: ``root``; ``train`` / ``query`` / ``gallery``: lists of
        ``(file name, pid, camid)`` sorted by name (train includes the
        junk); ``train_pids`` / ``test_pids``: sorted identities;
        ``num_train`` (without junk), ``num_train_junk``, ``num_query``,
        ``num_gallery``, ``num_distractors``, ``num_junk``.
    """
    if query_cameras > num_cameras:
        raise ValueError('query_cameras must be at most num_cameras.')
    rng = np.random.default_rng(seed)
    train_pids = [2 + 3 * i for i in range(num_train_ids)]
    first_test = train_pids[-1] + 2 if train_pids else 2
    test_pids = [first_test + 2 * i for i in range(num_test_ids)]
    frame = iter(range(100, 10**6, 7))
    folders: Dict[str, List[MarketRecord]] = {
        'bounding_box_train': [], 'query': [], 'bounding_box_test': []}

    def add(folder: str, pid: int, camid: int) -> None:
        name = market_name(pid, camid, next(frame), box=1 + len(
            folders[folder]) % 5)
        # distractors and junk get a key of their own: no identity
        key = pid if pid > 0 else 50_000 + int(rng.integers(10**6))
        img = identity_image(key, rng, size, light=0.7 + 0.15 * camid)
        os.makedirs(osp.join(root, folder), exist_ok=True)
        if not cv2.imwrite(osp.join(root, folder, name), img):
            raise OSError(f'could not write {osp.join(root, folder, name)}')
        folders[folder].append((name, pid, camid))

    for folder, pids in (('bounding_box_train', train_pids),
                         ('bounding_box_test', test_pids)):
        for pid in pids:
            for camid in range(1, num_cameras + 1):
                for _ in range(images_per_camera):
                    add(folder, pid, camid)
    for pid in test_pids:
        for camid in range(1, query_cameras + 1):
            add('query', pid, camid)
    for i in range(num_train_junk):
        add('bounding_box_train', -1, 1 + i % num_cameras)
    for i in range(num_distractors):
        add('bounding_box_test', 0, 1 + i % num_cameras)
    for i in range(num_junk):
        add('bounding_box_test', -1, 1 + i % num_cameras)
    if thumbs_db:
        for folder in folders:
            with open(osp.join(root, folder, 'Thumbs.db'), 'wb') as f:
                f.write(b'\0' * 16)
    train = sorted(folders['bounding_box_train'])
    return dict(
        root=root,
        train=train,
        query=sorted(folders['query']),
        gallery=sorted(folders['bounding_box_test']),
        train_pids=train_pids,
        test_pids=test_pids,
        num_train=sum(pid != -1 for _, pid, _ in train),
        num_train_junk=num_train_junk,
        num_query=len(folders['query']),
        num_gallery=len(folders['bounding_box_test']),
        num_distractors=num_distractors,
        num_junk=num_junk)


def _write_identity_folders(folder: str, names: List[str], count: int,
                            key0: int, size: Tuple[int, int],
                            rng: np.random.Generator) -> List[str]:
    """``folder/<name>/<name>_0001.jpg`` ... for each name; the paths."""
    paths = []
    for n, name in enumerate(names):
        os.makedirs(osp.join(folder, name), exist_ok=True)
        for idx in range(1, count + 1):
            path = osp.join(folder, name, f'{name}_{idx:04d}.jpg')
            img = identity_image(
                key0 + n, rng, size, grid=(4, 4),
                light=0.8 + 0.4 * rng.random())
            if not cv2.imwrite(path, img):
                raise OSError(f'could not write {path}')
            paths.append(path)
    return paths


def make_lfw(root: str,
             num_folds: int = 2,
             pairs_per_fold: int = 3,
             num_people: int = 5,
             images_per_person: int = 3,
             num_train_people: int = 4,
             train_images_per_person: int = 3,
             size: Tuple[int, int] = (28, 28),
             single_number_header: bool = False,
             img_dir: str = 'lfw',
             pairs_file: str = 'pairs.txt',
             train_dir: str = 'train',
             seed: int = 0) -> Dict:
    """Write a tiny LFW under ``root``.

    ``root/<img_dir>/<Name>/<Name>_0001.jpg`` for ``num_people`` evaluation
    identities (``Eval_Person_00``, ...); ``root/<pairs_file>``: header
    ``num_folds\\tpairs_per_fold`` (or, with ``single_number_header``, the
    single number of pairsDevTest.txt: one fold), then per fold
    ``pairs_per_fold`` same-person lines ``name\\ti\\tj`` and as many
    different-person lines ``name1\\ti\\tname2\\tj``, drawn at random (so
    images recur across pairs); ``root/<train_dir>/<Name>/...`` for
    ``num_train_people`` other identities (``Train_Person_00``, ...), the
    folder-per-class layout of mmpretrain's ``CustomDataset``.

    Returns:
        dict: ``root``, ``pairs_file`` (path), ``img_dir`` (path),
        ``lines`` (the pair lines as written), ``pairs``: ``(path_a, path_b,
        is_same, fold)`` per line, ``num_folds``, ``pairs_per_fold``,
        ``num_pair_images`` (distinct images the pairs use), ``people``
        (evaluation names), ``train_dir`` (path), ``train_classes`` (sorted
        names), ``num_train_images``.
    """
    if single_number_header and num_folds != 1:
        raise ValueError('a single-number header means one fold.')
    if num_people < 2 or images_per_person < 2:
        raise ValueError('pairs need >= 2 people with >= 2 images each.')
    rng = np.random.default_rng(seed)
    people = [f'Eval_Person_{i:02d}' for i in range(num_people)]
    images = osp.join(root, img_dir)
    _write_identity_folders(images, people, images_per_person, 0, size,
                            rng)
    train_people = [f'Train_Person_{i:02d}' for i in range(num_train_people)]
    train_paths = _write_identity_folders(
        osp.join(root, train_dir), train_people, train_images_per_person,
        1000, size, rng)

    def path(name: str, idx: int) -> str:
        return osp.join(images, name, f'{name}_{idx:04d}.jpg')

    lines, pairs = [], []
    for fold in range(num_folds):
        for _ in range(pairs_per_fold):
            name = people[rng.integers(num_people)]
            i, j = (rng.choice(images_per_person, 2, replace=False) + 1)
            lines.append(f'{name}\t{i}\t{j}')
            pairs.append((path(name, i), path(name, j), True, fold))
        for _ in range(pairs_per_fold):
            a, b = rng.choice(num_people, 2, replace=False)
            i, j = rng.integers(1, images_per_person + 1, 2)
            lines.append(f'{people[a]}\t{i}\t{people[b]}\t{j}')
            pairs.append((path(people[a], i), path(people[b], j), False,
                          fold))
    header = (f'{pairs_per_fold}' if single_number_header else
              f'{num_folds}\t{pairs_per_fold}')
    pairs_path = osp.join(root, pairs_file)
    with open(pairs_path, 'w') as f:
        f.write('\n'.join([header] + lines) + '\n')
    return dict(
        root=root,
        pairs_file=pairs_path,
        img_dir=images,
        lines=lines,
        pairs=pairs,
        num_folds=num_folds,
        pairs_per_fold=pairs_per_fold,
        num_pair_images=len({p for a, b, _, _ in pairs for p in (a, b)}),
        people=people,
        train_dir=osp.join(root, train_dir),
        train_classes=sorted(train_people),
        num_train_images=len(train_paths))
