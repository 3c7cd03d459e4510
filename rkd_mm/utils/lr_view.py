"""The LR view of an image: the one resize op that makes it, and the one
that brings it back to an HR size.

These primitives sit on the lowest floor (``rkd_mm.utils``) so that every
part of the project -- the LR data preprocessors, the distiller, the data
generator, deployment, the analysis tools -- makes the LR view with the same
op and checks a scale factor with the same rule.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

_INTERPOLATIONS = {'area': cv2.INTER_AREA}


def check_scale_factor(scale_factor: float, field: str = 'scale_factor'
                       ) -> float:
    """Validate an LR downscale factor (0 < s <= 1) and return it as float.

    A boolean is refused although Python counts it as a number: ``True``
    would silently mean 1.0, no downscaling at all (``--cfg-options``
    parses ``scale_factor=True`` as a bool).
    """
    if isinstance(scale_factor, (bool, np.bool_)):
        raise TypeError(
            f'{field}={scale_factor!r} is a boolean, not a scale factor: give '
            'the LR/HR size ratio as a number in (0, 1], e.g. '
            f'{field}=0.5 for half resolution.')
    try:
        value = float(scale_factor)
    except (TypeError, ValueError):
        raise TypeError(f'{field} must be a number in (0, 1], got '
                        f'{scale_factor!r}.') from None
    if not 0.0 < value <= 1.0:
        raise ValueError(
            f'{field}={scale_factor} is out of range: it is the LR/HR size '
            'ratio and must lie in (0, 1], e.g. 0.5 for half resolution or '
            '0.25 for a quarter.')
    return value


def lr_size(hw: Sequence[int], scale_factor: float) -> Tuple[int, int]:
    """LR (height, width) of an HR ``hw`` at ``scale_factor`` (rounded)."""
    h, w = int(hw[0]), int(hw[1])
    return max(1, int(round(h * scale_factor))), \
        max(1, int(round(w * scale_factor)))


def downsample_image(img: np.ndarray, scale_factor: float,
                     interpolation: str = 'area') -> np.ndarray:
    """Downscale an image with the LR op (area averaging by default).

    Area interpolation (``cv2.INTER_AREA``) averages every LR pixel over the
    HR pixels it covers: for an integer ratio ``1/s`` it is the exact block
    mean, i.e. what a sensor with ``1/s``-times larger pixels records. It is
    anti-aliased by construction, so thin structures fade rather than alias.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array.
        scale_factor: LR/HR ratio in (0, 1]; 1 returns ``img`` unchanged.
        interpolation: Only ``'area'`` is supported.

    Returns:
        np.ndarray: The LR image, same dtype.
    """
    scale_factor = check_scale_factor(scale_factor)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'interpolation={interpolation!r}: choose from '
                         f'{sorted(_INTERPOLATIONS)}.')
    if scale_factor == 1.0:
        return img
    h, w = lr_size(img.shape[:2], scale_factor)
    return cv2.resize(
        img, (w, h), interpolation=_INTERPOLATIONS[interpolation])


#: how an LR view is brought back to an HR size (the teacher's ``@lr``
#: taps, the LR-information ceiling): bilinear, half-pixel centres
UPSAMPLE_MODES = ('bilinear', )


def upsample_tensor(lr: torch.Tensor, size: Sequence[int],
                    mode: str = 'bilinear') -> torch.Tensor:
    """An LR batch ``(N, C, h, w)`` resized back to ``size`` (h, w).

    The one way an LR view returns to the HR grid in this project: the
    distiller's teacher forward on the student's view (``@lr`` taps) and the
    LR-information ceiling (``upsample_back`` of an LR data preprocessor),
    so the two see the same pixels. Bilinear with ``align_corners=False``
    (half-pixel centres, what OpenCV's and PIL's resizes use); no new
    detail, just the LR information on the HR grid.
    """
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f'upsample mode {mode!r}: choose one of '
                         f'{UPSAMPLE_MODES}.')
    return F.interpolate(lr, size=tuple(size), mode=mode,
                         align_corners=False)


def downsample_tensor(inputs: torch.Tensor,
                      scale_factor: float,
                      mean: torch.Tensor,
                      std: torch.Tensor) -> torch.Tensor:
    """The LR op on a batch of *normalised* images ``(N, C, H, W)``.

    Same op as :func:`downsample_image`, for a model that makes the LR view
    itself (the distiller, from the HR batch the teacher sees), and it gives
    the same pixels as the LR test pipeline: the batch is taken back to its
    uint8 grey levels with the data preprocessor's ``mean``/``std``,
    downscaled, rounded as OpenCV rounds, and normalised again.

    * Integer ratio ``k = 1/s`` (0.5, 0.25, ...): the k x k block mean in
      torch (on the batch's device), rounded half up for k = 2 and half to
      even otherwise, which is what ``cv2.INTER_AREA`` does on uint8.
    * Any other ratio: each image goes through :func:`downsample_image`
      (OpenCV on the CPU) and back.

    Args:
        inputs: Normalised HR batch.
        scale_factor: LR/HR ratio in (0, 1].
        mean: Per-channel mean used to normalise (shape ``(C, 1, 1)``).
        std: Per-channel std used to normalise (shape ``(C, 1, 1)``).

    Returns:
        torch.Tensor: The normalised LR batch.
    """
    scale_factor = check_scale_factor(scale_factor)
    if scale_factor == 1.0:
        return inputs
    grey = torch.round(inputs * std + mean).clamp_(0, 255)  # exact uint8
    h, w = inputs.shape[-2:]
    k = round(1.0 / scale_factor)
    if abs(k * scale_factor - 1.0) < 1e-9 and h % k == 0 and w % k == 0:
        lr = F.avg_pool2d(grey, k)
        lr = torch.floor(lr + 0.5) if k == 2 else torch.round(lr)
    else:
        arrays = grey.permute(0, 2, 3, 1).to('cpu', torch.uint8).numpy()
        lr = torch.stack([
            torch.from_numpy(
                np.ascontiguousarray(downsample_image(a, scale_factor)))
            for a in arrays
        ]).to(inputs.device, inputs.dtype)
        lr = lr.reshape(lr.shape[:3] + (-1, )).permute(0, 3, 1, 2)
    return (lr - mean) / std


__all__ = [
    'UPSAMPLE_MODES', 'check_scale_factor', 'downsample_image',
    'downsample_tensor', 'lr_size', 'upsample_tensor'
]
