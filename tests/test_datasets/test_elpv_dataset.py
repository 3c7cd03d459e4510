"""ELPVDataset: the fixed stratified split, label modes, mmpretrain pipelines
and bad input. Tests on the real data need the optional package; they skip
without it, except in CI (CI=true), where the tests extra installs it."""
import hashlib
import os
import os.path as osp
import random
import sys
from collections import Counter

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from rkd_mm.datasets import ELPVDataset
from rkd_mm.datasets.elpv import (elpv_data_root, read_elpv_labels,
                                  stratified_split)

SPLITS = ('train', 'val', 'test')
# (defect level 0..3, cell type) -> (train, val, test) images: the documented
# split of elpv-dataset 1.0.0.post1 (docs/data.md). Val and test get
# round(0.2 n) of each stratum, train the rest.
STRATA = {
    (0, 'mono'): (352, 118, 118),
    (0, 'poly'): (552, 184, 184),
    (1, 'mono'): (71, 23, 23),
    (1, 'poly'): (106, 36, 36),
    (2, 'mono'): (34, 11, 11),
    (2, 'poly'): (30, 10, 10),
    (3, 'mono'): (187, 63, 63),
    (3, 'poly'): (242, 80, 80),
}
# SHA-256 of the sorted file names ('images/cellNNNN.png', one a line) of
# each split: the split must never change silently
DIGESTS = {
    'train':
    'c02cf53cd0db9cb1ebc16c1b78ee212c81f65297edddb0636a73c980cee0efcd',
    'val': '08e1f3342fa8f6832cfd13e37b68c722dc0a9be6b032e6b57e7fe2e607327dd4',
    'test': 'b8c55e35deaad96c9758e01e41137230a53f0d091841f0f5631bcdcd17686c1f',
}


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


@pytest.fixture(scope='module')
def elpv_root():
    try:
        return elpv_data_root()
    except ImportError:
        if os.environ.get('CI') == 'true':
            pytest.fail('elpv-dataset is missing in CI: the tests extra '
                        'installs it (pip install -e ".[tests]").')
        pytest.skip('elpv-dataset is not installed: pip install -e ".[elpv]"')


@pytest.fixture(scope='module')
def real_splits(elpv_root):
    """{(label_mode, split): [data info, ...]} of the installed data."""
    return {(mode, split): list(ELPVDataset(split=split,
                                            label_mode=mode).load_data_list())
            for mode in ELPVDataset.LABEL_MODES for split in SPLITS}


def _name(info):
    return osp.relpath(info['img_path'],
                       osp.dirname(osp.dirname(info['img_path'])))


def _stratum(info):
    return round(info['defect_probability'] * 3), info['cell_type']


# --- the split rule, on made-up keys (no package needed) ---


def _made_up(sizes, seed=0):
    keys, strata = [], []
    for stratum, size in enumerate(sizes):
        keys += [f's{stratum}_{i}.png' for i in range(size)]
        strata += [stratum] * size
    ratios = dict(train=0.6, val=0.2, test=0.2)
    return keys, strata, stratified_split(keys, strata, ratios, seed)


def test_split_sizes_per_stratum():
    keys, strata, splits = _made_up([50, 7, 13])
    assert len(splits) == len(keys) and set(splits) == set(SPLITS)
    counts = Counter(zip(strata, splits))
    # val and test: round(0.2 n) with halves up; train: the rest
    expected = {0: (30, 10, 10), 1: (5, 1, 1), 2: (7, 3, 3)}
    for stratum, sizes in expected.items():
        assert tuple(counts[stratum, s] for s in SPLITS) == sizes


def test_split_ignores_input_order_and_follows_the_seed():
    keys, strata, splits = _made_up([40, 9])
    order = list(range(len(keys)))
    random.Random(1).shuffle(order)
    shuffled = stratified_split([keys[i] for i in order],
                                [strata[i] for i in order],
                                dict(train=0.6, val=0.2, test=0.2), 0)
    assert {keys[i]: s for i, s in zip(order, shuffled)} == dict(
        zip(keys, splits))
    _, _, other_seed = _made_up([40, 9], seed=1)
    assert other_seed != splits
    assert Counter(other_seed) == Counter(splits)


@pytest.mark.parametrize('keys, strata, ratios, match', [
    (['a', 'b'], [0], dict(train=1.0), '2 keys but 1 strata'),
    (['a', 'a'], [0, 0], dict(train=1.0), 'unique'),
    (['a', 'b'], [0, 0], dict(train=0.6, val=0.3), 'sum to 1'),
])
def test_split_bad_input(keys, strata, ratios, match):
    with pytest.raises(ValueError, match=match):
        stratified_split(keys, strata, ratios, 0)


# --- a tiny data root in the package's format (no package needed) ---


def _write_root(root, rows, images=True):
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        for path, prob, cell_type in rows:
            f.write(f'{path}  {prob}  {cell_type}\n')
            if images:
                cv2.imwrite(osp.join(root, path),
                            np.full((8, 8), 100, np.uint8))
    return str(root)


