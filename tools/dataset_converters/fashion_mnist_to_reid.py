"""Write Fashion-MNIST as an open-set re-ID and face-verification benchmark.

Usage::

    python tools/dataset_converters/fashion_mnist_to_reid.py \\
        --out data/fmnist_reid [--src /usr/share/datasets/fashion-mnist] \\
        [--seed 0] [--train-classes 0 1 2 3 4] [--max-train-per-id N] \\
        [--num-query 100] [--val-query 100] [--val-gallery 500] \\
        [--distractors 0] [--pairs-folds 10] [--pairs-per-fold 300]

It reads the four gzipped IDX files of Debian's ``dataset-fashion-mnist``
(``apt-get install -y dataset-fashion-mnist``; read in place through
:class:`rkd_mm.datasets.OfflineFashionMNIST`, nothing is downloaded) and
writes the same images in the two standard formats, so that the very same
readers and metrics that serve Market-1501 and LFW run on real images:

* The **seen** classes (``--train-classes``, default 0-4: T-shirt/top,
  Trouser, Pullover, Dress, Coat) are the training identities, taken from
  the Fashion-MNIST *train* file.
* The **unseen** classes (the other five: Sandal, Shirt, Sneaker, Bag,
  Ankle boot) are never trained on (open set). Their *test*-file images are
  the test query/gallery and test pairs, and nothing else of them is
  written.
* **Validation never sees a test identity**: it is made of held-out
  train-file images of the *seen* identities (``--val-query`` +
  ``--val-gallery`` per identity, drawn first and left out of
  ``bounding_box_train``), so choosing a checkpoint on it uses only what
  training may use. It measures retrieval among the training identities
  on new images (closed set), a proxy for the open-set test; the test
  classes stay unseen until the test. (Until 2026-12-07 the validation
  images were train-file images of the unseen classes: model selection
  saw the test identities.)

Identity ``pid`` = class index + 1 (``0001`` .. ``0010``); the LFW-style
name is the class name made filesystem-safe (``T-shirt/top`` ->
``T_shirt_top``, ``Ankle boot`` -> ``Ankle_boot``). Every image is the
original 28x28 grey image saved as a one-channel JPEG (quality
``--jpeg-quality``, default 95; on the real images the decoded pixels
differ from the originals by about 1 grey level on average, at most about
11 at sharp edges). Which images go where is decided by ``--seed``
alone, and each choice has its own random stream, so that changing one
option (say ``--distractors``) leaves the other choices as they were.

Output (``OUT`` must not exist; it is written under a temporary name and
renamed when complete)::

    OUT/market1501/                    Market-1501 layout
        bounding_box_train/            seen classes, train file
        query/                         unseen classes, test file,
                                       --num-query per identity
        bounding_box_test/             the rest of those test images
                                       (+ --distractors pid 0000 images
                                       of the seen classes' test images)
        val_query/                     seen classes, train file,
                                       --val-query per identity (held
                                       out of bounding_box_train)
        bounding_box_val/              --val-gallery more per identity
    OUT/lfw_style/
        train/<Name>/<Name>_0001.jpg   seen classes (same images as
                                       bounding_box_train; mmpretrain
                                       CustomDataset layout)
        lfw/<Name>/<Name>_NNNN.jpg     unseen classes, the test images of
                                       query/ + bounding_box_test/
        pairs.txt                      LFW pairs over lfw/
        val_lfw/<Name>/<Name>_NNNN.jpg seen classes, the images of
                                       val_query/ + bounding_box_val/
        val_pairs.txt                  LFW pairs over val_lfw/
    OUT/CONVERTED.txt                  command, seed, class split, counts,
                                       licence
    OUT/sources.csv                    each written file and the
                                       Fashion-MNIST image it came from

Market file names are ``PPPP_cCsS_FFFFFF_NN.jpg``: ``PPPP`` the pid,
``C`` a camera id 1..``--cameras`` (default 6) dealt round-robin over each
identity's images in a folder (Fashion-MNIST has no cameras; they are
there so that the official rule, which drops gallery images of the
query's pid *and* camera, is exercised: it removes about 1/6 of each
query's true matches), sequence ``s1``, ``FFFFFF`` the running index of
the image in its folder (from 1) and ``NN`` = ``01`` (one box per
"frame"). Distractors (pid ``0000``) are negatives in the official
evaluation.

``pairs.txt`` follows LFW's ``pairs.txt``: a header ``<folds>\\t<n>`` (``10
300``), then per fold ``n`` same-identity lines ``name\\ti\\tj`` followed by
``n`` different-identity lines ``name1\\ti\\tname2\\tj`` (1-based image
numbers; within a block the lines are sorted, ``name1`` < ``name2``
alphabetically, as in LFW). LFW's folds are disjoint in *people*; with five
identities that is impossible, so here the folds are disjoint in
*images*: each identity's images (numbered by their order in the
Fashion-MNIST file, which is in random class order) are cut into
``--pairs-folds`` consecutive blocks, and fold ``f``'s pairs use only
block ``f``. The same-identity pairs of a fold are spread evenly over the
identities and the different-identity pairs over the identity pairs, all
drawn without repetition.

Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, arXiv:1708.07747) is
(c) Zalando SE under the MIT licence; the written images are derived from
it and carry the same licence.
"""
import argparse
import csv
import os
import os.path as osp
import re
import shlex
import shutil
import sys
import tempfile
import time
import zlib
from itertools import combinations
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from rkd_mm.datasets import OfflineFashionMNIST
from rkd_mm.datasets.fashion_mnist import DEBIAN_FASHION_MNIST_ROOT

