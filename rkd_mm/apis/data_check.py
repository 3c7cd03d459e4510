"""The data check of a config: every split it trains, validates and tests
on, read before anything trains (:func:`check_config_data`), with the
class count, ignore index and LR scales the config's model uses."""
import inspect
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import DefaultScope

from rkd_mm.datasets.data_check import SplitReport, check_split
from rkd_mm.registry import DATASETS
from .lr_scale import lr_scales
from .model_config import is_distiller, resolved_model_cfg

__all__ = ['DataCheckError', 'check_config_data', 'data_check_key',
           'DEFAULT_MAX_IMAGES']

#: images read per split by default: every image of the built-in and
#: packaged sets, an even sample of a larger set (the report says so)
DEFAULT_MAX_IMAGES = 5000


class DataCheckError(ValueError):
    """The data would train or score wrong; the message says what to
    change."""


def _student_model(cfg: Config) -> dict:
    if is_distiller(cfg):
        return resolved_model_cfg(cfg, 'student')
    return cfg.model


def _classes_and_ignore(model: dict) -> tuple:
    key = 'decode_head' if model.get('decode_head') else 'head'
    head = model.get(key) or {}
    if isinstance(head, (list, tuple)):  # cascade heads: the last predicts
        head, key = head[-1], f'{key}.{len(head) - 1}'
    num_classes = head.get('num_classes')
    return num_classes, head.get('ignore_index', 255), \
        f'model.{key}.num_classes'


def _default_suffix(dataset_cfg: dict) -> Optional[str]:
    with DATASETS.switch_scope_and_registry(None) as registry:
        cls = registry.get(dataset_cfg.get('type'))
    param = inspect.signature(cls).parameters.get('img_suffix') \
        if isinstance(cls, type) else None
    return None if param is None or param.default is param.empty \
        else param.default


def _build(dataset_cfg: dict, split: str):
    """The split's dataset; an empty one is named with where it looked
    (MMEngine's own message is numpy's 'need at least one array to
    concatenate')."""
    try:
        dataset = DATASETS.build(dataset_cfg)
    except ValueError as err:
        if 'need at least one array' not in str(err):
            raise
        dataset = None
    if dataset is None or len(dataset) == 0:
        root = dataset_cfg.get('data_root', '')
        prefix = dataset_cfg.get('data_prefix') or {}
        folder = osp.abspath(osp.join(root, prefix.get('img_path', '')))
        suffix = dataset_cfg.get('img_suffix', _default_suffix(dataset_cfg))
        ending = f' ending in {suffix!r}' if suffix else ''
        raise DataCheckError(
            f'{split}: no images found in {folder}{ending} (data_root '
            f'{root!r}, relative to the working directory {os.getcwd()}). '
            'Check data_root and data_prefix, and set the dataset\'s '
            "img_suffix to your images' extension.")
    return dataset


def data_check_key(cfg: Config,
                   splits: Sequence[str] = ('train', 'val', 'test')) -> str:
    """What :func:`check_config_data`'s verdict on ``cfg`` depends on: the
    datasets of ``splits``, the model's class count and ignore index, and
    its LR scales. Configs with one key get one verdict, so a caller
    checking many (the runner's plan) reads each data set once."""
    num_classes, ignore_index, _ = _classes_and_ignore(_student_model(cfg))
    scales = lr_scales(cfg)
    datasets = {split: (cfg.get(f'{split}_dataloader') or {}).get('dataset')
                for split in splits}
    return json.dumps(
        dict(num_classes=num_classes, ignore_index=ignore_index,
             scales=sorted({*scales.train, scales.test}), datasets=datasets,
             scope=cfg.get('default_scope')),
        sort_keys=True, default=repr)


def check_config_data(cfg: Config,
                      splits: Sequence[str] = ('train', 'val', 'test'),
                      max_images: Optional[int] = DEFAULT_MAX_IMAGES,
                      raise_on_error: bool = True) -> List[SplitReport]:
    """Build each split's dataset and check it (:func:`check_split`).

    Args:
        cfg: A teacher, LR-only or distiller config.
        splits: The dataloaders to check (``<split>_dataloader``); those the
            config lacks are skipped.
        max_images: Images read per split (None: all).
        raise_on_error: Raise :class:`DataCheckError` with every error.

    Returns:
        list[SplitReport]: One per split checked.

    Raises:
        DataCheckError: If ``raise_on_error`` and a split has errors.
    """
    model = _student_model(cfg)
    num_classes, ignore_index, key = _classes_and_ignore(model)
    if is_distiller(cfg):
        key = key.replace('model.', 'model.student.', 1)
    scales = lr_scales(cfg)
    factors = sorted({s for s in (*scales.train, scales.test) if s != 1.0})
    reports = []
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for split in splits:
            loader = cfg.get(f'{split}_dataloader')
            if not loader or not loader.get('dataset'):
                continue
            dataset = _build(loader['dataset'], split)
            n = num_classes or len(dataset.metainfo.get('classes') or [])
            reports.append(check_split(dataset, split, n, ignore_index,
                                       factors, max_images, key))
    errors = [f'{r.split}: {e}' for r in reports for e in r.errors]
    if errors and raise_on_error:
        raise DataCheckError(
            'the data check found what would train or score wrong '
            '(tools/analysis_tools/check_dataset.py CONFIG shows each '
            'split; --no-data-check skips the check):\n  ' +
            '\n  '.join(errors))
    return reports
