"""The ELPV solar-cell benchmark as an mmpretrain data set, with a fixed
stratified train/val/test split."""
import hashlib
import os.path as osp
from collections import defaultdict
from typing import Dict, Hashable, List, NamedTuple, Optional, Sequence

from mmengine.logging import MMLogger
from mmpretrain.datasets import BaseDataset

from rkd_mm.registry import DATASETS

__all__ = [
    'ELPVDataset', 'ELPVRecord', 'ELPV_REQUIREMENT', 'elpv_data_root',
    'read_elpv_labels', 'stratified_split'
]

#: The pinned package (requirements/elpv.txt); the split sizes in the docs
#: and tests are those of this release.
ELPV_REQUIREMENT = 'elpv-dataset==1.0.0.post1'
_INSTALL = 'pip install -e ".[elpv]"'
#: Defect probabilities the experts assigned, one per 4-level class.
DEFECT_LEVELS = (0.0, 1 / 3, 2 / 3, 1.0)
CELL_TYPES = ('mono', 'poly')


class ELPVRecord(NamedTuple):
    """One row of ELPV's ``labels.csv``.

    Attributes:
        path: Image path relative to the CSV, e.g. ``'images/cell0001.png'``.
        probability: Defect probability, one of 0, 1/3, 2/3, 1.
        level: Index of ``probability`` in ``DEFECT_LEVELS`` (0..3).
        cell_type: ``'mono'`` or ``'poly'`` (crystalline type of the module).
    """
    path: str
    probability: float
    level: int
    cell_type: str


def elpv_data_root() -> str:
    """The data folder of the installed ``elpv-dataset`` package (holding
    ``labels.csv`` and ``images/``).

    Raises:
        ImportError: If the package is not installed, with the command that
            installs it.
    """
    try:
        import elpv_dataset
    except ImportError as err:
        raise ImportError(
            f'ELPVDataset needs the optional package {ELPV_REQUIREMENT} '
            f'(data licence CC BY-NC-SA 4.0): `{_INSTALL}` (or `pip '
            f'install {ELPV_REQUIREMENT}`), or set data_root to a folder '
            'holding its labels.csv and images/.') from err
    return osp.join(osp.dirname(osp.abspath(elpv_dataset.__file__)), 'data')


def read_elpv_labels(csv_path: str) -> List[ELPVRecord]:
    """Parse ELPV's ``labels.csv``: whitespace-separated ``path probability
    type`` per line, as ``elpv_dataset.utils.load_dataset`` reads it (without
    loading 2,624 images to get the labels).

    Raises:
        ValueError: Naming the line, on a malformed row, a probability other
            than 0, 1/3, 2/3, 1, a type other than mono/poly, or a path
            listed twice.
    """
    records, seen = [], set()
    with open(csv_path) as f:
        for line_no, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            where = f'{csv_path}, line {line_no} ({line.strip()!r})'
            if len(fields) != 3:
                raise ValueError(
                    f'{where}: expected "<path> <probability> <type>".')
            path, prob_text, cell_type = fields
            try:
                prob = float(prob_text)
            except ValueError:
                raise ValueError(
                    f'{where}: the probability is not a number.') from None
            level = round(prob * 3)
            if not 0 <= level <= 3 or abs(prob * 3 - level) > 1e-6:
                raise ValueError(
                    f'{where}: the defect probability must be 0, 1/3, 2/3 '
                    'or 1.')
            if cell_type not in CELL_TYPES:
                raise ValueError(
                    f'{where}: the cell type must be one of {CELL_TYPES}.')
            if path in seen:
                raise ValueError(f'{where}: {path} is listed twice.')
            seen.add(path)
            records.append(ELPVRecord(path, prob, level, cell_type))
    if not records:
        raise ValueError(f'{csv_path} lists no images.')
    return records


