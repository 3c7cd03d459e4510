"""What the distiller needs to know about a task, in one small class."""
from typing import List, Sequence

import torch
from torch import nn


class BaseTaskAdapter:
    """Runs one task library's models for :class:`ResolutionAwareDistiller`.

    The distiller is task-agnostic (mmrazor's split of an algorithm from the
    model it distils); everything that depends on the task library lives in
    a subclass: how a model is run to its raw output (the taps are recorded
    by forward hooks meanwhile), where the labels are in a data sample, which
    registry scope builds the task's models, and the metric a table leads
    with.

    Subclasses set :attr:`default_scope` and :attr:`metric` and implement
    :meth:`accepts` and :meth:`labels`. ``forward_tensor``, ``loss`` and
    ``predict`` use the ``mode`` convention that mmseg's and mmpretrain's
    models share (``model(inputs, data_samples, mode=...)``).
    """

    #: registry scope of the task library (``mmseg``, ``mmpretrain``)
    default_scope: str = ''
    #: the metric tables and ``save_best`` lead with
    metric: str = ''

    @classmethod
    def accepts(cls, model: nn.Module) -> bool:
        """Whether ``model`` is one of this task's models."""
        raise NotImplementedError

    def forward_tensor(self, model: nn.Module,
                       inputs: torch.Tensor) -> torch.Tensor:
        """The model's raw output (logits) for a preprocessed batch."""
        return model(inputs, None, mode='tensor')

    def loss(self, model: nn.Module, inputs: torch.Tensor,
             data_samples: Sequence) -> dict:
        """The model's own (task) losses on ``inputs``."""
        return model(inputs, data_samples, mode='loss')

    def predict(self, model: nn.Module, inputs: torch.Tensor,
                data_samples: Sequence) -> List:
        """The model's predictions, written into ``data_samples``."""
        return model(inputs, data_samples, mode='predict')

    def labels(self, data_samples: Sequence) -> torch.Tensor:
        """The batch's ground truth as one tensor (a loss's ``'gt'``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
