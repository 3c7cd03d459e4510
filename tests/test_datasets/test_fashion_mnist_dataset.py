"""OfflineFashionMNIST: Debian's Fashion-MNIST files through mmpretrain's
FashionMNIST, read in place; tiny generated IDX files for the file rules."""
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from conftest import write_idx
from rkd_mm.datasets import OfflineFashionMNIST
from rkd_mm.datasets.fashion_mnist import DEBIAN_FASHION_MNIST_ROOT

NAMES = {
    ('train', 'img'): 'train-images-idx3-ubyte',
    ('train', 'label'): 'train-labels-idx1-ubyte',
    ('test', 'img'): 't10k-images-idx3-ubyte',
    ('test', 'label'): 't10k-labels-idx1-ubyte',
}

needs_debian_files = pytest.mark.skipif(
    not osp.isfile(osp.join(DEBIAN_FASHION_MNIST_ROOT,
                            't10k-images-idx3-ubyte.gz')),
    reason='Fashion-MNIST is not installed: `apt-get install -y '
    'dataset-fashion-mnist` (.ci/run does it where apt-get can)')


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    init_default_scope('mmpretrain')


def _write(root, split, imgs, labels, gz):
    for kind, array in (('img', imgs), ('label', labels)):
        name = NAMES[split, kind] + ('.gz' if gz else '')
        write_idx(osp.join(root, name), array, gz=gz)


@pytest.fixture
def tiny_root(tmp_path):
    """Train gzipped (as Debian ships it), test unpacked (as mmpretrain's
    own download leaves it): 3 train and 2 test images of 4x4."""
    train = np.arange(3 * 16).reshape(3, 4, 4)
    test = 100 + np.arange(2 * 16).reshape(2, 4, 4)
    _write(tmp_path, 'train', train, np.array([7, 0, 9]), gz=True)
    _write(tmp_path, 'test', test, np.array([3, 5]), gz=False)
    return str(tmp_path), train, test


def test_reads_gzipped_and_unpacked_files(tiny_root):
    root, train, test = tiny_root
    ds = OfflineFashionMNIST(data_root=root)
    assert len(ds) == 3
    assert np.array_equal(ds.get_data_info(2)['img'], train[2])
    assert ds.get_gt_labels().tolist() == [7, 0, 9]
    ds = OfflineFashionMNIST(data_root=root, split='test')
    assert np.array_equal(ds.get_data_info(1)['img'], test[1])
    assert ds.get_gt_labels().tolist() == [3, 5]


def test_split_decides_and_test_mode_follows_when_split_is_unset(tiny_root):
    root = tiny_root[0]
    # mmpretrain 1.2.0 would load the training files here
    assert len(OfflineFashionMNIST(data_root=root, split='test')) == 2
    assert len(OfflineFashionMNIST(data_root=root, test_mode=True)) == 2
    assert len(OfflineFashionMNIST(data_root=root, split='train',
                                   test_mode=True)) == 3


def test_missing_files_name_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='apt-get install -y dataset-fashion-mnist'):
        OfflineFashionMNIST(data_root=str(tmp_path))


def test_never_downloads(tiny_root):
    with pytest.raises(ValueError, match='never downloads'):
        OfflineFashionMNIST(data_root=tiny_root[0], download=True)


@needs_debian_files
def test_mmpretrains_own_class_cannot_read_the_debian_folder():
    # why the subclass exists: mmpretrain 1.2.0 looks for unpacked files
    # and would download; if this starts to pass, the subclass can go
    from mmpretrain.datasets import FashionMNIST
    with pytest.raises(RuntimeError, match='Cannot find FashionMNIST'):
        FashionMNIST(data_root=DEBIAN_FASHION_MNIST_ROOT, download=False)


@needs_debian_files
@pytest.mark.parametrize('split, size', [('train', 60000), ('test', 10000)])
def test_debian_files_through_mmpretrains_registry(split, size):
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(type='rkd_mm.OfflineFashionMNIST',
             data_root=DEBIAN_FASHION_MNIST_ROOT, split=split,
             pipeline=[dict(type='PackInputs')]))
    assert isinstance(ds, OfflineFashionMNIST) and len(ds) == size
    assert ds.metainfo['classes'][0] == 'T-shirt/top'
    # balanced: 6,000 / 1,000 images of each of the 10 classes
    assert np.bincount(ds.get_gt_labels()).tolist() == [size // 10] * 10
    info = ds.get_data_info(0)
    assert info['img'].shape == (28, 28) and info['img'].dtype == np.uint8
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (1, 28, 28)
    assert int(sample['data_samples'].gt_label) == int(info['gt_label'])


def test_val_is_the_tail_of_the_training_file(tiny_root):
    root, train, _ = tiny_root
    tr = OfflineFashionMNIST(data_root=root, split='train', val_size=1)
    val = OfflineFashionMNIST(data_root=root, split='val', val_size=1)
    assert tr.get_gt_labels().tolist() == [7, 0]
    assert val.get_gt_labels().tolist() == [9]
    assert np.array_equal(val.get_data_info(0)['img'], train[2])
    # the test split ignores it
    assert len(OfflineFashionMNIST(data_root=root, split='test',
                                   val_size=1)) == 2
    with pytest.raises(ValueError, match='set val_size'):
        OfflineFashionMNIST(data_root=root, split='val')
    with pytest.raises(ValueError, match='leaves no training image'):
        OfflineFashionMNIST(data_root=root, split='train', val_size=3)
    with pytest.raises(ValueError, match="'train', 'val' or 'test'"):
        OfflineFashionMNIST(data_root=root, split='valid')
