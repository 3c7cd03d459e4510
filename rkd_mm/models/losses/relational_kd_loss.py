"""Relational KD (Park et al. 2019): distances and angles within a batch."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS


def _as_embedding(feat: torch.Tensor, role: str) -> torch.Tensor:
    """``(N, D)`` as is; ``(N, C, H, W)`` globally average-pooled to (N, C).
    """
    if feat.dim() == 4:
        return feat.mean(dim=(2, 3))
    if feat.dim() != 2:
        raise ValueError(f'RelationalKDLoss takes (N, D) embeddings or '
                         f'(N, C, H, W) maps, got {role} '
                         f'{tuple(feat.shape)}.')
    return feat


@MODELS.register_module()
class RelationalKDLoss(nn.Module):
    """Relational Knowledge Distillation (Park et al., "Relational Knowledge
    Distillation", CVPR 2019) -- Park et al.'s *Relational* KD, not this
    project's Resolution-aware KD.

    The student learns the teacher's structure of the batch: which samples
    are close and at which angles they lie, rather than the embeddings
    themselves, so the widths ``D_S`` and ``D_T`` may differ. 4-D maps are
    globally average-pooled to ``(N, C)`` embeddings first, which also makes
    the LR student's and HR teacher's grid sizes irrelevant.

    With ``e_i`` the embedding of sample ``i`` (student or teacher):

    * distance potential, normalised by the mean distance over the
      ``N (N - 1)`` ordered pairs ``i != j``::

          psi_D(i, j) = ||e_i - e_j||_2 / mu,
          mu = sum_{i != j} ||e_i - e_j||_2 / (N (N - 1))

    * angle potential at anchor ``j`` for every triplet ``(i, j, k)``::

          psi_A(i, j, k) = <u_ij, u_kj>,  u_ij = (e_i - e_j) / ||e_i - e_j||

      where a zero difference (``i = j`` or ``k = j``) gives ``u = 0``, so
      that degenerate triplets are 0 for both networks (as in the authors'
      code).

      **Coincident pairs** (``i != j`` but ``||e_i - e_j||`` below
      ``min_pair_distance`` times that network's mean pairwise distance)
      have no direction: ``u_ij`` is set to 0 for *both* networks, so
      their triplets add nothing. The authors' code normalises them anyway;
      the gradient of ``x / ||x||`` grows as ``1 / ||x||``, and a randomly
      initialised student at 7x7 input maps groups of different images to
      exactly the same embedding (measured on the Fashion-MNIST re-ID
      benchmark at x0.25: 0 to 222 of a batch's 4,032 pairs), which gave the
      angle term a gradient 5e10 times the task's (and a calibrated weight
      of 1e-12, i.e. the baseline switched off).

    With ``h`` the Huber loss (``smooth_l1_loss``, ``beta = 1``)::

        L = distance_weight * mean_{i,j} h(psi_D^S(i, j), psi_D^T(i, j))
          + angle_weight * mean_{i,j,k} h(psi_A^S(i,j,k), psi_A^T(i,j,k))

    the means running over all ``N^2`` pairs and ``N^3`` triplets (the
    diagonal pairs are 0 for both). A batch of one sample has no relations,
    and two samples have only a trivial one (one distance, which the mean
    normalises to 1 on both sides, and no angle): the loss is 0 for
    ``N <= 2`` up to float rounding. Use batches of 3 or more.

    Args:
        distance_weight: Weight of the distance term (25 in the paper).
        angle_weight: Weight of the angle term (50 in the paper).
        loss_weight: Multiplier of the whole loss.
        min_pair_distance: A pair closer than this fraction of its
            network's mean pairwise distance counts as coincident in the
            angle term (above). 0 keeps only exactly-equal pairs out.
    """

    def __init__(self, distance_weight: float = 25.0,
                 angle_weight: float = 50.0,
                 loss_weight: float = 1.0,
                 min_pair_distance: float = 1e-3) -> None:
        super().__init__()
        if distance_weight < 0 or angle_weight < 0:
            raise ValueError('distance_weight and angle_weight must be >= 0.')
        if not 0 <= min_pair_distance < 1:
            raise ValueError(
                f'min_pair_distance={min_pair_distance} must be in [0, 1): '
                'a fraction of the mean pairwise distance (default 1e-3).')
        self.distance_weight = float(distance_weight)
        self.angle_weight = float(angle_weight)
        self.loss_weight = float(loss_weight)
        self.min_pair_distance = float(min_pair_distance)

    @staticmethod
    def distance_potential(emb: torch.Tensor) -> torch.Tensor:
        """``(N, N)`` pairwise distances divided by their off-diagonal mean.
        """
        n = emb.shape[0]
        diff = emb.unsqueeze(0) - emb.unsqueeze(1)
        # sqrt of a clamped square: finite gradients on the zero diagonal
        dist = diff.pow(2).sum(dim=2).clamp_min(1e-12).sqrt()
        dist = dist * (1 - torch.eye(n, dtype=dist.dtype,
                                     device=dist.device))
        mean = dist.sum() / (n * (n - 1))
        return dist / mean.clamp_min(1e-12)

    @staticmethod
    def differences(emb: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(N, N, D)`` differences ``e_i - e_j`` indexed ``[j, i]`` and
        their ``(N, N)`` norms, the ones the angle term divides by."""
        diff = emb.unsqueeze(0) - emb.unsqueeze(1)
        return diff, torch.linalg.vector_norm(diff, dim=2)

    def directed_pairs(self, norm: torch.Tensor) -> torch.Tensor:
        """``(N, N)`` mask, 1 where ``e_i - e_j`` has a direction: ``i != j``
        and the pair is not coincident (``min_pair_distance``).

        Decided on ``norm``, the very norms :meth:`angle_potential` divides
        by: a second distance computation (``torch.cdist`` switches to a
        matrix-product form above 25 rows, which measured an exact duplicate
        at ~5e-3) could keep a pair whose divisor is 0.
        """
        n = norm.shape[0]
        with torch.no_grad():
            off = ~torch.eye(n, dtype=torch.bool, device=norm.device)
            tol = self.min_pair_distance * norm[off].mean()
            return (off & (norm > tol)).to(norm.dtype)

    @staticmethod
    def angle_potential(diff: torch.Tensor, norm: torch.Tensor,
                        directed: torch.Tensor) -> torch.Tensor:
        """``(N, N, N)`` cosines ``<u_ij, u_kj>``, indexed ``[j, i, k]``,
        with ``u_ij = 0`` where ``directed[j, i]`` is 0 (``diff`` and
        ``norm`` from :meth:`differences`)."""
        # masked pairs get a unit divisor: their u is exactly 0 and so is
        # their gradient (normalize's 1 / eps at a zero vector would be
        # 1e12 times the upstream gradient)
        mask = directed > 0
        safe = torch.where(mask, norm, torch.ones_like(norm)).unsqueeze(2)
        unit = torch.where(mask.unsqueeze(2), diff / safe,
                           torch.zeros_like(diff))
        return unit @ unit.transpose(1, 2)

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S: Student embeddings ``(N, D_S)`` or maps
                ``(N, C_S, h, w)``.
            preds_T: Teacher embeddings ``(N, D_T)`` or maps
                ``(N, C_T, H, W)``.

        Returns:
            torch.Tensor: Scalar loss times ``loss_weight``.
        """
        emb_S = _as_embedding(preds_S, 'student')
        emb_T = _as_embedding(preds_T.detach(), 'teacher')
        if emb_S.shape[0] != emb_T.shape[0]:
            raise ValueError(
                'RelationalKDLoss: student and teacher batch sizes differ '
                f'({emb_S.shape[0]} vs {emb_T.shape[0]}).')
        if emb_S.shape[0] < 2:
            return emb_S.sum() * 0.0
        loss = emb_S.new_zeros(())
        if self.distance_weight > 0:
            loss = loss + self.distance_weight * F.smooth_l1_loss(
                self.distance_potential(emb_S),
                self.distance_potential(emb_T))
        if self.angle_weight > 0:
            # one mask for both networks: a triplet without a direction on
            # either side is 0 on both
            diff_S, norm_S = self.differences(emb_S)
            diff_T, norm_T = self.differences(emb_T)
            directed = self.directed_pairs(norm_S) * \
                self.directed_pairs(norm_T)
            loss = loss + self.angle_weight * F.smooth_l1_loss(
                self.angle_potential(diff_S, norm_S, directed),
                self.angle_potential(diff_T, norm_T, directed))
        return self.loss_weight * loss
