"""Switch the distiller's teacher-output cache off for random augmentations.
"""
import logging
from typing import Any, Iterator, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from rkd_mm.registry import HOOKS

# Transforms whose output is one of finitely many variants of the image:
# deterministic ones, and RandomFlip (at most 4 variants with two flips).
# mmseg's and mmpretrain's (a classification pipeline must not switch the
# cache off for its packing or its fixed resize and crop).
FINITE_TRANSFORMS = frozenset({
    'LoadImageFromFile', 'LoadImageFromNDArray', 'LoadAnnotations',
    'RandomFlip', 'Resize', 'ResizeToMultiple', 'Pad', 'SegRescale',
    'GenerateEdge', 'RGB2Gray', 'AdjustGamma', 'CLAHE', 'Rerange',
    'PackSegInputs',
    # mmpretrain
    'PackInputs', 'ResizeEdge', 'CenterCrop'
})
# arguments that make an otherwise fixed transform draw at random
RANDOM_ARGS = ('ratio_range', )


def transform_name(transform: dict) -> str:
    """The type of a transform config without its scope (``mmseg.``)."""
    kind = transform.get('type', '?')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__',
                                                      repr(kind))
    return name.split('.')[-1]


def _pipelines(dataset: Any) -> Iterator[Sequence[dict]]:
    """Every ``pipeline`` of a dataset config, wrappers included
    (``dataset=`` of RepeatDataset, ``datasets=`` of ConcatDataset)."""
    if not isinstance(dataset, dict):
        return
    if dataset.get('pipeline') is not None:
        yield dataset['pipeline']
    yield from _pipelines(dataset.get('dataset'))
    for inner in dataset.get('datasets') or []:
        yield from _pipelines(inner)


def random_transforms(dataset: Any,
                      finite: Sequence[str] = FINITE_TRANSFORMS
                      ) -> List[str]:
    """The transforms of a dataset config outside the finite set."""
    found = []
    for pipeline in _pipelines(dataset):
        for transform in pipeline:
            name = transform_name(transform)
            randomised = [a for a in RANDOM_ARGS
                          if transform.get(a) is not None]
            if name not in finite:
                found.append(name)
            elif randomised:
                found.append(f'{name}({", ".join(randomised)})')
    return found


@HOOKS.register_module()
class TeacherCacheHook(Hook):
    """Keep the teacher-output cache only for a finite augmentation set.

    :class:`~rkd_mm.models.algorithms.TeacherOutputCache` is keyed by the
    teacher's input bytes, so it is never wrong, but it only pays when
    training images recur: with a random crop, scale or colour jitter every
    variant is new, each step hashes, stores and writes entries that are
    never read again, and the cache directory grows without bound. Before
    training this hook reads ``train_dataloader.dataset`` (wrapped datasets
    included) and, if any transform is outside :data:`FINITE_TRANSFORMS`
    (plus ``finite``), switches the model's cache off with a warning naming
    it. It does nothing for a model without a cache.

    Args:
        finite: More transform names (without scope) to accept as
            deterministic or finite, e.g. a project's own fixed transform.
    """

    priority = 'VERY_HIGH'

    def __init__(self, finite: Optional[Sequence[str]] = None) -> None:
        self.finite = FINITE_TRANSFORMS | frozenset(finite or ())

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if getattr(model, 'teacher_cache', None) is None:
            return
        dataset = runner.cfg.get('train_dataloader', {}).get('dataset')
        found = random_transforms(dataset, self.finite)
        if found:
            model.switch_off_teacher_cache(
                f'random augmentation {", ".join(found)} in the training '
                'pipeline')
            return
        cache = model.teacher_cache
        where = cache.cache_dir if cache.cache_dir is not None else \
            'memory only'
        print_log(f'teacher-output cache on ({where}): the training '
                  'pipeline has a finite set of augmentations.',
                  logger='current', level=logging.INFO)

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        cache = getattr(model, 'teacher_cache', None)
        if cache is None:
            return
        s = cache.stats()
        where = cache.directory or 'memory only'
        print_log(f'teacher-output cache: {s["hits"]} of {s["lookups"]} '
                  f'samples read ({100 * s["hit_rate"]:.1f} %; '
                  f'{s["tap_hits"]} of {s["tap_lookups"]} sample taps), '
                  f'{s["memory_entries"]} entries in memory '
                  f'({s["memory_gb"]:.2f} GiB); {where}.',
                  logger='current', level=logging.INFO)
