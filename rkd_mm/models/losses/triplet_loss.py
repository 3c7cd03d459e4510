"""Batch-hard triplet loss (Hermans et al. 2017) for embedding training."""
import torch
import torch.nn as nn

from rkd_mm.registry import MODELS

# Squared distances are clamped to this before the square root: the
# derivative of sqrt at 0 is infinite, the clamp makes it 0 instead.
_MIN_SQ_DIST = 1e-12

_PK_HINT = ("sample identity-balanced batches with the P x K sampler, e.g. "
            "train_dataloader=dict(batch_size=64, sampler=dict("
            "type='InfiniteSampler', shuffle=True), batch_sampler=dict("
            "type='rkd_mm.PKBatchSampler', num_instances=4))")


def euclidean_distances(feats: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` Euclidean distances between the rows of ``feats``.

    Computed as ``sqrt(max(|a|^2 + |b|^2 - 2 <a, b>, 1e-12))``: memory
    ``O(N^2)`` rather than the ``O(N^2 D)`` of explicit differences, and
    finite gradients for coincident rows (including the diagonal).

    Args:
        feats: Features ``(N, D)``.

    Returns:
        torch.Tensor: Distances ``(N, N)``; the diagonal is ``1e-6``
        (the clamp's square root), not exactly 0.
    """
    # Distances do not change under a common shift; centring first makes
    # the norms small, which limits the cancellation in |a|^2 + |b|^2 - 2ab
    # for features far from the origin (e.g. after ReLU + pooling).
    feats = feats - feats.mean(dim=0, keepdim=True)
    sq = feats.pow(2).sum(dim=1)
    sq_dist = sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * feats @ feats.t()
    return sq_dist.clamp_min(_MIN_SQ_DIST).sqrt()


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Batch-hard triplet loss (Hermans, Beyer and Leibe, "In Defense of the
    Triplet Loss for Person Re-Identification", 2017).

    For every anchor ``a`` of the batch, its *hardest positive* (the
    farthest sample of the same identity, ``a`` itself excluded) and its
    *hardest negative* (the closest sample of another identity) are mined
    by Euclidean distance ``d``, and::

        L = mean_a max(0, margin + max_{p: y_p = y_a, p != a} d(a, p)
                                  - min_{n: y_n != y_a} d(a, n))

    -- the margin-ranking form of Luo et al.'s "Bag of Tricks" baseline
    (``nn.MarginRankingLoss`` with ``y = 1``); the soft-margin variant is not
    implemented.

    Anchors whose identity has no other sample in the batch, or a batch with
    only one identity, have no positive / no negative: such anchors are left
    out of the mean. A batch where *no* anchor has both raises a
    ``ValueError`` (training would silently get no triplet signal): the
    P x K sampler (``batch_sampler=dict(type='rkd_mm.PKBatchSampler')``,
    P >= 2 identities of K >= 2 images each) gives every anchor both.

    Args:
        margin: The margin ``m >= 0`` between the hardest positive and
            hardest negative distances.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, margin: float = 0.3, loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'TripletLoss: margin={margin} must be >= 0.')
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)

    def forward(self, feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            feats: Embeddings ``(N, D)``.
            labels: Identity labels ``(N, )`` (or ``(N, 1)``), integers.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        if feats.dim() != 2:
            raise ValueError('TripletLoss takes (N, D) features, got '
                             f'{tuple(feats.shape)}; pool feature maps '
                             'first (e.g. GlobalAveragePooling).')
        n = feats.shape[0]
        if labels.numel() != n:
            raise ValueError(f'TripletLoss: {labels.numel()} labels for {n} '
                             'features.')
        labels = labels.reshape(-1).to(feats.device)

        dist = euclidean_distances(feats)
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        eye = torch.eye(n, dtype=torch.bool, device=feats.device)
        pos_mask = same & ~eye
        neg_mask = ~same
        valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
        if not bool(valid.any()):
            raise ValueError(
                f'TripletLoss: no anchor in this batch of {n} has both a '
                'positive (another sample of its identity) and a negative '
                f'(identities: {sorted(set(labels.tolist()))}); '
                f'{_PK_HINT}.')

        # Masked-out entries are filled with constants (where, not
        # multiplication), so the max / min picks only real pairs and no
        # gradient reaches them.
        d_ap = torch.where(pos_mask, dist,
                           dist.new_full((), float('-inf'))).amax(dim=1)
        d_an = torch.where(neg_mask, dist,
                           dist.new_full((), float('inf'))).amin(dim=1)
        # Invalid anchors are dropped before the arithmetic, so their
        # infinite entries never turn into inf - inf = nan.
        loss = (d_ap[valid] - d_an[valid] + self.margin).clamp_min(0)
        return self.loss_weight * loss.mean()
