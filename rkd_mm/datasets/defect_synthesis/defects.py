"""Renderers for the four defect kinds of the synthetic defect data.

Every renderer takes the current image (``float32``, 0-255) and returns the
image with one defect blended in, plus the defect's exact pixel mask. The
image is changed *only* inside the mask (enforced by :func:`_commit`), and a
pixel is in the mask only if the defect covers a visible part of it, so the
label map is exact in both directions.

Kinds (label ids follow :data:`CLASSES`):

* ``scratch``: a smooth 1-3 px wide line or gentle curve, usually brighter
  than the surface (a reflective groove), with contrast varying along it.
* ``crack``: a jagged, branching polyline, dark (shadowed), 1-2.5 px wide and
  tapering, with 0-3 side branches.
* ``spot``: a cluster of 1-3 small pits or spatter dots (2-5.5 px radius),
  dark or bright, with a soft rim.
* ``stain``: a large irregular blob of low contrast (a film or discolouration)
  that also smooths the texture under it; its edge fades in.

Thin defects are drawn on a 4x supersampled canvas and area-averaged, so
their coverage is anti-aliased; at x0.25 a 1-3 px line becomes a sub-pixel
smear that busy textures hide.
"""
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

CLASSES = ('background', 'scratch', 'crack', 'spot', 'stain')
PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
           [0, 130, 200]]
DEFECT_KINDS = CLASSES[1:]

_SS = 4  # supersampling factor for anti-aliased coverage
_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
MIN_COVERAGE = 0.3  # a pixel at least this covered is labelled

Defect = Tuple[np.ndarray, np.ndarray]  # (new image, bool mask)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Image points -> cv2 fixed-point coordinates on the supersampled grid."""
    # pixel centres sit at +0.5 in the supersampled canvas
    pts = (points * _SS + (_SS - 1) / 2.0) * (1 << _SHIFT)
    return np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def _coverage(draw: Callable[[np.ndarray], None], size: int) -> np.ndarray:
    """Fraction of each pixel covered by what ``draw`` paints at 4x."""
    canvas = np.zeros((size * _SS, size * _SS), np.uint8)
    draw(canvas)
    cov = cv2.resize(
        canvas.astype(np.float32) / 255.0, (size, size),
        interpolation=cv2.INTER_AREA)
    return np.clip(cov, 0.0, 1.0)


def _polyline_coverage(segments, size: int) -> np.ndarray:
    """Coverage of polylines given as ``[(points (K, 2), width_px), ...]``."""

    def draw(canvas: np.ndarray) -> None:
        for points, width in segments:
            thickness = max(1, int(round(width * _SS)))
            cv2.polylines(canvas, [_fixed(points)], False, 255, thickness,
                          cv2.LINE_8, _SHIFT)

    return _coverage(draw, size)


def _commit(img: np.ndarray, new: np.ndarray, mask: np.ndarray) -> Defect:
    """Keep ``new`` inside ``mask`` only; the rest of ``img`` is untouched."""
    return np.where(mask, new, img).astype(np.float32), mask


