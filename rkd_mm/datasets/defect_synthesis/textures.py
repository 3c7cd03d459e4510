"""Defect-free background textures for the synthetic defect data.

Real textures come from scikit-image's CC0 images (``brick``, ``grass``,
``gravel``; 512x512 grey, shipped inside the wheel) and, opt-in, from the
defect-free cells of the ELPV solar-cell data set (CC BY-NC-SA 4.0, PyPI
``elpv-dataset``). Procedural textures (fractal noise, brushed metal, woven
fabric) add variety. Every texture is randomly cropped, zoomed, rotated by a
multiple of 90 degrees, flipped and re-levelled (mean and contrast) so the
same source never looks the same twice.

All functions take a :class:`numpy.random.Generator` and return ``float32``
arrays of shape ``(size, size)`` on a 0-255 scale.
"""
from functools import lru_cache
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

REAL_TEXTURES = ('brick', 'grass', 'gravel')
PROCEDURAL_TEXTURES = ('fractal', 'brushed', 'woven')
ELPV_TEXTURE = 'elpv'
ALL_TEXTURES = REAL_TEXTURES + PROCEDURAL_TEXTURES + (ELPV_TEXTURE, )


@lru_cache(maxsize=None)
def _skimage_texture(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img.astype(np.float32)


@lru_cache(maxsize=1)
def _elpv_defect_free() -> np.ndarray:
    try:
        from elpv_dataset.utils import load_dataset
    except ImportError as err:
        raise ImportError(
            "The 'elpv' background needs the optional package elpv-dataset "
            '(CC BY-NC-SA 4.0): `pip install elpv-dataset==1.0.0.post1`, or '
            "drop 'elpv' from the generator's textures.") from err
    images, probs, _ = load_dataset()
    return images[probs == 0].astype(np.float32)


def _random_crop(src: np.ndarray, size: int, rng: np.random.Generator,
                 zoom_range: Tuple[float, float]) -> np.ndarray:
    """Crop a random window of ``size * zoom`` pixels and resize it."""
    zoom = rng.uniform(*zoom_range)
    win = int(round(min(size * zoom, min(src.shape[:2]))))
    y = rng.integers(0, src.shape[0] - win + 1)
    x = rng.integers(0, src.shape[1] - win + 1)
    crop = src[y:y + win, x:x + win]
    interp = cv2.INTER_AREA if win > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def _smooth_noise(size: int, cells: int,
                  rng: np.random.Generator) -> np.ndarray:
    """White noise on a ``cells x cells`` grid, bicubically upsampled."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def fractal_noise(size: int, rng: np.random.Generator) -> np.ndarray:
    """1/f-like noise: octaves of smooth noise, amplitude falling each
    octave."""
    out = np.zeros((size, size), np.float32)
    cells, amp = 4, 1.0
    persistence = rng.uniform(0.45, 0.7)
    while cells <= size:
        out += amp * _smooth_noise(size, cells, rng)
        cells *= 2
        amp *= persistence
    return out


def brushed_metal(size: int, rng: np.random.Generator) -> np.ndarray:
    """Fine streaks along one direction (anisotropic blur of white noise)."""
    big = int(size * 1.5)
    noise = rng.standard_normal((big, big)).astype(np.float32)
    klen = int(rng.integers(15, 41)) | 1
    streaks = cv2.blur(noise, (klen, 1)) * np.sqrt(klen)
    streaks += 0.4 * _smooth_noise(big, 3, rng)  # uneven polish
    angle = rng.uniform(0, 180)
    rot = cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0)
    streaks = cv2.warpAffine(streaks, rot, (big, big),
                             borderMode=cv2.BORDER_REFLECT)
    off = (big - size) // 2
    return streaks[off:off + size, off:off + size]


def woven_fabric(size: int, rng: np.random.Generator) -> np.ndarray:
    """Plain weave: alternating warp/weft threads with fibre noise."""
    big = int(size * 1.5)
    period = rng.uniform(5.0, 12.0)
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32)
    cell_x = np.floor(xx / period)
    cell_y = np.floor(yy / period)
    over = ((cell_x + cell_y) % 2) == 0
    # a thread is brightest at its centre line
    warp = np.cos(np.pi * ((xx / period) % 1.0 - 0.5))
    weft = np.cos(np.pi * ((yy / period) % 1.0 - 0.5))
    pattern = np.where(over, warp, weft).astype(np.float32)
    pattern += 0.35 * rng.standard_normal((big, big)).astype(np.float32)
    angle = rng.uniform(-30, 30)
    rot = cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0)
    pattern = cv2.warpAffine(pattern, rot, (big, big),
                             borderMode=cv2.BORDER_REFLECT)
    off = (big - size) // 2
    return pattern[off:off + size, off:off + size]


def _real(name: str) -> Callable[[int, np.random.Generator], np.ndarray]:

    def make(size: int, rng: np.random.Generator) -> np.ndarray:
        return _random_crop(_skimage_texture(name), size, rng, (0.6, 1.6))

    return make


def elpv_cell(size: int, rng: np.random.Generator) -> np.ndarray:
    """A crop of a defect-free ELPV electroluminescence cell."""
    cells = _elpv_defect_free()
    cell = cells[rng.integers(0, len(cells))]
    return _random_crop(cell, size, rng, (0.8, 2.3))


TEXTURE_MAKERS: Dict[str, Callable[[int, np.random.Generator], np.ndarray]]
TEXTURE_MAKERS = {
    'brick': _real('brick'),
    'grass': _real('grass'),
    'gravel': _real('gravel'),
    'fractal': fractal_noise,
    'brushed': brushed_metal,
    'woven': woven_fabric,
    'elpv': elpv_cell,
}


def make_background(name: str, size: int, rng: np.random.Generator,
                    mean_range: Tuple[float, float] = (80.0, 170.0),
                    std_range: Tuple[float, float] = (10.0, 24.0)
                    ) -> np.ndarray:
    """One background: texture, random orientation, re-levelled.

    Args:
        name: One of :data:`ALL_TEXTURES`.
        size: Output side length in pixels.
        rng: Random generator (the only source of randomness).
        mean_range: Range of the mean grey level after re-levelling.
        std_range: Range of the grey-level standard deviation: how busy the
            texture is, which is what hides thin defects.

    Returns:
        np.ndarray: ``float32`` image ``(size, size)``, values 0-255.
    """
    if name not in TEXTURE_MAKERS:
        raise KeyError(f'Unknown texture {name!r}; choose from '
                       f'{sorted(TEXTURE_MAKERS)}.')
    tex = TEXTURE_MAKERS[name](size, rng).astype(np.float32)
    tex = np.rot90(tex, int(rng.integers(0, 4)))
    if rng.random() < 0.5:
        tex = tex[:, ::-1]
    tex = (tex - tex.mean()) / (tex.std() + 1e-6)
    # uneven illumination, as under a real inspection light
    shading = _smooth_noise(size, 2, rng) * rng.uniform(0.0, 0.35)
    tex = tex + shading
    std = rng.uniform(*std_range)
    mean = rng.uniform(*mean_range)
    return np.ascontiguousarray(tex * std + mean, dtype=np.float32)
