"""mmpretrain's FashionMNIST reading the original ``.gz`` files in place."""
import os.path as osp
import warnings
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import FashionMNIST
from mmpretrain.datasets.mnist import read_sn3_pascalvincent_tensor

from rkd_mm.registry import DATASETS

__all__ = ['OfflineFashionMNIST', 'DEBIAN_FASHION_MNIST_ROOT']

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEBIAN_FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist'


@DATASETS.register_module()
class OfflineFashionMNIST(FashionMNIST):
    """:class:`mmpretrain.datasets.FashionMNIST` without downloads, reading
    the IDX files where they are, gzipped or not.

    Fashion-MNIST (Xiao et al. 2017, MIT licence): 60,000 train / 10,000 test
    grey 28x28 images of 10 clothing classes. Debian's package
    (``apt-get install -y dataset-fashion-mnist``) installs the four
    original files, ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``, in
    ``/usr/share/datasets/fashion-mnist`` (the default ``data_root``).
    mmpretrain 1.2.0's class reads only the *unpacked* files and otherwise
    downloads, so it cannot use that folder; this subclass reads each file
    as ``<name>.gz`` or ``<name>`` in ``data_root``, copies nothing and never
    downloads. Everything else (classes, samples as in-memory ``img`` arrays
    with ``gt_label``, pipelines) is mmpretrain's.

    It also takes the files from ``split``: mmpretrain 1.2.0 picks them from
    ``test_mode`` only, so ``split='test'`` without ``test_mode=True`` loads
    the *training* images there. Here ``split`` decides when it is given,
    and ``test_mode`` (mmpretrain's way) when it is not.

    Args:
        data_root: Folder holding the four files.
        split: ``'train'``, ``'val'`` or ``'test'``; ``None`` follows
            ``test_mode``.
        test_mode: mmpretrain's test flag.
        val_size: Training images held out for validation (Fashion-MNIST
            has no val split): ``'val'`` is the *last* ``val_size`` images
            of the training file, ``'train'`` the ones before (the file is
            in random class order, so both stay balanced). 0 (default):
            ``'train'`` is the whole file and there is no ``'val'``.
        **kwargs: Passed to :class:`mmpretrain.datasets.FashionMNIST`
            (``pipeline``, ``metainfo``, ...); ``download`` must stay False.
    """

    def __init__(self,
                 data_root: str = DEBIAN_FASHION_MNIST_ROOT,
                 split: Optional[str] = None,
                 test_mode: bool = False,
                 val_size: int = 0,
                 **kwargs) -> None:
        if kwargs.pop('download', False):
            raise ValueError(
                'OfflineFashionMNIST never downloads: install the files with '
                '`apt-get install -y dataset-fashion-mnist` (or point '
                'data_root at a copy of the four IDX files).')
        if split is None:
            split = 'test' if test_mode else 'train'
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"OfflineFashionMNIST split={split!r}: use "
                             "'train', 'val' or 'test'.")
        if not isinstance(val_size, int) or val_size < 0:
            raise ValueError(f'OfflineFashionMNIST val_size={val_size!r}: '
                             'give a number of images >= 0.')
        if split == 'val' and val_size == 0:
            raise ValueError(
                "OfflineFashionMNIST split='val' is the last val_size "
                'training images: set val_size (e.g. 10000) in the val '
                'and the train loader alike.')
        self.subset, self.val_size = split, val_size
        super().__init__(
            data_root=data_root,
            split='test' if split == 'test' else 'train',
            test_mode=test_mode,
            download=False,
            **kwargs)

    def _find(self, filename: str) -> Optional[str]:
        """``<root>/<filename>`` (``.gz``) or its unpacked twin, if any."""
        root = self.data_prefix['root']
        for path in (osp.join(root, filename),
                     osp.join(root, filename[:-len('.gz')])):
            if osp.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(
            self._find(name) for name, _ in self.train_list + self.test_list)

    def load_data_list(self) -> List[dict]:
        files = self.test_list if self.split == 'test' else self.train_list
        paths = [self._find(name) for name, _ in files]
        if None in paths:
            missing = [n for (n, _), p in zip(files, paths) if p is None]
            raise FileNotFoundError(
                f'Fashion-MNIST files {missing} (or their unpacked twins) '
                f"not found in {self.data_prefix['root']!r}. Install them "
                'with `apt-get install -y dataset-fashion-mnist` (they go '
                f'to {DEBIAN_FASHION_MNIST_ROOT}) or set data_root to a '
                'folder holding them.')
        with warnings.catch_warnings():
            # torch warns that the tensors view a read-only bytes buffer;
            # the images are copied below and the labels only read
            warnings.filterwarnings('ignore', message='The given NumPy array')
            imgs = read_sn3_pascalvincent_tensor(paths[0], strict=False)
            labels = read_sn3_pascalvincent_tensor(paths[1], strict=False)
        if imgs.ndim != 3 or labels.ndim != 1 or len(imgs) != len(labels):
            raise ValueError(
                f'{paths[0]} and {paths[1]} are not a Fashion-MNIST image / '
                f'label pair (shapes {tuple(imgs.shape)}, '
                f'{tuple(labels.shape)}).')
        # copy: the arrays come from a read-only buffer
        imgs = imgs.numpy().copy()
        records = [
            dict(img=img, gt_label=np.array(label, dtype=np.int64))
            for img, label in zip(imgs, labels.numpy())
        ]
        if self.subset == 'test' or not self.val_size:
            return records
        if self.val_size >= len(records):
            raise ValueError(
                f'OfflineFashionMNIST val_size={self.val_size} leaves no '
                f'training image of the {len(records)} in {paths[0]}.')
        cut = len(records) - self.val_size
        return records[cut:] if self.subset == 'val' else records[:cut]
