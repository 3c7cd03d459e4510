"""ArcFace head that predicts face embeddings for verification."""
from typing import Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import ArcFaceClsHead

from rkd_mm.registry import MODELS
from .embedding_samples import EmbeddingHeadMixin


@MODELS.register_module()
class ArcFaceEmbeddingHead(EmbeddingHeadMixin, ArcFaceClsHead):
    """mmpretrain's ``ArcFaceClsHead`` (Deng et al., "ArcFace: Additive
    Angular Margin Loss for Deep Face Recognition", CVPR 2019) for
    verification.

    Training is the parent's: the additive angular margin on the target
    class's cosine, scaled, into the ID loss (key ``loss``). ``forward``
    without a target (``mode='tensor'``) returns ``scale * cos`` logits
    ``(N, num_classes)``. ``predict`` writes the pre-logits feature (the last
    neck output, which the cosine classifier normalises) as the
    ``embedding`` field of each data sample, instead of class scores: the
    verification identities are not the training classes, and pairs are
    compared by cosine similarity.

    Distillation taps: ``neck`` (the embedding; a tuple, index 0),
    ``head.norm_product`` (the unscaled cosines, no margin).

    Args:
        num_classes: Number of training identities.
        in_channels: Width of the pooled feature.
        loss: Config (or module) of the ID loss. The parent's
            ``CrossEntropyLoss``, named with its scope so that it builds
            under any ``default_scope``.
        **kwargs: The parent's ``num_subcenters``, ``scale`` (64),
            ``margins`` (0.5, a float), ``easy_margin``, ``init_cfg``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Union[dict, nn.Module] = dict(
                     type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, loss=loss, **kwargs)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The embedding ``(N, in_channels)``: the last neck output."""
        return self.pooled_feature(feats)

    def embed(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The embedding: the pooled feature the cosine classifier
        normalises."""
        return self.pre_logits(feats)
