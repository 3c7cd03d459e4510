"""Fill a distiller's teacher-output cache ahead of training.

A distillation run with a cold cache runs the frozen teacher on every
training-image variant it meets for the first time: with the built-in data
(1,000 images, two random flips: 4,000 variants) that is most of the
variants, twice (HR and the ``@lr`` view), spread over its first thousand
iterations, on that run's threads only. Every variant can be enumerated
instead (the flips are the only random transforms of a cacheable
pipeline), so the teacher's taps can be computed before training, split
over several processes. Entries are content-addressed (a hash of the
teacher's input bytes), so filled entries are exactly the ones training
would have stored, and a variant this code enumerated wrongly would merely
be a miss that training computes itself: filling can save time, never
change a number.

The cache's namespace includes the torch thread count (it changes the
rounding), so fill with the thread count the training will use.
"""
import copy
import functools
import itertools
import json
import os.path as osp
import time
from typing import Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.registry import FUNCTIONS, init_default_scope
from torch import nn

from rkd_mm.engine.hooks.teacher_cache_hook import (FINITE_TRANSFORMS,
                                                    random_transforms,
                                                    transform_name)
from rkd_mm.registry import DATASETS, MODELS
from rkd_mm.utils.cfg_options import flatten_config
from .lr_scale import lr_scales

__all__ = [
    'flip_outcomes', 'pipeline_variants', 'leaf_datasets', 'build_filler',
    'fill_shard', 'count_variants', 'cache_signature'
]


def flip_outcomes(flip: dict) -> List[Optional[dict]]:
    """The deterministic forms of a ``RandomFlip`` config: one
    ``RandomFlip(prob=1.0, direction=d)`` per direction it can draw, and
    ``None`` (no flip) when not flipping has a non-zero chance.

    Follows ``mmcv.transforms.RandomFlip``: ``prob`` a float shared evenly
    by the directions, or one probability per direction.
    """
    prob = flip.get('prob')
    direction = flip.get('direction', 'horizontal')
    directions = [direction] if isinstance(direction, str) else list(
        direction)
    if prob is None:
        return [None]  # mmcv: prob=None never flips
    if isinstance(prob, (list, tuple)):
        if len(prob) != len(directions):
            raise ValueError(f'RandomFlip {flip}: give one prob per '
                             'direction.')
        probs = [float(p) for p in prob]
    else:
        probs = [float(prob) / len(directions)] * len(directions)
    outcomes: List[Optional[dict]] = [
        dict(flip, prob=1.0, direction=d)
        for d, p in zip(directions, probs) if p > 0]
    if 1.0 - sum(probs) > 1e-12:
        outcomes.append(None)
    return outcomes


def pipeline_variants(pipeline: Sequence[dict],
                      finite: Sequence[str] = FINITE_TRANSFORMS
                      ) -> List[List[dict]]:
    """Every deterministic pipeline whose output is a variant that
    ``pipeline`` can produce (the product of its flips' outcomes).

    Raises:
        ValueError: A transform outside ``finite`` (or a randomised one):
            its variants cannot be enumerated.
    """
    found = random_transforms(dict(pipeline=list(pipeline)), finite)
    if found:
        raise ValueError(
            f'the training pipeline has random transforms ({", ".join(found)}'
            '): their variants cannot be enumerated, and the distiller '
            'switches its teacher cache off for them (TeacherCacheHook). '
            'Nothing to fill.')
    options = [
        flip_outcomes(t) if transform_name(t) == 'RandomFlip' else [t]
        for t in pipeline
    ]
    return [[t for t in combo if t is not None]
            for combo in itertools.product(*options)]


def leaf_datasets(dataset: dict) -> List[dict]:
    """The dataset configs that hold a ``pipeline`` (through
    ``RepeatDataset``'s ``dataset`` and ``ConcatDataset``'s
    ``datasets``): together their samples are the training samples."""
    if dataset.get('pipeline') is not None:
        return [dataset]
    leaves = []
    if isinstance(dataset.get('dataset'), dict):
        leaves += leaf_datasets(dataset['dataset'])
    for inner in dataset.get('datasets') or []:
        leaves += leaf_datasets(inner)
    if not leaves:
        raise ValueError(f'train_dataloader.dataset {dataset.get("type")} '
                         'has no pipeline to enumerate.')
    return leaves


