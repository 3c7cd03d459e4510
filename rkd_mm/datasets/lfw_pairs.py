"""Face verification pairs in the format of LFW's ``pairs.txt``."""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmpretrain.datasets import BaseDataset

from rkd_mm.registry import DATASETS

__all__ = ['LFWPairsDataset', 'LFWPair', 'read_lfw_pairs']

_FORMATS = ('the header "<folds> <pairs per fold>" (e.g. "10\t300") or '
            '"<pairs per fold>" (one fold, as in pairsDevTest.txt), then per '
            'fold that many same-person lines "name idx1 idx2" followed by '
            'as many different-person lines "name1 idx1 name2 idx2"')


class LFWPair(NamedTuple):
    """One line of a pairs file.

    Attributes:
        name_a: Identity of the first image (its folder name).
        idx_a: 1-based image number of the first image (``name_0001``).
        name_b: Identity of the second image.
        idx_b: Image number of the second image.
        is_same: Whether the line is a same-person line.
        fold: 0-based fold the line belongs to.
        line_no: 1-based line number in the file (for error messages).
    """
    name_a: str
    idx_a: int
    name_b: str
    idx_b: int
    is_same: bool
    fold: int
    line_no: int


def _int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f'{where}: {text!r} is not an image number; '
                         f'a pairs file has {_FORMATS}.') from None


def read_lfw_pairs(path: str) -> Tuple[List[LFWPair], int]:
    """Read and check an LFW-style pairs file.

    Args:
        path: The pairs file (e.g. LFW's ``pairs.txt``).

    Returns:
        tuple[list[LFWPair], int]: The pairs in file order and the number
        of folds.

    Raises:
        ValueError: Naming the line number and the fix, on a malformed
            header or line, a line of the wrong kind where the header's
            counts expect the other kind, a different-person line naming
            one person twice, or a file whose number of pair lines differs
            from what the header says.
    """
    with open(path) as f:
        lines = [(no, line.split()) for no, line in enumerate(f, 1)]
    lines = [(no, fields) for no, fields in lines if fields]
    if not lines:
        raise ValueError(f'{path} is empty: a pairs file has {_FORMATS}.')
    header_no, header = lines[0]
    where = f'{path}, line {header_no} (header {" ".join(header)!r})'
    if len(header) not in (1, 2):
        raise ValueError(f'{where}: expected "<folds> <pairs per fold>" or '
                         f'"<pairs per fold>"; a pairs file has {_FORMATS}.')
    try:
        counts = [int(x) for x in header]
    except ValueError:
        raise ValueError(f'{where}: the header must be numbers; a pairs '
                         f'file has {_FORMATS}.') from None
    num_folds, per_fold = counts if len(counts) == 2 else (1, counts[0])
    if num_folds < 1 or per_fold < 1:
        raise ValueError(f'{where}: the numbers of folds and of pairs per '
                         'fold must be positive.')
    body = lines[1:]
    expected = 2 * num_folds * per_fold
    if len(body) != expected:
        raise ValueError(
            f'{path}: the header (line {header_no}) says {num_folds} '
            f'fold(s) x 2 x {per_fold} pairs = {expected} pair lines, the '
            f'file has {len(body)}: fix the header or the list (a pairs '
            f'file has {_FORMATS}).')
    pairs = []
    for position, (no, fields) in enumerate(body):
        fold, offset = divmod(position, 2 * per_fold)
        is_same = offset < per_fold
        where = f'{path}, line {no} ({" ".join(fields)!r})'
        if is_same and len(fields) != 3:
            raise ValueError(
                f'{where}: expected a same-person line "name idx1 idx2" '
                f'(line {offset + 1} of fold {fold + 1}: the header says '
                f'each fold has {per_fold} same-person lines first, then '
                f'{per_fold} different-person lines). Fix the line or the '
                'header.')
        if not is_same and len(fields) != 4:
            raise ValueError(
                f'{where}: expected a different-person line "name1 idx1 '
                f'name2 idx2" (line {offset + 1} of fold {fold + 1}: the '
                f'header says each fold has {per_fold} same-person lines '
                f'first, then {per_fold} different-person lines). Fix the '
                'line or the header.')
        if is_same:
            name, idx_a, idx_b = fields
            pair = LFWPair(name, _int(idx_a, where), name, _int(idx_b, where),
                           True, fold, no)
        else:
            name_a, idx_a, name_b, idx_b = fields
            if name_a == name_b:
                raise ValueError(
                    f'{where}: a different-person line names {name_a} '
                    'twice: write a same pair as "name idx1 idx2" in the '
                    'same-person part of its fold.')
            pair = LFWPair(name_a, _int(idx_a, where), name_b,
                           _int(idx_b, where), False, fold, no)
        pairs.append(pair)
    return pairs, num_folds


