"""rkd_mm models: the distillation algorithm, its task adapters, losses,
discriminators and connectors."""
from .algorithms import ResolutionAwareDistiller
from .connectors import ConvConnector, LinearConnector
from .data_preprocessors import LRClsDataPreProcessor, LRSegDataPreProcessor
from .discriminators import FeatureDiscriminator, PatchDiscriminator
from .losses import (AdversarialLoss, AttentionTransferLoss,
                     ChannelWiseDivergenceLoss, DecoupledKDLoss, FitNetLoss,
                     MMDLoss, PairwiseSimilarityLoss, RelationalKDLoss,
                     ResolutionAwareKDLoss)
from .segmentors import LREncoderDecoder
from .task_adapters import (BaseTaskAdapter, ClassificationAdapter,
                            SegmentationAdapter)

__all__ = [
    'ResolutionAwareDistiller', 'ConvConnector', 'LinearConnector',
    'FeatureDiscriminator', 'PatchDiscriminator', 'AdversarialLoss',
    'AttentionTransferLoss', 'ChannelWiseDivergenceLoss', 'DecoupledKDLoss',
    'FitNetLoss', 'MMDLoss', 'PairwiseSimilarityLoss', 'RelationalKDLoss',
    'ResolutionAwareKDLoss', 'LREncoderDecoder', 'BaseTaskAdapter',
    'SegmentationAdapter', 'ClassificationAdapter', 'LRSegDataPreProcessor',
    'LRClsDataPreProcessor'
]