def _smooth1d(n: int, rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    knots = rng.standard_normal(cells + 1)
    return np.interp(np.linspace(0, cells, n), np.arange(cells + 1), knots)


def scratch(img: np.ndarray, rng: np.random.Generator,
            scale: float) -> Defect:
    """A thin smooth line or curve (quadratic Bezier), 1-3 px wide."""
    size = img.shape[0]
    length = rng.uniform(35, 95) * scale
    width = rng.uniform(1.0, 3.0)
    angle = rng.uniform(0, np.pi)
    centre = rng.uniform(0.15 * size, 0.85 * size, 2)
    direction = np.array([np.cos(angle), np.sin(angle)])
    p0 = centre - direction * length / 2
    p2 = centre + direction * length / 2
    normal = np.array([-direction[1], direction[0]])
    p1 = centre + normal * rng.normal(0, 0.12) * length
    t = np.linspace(0, 1, 64)[:, None]
    points = (1 - t)**2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    cov = _polyline_coverage([(points, width)], size)
    mask = cov >= MIN_COVERAGE
    sign = 1.0 if rng.random() < 0.65 else -1.0
    contrast = rng.uniform(40, 85)
    # contrast varies along the scratch (uneven depth)
    along = np.clip(1 + 0.25 * _smooth1d(size, rng), 0.5, 1.5)
    ramp = along[None, :] if abs(direction[0]) > abs(direction[1]) \
        else along[:, None]
    new = img + sign * contrast * cov * ramp
    return _commit(img, new, mask)


def _random_walk(start: np.ndarray, angle: float, length: float,
                 rng: np.random.Generator, step: float = 2.5,
                 wiggle: float = 0.35) -> np.ndarray:
    n = max(2, int(length / step))
    turns = np.cumsum(rng.normal(0, wiggle, n)) * 0.6 + angle
    steps = np.stack([np.cos(turns), np.sin(turns)], 1) * step
    return np.vstack([start[None], start[None] + np.cumsum(steps, 0)])


def crack(img: np.ndarray, rng: np.random.Generator, scale: float) -> Defect:
    """A jagged dark polyline with 0-3 branches, tapering towards its tips."""
    size = img.shape[0]
    length = rng.uniform(45, 110) * scale
    width = rng.uniform(1.4, 2.6)
    angle = rng.uniform(0, 2 * np.pi)
    start = rng.uniform(0.2 * size, 0.8 * size, 2) - \
        np.array([np.cos(angle), np.sin(angle)]) * length / 3
    trunk = _random_walk(start, angle, length, rng)
    segments = []
    # taper: draw the trunk in pieces of falling width
    pieces = np.array_split(np.arange(len(trunk)), 3)
    for k, idx in enumerate(pieces):
        idx = np.append(idx, min(idx[-1] + 1, len(trunk) - 1))
        segments.append((trunk[idx], max(1.0, width * (1 - 0.25 * k))))
    for _ in range(int(rng.integers(0, 4))):
        at = trunk[int(rng.integers(len(trunk) // 4, len(trunk)))]
        side = rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
        branch = _random_walk(at, angle + side,
                              length * rng.uniform(0.2, 0.5), rng)
        segments.append((branch, max(1.0, width * 0.6)))
    cov = _polyline_coverage(segments, size)
    mask = cov >= MIN_COVERAGE
    depth = rng.uniform(0.45, 0.75)
    new = img * (1 - depth * cov) - 8.0 * cov
    return _commit(img, new, mask)


def spot(img: np.ndarray, rng: np.random.Generator, scale: float) -> Defect:
    """A cluster of 1-3 small pits (dark) or spatter dots (bright)."""
    size = img.shape[0]
    sign = -1.0 if rng.random() < 0.7 else 1.0
    contrast = rng.uniform(50, 95)
    centre = rng.uniform(0.1 * size, 0.9 * size, 2)
    ellipses = []
    for _ in range(int(rng.integers(1, 4))):
        c = centre + rng.normal(0, 6 * scale, 2)
        axes = rng.uniform(2.0, 5.5, 2) * np.sqrt(scale)
        ellipses.append((c, axes, rng.uniform(0, 180)))

    def draw(canvas: np.ndarray) -> None:
        for c, axes, rot in ellipses:
            cc = tuple(int(v) for v in np.round(
                (c * _SS + (_SS - 1) / 2) * (1 << _SHIFT)))
            ax = tuple(int(v) for v in np.round(axes * _SS * (1 << _SHIFT)))
            cv2.ellipse(canvas, cc, ax, rot, 0, 360, 255, -1, cv2.LINE_8,
                        _SHIFT)

    cov = _coverage(draw, size)
    mask = cov >= MIN_COVERAGE
    # soft, deeper centre: blur the coverage inside the pit
    profile = cv2.GaussianBlur(cov, (0, 0), 1.0)
    profile = profile / (profile.max() + 1e-6)
    alpha = cov * (0.55 + 0.45 * profile)
    new = img + sign * contrast * alpha
    return _commit(img, new, mask)


def stain(img: np.ndarray, rng: np.random.Generator, scale: float) -> Defect:
    """A large irregular low-contrast blob that also smooths the texture."""
    size = img.shape[0]
    radius = rng.uniform(12, 30) * scale
    ratio = rng.uniform(0.55, 1.0)
    theta = rng.uniform(0, np.pi)
    centre = rng.uniform(0.15 * size, 0.85 * size, 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = xx - centre[0], yy - centre[1]
    u = (dx * np.cos(theta) + dy * np.sin(theta)) / radius
    v = (-dx * np.sin(theta) + dy * np.cos(theta)) / (radius * ratio)
    grid = rng.standard_normal((4, 4)).astype(np.float32)
    wobble = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    dist = np.sqrt(u * u + v * v) + 0.18 * wobble
    mask = dist < 1.0
    # fade in from the edge: alpha >= 0.3 on the rim, 1 inside
    inner = np.clip((1.0 - dist) / 0.35, 0.0, 1.0)
    alpha = np.where(mask, 0.3 + 0.7 * inner * inner * (3 - 2 * inner), 0.0)
    blurred = cv2.GaussianBlur(img, (0, 0), 1.5)
    smoothed = img + 0.8 * alpha * (blurred - img)
    sign = 1.0 if rng.random() < 0.4 else -1.0
    tint = rng.uniform(0.2, 0.4)
    new = smoothed * (1 + sign * tint * alpha)
    return _commit(img, new, mask)


RENDERERS: Dict[str, Callable[[np.ndarray, np.random.Generator, float],
                              Defect]] = {
                                  'scratch': scratch,
                                  'crack': crack,
                                  'spot': spot,
                                  'stain': stain,
                              }
# Large, faint defects first so thin ones lie on top of them.
DRAW_ORDER = ('stain', 'spot', 'crack', 'scratch')