#: Fashion-MNIST's file prefixes, as written in ``sources.csv``.
SOURCES = {'train': 'train', 'test': 't10k'}
#: One source image: (``'train'`` | ``'test'``, index in that file).
Item = Tuple[str, int]
#: One LFW pair: (name_a, number_a, name_b, number_b); same identity when
#: name_a == name_b.
Pair = Tuple[str, int, str, int]
MARKET_NAME = '{pid:04d}_c{cam}s1_{frame:06d}_01.jpg'
#: Fashion-MNIST's licence, which asks to go with copies of the data.
MIT_NOTICE = '''\
The MIT License (MIT) Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
'''


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write Fashion-MNIST as an open-set re-ID benchmark '
        '(Market-1501 layout) and face-verification benchmark (LFW '
        'identity folders + pairs.txt)')
    parser.add_argument('--out', required=True, help='new output folder')
    parser.add_argument(
        '--src',
        default=DEBIAN_FASHION_MNIST_ROOT,
        help='folder with the four Fashion-MNIST IDX files (gzipped or not)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--train-classes',
        type=int,
        nargs='+',
        default=[0, 1, 2, 3, 4],
        help='class indices (0-9) of the seen (training) identities; the '
        'others are the unseen query/gallery/pair identities')
    parser.add_argument(
        '--max-train-per-id',
        type=int,
        default=None,
        help='at most this many training images per seen identity '
        '(default: all, 6000)')
    parser.add_argument(
        '--num-query',
        type=int,
        default=100,
        help='test queries per unseen identity; the rest of its test '
        'images are the gallery')
    parser.add_argument(
        '--val-query',
        type=int,
        default=100,
        help='validation queries per seen identity (train file, held out '
        'of training)')
    parser.add_argument(
        '--val-gallery',
        type=int,
        default=500,
        help='validation gallery images per seen identity (train file, '
        'held out of training)')
    parser.add_argument(
        '--distractors',
        type=int,
        default=0,
        help='pid 0000 images (seen classes, test file) added to the test '
        'gallery')
    parser.add_argument('--cameras', type=int, default=6)
    parser.add_argument('--pairs-folds', type=int, default=10)
    parser.add_argument(
        '--pairs-per-fold',
        type=int,
        default=300,
        help='same-identity pairs per fold, and as many '
        'different-identity pairs (test and val pairs alike)')
    parser.add_argument('--jpeg-quality', type=int, default=95)
    return parser.parse_args(argv)


