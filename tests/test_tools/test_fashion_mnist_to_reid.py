"""tools/dataset_converters/fashion_mnist_to_reid.py on tiny generated IDX
files: the Market-1501 and LFW layouts, the file-name grammar, the pixels,
the open-set split, the pairs, determinism, and a round trip through
rkd_mm's Market-1501 and LFW-pairs readers."""
import csv
import os
import os.path as osp
import re
from collections import Counter, defaultdict
from itertools import combinations

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from conftest import FMNIST_FILES, load_tool, write_idx
from rkd_mm.datasets.fashion_mnist import DEBIAN_FASHION_MNIST_ROOT
from rkd_mm.datasets.lfw_pairs import LFWPairsDataset
from rkd_mm.datasets.market1501 import Market1501Dataset

tool = load_tool('dataset_converters/fashion_mnist_to_reid.py')

CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
NAMES = ('T_shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
         'Shirt', 'Sneaker', 'Bag', 'Ankle_boot')
SEEN, UNSEEN = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
N_TRAIN, N_TEST = 14, 8  # images per class in the fake files
#: Small caps that every count below follows from.
OPTIONS = [
    '--max-train-per-id', '5', '--num-query', '2', '--val-query', '2',
    '--val-gallery', '6', '--distractors', '3', '--pairs-folds', '2',
    '--pairs-per-fold', '10'
]
#: The official name, with the converter's choices: 4-digit pid, camera
#: 1..6, sequence 1, 6-digit frame, box 01.
NAME_RE = re.compile(r'^(\d{4})_c([1-6])s1_(\d{6})_01\.jpg$')
MARKET_DIRS = ('bounding_box_train', 'query', 'bounding_box_test',
               'val_query', 'bounding_box_val')
TRAIN_FILE, TEST_FILE = 'train', 't10k'  # sources.csv's names