@DATASETS.register_module()
class LFWPairsDataset(BaseDataset):
    """The images of an LFW-style verification pairs file.

    LFW (Huang et al. 2007) stores one folder per person,
    ``lfw/<name>/<name>_0001.jpg``, and lists the verification pairs in
    ``pairs.txt``: a header ``10\\t300`` (folds, pairs per fold), then per
    fold 300 same-person lines ``name\\tidx1\\tidx2`` followed by 300
    different-person lines ``name1\\tidx1\\tname2\\tidx2`` (any whitespace is
    accepted). ``pairsDevTrain.txt`` / ``pairsDevTest.txt`` have a single
    number as header: one fold of that many pairs of each kind.

    The data set lists every distinct image of the file once, in order of
    first appearance (``img_path`` and ``identity``, the person's name), so
    each image is embedded once. ``metainfo['pairs']`` holds one
    ``(idx_a, idx_b, is_same, fold)`` per line, indices into this list, and
    ``metainfo['num_folds']`` the number of folds; MMEngine's val/test
    loops hand the metainfo to the metric as ``dataset_meta``.

    Args:
        data_root: Folder holding the pairs file and the image folder.
        pairs_file: The pairs file, relative to ``data_root`` unless
            absolute.
        img_dir: The folder of identity folders, relative to ``data_root``.
        img_ext: Extension of the image files.
        check_files: Check at start-up that every listed image exists (a
            stat per image; an error names the first missing one).
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ...); ``indices`` is refused, as
            the pairs index the whole list.
    """

    def __init__(self,
                 data_root: str,
                 pairs_file: str = 'pairs.txt',
                 img_dir: str = 'lfw',
                 img_ext: str = '.jpg',
                 check_files: bool = True,
                 **kwargs) -> None:
        if kwargs.get('indices') is not None:
            raise ValueError(
                'LFWPairsDataset does not take indices: the pairs index the '
                'whole image list. Shorten the pairs file instead.')
        if not data_root:
            raise ValueError(
                'LFWPairsDataset needs data_root: the folder holding '
                f'{pairs_file} and {img_dir}/.')
        self.img_dir = img_dir
        self.img_ext = img_ext
        self.check_files = check_files
        super().__init__(ann_file=pairs_file, data_root=data_root, **kwargs)

    def img_path(self, name: str, idx: int) -> str:
        """The path of image ``idx`` (1-based) of person ``name``."""
        return osp.join(self.data_root, self.img_dir, name,
                        f'{name}_{idx:04d}{self.img_ext}')

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            what = ('data_root' if not osp.isdir(self.data_root) else
                    'the pairs file')
            raise FileNotFoundError(
                f'LFWPairsDataset: {what} not found ({self.ann_file}). The '
                f'LFW layout needs data_root/{self.img_dir}/<name>/'
                f'<name>_0001{self.img_ext} and a pairs file: set data_root '
                'to the folder holding both, and pairs_file / img_dir to '
                'their names there.')
        pairs, num_folds = read_lfw_pairs(self.ann_file)
        index: Dict[str, int] = {}
        data_list: List[dict] = []
        meta_pairs = []

        def add(name: str, idx: int, line_no: int) -> int:
            path = self.img_path(name, idx)
            if path not in index:
                if self.check_files and not osp.isfile(path):
                    raise FileNotFoundError(
                        f'LFWPairsDataset: {self.ann_file}, line {line_no} '
                        f'names image {idx} of {name}, but {path} does not '
                        'exist: check data_root, img_dir and img_ext '
                        f'({self.img_ext!r}), or fix the line.')
                index[path] = len(data_list)
                data_list.append(dict(img_path=path, identity=name))
            return index[path]

        for pair in pairs:
            meta_pairs.append((add(pair.name_a, pair.idx_a, pair.line_no),
                               add(pair.name_b, pair.idx_b, pair.line_no),
                               pair.is_same, pair.fold))
        # the pairs follow the data, as classes do in mmpretrain's
        # CustomDataset; the val/test loops pass them on to the metric
        self._metainfo['pairs'] = meta_pairs
        self._metainfo['num_folds'] = num_folds
        return data_list

    def extra_repr(self) -> List[str]:
        pairs: Optional[list] = self._metainfo.get('pairs')
        body = [f'Pairs file: \t{self.ann_file}',
                f'Image folder: \t{osp.join(self.data_root, self.img_dir)}']
        if pairs is not None:
            body.append(f'Pairs: \t{len(pairs)} in '
                        f"{self._metainfo['num_folds']} fold(s)")
        return body
