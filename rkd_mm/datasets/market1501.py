"""Market-1501 person re-identification in its standard folder layout."""
import os
import os.path as osp
import re
from typing import List, NamedTuple, Optional, Tuple

from mmpretrain.datasets import BaseDataset

from rkd_mm.registry import DATASETS

__all__ = [
    'Market1501Dataset', 'Market1501Name', 'MARKET1501_PATTERN',
    'parse_market1501_name'
]

#: The official file name: ``PPPP_cCsS_FFFFFF_NN.jpg`` (person, camera,
#: sequence, frame, box), e.g. ``0002_c1s1_000451_03.jpg``; junk boxes are
#: written with person ``-1`` (``-1_c1s1_000401_03.jpg``).
MARKET1501_PATTERN = re.compile(
    r'^(-?\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.(jpg|png)$')
#: Files with these extensions are images and must match the pattern; any
#: other file (the ``Thumbs.db`` in the official zip) is skipped.
_IMAGE_EXTS = ('.jpg', '.jpeg', '.png')


class Market1501Name(NamedTuple):
    """The fields of a Market-1501 file name.

    Attributes:
        pid: Person id as written (-1: junk, 0: distractor).
        camid: Camera id as written (``c3`` -> 3).
        seq: Sequence id (``s1`` -> 1).
        frame: Frame number.
        box: Index of the box within the frame.
    """
    pid: int
    camid: int
    seq: int
    frame: int
    box: int


def parse_market1501_name(name: str) -> Optional[Market1501Name]:
    """Parse a Market-1501 file name (no folder).

    Args:
        name: e.g. ``'0002_c1s1_000451_03.jpg'``.

    Returns:
        Market1501Name or None: The fields, or None if ``name`` does not
        follow ``MARKET1501_PATTERN``.
    """
    match = MARKET1501_PATTERN.match(name)
    if match is None:
        return None
    return Market1501Name(*(int(g) for g in match.groups()[:5]))


@DATASETS.register_module()
class Market1501Dataset(BaseDataset):
    """Market-1501 (Zheng et al., ICCV 2015) read from its official layout.

    ``data_root`` holds ``bounding_box_train/`` (training identities),
    ``query/`` and ``bounding_box_test/`` (the gallery), every image named
    ``PPPP_cCsS_FFFFFF_NN.jpg``: person id, camera, sequence, frame, box
    (``MARKET1501_PATTERN``). As in the official evaluation, person ``-1``
    marks junk boxes and ``0000`` distractors. Other files in the folders
    (the official zip's ``Thumbs.db``) are skipped.

    Each sample gives ``img_path``, ``pid`` and ``camid`` as written in the
    file name, and:

    - ``split='train'``: ``gt_label``, the identity index 0..N-1 (the pids
      in sorted order; ``metainfo['classes']`` holds the pids as 4-digit
      strings, ``'0002'``, ...). Junk (pid -1) is skipped: it is no
      identity.
    - ``'query'`` / ``'gallery'``: ``is_query`` True / False; everything
      is kept (junk and distractors are for the metric to handle).
    - ``'test'``: the query images, then the gallery images, so one loader
      feeds a retrieval metric.

    Images in each folder are sorted by file name. Pack the fields with
    ``dict(type='PackInputs', algorithm_keys=('pid', 'camid',
    'is_query'))``.

    Args:
        data_root: Folder holding the three sub-folders.
        split: ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
        train_dir: Training folder, relative to ``data_root``.
        query_dir: Query folder, relative to ``data_root`` (e.g.
            ``'val_query'`` for a validation split written alongside).
        gallery_dir: Gallery folder, relative to ``data_root``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``metainfo``, ...).
    """

    SPLITS = ('train', 'query', 'gallery', 'test')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 train_dir: str = 'bounding_box_train',
                 query_dir: str = 'query',
                 gallery_dir: str = 'bounding_box_test',
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'Market1501Dataset split must be one of '
                             f'{self.SPLITS}, got {split!r}.')
        if not data_root:
            raise ValueError(
                'Market1501Dataset needs data_root: the folder holding '
                f'{train_dir}/, {query_dir}/ and {gallery_dir}/.')
        self.split = split
        self.train_dir = train_dir
        self.query_dir = query_dir
        self.gallery_dir = gallery_dir
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def _folders(self) -> List[Tuple[str, Optional[bool]]]:
        """(folder, is_query) of each folder the split reads, in order."""
        if self.split == 'train':
            return [(self.train_dir, None)]
        folders = []
        if self.split in ('query', 'test'):
            folders.append((self.query_dir, True))
        if self.split in ('gallery', 'test'):
            folders.append((self.gallery_dir, False))
        return folders

    def _read_folder(self, folder: str) -> List[Tuple[str, Market1501Name]]:
        """(path, parsed name) of each image in ``folder``, sorted."""
        path = osp.join(self.data_root, folder)
        if not osp.isdir(path):
            what = ('data_root' if not osp.isdir(self.data_root) else
                    f'the {folder}/ folder of data_root')
            raise FileNotFoundError(
                f'Market1501Dataset (split {self.split!r}): {what} not found '
                f'({path}). The Market-1501 layout needs '
                f'{self.data_root}/{self.train_dir}/ (train), '
                f'{self.query_dir}/ (query) and {self.gallery_dir}/ '
                '(gallery): set data_root to the unpacked Market-1501 folder '
                '(or train_dir / query_dir / gallery_dir to the folders '
                'you have).')
        images = []
        for name in sorted(os.listdir(path)):
            if osp.splitext(name)[1].lower() not in _IMAGE_EXTS:
                continue
            parsed = parse_market1501_name(name)
            if parsed is None:
                raise ValueError(
                    f'Market1501Dataset: {osp.join(path, name)} is not named '
                    'like a Market-1501 image, PPPP_cCsS_FFFFFF_NN.jpg (e.g. '
                    '0002_c1s1_000451_03.jpg, regex '
                    f'{MARKET1501_PATTERN.pattern}): rename it or move it '
                    'out of the folder.')
            images.append((osp.join(path, name), parsed))
        if not images:
            raise ValueError(
                f'Market1501Dataset (split {self.split!r}): {path} holds no '
                'Market-1501 image (PPPP_cCsS_FFFFFF_NN.jpg): check '
                'data_root and the folder names.')
        return images

    def load_data_list(self) -> List[dict]:
        data_list = []
        if self.split == 'train':
            images = [(path, parsed)
                      for path, parsed in self._read_folder(self.train_dir)
                      if parsed.pid != -1]
            if not images:
                raise ValueError(
                    f'Market1501Dataset: {self.train_dir}/ holds only junk '
                    'images (person -1): no identity to train on.')
            pids = sorted({parsed.pid for _, parsed in images})
            label = {pid: i for i, pid in enumerate(pids)}
            # classes follow the data, as in mmpretrain's CustomDataset
            self._metainfo['classes'] = tuple(f'{pid:04d}' for pid in pids)
            for path, parsed in images:
                data_list.append(
                    dict(
                        img_path=path,
                        gt_label=label[parsed.pid],
                        pid=parsed.pid,
                        camid=parsed.camid))
            return data_list
        for folder, is_query in self._folders():
            for path, parsed in self._read_folder(folder):
                data_list.append(
                    dict(
                        img_path=path,
                        pid=parsed.pid,
                        camid=parsed.camid,
                        is_query=is_query))
        return data_list

    def extra_repr(self) -> List[str]:
        folders = ', '.join(folder for folder, _ in self._folders())
        return [
            f'Split: \t{self.split}',
            f'Data root: \t{self.data_root}',
            f'Folders: \t{folders}',
        ]