def stratified_split(keys: Sequence[str],
                     strata: Sequence[Hashable],
                     ratios: Dict[str, float],
                     seed: int) -> List[str]:
    """Assign every key to one split, stratum by stratum.

    Within each stratum the keys are ordered by the SHA-256 of
    ``f'{seed}:{key}'`` (a deterministic shuffle that depends on neither the
    input order nor the numpy version), then cut: every split but the first
    gets ``round(n * ratio)`` keys (halves rounded up), in the reverse order
    of ``ratios``; the first split gets the rest. So each stratum is spread
    over the splits in the given proportions, within one key.

    Args:
        keys: Unique names of the items (e.g. file names).
        strata: The stratum of each key (any hashable value).
        ratios: Split name -> fraction, e.g. ``dict(train=0.6, val=0.2,
            test=0.2)``; the fractions must sum to 1.
        seed: Seed of the shuffle.

    Returns:
        list[str]: The split name of each key, in the order of ``keys``.
    """
    if len(keys) != len(strata):
        raise ValueError(
            f'stratified_split got {len(keys)} keys but {len(strata)} strata.')
    if len(set(keys)) != len(keys):
        raise ValueError('stratified_split needs unique keys.')
    if not ratios or any(r <= 0 for r in ratios.values()) or \
            abs(sum(ratios.values()) - 1) > 1e-9:
        raise ValueError(
            f'Split ratios must be positive and sum to 1, got {ratios}.')
    members: Dict[Hashable, List[int]] = defaultdict(list)
    for index, stratum in enumerate(strata):
        members[stratum].append(index)
    names = list(ratios)
    assignment = [''] * len(keys)
    for indices in members.values():
        indices.sort(key=lambda i: hashlib.sha256(
            f'{seed}:{keys[i]}'.encode()).hexdigest())
        start = 0
        for name in reversed(names[1:]):
            count = min(int(len(indices) * ratios[name] + 0.5),
                        len(indices) - start)
            for i in indices[start:start + count]:
                assignment[i] = name
            start += count
        for i in indices[start:]:
            assignment[i] = names[0]
    return assignment


