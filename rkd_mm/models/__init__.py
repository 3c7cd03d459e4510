"""rkd_mm models: the distillation algorithm and its wiring component,
task adapters, losses, discriminators, connectors, embedding heads."""
from .algorithms import ResolutionAwareDistiller
from .connectors import ConvConnector, LinearConnector
from .data_preprocessors import LRClsDataPreProcessor, LRSegDataPreProcessor
from .distillers import ConfigurableDistiller
from .discriminators import FeatureDiscriminator, PatchDiscriminator
from .heads import ArcFaceEmbeddingHead, BNNeckHead
from .losses import (AdversarialLoss, AttentionTransferLoss,
                     ChannelWiseDivergenceLoss, DecoupledKDLoss, FitNetLoss,
                     MMDLoss, PairwiseSimilarityLoss, RelationalKDLoss,
                     ResolutionAwareKDLoss, TripletLoss)
from .segmentors import LREncoderDecoder
from .wrappers import DistillerDistributedDataParallel
from .task_adapters import (BaseTaskAdapter, ClassificationAdapter,
                            EmbeddingAdapter, SegmentationAdapter)

__all__ = [
    'ResolutionAwareDistiller', 'ConfigurableDistiller', 'ConvConnector',
    'LinearConnector',
    'FeatureDiscriminator', 'PatchDiscriminator', 'AdversarialLoss',
    'AttentionTransferLoss', 'ChannelWiseDivergenceLoss', 'DecoupledKDLoss',
    'FitNetLoss', 'MMDLoss', 'PairwiseSimilarityLoss', 'RelationalKDLoss',
    'ResolutionAwareKDLoss', 'LREncoderDecoder', 'BaseTaskAdapter',
    'SegmentationAdapter', 'ClassificationAdapter', 'EmbeddingAdapter',
    'LRSegDataPreProcessor',
    'LRClsDataPreProcessor', 'TripletLoss', 'BNNeckHead',
    'ArcFaceEmbeddingHead', 'DistillerDistributedDataParallel'
]
