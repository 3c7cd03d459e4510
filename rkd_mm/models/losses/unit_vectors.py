"""Unit vectors with a zero vector left at zero, not divided by ``eps``."""
import torch


def unit_vectors(x: torch.Tensor, dim: int,
                 min_norm: float = 1e-3) -> torch.Tensor:
    """``x / ||x||`` along ``dim``; vectors too short to have a direction
    become 0, with a zero gradient.

    ``F.normalize`` divides by ``max(||x||, eps)``: at an all-zero vector
    (a location where every ReLU channel is off, common in a randomly
    initialised LR student) its gradient is ``1 / eps`` = 1e12 times the
    upstream one -- measured 6e9 against 5e-3 elsewhere in
    :class:`PixelAffinityLoss` -- and near zero it grows as ``1 / ||x||``.
    Here a vector whose norm is at most ``min_norm`` times the mean norm of
    the non-zero vectors of ``x`` counts as having no direction.

    Args:
        x: Any tensor.
        dim: The vectors' dimension.
        min_norm: Shortest norm with a direction, as a fraction of the mean
            non-zero norm (0: only exact zeros are left out).

    Returns:
        torch.Tensor: Unit vectors, and zeros where there is no direction.
    """
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True)
    with torch.no_grad():
        nonzero = norm[norm > 0]
        tol = min_norm * nonzero.mean() if nonzero.numel() \
            else norm.new_zeros(())
        keep = norm > tol
    # the masked vectors divide by 1 and are then dropped by where(): no
    # 1 / ||x|| anywhere in their gradient
    safe = torch.where(keep, norm, torch.ones_like(norm))
    return torch.where(keep, x / safe, torch.zeros_like(x))


__all__ = ['unit_vectors']