def safe_name(class_name: str) -> str:
    """An LFW-like, filesystem-safe name: ``'T-shirt/top'`` ->
    ``'T_shirt_top'``, ``'Ankle boot'`` -> ``'Ankle_boot'``."""
    return re.sub(r'[^A-Za-z0-9]+', '_', class_name).strip('_')


def _rng(seed: int, *keys) -> np.random.Generator:
    """An independent random stream per (seed, purpose): one option's
    choices do not shift another's."""
    words = [seed] + [
        zlib.crc32(str(key).encode()) if isinstance(key, str) else key
        for key in keys
    ]
    return np.random.default_rng(words)


def load_split(src: str,
               split: str) -> Tuple[np.ndarray, np.ndarray, Tuple[str]]:
    """Images (N, 28, 28) uint8, labels (N,) and the class names of one
    Fashion-MNIST file pair, read by :class:`OfflineFashionMNIST` (which
    names ``apt-get install -y dataset-fashion-mnist`` when the files are
    missing)."""
    ds = OfflineFashionMNIST(data_root=src, split=split,
                             serialize_data=False)
    imgs = np.stack([info['img'] for info in ds.data_list])
    labels = np.array([int(info['gt_label']) for info in ds.data_list])
    return imgs.astype(np.uint8), labels, tuple(ds.metainfo['classes'])


def _permuted(labels: np.ndarray, cls: int, rng: np.random.Generator,
              need: int, what: str) -> np.ndarray:
    """The indices of class ``cls`` in random order; at least ``need``."""
    idx = np.flatnonzero(labels == cls)
    if len(idx) < need:
        raise ValueError(
            f'{what} needs {need} images of class {cls} but the file has '
            f'{len(idx)}: lower the option.')
    return rng.permutation(idx)


def plan_market(args: argparse.Namespace, train_labels: np.ndarray,
                test_labels: np.ndarray, seen: List[int],
                unseen: List[int]) -> Dict[str, List[Tuple[int, Item]]]:
    """Folder -> [(pid, source item)] in writing order."""
    folders: Dict[str, List[Tuple[int, Item]]] = {
        k: []
        for k in ('bounding_box_train', 'query', 'bounding_box_test',
                  'val_query', 'bounding_box_val')
    }
    n_val = args.val_query + args.val_gallery
    for cls in seen:
        # validation first (held out of training, never a test identity),
        # then the training images from the rest
        idx = _permuted(train_labels, cls, _rng(args.seed, 'train', cls),
                        n_val + 1, '--val-query + --val-gallery (+1 train)')
        folders['val_query'] += [(cls + 1, ('train', int(i)))
                                 for i in np.sort(idx[:args.val_query])]
        folders['bounding_box_val'] += [
            (cls + 1, ('train', int(i)))
            for i in np.sort(idx[args.val_query:n_val])
        ]
        # a random subset when capped, written in file order
        train = idx[n_val:]
        train = np.sort(train[:args.max_train_per_id])
        folders['bounding_box_train'] += [(cls + 1, ('train', int(i)))
                                          for i in train]
    if args.distractors:
        pool = np.flatnonzero(np.isin(test_labels, seen))
        if args.distractors > len(pool):
            raise ValueError(
                f'--distractors {args.distractors}: the seen classes have '
                f'only {len(pool)} test images.')
        pick = _rng(args.seed, 'distractors').permutation(pool)
        folders['bounding_box_test'] += [
            (0, ('test', int(i))) for i in np.sort(pick[:args.distractors])
        ]
    for cls in unseen:
        idx = _permuted(test_labels, cls, _rng(args.seed, 'test', cls),
                        args.num_query + 1, '--num-query (+1 gallery)')
        query, gallery = idx[:args.num_query], idx[args.num_query:]
        folders['query'] += [(cls + 1, ('test', int(i)))
                             for i in np.sort(query)]
        folders['bounding_box_test'] += [(cls + 1, ('test', int(i)))
                                         for i in np.sort(gallery)]
    return folders