def build_filler(cfg: Config) -> nn.Module:
    """The config's distiller with its teacher loaded, for filling: entries
    go to disk only (no in-memory copy)."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    cache = model_cfg.get('teacher_cache')
    if not cache or not cache.get('cache_dir'):
        raise ValueError(
            'model.teacher_cache has no cache_dir: there is nothing on disk '
            'to fill (an in-memory cache lives as long as its run). Set '
            "model.teacher_cache=dict(cache_dir='work_dirs/teacher_cache').")
    model_cfg.teacher_cache = dict(cache, max_memory_gb=0)
    model = MODELS.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights lists every parameter
    try:
        model.init_weights()  # loads the teacher, as the runner does
    finally:
        logger.setLevel(level)
    return model.train()


def _collate(cfg: Config):
    """The training loader's ``collate_fn`` (MMEngine's default:
    ``pseudo_collate``)."""
    collate = cfg.train_dataloader.get('collate_fn')
    if collate is None:
        return pseudo_collate
    collate = dict(collate)
    return functools.partial(FUNCTIONS.get(collate.pop('type')), **collate)


def _shard_samples(cfg: Config, shard: int,
                   num_shards: int) -> Iterator[dict]:
    """The packed samples of every (image, variant) of this shard: images
    ``shard, shard + num_shards, ...`` of each leaf dataset."""
    for leaf in leaf_datasets(cfg.train_dataloader.dataset):
        variants = pipeline_variants(leaf['pipeline'])
        datasets = [
            DATASETS.build(dict(copy.deepcopy(leaf), pipeline=v))
            for v in variants
        ]
        for idx in range(shard, len(datasets[0]), num_shards):
            for dataset in datasets:
                sample = dataset.prepare_data(idx)
                if sample is not None:  # a pipeline may filter a sample
                    yield sample


def count_variants(cfg: Config) -> Dict[str, int]:
    """Images and variants of the training set (builds the datasets, which
    generates the built-in data if it is missing)."""
    images = variants = 0
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    for leaf in leaf_datasets(cfg.train_dataloader.dataset):
        n = len(DATASETS.build(copy.deepcopy(leaf)))
        images += n
        variants += n * len(pipeline_variants(leaf['pipeline']))
    return dict(images=images, variants=variants)


def fill_shard(cfg: Config,
               shard: int = 0,
               num_shards: int = 1,
               batch_size: Optional[int] = None,
               log_every: float = 60.0) -> Dict[str, float]:
    """Fill the cache with one shard of the training variants, at every
    LR scale the distiller draws.

    Args:
        cfg: A distiller config with ``model.teacher_cache.cache_dir``.
        shard: This process's shard, ``0 <= shard < num_shards``.
        num_shards: Processes that share the work.
        batch_size: Teacher batch (default: the training batch; on the CPU
            the entries do not depend on it).
        log_every: Seconds between progress lines.

    Returns:
        dict: ``samples`` (variants seen), ``computed`` (teacher inputs
        run: HR and ``@lr`` ones), ``seconds`` and the ``namespace``.
    """
    if not 0 <= shard < num_shards:
        raise ValueError(f'shard {shard} is not in [0, {num_shards}).')
    model = build_filler(cfg)
    collate = _collate(cfg)
    batch_size = batch_size or cfg.train_dataloader.batch_size
    start = last = time.time()
    samples = computed = 0

    def flush(batch: List[dict]) -> int:
        data = model.data_preprocessor(collate(batch), True)
        hr = data['inputs']
        return sum(
            model.fill_teacher_cache(hr, model.lr_view(hr, s))
            for s in model.scale_factors)

    batch: List[dict] = []
    with torch.no_grad():
        for sample in _shard_samples(cfg, shard, num_shards):
            batch.append(sample)
            if len(batch) == batch_size:
                computed += flush(batch)
                samples += len(batch)
                batch = []
                if time.time() - last >= log_every:
                    last = time.time()
                    print(f'shard {shard}/{num_shards}: {samples} variants, '
                          f'teacher ran on {computed} inputs '
                          f'({last - start:.0f} s)', flush=True)
        if batch:
            computed += flush(batch)
            samples += len(batch)
    cache = model.teacher_cache
    return dict(samples=samples, computed=computed,
                seconds=round(time.time() - start, 1),
                namespace=cache.namespace,
                directory=osp.abspath(cache.directory)
                if cache.directory else None)


def cache_signature(cfg: Config) -> Optional[str]:
    """The config-level part of a distiller's teacher-cache key, or None
    without a disk cache.

    :class:`~rkd_mm.models.algorithms.teacher_cache.TeacherOutputCache`
    keys an entry by its namespace (the teacher's weights and model config,
    the stored dtype, the numerics and library versions), the tap's spec
    and the bytes of the teacher's input sample. What of that a config
    decides: the teacher and its checkpoint, its taps, the cache settings,
    the HR preprocessing, the LR views of ``@lr`` taps (the loss inputs and
    the student's scales) and the training data. Runs with one signature
    (seeds, or methods that tap the same modules) read and write the same
    entries, so the runner fills them once.
    """
    model = cfg.get('model', {})
    cache = model.get('teacher_cache')
    if not cache or not cache.get('cache_dir') or 'teacher' not in model:
        return None
    distiller = model.get('distiller') or {}
    parts = {k: model.get(k) for k in ('teacher', 'teacher_ckpt',
                                       'teacher_cache', 'data_preprocessor')}
    # the taps, and which of them a loss takes on the LR view
    parts.update({k: distiller.get(k) for k in ('teacher_taps',
                                                'loss_inputs')})
    parts['lr_scales'] = list(lr_scales(cfg))  # the @lr taps' view
    parts['dataset'] = cfg.train_dataloader.get('dataset')
    return json.dumps(flatten_config(parts), sort_keys=True, default=repr)