@DATASETS.register_module()
class ELPVDataset(BaseDataset):
    """ELPV: electroluminescence images of solar cells with real defects.

    2,624 cells of 300x300 pixels, 8-bit grey, cut from EL images of 44
    photovoltaic modules (mono- and polycrystalline). Experts rated each
    cell's defect probability as 0, 1/3, 2/3 or 1 (1,508 / 295 / 106 / 715
    cells): the cracks and finger interruptions are a few pixels wide at
    300², so they fade when the image is downscaled.

    Source: Buerhop-Lutz et al., "A Benchmark for Visual Identification of
    Defective Solar Cells in Electroluminescence Imagery", EU PVSEC 2018;
    Deitsch et al., "Automatic classification of defective photovoltaic
    module cells in electroluminescence images", Solar Energy 185, 2019.
    **Licence: CC BY-NC-SA 4.0** (non-commercial, share-alike) for the data,
    read from the PyPI package ``elpv-dataset`` (pinned 1.0.0.post1; the
    optional extra ``pip install -e ".[elpv]"``).

    **Split.** The package has none, so this class fixes one: stratified by
    defect level x cell type (8 strata), 60 / 20 / 20 % train / val / test
    per stratum, by :func:`stratified_split` with seed ``SPLIT_SEED`` = 0 on
    the file names. Every image is in exactly one split: 1,574 / 525 / 525
    images (per-stratum sizes in ``docs/data.md``). The package records no
    module id, so cells of one module can fall into different splits.

    **Label modes.** ``'4-level'``: one class per defect probability,
    ``('functional', 'possibly_defective', 'likely_defective',
    'defective')`` for 0, 1/3, 2/3, 1. ``'binary'``: ``('functional',
    'defective')``, defective if the probability is at least 0.5 (so 2/3
    and 1; 821 of 2,624 cells).

    Each sample gives ``img_path`` (a grey PNG: load it with mmpretrain's
    ``LoadImageFromFile``; its default ``color_type='color'`` repeats the
    grey channel 3 times for a standard 3-channel model,
    ``color_type='grayscale'`` keeps one channel), ``gt_label``,
    ``defect_probability`` and ``cell_type``.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        label_mode: ``'4-level'`` or ``'binary'``.
        data_root: Folder holding ``labels.csv`` and ``images/``; by default
            the installed package's data folder.
        ann_file: The label file, relative to ``data_root``.
        check_files: Check at start-up that every image of the split exists
            (a stat per file; an error names a missing one).
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``metainfo``, ...).
    """

    SPLIT_RATIOS = dict(train=0.6, val=0.2, test=0.2)
    SPLIT_SEED = 0
    LABEL_MODES = {
        '4-level': ('functional', 'possibly_defective', 'likely_defective',
                    'defective'),
        'binary': ('functional', 'defective'),
    }

    def __init__(self,
                 split: str = 'train',
                 label_mode: str = '4-level',
                 data_root: Optional[str] = None,
                 ann_file: str = 'labels.csv',
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLIT_RATIOS:
            raise ValueError(
                f'ELPVDataset split must be one of '
                f'{tuple(self.SPLIT_RATIOS)}, got {split!r}.')
        if label_mode not in self.LABEL_MODES:
            raise ValueError(
                f'ELPVDataset label_mode must be one of '
                f'{tuple(self.LABEL_MODES)}, got {label_mode!r}.')
        if not data_root:
            data_root = elpv_data_root()
            self._warn_if_not_pinned()
        self.split = split
        self.label_mode = label_mode
        self.check_files = check_files
        classes = self.LABEL_MODES[label_mode]
        metainfo = {'classes': classes, **(metainfo or {})}
        if len(metainfo['classes']) != len(classes):
            raise ValueError(
                f"metainfo['classes'] has {len(metainfo['classes'])} names "
                f"but label_mode {label_mode!r} has {len(classes)} classes "
                f'{classes}.')
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            **kwargs)

    @staticmethod
    def _warn_if_not_pinned() -> None:
        from importlib.metadata import PackageNotFoundError, version
        wanted = ELPV_REQUIREMENT.split('==')[1]
        try:
            found = version('elpv-dataset')
        except PackageNotFoundError:
            return
        if found != wanted:
            MMLogger.get_current_instance().warning(
                f'elpv-dataset {found} is installed, rkd_mm pins {wanted}: '
                'the split is defined on the file names and labels, so its '
                'sizes may differ from docs/data.md. `' + _INSTALL +
                '` installs the pinned release.')

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'ELPV label file {self.ann_file} not found: set data_root to '
                'the folder holding labels.csv and images/ (the data folder '
                'of the elpv-dataset package), or leave data_root unset to '
                'use the installed package.')
        records = read_elpv_labels(self.ann_file)
        splits = stratified_split(
            [r.path for r in records],
            [(r.level, r.cell_type) for r in records],
            self.SPLIT_RATIOS, self.SPLIT_SEED)
        root = osp.dirname(self.ann_file)
        data_list = []
        for record, split in zip(records, splits):
            if split != self.split:
                continue
            img_path = osp.join(root, record.path)
            if self.check_files and not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'ELPV image {img_path} (listed in {self.ann_file}) is '
                    f'missing: reinstall the package (`{_INSTALL}`) or fix '
                    'data_root.')
            data_list.append(
                dict(
                    img_path=img_path,
                    gt_label=self._label(record),
                    defect_probability=record.probability,
                    cell_type=record.cell_type))
        return data_list

    def _label(self, record: ELPVRecord) -> int:
        if self.label_mode == 'binary':
            return int(record.probability >= 0.5)
        return record.level

    def extra_repr(self) -> List[str]:
        return [
            f'Split: \t{self.split} (seed {self.SPLIT_SEED}, '
            f'ratios {self.SPLIT_RATIOS})',
            f'Label mode: \t{self.label_mode}',
            f'Label file: \t{self.ann_file}',
        ]
