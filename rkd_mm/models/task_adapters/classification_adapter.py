"""Image classification through mmpretrain."""
from typing import Sequence

import torch
from torch import nn

from rkd_mm.registry import MODELS
from .base_adapter import BaseTaskAdapter


@MODELS.register_module()
class ClassificationAdapter(BaseTaskAdapter):
    """mmpretrain classifiers (``ImageClassifier``).

    The raw output is the head's logits ``(N, C)`` (mmpretrain's
    ``mode='tensor'``); labels are the class indices ``(N, )``.
    """

    default_scope = 'mmpretrain'
    metric = 'accuracy/top1'

    @classmethod
    def accepts(cls, model: nn.Module) -> bool:
        from mmpretrain.models.classifiers import BaseClassifier
        return isinstance(model, BaseClassifier)

    def labels(self, data_samples: Sequence) -> torch.Tensor:
        missing = [i for i, s in enumerate(data_samples)
                   if 'gt_label' not in s]
        if missing:
            raise KeyError(
                f'data samples {missing} carry no gt_label: a loss input '
                "'gt' needs labelled samples (PackInputs of a labelled "
                'dataset).')
        return torch.cat([s.gt_label.reshape(-1)[:1] for s in data_samples])