def _by_identity(entries: List[Tuple[int, Item]],
                 pids: List[int]) -> Dict[int, List[Item]]:
    """pid -> its items sorted by source index (the LFW numbering)."""
    return {
        pid: sorted(item for p, item in entries if p == pid)
        for pid in pids
    }


def make_pairs(counts: Dict[str, int], folds: int, per_fold: int,
               rng: np.random.Generator, what: str) -> List[List[Pair]]:
    """LFW-style pairs over identities numbered ``1..counts[name]``.

    Fold ``f`` uses only the ``f``-th of ``folds`` consecutive blocks of
    each identity's numbers, so the folds share no image. Its ``per_fold``
    same-identity pairs are spread evenly over the identities, its
    ``per_fold`` different-identity pairs over the identity pairs (the
    remainder rotating over the folds); none is drawn twice.

    Returns:
        Per fold, the same-identity pairs then the different-identity
        pairs, each block sorted as in LFW (``name_a < name_b``).
    """
    names = list(counts)
    couples = list(combinations(names, 2))
    out = []
    for fold in range(folds):
        blocks = {
            name: np.arange(fold * m // folds, (fold + 1) * m // folds) + 1
            for name, m in counts.items()
        }
        same: List[Pair] = []
        for j, name in enumerate(names):
            n = _share(per_fold, len(names), j, fold)
            block = blocks[name]
            total = len(block) * (len(block) - 1) // 2
            _check_feasible(n, total, what, fold, name)
            rows, cols = np.triu_indices(len(block), k=1)
            for k in rng.choice(total, n, replace=False):
                same.append((name, int(block[rows[k]]), name,
                             int(block[cols[k]])))
        diff: List[Pair] = []
        for j, (a, b) in enumerate(couples):
            a, b = sorted((a, b))
            n = _share(per_fold, len(couples), j, fold)
            ba, bb = blocks[a], blocks[b]
            _check_feasible(n, len(ba) * len(bb), what, fold, f'{a}/{b}')
            for k in rng.choice(len(ba) * len(bb), n, replace=False):
                diff.append((a, int(ba[k // len(bb)]), b,
                             int(bb[k % len(bb)])))
        out.append(sorted(same) + sorted(diff))
    return out


def _share(total: int, parts: int, j: int, fold: int) -> int:
    """Part ``j`` of ``total`` split evenly over ``parts``, the remainder
    going to different parts in different folds."""
    base, extra = divmod(total, parts)
    return base + int((j - fold) % parts < extra)


def _check_feasible(n: int, available: int, what: str, fold: int,
                    who: str) -> None:
    if n > available:
        raise ValueError(
            f'{what}: fold {fold} needs {n} distinct pairs of {who} but its '
            f'images allow only {available}: lower --pairs-per-fold or '
            '--pairs-folds, or give the identities more images.')


def write_pairs(path: str, pairs: List[List[Pair]], per_fold: int) -> None:
    """LFW's format: header ``folds\\tper_fold``, then the lines."""
    with open(path, 'w') as f:
        f.write(f'{len(pairs)}\t{per_fold}\n')
        for fold in pairs:
            for a, i, b, j in fold:
                f.write(f'{a}\t{i}\t{j}\n' if a ==
                        b else f'{a}\t{i}\t{b}\t{j}\n')


class _Writer:
    """Writes JPEGs and remembers where each came from."""

    def __init__(self, root: str, imgs: Dict[str, np.ndarray],
                 labels: Dict[str, np.ndarray], quality: int) -> None:
        self.root, self.imgs, self.labels = root, imgs, labels
        self.params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        self.sources: List[Tuple[str, str, int, int]] = []
        self.counts: Dict[str, int] = {}

    def write(self, rel_path: str, item: Item) -> None:
        split, index = item
        path = osp.join(self.root, rel_path)
        if not cv2.imwrite(path, self.imgs[split][index], self.params):
            raise OSError(f'could not write {path}')
        self.sources.append(
            (rel_path, SOURCES[split], index, int(self.labels[split][index])))
        folder = osp.dirname(rel_path)
        if folder.count('/') > 1:  # lfw_style/lfw/<Name> -> lfw_style/lfw
            folder = osp.dirname(folder)
        self.counts[folder] = self.counts.get(folder, 0) + 1


def _check_args(args: argparse.Namespace, num_classes: int) -> List[int]:
    seen = sorted(set(args.train_classes))
    if len(seen) != len(args.train_classes) or not all(
            0 <= c < num_classes for c in seen):
        raise ValueError(
            f'--train-classes {args.train_classes}: give distinct class '
            f'indices in 0..{num_classes - 1}.')
    unseen = [c for c in range(num_classes) if c not in seen]
    if len(unseen) < 2:
        raise ValueError(
            f'--train-classes {args.train_classes} leaves {len(unseen)} '
            'unseen class(es); different-identity pairs need at least 2.')
    for opt in ('num_query', 'val_query', 'val_gallery', 'pairs_folds',
                'pairs_per_fold', 'cameras'):
        if getattr(args, opt) < 1:
            raise ValueError(f'--{opt.replace("_", "-")} must be >= 1.')
    if args.max_train_per_id is not None and args.max_train_per_id < 1:
        raise ValueError('--max-train-per-id must be >= 1 (omit it for '
                         'all images).')
    if args.distractors < 0:
        raise ValueError('--distractors must be >= 0.')
    if not 0 <= args.jpeg_quality <= 100:
        raise ValueError('--jpeg-quality must be in 0..100.')
    return unseen


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, int]:
    """Run the conversion; returns the image/pair counts it printed."""
    start = time.time()
    args = parse_args(argv)
    out = osp.abspath(args.out)
    if osp.exists(out):
        raise FileExistsError(
            f'{out} exists: give a new --out (nothing is overwritten).')
    train_imgs, train_labels, classes = load_split(args.src, 'train')
    test_imgs, test_labels, _ = load_split(args.src, 'test')
    unseen = _check_args(args, len(classes))
    seen = sorted(args.train_classes)
    names = {cls + 1: safe_name(c) for cls, c in enumerate(classes)}
    market = plan_market(args, train_labels, test_labels, seen, unseen)

    parent = osp.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=osp.basename(out) + '.tmp-', dir=parent)
    try:
        writer = _Writer(tmp, dict(train=train_imgs, test=test_imgs),
                         dict(train=train_labels, test=test_labels),
                         args.jpeg_quality)
        counts = _write_all(args, writer, market, names, seen, unseen)
        _write_notes(args, tmp, writer, classes, seen, unseen, counts,
                     argv)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f'wrote {out} in {time.time() - start:.1f} s')
    for key, n in counts.items():
        print(f'  {key}: {n}')
    return counts


