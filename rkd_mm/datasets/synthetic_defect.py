"""The built-in defect segmentation data set (mmseg ``BaseSegDataset``)."""
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
from mmengine.logging import MMLogger
from mmseg.datasets import BaseSegDataset

from rkd_mm.registry import DATASETS
from .defect_synthesis import (CLASSES, PALETTE, DefectDataSettings,
                               ensure_dataset, read_meta)


@DATASETS.register_module()
class SyntheticDefectDataset(BaseSegDataset):
    """Synthetic surface-defect segmentation (DAGM-2007 style, exact masks).

    Reads mmseg's standard layout ``img_dir/{split}/*.png`` +
    ``ann_dir/{split}/*.png`` (grey images, label maps with ids
    0 background, 1 scratch, 2 crack, 3 spot, 4 stain). If ``data_root``
    does not exist and ``generate_if_missing`` is True, the data is generated
    there once (atomically, safe across DDP ranks) from ``generator_cfg``; see
    :class:`~rkd_mm.datasets.defect_synthesis.DefectDataSettings` and
    ``tools/dataset_converters/generate_synthetic_defects.py``.

    Args:
        data_root: Root of the data set.
        data_prefix: mmseg's ``img_path`` / ``seg_map_path`` sub-folders.
        generate_if_missing: Generate the data if ``data_root`` is missing.
        generator_cfg: Settings for a fresh generation (``img_size``,
            ``num_train``, ``seed``, ``textures``, ...).
        check_files: Read every image and label map once at start-up and
            stop with the file's name if one is unreadable, has a label
            outside ``[0, num_classes)`` (255 = ignore is allowed) or a size
            that differs from its image. Costs about a second per 1,000
            128x128 samples.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self,
                 data_root: str,
                 data_prefix: dict = dict(
                     img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 generate_if_missing: bool = True,
                 generator_cfg: Optional[dict] = None,
                 check_files: bool = True,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        self.check_files = check_files
        if not data_root:
            raise ValueError(
                'SyntheticDefectDataset needs `data_root` (e.g. '
                "'data/synthetic_defects'); it is generated there if missing.")
        settings = DefectDataSettings.from_dict(generator_cfg)
        if not osp.isdir(data_root):
            if not generate_if_missing:
                raise FileNotFoundError(
                    f'data_root {data_root!r} does not exist. Generate it '
                    'with '
                    '`python tools/dataset_converters/'
                    f'generate_synthetic_defects.py --out {data_root}` or set '
                    'generate_if_missing=True.')
            ensure_dataset(data_root, settings,
                           MMLogger.get_current_instance())
        self._warn_if_settings_differ(data_root, settings, generator_cfg)
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    @staticmethod
    def _warn_if_settings_differ(data_root: str,
                                 settings: DefectDataSettings,
                                 generator_cfg: Optional[dict]) -> None:
        meta = read_meta(data_root)
        if meta is None or generator_cfg is None:
            return
        found = meta.get('settings', {})
        wanted = settings.to_dict()
        diff = {k: (found.get(k), v) for k, v in wanted.items()
                if k in generator_cfg and found.get(k) != v}
        if diff:
            MMLogger.get_current_instance().warning(
                f'{data_root} was generated with other settings than '
                f'generator_cfg asks for (key: (on disk, asked)) {diff}. The '
                'data on disk is used as it is; point data_root to a new '
                'folder to generate data with the new settings.')

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix.get('img_path', '')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'Image folder {img_dir!r} not found under data_root '
                f'{self.data_root!r}. Expected the layout img_dir/{{train,val,'
                'test}} + ann_dir/{train,val,test}; check data_root and '
                'data_prefix, or move the incomplete folder away so it is '
                'generated afresh.')
        ann_dir = self.data_prefix.get('seg_map_path')
        if ann_dir and not osp.isdir(ann_dir):
            raise FileNotFoundError(
                f'Label folder {ann_dir!r} not found; check data_prefix.')
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'No {self.img_suffix!r} images in {img_dir!r}.')
        if self.check_files:
            for info in data_list:
                self._check_sample(info)
        return data_list

    def _check_sample(self, info: dict) -> None:
        """Stop with the file's name on an unreadable or inconsistent pair."""
        img_path, seg_path = info['img_path'], info.get('seg_map_path')
        img = cv2.imread(img_path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(
                f'Cannot read image {img_path}: the file is missing or '
                'corrupt. Replace or remove it (and its label map), or '
                'regenerate the data set into a new data_root.')
        if seg_path is None:
            return
        if not osp.isfile(seg_path):
            raise FileNotFoundError(
                f'Label map {seg_path} for image {img_path} is missing.')
        seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
        if seg is None or seg.ndim != 2:
            raise ValueError(
                f'Cannot read label map {seg_path} as a single-channel '
                'image: save label maps as 8-bit grey PNGs of class ids.')
        if seg.shape != img.shape[:2]:
            raise ValueError(
                f'Label map {seg_path} is {seg.shape[1]}x{seg.shape[0]} but '
                f'its image {img_path} is {img.shape[1]}x{img.shape[0]}: '
                'label maps must match their image pixel for pixel.')
        num_classes = len(self.metainfo['classes'])
        labels = np.unique(seg)
        bad = labels[(labels >= num_classes) & (labels != self.ignore_index)]
        if bad.size:
            raise ValueError(
                f'Label map {seg_path} holds label(s) {bad.tolist()} but the '
                f'data set has {num_classes} classes '
                f'{self.metainfo["classes"]}'
                f' (valid ids 0..{num_classes - 1}, {self.ignore_index} = '
                'ignore). Fix the label map or the classes in metainfo.')