def _tiny_rows(n=20):
    probs = ('0.0', '0.3333333333333333', '0.6666666666666666', '1.0')
    return [(f'images/cell{i:04d}.png', probs[i % 4],
             ('mono', 'poly')[i // 4 % 2]) for i in range(n)]


def test_tiny_root_through_a_grey_pipeline(tmp_path):
    root = _write_root(tmp_path, _tiny_rows())
    pipeline = [dict(type='LoadImageFromFile', color_type='grayscale'),
                dict(type='PackInputs')]
    sizes = 0
    for split in SPLITS:
        ds = ELPVDataset(split=split, data_root=root, pipeline=pipeline)
        sizes += len(ds)
        sample = ds[0]
        assert tuple(sample['inputs'].shape) == (1, 8, 8)
        assert int(sample['data_samples'].gt_label) == \
            round(ds.get_data_info(0)['defect_probability'] * 3)
    assert sizes == 20


@pytest.mark.parametrize('row, match', [
    (('images/a.png', '0.5', 'mono'), 'must be 0, 1/3, 2/3 or 1'),
    (('images/a.png', '1.0', 'cigs'), 'cell type'),
    (('images/a.png', 'high', 'mono'), 'not a number'),
    (('images/a.png', '1.0', 'mono extra'), 'expected'),
])
def test_bad_label_row_names_the_line(tmp_path, row, match):
    root = _write_root(tmp_path, _tiny_rows(3) + [row], images=False)
    with pytest.raises(ValueError, match=match) as err:
        read_elpv_labels(osp.join(root, 'labels.csv'))
    assert 'line 4' in str(err.value)


def test_duplicate_row(tmp_path):
    root = _write_root(tmp_path, _tiny_rows(3) + _tiny_rows(1))
    with pytest.raises(ValueError, match='listed twice'):
        ELPVDataset(data_root=root)


def test_missing_image_and_label_file(tmp_path):
    root = _write_root(tmp_path, _tiny_rows())
    first_train = ELPVDataset(data_root=root).get_data_info(0)['img_path']
    os.remove(first_train)
    with pytest.raises(FileNotFoundError, match=osp.basename(first_train)):
        ELPVDataset(data_root=root)
    with pytest.raises(FileNotFoundError, match='labels.csv'):
        ELPVDataset(data_root=str(tmp_path / 'elsewhere'))


@pytest.mark.parametrize('kwargs, match', [
    (dict(split='validation'), "split must be one of \\('train', 'val'"),
    (dict(label_mode='3-level'), "label_mode must be one of"),
    (dict(metainfo=dict(classes=('a', 'b', 'c'))), 'has 3 names'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    root = _write_root(tmp_path, _tiny_rows())
    with pytest.raises(ValueError, match=match):
        ELPVDataset(data_root=root, **kwargs)


def test_without_the_package_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'elpv_dataset', None)  # import fails
    with pytest.raises(ImportError, match=r'pip install -e "\.\[elpv\]"'):
        ELPVDataset()


# --- the installed data (elpv-dataset 1.0.0.post1) ---


def test_every_image_in_exactly_one_split(elpv_root, real_splits):
    names = {split: [_name(i) for i in real_splits['4-level', split]]
             for split in SPLITS}
    assert [len(names[s]) for s in SPLITS] == [1574, 525, 525]
    all_names = [r.path for r in read_elpv_labels(
        osp.join(elpv_root, 'labels.csv'))]
    assert len(all_names) == 2624
    joined = names['train'] + names['val'] + names['test']
    assert sorted(joined) == sorted(all_names)  # disjoint and complete
    for split in SPLITS:
        digest = hashlib.sha256(
            '\n'.join(sorted(names[split])).encode()).hexdigest()
        assert digest == DIGESTS[split], f'the {split} split changed'


def test_split_is_stratified(real_splits):
    counts = {split: Counter(map(_stratum, real_splits['4-level', split]))
              for split in SPLITS}
    for stratum, sizes in STRATA.items():
        found = tuple(counts[s][stratum] for s in SPLITS)
        assert found == sizes, stratum
        total = sum(sizes)
        for share, size in zip((0.6, 0.2, 0.2), sizes):
            assert abs(size - share * total) <= 1, (stratum, size)


def test_label_modes(real_splits):
    totals = Counter()
    for split in SPLITS:
        four = real_splits['4-level', split]
        binary = real_splits['binary', split]
        assert [_name(i) for i in four] == [_name(i) for i in binary]
        for a, b in zip(four, binary):
            p = a['defect_probability']
            assert a['gt_label'] == round(3 * p)
            assert b['gt_label'] == int(p >= 0.5)
            totals[a['gt_label'], b['gt_label']] += 1
    # 1,508 / 295 / 106 / 715 cells per level; binary: levels 2 and 3
    assert totals == {(0, 0): 1508, (1, 0): 295, (2, 1): 106, (3, 1): 715}


def test_builds_through_mmpretrains_registry(elpv_root):
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(type='rkd_mm.ELPVDataset', split='val', label_mode='binary',
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='PackInputs')]))
    assert ds.metainfo['classes'] == ('functional', 'defective')
    sample = ds[0]
    # 300x300 grey; the default color_type repeats it over 3 channels
    assert tuple(sample['inputs'].shape) == (3, 300, 300)
    img = sample['inputs'].numpy()
    assert np.array_equal(img[0], img[1]) and np.array_equal(img[0], img[2])
    four = ELPVDataset(split='val')
    assert four.metainfo['classes'] == (
        'functional', 'possibly_defective', 'likely_defective', 'defective')