def _write_all(args: argparse.Namespace, writer: _Writer,
               market: Dict[str, List[Tuple[int, Item]]],
               names: Dict[int, str], seen: List[int],
               unseen: List[int]) -> Dict[str, int]:
    """Writes every image and pairs file; returns the counts."""
    for folder, entries in market.items():
        os.makedirs(osp.join(writer.root, 'market1501', folder))
        frame, per_pid = 0, {}
        for pid, item in entries:
            frame += 1
            k = per_pid[pid] = per_pid.get(pid, -1) + 1
            name = MARKET_NAME.format(
                pid=pid, cam=k % args.cameras + 1, frame=frame)
            writer.write(osp.join('market1501', folder, name), item)

    seen_pids = [c + 1 for c in seen]
    unseen_pids = [c + 1 for c in unseen]
    pair_counts = {}
    face_sets = (
        ('train', _by_identity(market['bounding_box_train'], seen_pids),
         None),
        ('lfw',
         _by_identity(market['query'] + market['bounding_box_test'],
                      unseen_pids), 'pairs.txt'),
        ('val_lfw',
         _by_identity(market['val_query'] + market['bounding_box_val'],
                      seen_pids), 'val_pairs.txt'),
    )
    for folder, by_pid, pairs_file in face_sets:
        for pid, items in by_pid.items():
            name = names[pid]
            os.makedirs(osp.join(writer.root, 'lfw_style', folder, name))
            for number, item in enumerate(items, 1):
                writer.write(
                    osp.join('lfw_style', folder, name,
                             f'{name}_{number:04d}.jpg'), item)
        if pairs_file is None:
            continue
        pairs = make_pairs({names[p]: len(v)
                            for p, v in by_pid.items()}, args.pairs_folds,
                           args.pairs_per_fold,
                           _rng(args.seed, 'pairs', folder), pairs_file)
        write_pairs(
            osp.join(writer.root, 'lfw_style', pairs_file), pairs,
            args.pairs_per_fold)
        n_same = sum(a == b for fold in pairs for a, _, b, _ in fold)
        total = sum(len(fold) for fold in pairs)
        pair_counts[f'lfw_style/{pairs_file} same'] = n_same
        pair_counts[f'lfw_style/{pairs_file} different'] = total - n_same
    counts = dict(writer.counts)
    counts['market1501/bounding_box_test distractors'] = sum(
        pid == 0 for pid, _ in market['bounding_box_test'])
    counts.update(pair_counts)
    counts['images'] = len(writer.sources)
    return counts


