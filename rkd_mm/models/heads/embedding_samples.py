"""Embedding heads: their marker class, and writing a batch of embeddings
into mmpretrain data samples."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmpretrain.structures import DataSample


class EmbeddingHeadMixin:
    """A head whose ``predict`` writes an ``embedding`` data field
    (compared by distance: re-ID, face verification) instead of class
    scores. :class:`~rkd_mm.models.task_adapters.EmbeddingAdapter` asks a
    model's head for it. Put it first among the bases (its ``predict``
    replaces ``ClsHead``'s); a subclass defines :meth:`embed`.
    """

    def pooled_feature(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last neck output, checked to be ``(N, in_channels)``."""
        feat = feats[-1]
        if feat.dim() != 2 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} takes pooled (N, {self.in_channels}) '
                f'features, got {tuple(feat.shape)}; give the model a '
                "pooling neck (neck=dict(type='GlobalAveragePooling')) and "
                'set in_channels to its width.')
        return feat

    def embed(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The embedding ``(N, D)`` that retrieval compares."""
        raise NotImplementedError

    def predict(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Write :meth:`embed`'s rows into the data samples.

        Args:
            feats: The neck's outputs; the last is the pooled feature.
            data_samples: The batch's samples; None (or None entries) makes
                new ones.

        Returns:
            list[DataSample]: Samples with an ``embedding`` field ``(D, )``.
        """
        return set_embeddings(self.embed(feats), data_samples)


def set_embeddings(
        embeddings: torch.Tensor,
        data_samples: Optional[Sequence[Optional[DataSample]]] = None
) -> List[DataSample]:
    """Store row ``i`` of ``embeddings`` as the ``embedding`` data field of
    sample ``i`` (the field the re-ID and face verification metrics read).

    As in mmpretrain's ``ClsHead.predict``, missing samples (``None``, or no
    list at all) are created.

    Args:
        embeddings: ``(N, D)`` embeddings.
        data_samples: ``N`` data samples (or ``None`` entries), or None.

    Returns:
        list[DataSample]: The samples, each with a 1-D ``embedding`` tensor.
    """
    if embeddings.dim() != 2:
        raise ValueError('embeddings must be (N, D), got '
                         f'{tuple(embeddings.shape)}.')
    if data_samples is None:
        data_samples = [None] * embeddings.shape[0]
    if len(data_samples) != embeddings.shape[0]:
        raise ValueError(f'{len(data_samples)} data samples for '
                         f'{embeddings.shape[0]} embeddings.')
    out = []
    # detached: predictions are results, and a kept graph would hold the
    # whole forward pass in memory while an evaluator collects them
    for sample, emb in zip(data_samples, embeddings.detach()):
        if sample is None:
            sample = DataSample()
        sample.set_field(emb, 'embedding')
        out.append(sample)
    return out
