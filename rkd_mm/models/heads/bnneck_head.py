"""BNNeck re-ID head (Luo et al. 2019, "Bag of Tricks")."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from rkd_mm.registry import MODELS
from .embedding_samples import EmbeddingHeadMixin


def gt_labels(data_samples: Sequence[DataSample], owner: str) -> torch.Tensor:
    """The identity indices ``(N, )`` of a batch of data samples."""
    missing = [i for i, s in enumerate(data_samples) if 'gt_label' not in s]
    if missing:
        raise KeyError(
            f'{owner}: data samples {missing} carry no gt_label; training '
            'needs the identity index of every sample (a train split packed '
            'by PackInputs).')
    return torch.cat([s.gt_label.reshape(-1)[:1] for s in data_samples])


@MODELS.register_module()
class BNNeckHead(EmbeddingHeadMixin, ClsHead):
    """Re-ID head with a BNNeck (Luo et al., "Bag of Tricks and A Strong
    Baseline for Deep Person Re-identification", CVPRW 2019).

    The neck's pooled global feature ``f`` (``(N, C)``, the last of the
    neck's outputs) goes through a ``BatchNorm1d`` ``bnneck`` whose bias
    (shift) is frozen at 0, and a bias-free ``Linear`` ``fc`` to identity
    logits::

        f --triplet--   f_bn = bnneck(f)  --fc-->  logits --ID loss (CE)--

    * training: ``loss`` = label-smoothed cross-entropy on the logits,
      ``loss_triplet`` = batch-hard triplet on the *pre-BN* ``f``. The two
      losses pull in different directions (the triplet loss wants a free
      Euclidean space, the ID loss separable directions on a hypersphere);
      the BN between them is the paper's fix. The shift is frozen because a
      bias would move the classifier's decision boundaries off the origin.
    * ``forward`` (``mode='tensor'``) returns the ID logits ``(N, C)``.
    * ``predict`` writes the *post-BN* ``f_bn`` as the ``embedding`` field
      of each data sample; no class scores (test identities are unseen).

    Distillation taps: ``neck`` (the pre-BN ``f``; a tuple, index 0),
    ``head.bnneck`` (the embedding), ``head.fc`` (the ID logits).

    Args:
        num_classes: Number of training identities.
        in_channels: Width ``C`` of the pooled feature.
        loss: Config (or module) of the ID loss. Defaults to mmpretrain's
            ``LabelSmoothLoss`` with ``label_smooth_val=0.1`` (the paper's
            epsilon).
        triplet_loss: Config (or module) of the metric loss, or None for
            none. Defaults to :class:`~rkd_mm.models.losses.TripletLoss`
            with ``margin=0.3``.
        init_cfg: Initialisation; defaults to the paper's
            ``Normal(std=0.001)`` for ``fc`` (the BN starts at weight 1,
            bias 0).
        **kwargs: ``topk`` and ``cal_acc`` of mmpretrain's ``ClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Union[dict, nn.Module] = dict(
                     type='mmpretrain.LabelSmoothLoss',
                     label_smooth_val=0.1,
                     loss_weight=1.0),
                 triplet_loss: Optional[Union[dict, nn.Module]] = dict(
                     type='rkd_mm.TripletLoss', margin=0.3, loss_weight=1.0),
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.001),
                 **kwargs) -> None:
        super().__init__(loss=loss, init_cfg=init_cfg, **kwargs)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(
                f'BNNeckHead: num_classes={num_classes} and in_channels='
                f'{in_channels} must be positive integers.')
        self.num_classes = num_classes
        self.in_channels = in_channels
        if triplet_loss is not None and not isinstance(
                triplet_loss, nn.Module):
            triplet_loss = MODELS.build(triplet_loss)
        self.triplet_loss = triplet_loss

        self.bnneck = nn.BatchNorm1d(in_channels)
        # Frozen shift (Bag of Tricks): the bias stays at its initial 0, and
        # the optimiser skips it because it never receives a gradient.
        self.bnneck.bias.requires_grad_(False)
        self.fc = nn.Linear(in_channels, num_classes, bias=False)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The global feature ``f`` ``(N, C)``: the last neck output."""
        return self.pooled_feature(feats)

    def embed(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The BN-normalised embedding ``f_bn`` ``(N, C)``."""
        return self.bnneck(self.pre_logits(feats))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The identity logits ``(N, num_classes)``."""
        return self.fc(self.embed(feats))

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """ID and triplet losses.

        Args:
            feats: The neck's outputs; the last is the pooled feature.
            data_samples: The batch's samples, each with a ``gt_label``.
            **kwargs: Passed to the ID loss module.

        Returns:
            dict[str, Tensor]: ``loss`` (ID), ``loss_triplet`` (unless
            ``triplet_loss`` is None) and, with ``cal_acc``, the training
            accuracies.
        """
        feat = self.pre_logits(feats)
        # one pass through bnneck and fc, so that forward hooks (the
        # distiller's taps) see exactly the tensors the losses use
        cls_score = self.fc(self.bnneck(feat))
        labels = gt_labels(data_samples, 'BNNeckHead')
        losses = self._get_loss(cls_score, data_samples, **kwargs)
        if self.triplet_loss is not None:
            losses['loss_triplet'] = self.triplet_loss(
                feat, labels.to(feat.device))
        return losses