def smooth_images(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct 28x28 uint8 images, smooth (4x4 noise, bilinearly
    upscaled) so that JPEG keeps them close."""
    small = rng.integers(0, 256, (n, 4, 4)).astype(np.float32)
    return np.stack([
        cv2.resize(s, (28, 28), interpolation=cv2.INTER_LINEAR)
        for s in small
    ]).round().astype(np.uint8)


@pytest.fixture(scope='module')
def fake_src(tmp_path_factory):
    """Fashion-MNIST's four gzipped IDX files, with 12 train and 8 test
    smooth random images per class, in shuffled class order."""
    root = tmp_path_factory.mktemp('fmnist_src')
    rng = np.random.default_rng(0)
    data = {}
    for split, per_class in (('train', N_TRAIN), ('test', N_TEST)):
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        imgs = smooth_images(len(labels), rng)
        write_idx(str(root / FMNIST_FILES[split, 'img']), imgs)
        write_idx(str(root / FMNIST_FILES[split, 'label']), labels)
        data[split] = imgs, labels
    return str(root), data


def convert(src: str, out: str, *extra: str) -> dict:
    return tool.main(['--src', src, '--out', out, *OPTIONS, *extra])


@pytest.fixture(scope='module')
def converted(fake_src, tmp_path_factory):
    src, data = fake_src
    out = str(tmp_path_factory.mktemp('conv') / 'fmnist_reid')
    counts = convert(src, out)
    return out, data, counts


def read_sources(out: str) -> dict:
    """file -> (source file, index, label) from sources.csv."""
    with open(osp.join(out, 'sources.csv')) as f:
        return {
            row['file']: (row['source'], int(row['index']), int(row['label']))
            for row in csv.DictReader(f)
        }


def market_files(out: str, folder: str) -> list:
    return sorted(os.listdir(osp.join(out, 'market1501', folder)))


def face_files(out: str, folder: str) -> dict:
    """identity name -> sorted file names."""
    root = osp.join(out, 'lfw_style', folder)
    return {
        name: sorted(os.listdir(osp.join(root, name)))
        for name in sorted(os.listdir(root))
    }


def test_layout_counts_and_name_grammar(converted):
    out, _, counts = converted
    assert sorted(os.listdir(out)) == [
        'CONVERTED.txt', 'lfw_style', 'market1501', 'sources.csv'
    ]
    assert sorted(os.listdir(osp.join(out, 'market1501'))) == sorted(
        MARKET_DIRS)
    assert sorted(os.listdir(osp.join(out, 'lfw_style'))) == [
        'lfw', 'pairs.txt', 'train', 'val_lfw', 'val_pairs.txt'
    ]
    # 5 identities each: 5 train, 2 + 6 test, 2 + 6 val; 3 distractors
    expected = dict(
        bounding_box_train=25,
        query=10,
        bounding_box_test=33,
        val_query=10,
        bounding_box_val=30)
    for folder, n in expected.items():
        files = market_files(out, folder)
        assert len(files) == n == counts[f'market1501/{folder}']
        parsed = [NAME_RE.match(f) for f in files]
        assert all(parsed), [f for f, m in zip(files, parsed) if not m]
        # frames run 1..n in the folder, so every name is unique
        assert sorted(int(m.group(3)) for m in parsed) == list(
            range(1, n + 1))
        # cameras dealt round-robin over each identity's images
        by_pid = defaultdict(list)
        for m in sorted(parsed, key=lambda m: int(m.group(3))):
            by_pid[m.group(1)].append(int(m.group(2)))
        for cams in by_pid.values():
            assert cams == [k % 6 + 1 for k in range(len(cams))]
    pids = {
        folder: Counter(f[:4] for f in market_files(out, folder))
        for folder in MARKET_DIRS
    }
    seen = {f'{c + 1:04d}' for c in SEEN}
    unseen = {f'{c + 1:04d}' for c in UNSEEN}
    assert pids['bounding_box_train'] == {p: 5 for p in seen}
    assert pids['query'] == {p: 2 for p in unseen}
    assert pids['bounding_box_test'] == dict({p: 6 for p in unseen},
                                             **{'0000': 3})
    # validation: held-out images of the training identities (model
    # selection never sees a test identity)
    assert pids['val_query'] == {p: 2 for p in seen}
    assert pids['bounding_box_val'] == {p: 6 for p in seen}
    assert counts['market1501/bounding_box_test distractors'] == 3

    for folder, names, per_id in (('train', SEEN, 5), ('lfw', UNSEEN, 8),
                                  ('val_lfw', SEEN, 8)):
        files = face_files(out, folder)
        assert sorted(files) == sorted(NAMES[c] for c in names)
        for name, fs in files.items():
            assert fs == [f'{name}_{i:04d}.jpg' for i in range(1, per_id + 1)]
        assert counts[f'lfw_style/{folder}'] == 5 * per_id
    assert counts['images'] == 25 + 10 + 33 + 10 + 30 + 25 + 40 + 40

    notes = open(osp.join(out, 'CONVERTED.txt')).read()
    for text in ('fashion_mnist_to_reid.py', '--max-train-per-id 5',
                 'seed:    0', 'MIT', 'Zalando', 'T-shirt/top',
                 'pid 0010  name Ankle_boot', 'bounding_box_test: 33'):
        assert text in notes, text


def nearest(img: np.ndarray, pool: np.ndarray) -> tuple:
    """(index, mean abs error) of the pool image closest to ``img``."""
    err = np.abs(pool.astype(int) - img.astype(int)).mean(axis=(1, 2))
    return int(err.argmin()), float(err.min())


def test_pixels_sources_and_open_set_split(converted):
    """Each file decodes (one channel, 28x28) to its original within JPEG
    tolerance; the original, found independently of sources.csv, is the
    one sources.csv names, and its class fits the pid / identity name."""
    out, data, _ = converted
    sources = read_sources(out)
    files = [
        osp.relpath(osp.join(d, f), out)
        for d, _, fs in os.walk(out) for f in fs if f.endswith('.jpg')
    ]
    assert sorted(files) == sorted(sources)
    pools = {TRAIN_FILE: data['train'], TEST_FILE: data['test']}
    for rel in files:
        img = cv2.imread(osp.join(out, rel), cv2.IMREAD_UNCHANGED)
        assert img.shape == (28, 28) and img.dtype == np.uint8, rel
        source, index, label = sources[rel]
        imgs, labels = pools[source]
        assert nearest(img, imgs)[0] == index, rel
        diff = np.abs(img.astype(int) - imgs[index].astype(int))
        assert diff.mean() < 1.5 and diff.max() <= 12, rel
        assert labels[index] == label
        parts = rel.split('/')
        if parts[0] == 'market1501':
            pid = int(parts[2][:4])
            folder = parts[1]
            if pid == 0:  # distractor: a seen class's test image
                assert folder == 'bounding_box_test' and label in SEEN
                assert source == TEST_FILE
            else:
                assert pid == label + 1
        else:
            folder = parts[1]
            assert parts[2] == NAMES[label]
        # open set: training only on seen classes, testing only on unseen
        # ones (test file); val on held-out train-file images of the seen
        # classes: no test identity before the test
        if folder in ('bounding_box_train', 'train'):
            assert label in SEEN and source == TRAIN_FILE
        elif folder in ('query', 'bounding_box_test', 'lfw'):
            assert source == TEST_FILE
            assert label in UNSEEN or parts[2].startswith('0000')
        else:
            assert folder in ('val_query', 'bounding_box_val', 'val_lfw')
            assert label in SEEN and source == TRAIN_FILE


def test_folders_share_images_only_as_designed(converted):
    out, _, _ = converted
    sources = read_sources(out)

    def images(*prefixes):
        return [(s, i) for rel, (s, i, _) in sources.items()
                if rel.startswith(prefixes)]

    m = 'market1501/'
    for folder in MARKET_DIRS:  # no image twice in a folder
        assert len(set(images(m + folder))) == len(images(m + folder))
    train = set(images(m + 'bounding_box_train'))
    query, gallery = set(images(m + 'query/')), set(
        images(m + 'bounding_box_test'))
    val_q, val_g = set(images(m + 'val_query')), set(
        images(m + 'bounding_box_val'))
    assert not query & gallery and not val_q & val_g
    test, val = query | gallery, val_q | val_g
    assert not test & val and not train & (test | val)
    # the LFW-style folders hold the same images as their Market twins
    assert set(images('lfw_style/train/')) == train
    distractors = set(images(m + 'bounding_box_test/0000_'))
    assert set(images('lfw_style/lfw/')) == test - distractors
    assert set(images('lfw_style/val_lfw/')) == val
    # and number them in Fashion-MNIST file order
    for name in NAMES:
        for folder in ('train', 'lfw', 'val_lfw'):
            idx = [i for rel, (_, i, _) in sorted(sources.items())
                   if rel.startswith(f'lfw_style/{folder}/{name}/')]
            assert idx == sorted(idx)


def read_pairs(path: str) -> tuple:
    lines = open(path).read().split('\n')
    assert lines[-1] == ''  # ends with a newline
    return lines[0], [line.split('\t') for line in lines[1:-1]]


@pytest.mark.parametrize('pairs_file,img_dir',
                         [('pairs.txt', 'lfw'), ('val_pairs.txt', 'val_lfw')])
def test_pairs_follow_lfw_format_and_folds_share_no_image(
        converted, pairs_file, img_dir):
    out, _, counts = converted
    header, lines = read_pairs(osp.join(out, 'lfw_style', pairs_file))
    assert header == '2\t10'
    assert len(lines) == 2 * 2 * 10
    assert counts[f'lfw_style/{pairs_file} same'] == 20
    assert counts[f'lfw_style/{pairs_file} different'] == 20
    # test pairs over the unseen identities, val pairs over the seen ones
    names = [NAMES[c] for c in (UNSEEN if img_dir == 'lfw' else SEEN)]
    fold_images = []
    for fold in range(2):
        block = lines[fold * 20:(fold + 1) * 20]
        same, diff = block[:10], block[10:]
        assert all(len(f) == 3 for f in same)
        assert all(len(f) == 4 for f in diff)
        same = [(a, int(i), a, int(j)) for a, i, j in same]
        diff = [(a, int(i), b, int(j)) for a, i, b, j in diff]
        assert same == sorted(same) and diff == sorted(diff)
        assert len(set(same + diff)) == 20  # no pair twice
        # 10 same pairs over 5 identities, 10 different over 10 couples
        assert Counter(p[0] for p in same) == {n: 2 for n in names}
        assert Counter((p[0], p[2]) for p in diff) == {
            tuple(sorted(c)): 1
            for c in combinations(names, 2)
        }
        assert all(a == b and i < j for a, i, b, j in same)
        assert all(a < b for a, _, b, _ in diff)
        used = set()
        for a, i, b, j in same + diff:
            for name, k in ((a, i), (b, j)):
                # 8 images per identity: fold 0 uses 1-4, fold 1 uses 5-8
                assert 4 * fold < k <= 4 * fold + 4
                assert osp.isfile(
                    osp.join(out, 'lfw_style', img_dir, name,
                             f'{name}_{k:04d}.jpg'))
                used.add((name, k))
        fold_images.append(used)
    assert not fold_images[0] & fold_images[1]


def tree(root: str) -> dict:
    """relative path -> bytes, of every file under ``root``."""
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            with open(osp.join(d, f), 'rb') as fh:
                out[osp.relpath(osp.join(d, f), root)] = fh.read()
    return out


def test_same_seed_same_bytes_and_choices_are_independent(
        fake_src, converted, tmp_path):
    src = fake_src[0]
    out = converted[0]
    again = str(tmp_path / 'again')
    convert(src, again)
    first, second = tree(out), tree(again)
    first.pop('CONVERTED.txt'), second.pop('CONVERTED.txt')  # --out differs
    assert first == second

    other = str(tmp_path / 'seed1')
    convert(src, other, '--seed', '1')
    assert read_sources(other) != read_sources(out)

    # another number of distractors leaves every other choice as it was
    fewer = str(tmp_path / 'fewer')
    convert(src, fewer, '--distractors', '1')  # the last one counts
    a, b = read_sources(out), read_sources(fewer)
    for rel in a:
        if 'bounding_box_test' not in rel:
            assert a[rel] == b[rel], rel
    test_a = {v for k, v in a.items() if 'bounding_box_test/0000' not in k
              and 'bounding_box_test' in k}
    test_b = {v for k, v in b.items() if 'bounding_box_test/0000' not in k
              and 'bounding_box_test' in k}
    assert test_a == test_b


def test_other_train_classes(fake_src, tmp_path):
    out = str(tmp_path / 'out')
    tool.main(['--src', fake_src[0], '--out', out, '--train-classes', '9',
               '1', '--num-query', '2', '--val-query', '2',
               '--val-gallery', '2',
               '--pairs-folds', '1', '--pairs-per-fold', '8'])
    assert {f[:4] for f in market_files(out, 'bounding_box_train')} == {
        '0002', '0010'
    }
    assert {f[:4] for f in market_files(out, 'query')} == {
        f'{c:04d}' for c in (1, 3, 4, 5, 6, 7, 8, 9)
    }
    assert sorted(face_files(out, 'train')) == ['Ankle_boot', 'Trouser']
    # every train-file image per identity but the 4 held out for val, by
    # default
    assert len(market_files(out, 'bounding_box_train')) == 2 * (N_TRAIN - 4)
    assert {f[:4] for f in market_files(out, 'val_query')} == {
        '0002', '0010'}
    header, lines = read_pairs(osp.join(out, 'lfw_style', 'pairs.txt'))
    assert header == '1\t8' and len(lines) == 16


def test_errors_name_the_fix(fake_src, converted, tmp_path):
    src, out = fake_src[0], converted[0]
    with pytest.raises(FileExistsError, match='nothing is overwritten'):
        convert(src, out)
    with pytest.raises(FileNotFoundError,
                       match='apt-get install -y dataset-fashion-mnist'):
        convert(str(tmp_path / 'nothing'), str(tmp_path / 'a'))
    with pytest.raises(ValueError, match='lower --pairs-per-fold'):
        convert(src, str(tmp_path / 'b'), '--pairs-per-fold', '40')
    with pytest.raises(ValueError, match='--train-classes'):
        convert(src, str(tmp_path / 'c'), '--train-classes', '0', '0')
    with pytest.raises(ValueError, match='at least 2'):
        convert(src, str(tmp_path / 'd'), '--train-classes',
                *map(str, range(9)))
    with pytest.raises(ValueError, match='--num-query'):
        convert(src, str(tmp_path / 'e'), '--num-query', str(N_TEST))
    with pytest.raises(ValueError, match='--distractors'):
        convert(src, str(tmp_path / 'f'), '--distractors', '41')
    # a failed run leaves nothing behind, not even its temporary folder
    assert os.listdir(tmp_path) == []


@pytest.fixture
def mmpretrain_scope():
    init_default_scope('mmpretrain')


def test_round_trip_through_the_readers(converted, mmpretrain_scope):
    out, _, _ = converted
    market = osp.join(out, 'market1501')
    load = [dict(type='LoadImageFromFile')]
    train = Market1501Dataset(market, split='train', pipeline=load)
    assert train.metainfo['classes'] == ('0001', '0002', '0003', '0004',
                                         '0005')
    assert sorted(Counter(train.get_gt_labels().tolist()).items()) == [
        (k, 5) for k in range(5)
    ]
    assert train[0]['img'].shape[:2] == (28, 28)
    for query_dir, gallery_dir, n_query, n_gallery in (
            ('query', 'bounding_box_test', 10, 33),
            ('val_query', 'bounding_box_val', 10, 30)):
        test = Market1501Dataset(
            market, split='test', query_dir=query_dir,
            gallery_dir=gallery_dir)
        infos = [test.get_data_info(i) for i in range(len(test))]
        assert [i['is_query'] for i in infos] == [True] * n_query + [
            False
        ] * n_gallery
        for info in infos:
            m = NAME_RE.match(osp.basename(info['img_path']))
            assert (info['pid'], info['camid']) == (int(m.group(1)),
                                                    int(m.group(2)))
        pids = {i['pid'] for i in infos}
        assert pids - {0} == {c + 1 for c in (
            UNSEEN if query_dir == 'query' else SEEN)}
        assert (0 in pids) == (gallery_dir == 'bounding_box_test')

    for pairs_file, img_dir in (('pairs.txt', 'lfw'),
                                ('val_pairs.txt', 'val_lfw')):
        ds = LFWPairsDataset(
            osp.join(out, 'lfw_style'), pairs_file=pairs_file,
            img_dir=img_dir, pipeline=load)
        assert ds.metainfo['num_folds'] == 2
        pairs = ds.metainfo['pairs']
        assert len(pairs) == 40
        assert [f for _, _, _, f in pairs] == [0] * 20 + [1] * 20
        for a, b, same, _ in pairs:
            name_a = ds.get_data_info(a)['identity']
            name_b = ds.get_data_info(b)['identity']
            assert same == (name_a == name_b)
        assert {ds.get_data_info(i)['identity'] for i in range(len(ds))} \
            == {NAMES[c] for c in (UNSEEN if img_dir == 'lfw' else SEEN)}
        assert ds[0]['img'].shape[:2] == (28, 28)


needs_debian_files = pytest.mark.skipif(
    not osp.isfile(osp.join(DEBIAN_FASHION_MNIST_ROOT,
                            't10k-images-idx3-ubyte.gz')),
    reason='Fashion-MNIST is not installed: `apt-get install -y '
    'dataset-fashion-mnist` (.ci/run does it where apt-get can)')


@needs_debian_files
def test_real_files_with_small_caps(tmp_path):
    out = str(tmp_path / 'real')
    counts = tool.main([
        '--out', out, '--max-train-per-id', '3', '--num-query', '2',
        '--val-query', '2', '--val-gallery', '18', '--pairs-folds', '10',
        '--pairs-per-fold', '5'
    ])
    assert sorted(face_files(out, 'train')) == sorted(NAMES[c]
                                                      for c in SEEN)
    # the test file has 1000 images per class: 2 queries, 998 gallery
    assert counts['market1501/query'] == 10
    assert counts['market1501/bounding_box_test'] == 5 * 998
    assert counts['lfw_style/lfw'] == 5000
    assert counts['lfw_style/val_lfw'] == 100
    sources = read_sources(out)
    assert sources['lfw_style/lfw/Sandal/Sandal_0001.jpg'][2] == 5
