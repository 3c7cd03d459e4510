"""Task adapters: what the distiller needs to know about each task."""
from typing import Optional

from torch import nn

from rkd_mm.registry import MODELS
from .base_adapter import BaseTaskAdapter
from .classification_adapter import ClassificationAdapter
from .embedding_adapter import EmbeddingAdapter
from .segmentation_adapter import SegmentationAdapter

__all__ = [
    'BaseTaskAdapter', 'SegmentationAdapter', 'ClassificationAdapter',
    'EmbeddingAdapter', 'build_task_adapter'
]

# asked in this order which of them runs a given model (an embedding model
# is a classifier too: the narrower adapter is asked first)
ADAPTERS = (SegmentationAdapter, EmbeddingAdapter, ClassificationAdapter)


def build_task_adapter(cfg: Optional[dict],
                       model: nn.Module) -> BaseTaskAdapter:
    """The adapter ``cfg`` names, or the one that accepts ``model``.

    Raises:
        TypeError: No adapter accepts ``model`` (and none was named), or
            the named one does not.
    """
    if cfg is not None:
        adapter = MODELS.build(cfg)
        if not adapter.accepts(model):
            raise TypeError(
                f'task_adapter {type(adapter).__name__} does not run a '
                f'{type(model).__name__} (it takes '
                f'{adapter.default_scope} models); leave task_adapter out '
                'to pick the adapter from the student, or name a fitting '
                'one.')
        return adapter
    for adapter_cls in ADAPTERS:
        if adapter_cls.accepts(model):
            return adapter_cls()
    names = ', '.join(a.__name__ for a in ADAPTERS)
    raise TypeError(
        f'No task adapter runs a {type(model).__name__}: the distiller '
        f'knows {names}. Write a rkd_mm.models.task_adapters.'
        'BaseTaskAdapter subclass for this model family (forward_tensor, '
        'labels), register it, and name it in model.task_adapter.')
