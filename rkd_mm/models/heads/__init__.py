"""Embedding heads (mmpretrain ``ClsHead`` subclasses) for re-ID and face
verification: trained with identity classification, they predict an
``embedding`` data field instead of class scores."""
from .arcface_embedding_head import ArcFaceEmbeddingHead
from .bnneck_head import BNNeckHead
from .embedding_samples import EmbeddingHeadMixin

__all__ = ['BNNeckHead', 'ArcFaceEmbeddingHead', 'EmbeddingHeadMixin']
