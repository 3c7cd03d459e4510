"""Semantic segmentation through mmseg."""
from typing import Sequence

import torch
from torch import nn

from rkd_mm.registry import MODELS
from .base_adapter import BaseTaskAdapter


@MODELS.register_module()
class SegmentationAdapter(BaseTaskAdapter):
    """mmseg segmentors (``EncoderDecoder`` and subclasses such as
    :class:`~rkd_mm.models.LREncoderDecoder`).

    The raw output is the decode head's logit grid ``(N, C, h, w)`` (mmseg's
    ``mode='tensor'``); labels are the HR label maps ``(N, H, W)``.
    """

    default_scope = 'mmseg'
    metric = 'mIoU'

    @classmethod
    def accepts(cls, model: nn.Module) -> bool:
        from mmseg.models.segmentors import BaseSegmentor
        return isinstance(model, BaseSegmentor)

    def labels(self, data_samples: Sequence) -> torch.Tensor:
        return torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