def _write_notes(args: argparse.Namespace, root: str, writer: _Writer,
                 classes: Tuple[str], seen: List[int], unseen: List[int],
                 counts: Dict[str, int],
                 argv: Optional[Sequence[str]]) -> None:
    """``CONVERTED.txt`` (what was done) and ``sources.csv`` (each file's
    Fashion-MNIST image)."""
    with open(osp.join(root, 'sources.csv'), 'w', newline='') as f:
        rows = csv.writer(f)
        rows.writerow(('file', 'source', 'index', 'label'))
        rows.writerows(writer.sources)
    argv = sys.argv[1:] if argv is None else list(argv)
    tool = osp.join('tools', 'dataset_converters', osp.basename(__file__))

    def ids(classes_: List[int]) -> str:
        return '\n'.join(f'  {c}  {classes[c]:<12} pid {c + 1:04d}  '
                         f'name {safe_name(classes[c])}' for c in classes_)

    lines = [
        'Fashion-MNIST as an open-set re-ID / face-verification benchmark',
        '',
        f'command: python {shlex.join([tool] + argv)}',
        f'source:  {osp.abspath(args.src)} (Fashion-MNIST train-* and '
        't10k-* IDX files)',
        f'seed:    {args.seed}',
        '',
        'seen classes (training identities; Fashion-MNIST train file):',
        ids(seen),
        'unseen classes (never trained on, never validated on; test '
        'query/gallery/',
        'pairs from the Fashion-MNIST test file):',
        ids(unseen),
        'validation: held-out train-file images of the seen classes (no '
        'test identity)',
        '',
        f'test query per identity: {args.num_query} (the rest of its test '
        'images: gallery)',
        f'val query / gallery per identity: {args.val_query} / '
        f'{args.val_gallery}',
        f'train images per identity: '
        f'{args.max_train_per_id or "all"}; distractors (pid 0000, seen '
        f'classes, test file): {args.distractors}',
        f'cameras: 1..{args.cameras}, dealt round-robin per identity and '
        'folder (arbitrary)',
        f'pairs: {args.pairs_folds} folds x {args.pairs_per_fold} same + '
        f'{args.pairs_per_fold} different; folds disjoint in images',
        f'images: 28x28 grey JPEG, quality {args.jpeg_quality}',
        '',
        'counts:',
    ] + [f'  {k}: {n}' for k, n in counts.items()] + [
        '',
        'licence: Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, '
        'arXiv:1708.07747,',
        'https://github.com/zalandoresearch/fashion-mnist) is under the MIT '
        'licence;',
        'these images are derived from it and carry the same licence:',
        '',
        MIT_NOTICE,
    ]
    with open(osp.join(root, 'CONVERTED.txt'), 'w') as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    main()
