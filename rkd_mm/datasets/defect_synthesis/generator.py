"""Write the built-in defect segmentation data set, deterministically.

The output is mmseg's standard layout::

    data_root/
      img_dir/{train,val,test}/00000.png   grey 8-bit images
      ann_dir/{train,val,test}/00000.png   8-bit label maps (0 = background)
      meta.json                            settings, classes, counts

Every sample is drawn from its own generator seeded by ``(seed, split,
index)``, so a sample does not depend on how many others are written and the
same settings always give byte-identical files. :func:`ensure_dataset` writes
into a temporary sibling folder and renames it into place under a file lock,
so a crash never leaves a half-written ``data_root`` and concurrent processes
(DDP ranks, parallel jobs) generate it once.
"""
import dataclasses
import fcntl
import json
import logging
import os
import os.path as osp
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .defects import CLASSES, DEFECT_KINDS, DRAW_ORDER, PALETTE, RENDERERS
from .textures import ALL_TEXTURES, REAL_TEXTURES, make_background

GENERATOR_VERSION = 2
SPLITS = ('train', 'val', 'test')
DEFAULT_TEXTURES = REAL_TEXTURES + ('fractal', 'brushed', 'woven')


@dataclass(frozen=True)
class DefectDataSettings:
    """Everything that determines the generated data.

    Args:
        img_size: Side of the square HR images (128 for the CPU schedule,
            512 for GPU configs). Lengths and radii of defects scale with
            ``img_size / 128``; widths of thin defects do not (a scratch stays
            1-3 px, so it gets thinner *relative* to the image).
        num_train: Number of training images.
        num_val: Number of validation images.
        num_test: Number of test images.
        seed: Master seed.
        textures: Background sources; add ``'elpv'`` to use defect-free ELPV
            solar cells (CC BY-NC-SA 4.0, needs ``elpv-dataset``; opt-in).
        defect_free_ratio: Fraction of images without any defect.
        max_defects: At most this many defects per defective image.
        kind_probs: Probability of each defect kind, in the order of
            :data:`DEFECT_KINDS` (scratch, crack, spot, stain).
        noise_std: Range of the sensor noise (grey levels).
    """
    img_size: int = 128
    num_train: int = 1000
    num_val: int = 200
    num_test: int = 200
    seed: int = 0
    textures: Tuple[str, ...] = DEFAULT_TEXTURES
    defect_free_ratio: float = 0.1
    max_defects: int = 3
    kind_probs: Tuple[float, ...] = (0.3, 0.3, 0.22, 0.18)
    noise_std: Tuple[float, float] = (1.5, 4.0)

    def __post_init__(self) -> None:
        # configs hand over lists; keep the dataclass hashable and comparable
        for name in ('textures', 'kind_probs', 'noise_std'):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.img_size < 32:
            raise ValueError(f'img_size={self.img_size}: use at least 32.')
        for name in ('num_train', 'num_val', 'num_test'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0.')
        unknown = set(self.textures) - set(ALL_TEXTURES)
        if unknown or not self.textures:
            raise ValueError(f'textures={self.textures}: unknown '
                             f'{sorted(unknown)}; choose from {ALL_TEXTURES}.')
        if len(self.kind_probs) != len(DEFECT_KINDS) or \
                min(self.kind_probs) < 0 or sum(self.kind_probs) <= 0:
            raise ValueError(
                f'kind_probs={self.kind_probs}: give {len(DEFECT_KINDS)} '
                f'non-negative weights for {DEFECT_KINDS}.')
        if not 0 <= self.defect_free_ratio <= 1:
            raise ValueError('defect_free_ratio must lie in [0, 1].')
        if self.max_defects < 1:
            raise ValueError('max_defects must be >= 1.')

    @classmethod
    def from_dict(cls, cfg: Optional[dict]) -> 'DefectDataSettings':
        """Build from a config dict, naming any unknown key."""
        cfg = dict(cfg or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise KeyError(f'Unknown data generator setting(s) {unknown}; '
                           f'valid keys: {sorted(known)}.')
        return cls(**cfg)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def num_samples(self, split: str) -> int:
        return getattr(self, f'num_{split}')


@dataclass
class DefectSample:
    """One rendered sample.

    Attributes:
        img: Final grey image, ``uint8 (H, W)``.
        mask: Label map, ``uint8 (H, W)``, ids index :data:`CLASSES`.
        clean: The same image without defects (same noise), for tests.
        kinds: Defect kinds drawn, in drawing order.
    """
    img: np.ndarray
    mask: np.ndarray
    clean: np.ndarray
    kinds: Tuple[str, ...] = field(default_factory=tuple)


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one sample, independent of all others."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


def render_sample(settings: DefectDataSettings,
                  rng: np.random.Generator) -> DefectSample:
    """Draw one image and its exact label map.

    Args:
        settings: Data settings.
        rng: The sample's own random generator.

    Returns:
        DefectSample: image, mask and defect-free reference.
    """
    size = settings.img_size
    scale = size / 128.0
    texture = settings.textures[int(rng.integers(len(settings.textures)))]
    img = make_background(texture, size, rng)
    mask = np.zeros((size, size), np.uint8)
    kinds: Tuple[str, ...] = ()
    if rng.random() >= settings.defect_free_ratio:
        n = int(rng.integers(1, settings.max_defects + 1))
        probs = np.asarray(settings.kind_probs, float)
        drawn = rng.choice(len(DEFECT_KINDS), size=n, p=probs / probs.sum())
        kinds = tuple(
            sorted((DEFECT_KINDS[i] for i in drawn), key=DRAW_ORDER.index))
    clean = img.copy()
    for kind in kinds:
        img, defect_mask = RENDERERS[kind](img, rng, scale)
        mask[defect_mask] = CLASSES.index(kind)
    noise = rng.normal(0, rng.uniform(*settings.noise_std), img.shape)

    def to_u8(a: np.ndarray) -> np.ndarray:  # same noise on both images
        return np.clip(np.round(a + noise), 0, 255).astype(np.uint8)

    return DefectSample(to_u8(img), mask, to_u8(clean), kinds)


def write_split(root: str, split: str, settings: DefectDataSettings) -> int:
    """Write one split's images and label maps under ``root``."""
    img_dir = osp.join(root, 'img_dir', split)
    ann_dir = osp.join(root, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    n = settings.num_samples(split)
    for i in range(n):
        sample = render_sample(settings, sample_rng(settings.seed, split, i))
        name = f'{i:05d}.png'
        for folder, arr in ((img_dir, sample.img), (ann_dir, sample.mask)):
            if not cv2.imwrite(osp.join(folder, name), arr):
                raise OSError(f'Could not write {osp.join(folder, name)}.')
    return n


def class_pixel_counts(root: str, split: str) -> Dict[str, int]:
    """Pixels per class in one split (for ``meta.json`` and the docs)."""
    counts = np.zeros(len(CLASSES), np.int64)
    ann_dir = osp.join(root, 'ann_dir', split)
    for name in sorted(os.listdir(ann_dir)):
        ann = cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_UNCHANGED)
        counts += np.bincount(ann.ravel(), minlength=len(CLASSES))
    return {c: int(v) for c, v in zip(CLASSES, counts)}


def generate_dataset(out_dir: str,
                     settings: DefectDataSettings,
                     splits: Sequence[str] = SPLITS) -> dict:
    """Write a complete data set into a *new* folder ``out_dir``.

    Args:
        out_dir: Target folder; must not exist yet (nothing is overwritten).
        settings: Data settings.
        splits: Splits to write.

    Returns:
        dict: The metadata written to ``out_dir/meta.json``.
    """
    if osp.exists(out_dir):
        raise FileExistsError(
            f'{out_dir} already exists; the generator never overwrites data. '
            'Choose another folder or delete it yourself.')
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(
        prefix=f'.{osp.basename(out_dir)}.tmp-', dir=parent)
    try:
        start = time.time()
        for split in splits:
            write_split(tmp, split, settings)
        meta = dict(
            generator='rkd_mm.datasets.defect_synthesis',
            generator_version=GENERATOR_VERSION,
            settings=settings.to_dict(),
            classes=list(CLASSES),
            palette=PALETTE,
            splits={s: settings.num_samples(s) for s in splits},
            class_pixels={s: class_pixel_counts(tmp, s) for s in splits},
            seconds=round(time.time() - start, 1),
            licence=('synthetic; backgrounds from scikit-image CC0 textures'
                     + (', ELPV cells CC BY-NC-SA 4.0'
                        if 'elpv' in settings.textures else '')),
        )
        with open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=2)
        os.rename(tmp, out_dir)  # atomic on one file system
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def read_meta(data_root: str) -> Optional[dict]:
    """``data_root/meta.json`` if present, else None."""
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def ensure_dataset(data_root: str,
                   settings: DefectDataSettings,
                   logger: Optional[logging.Logger] = None) -> bool:
    """Generate ``data_root`` once if it does not exist.

    Safe under concurrency: processes serialise on ``.<name>.lock`` beside
    ``data_root``; the first writes the data (atomically), the others find it.

    Args:
        data_root: Where the data set lives.
        settings: Data settings for a fresh generation.
        logger: Where to say that data was generated.

    Returns:
        bool: True if this call generated the data.
    """
    if osp.isdir(data_root):
        return False
    parent = osp.dirname(osp.abspath(data_root)) or '.'
    os.makedirs(parent, exist_ok=True)
    lock_path = osp.join(parent, f'.{osp.basename(osp.abspath(data_root))}'
                         '.lock')
    with open(lock_path, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if osp.isdir(data_root):  # another process was first
                return False
            log = (logger.info if logger is not None else print)
            log(f'data_root {data_root} not found: generating the built-in '
                f'synthetic defect data ({settings.num_train}/'
                f'{settings.num_val}/{settings.num_test} train/val/test, '
                f'{settings.img_size}x{settings.img_size}, seed '
                f'{settings.seed}) ...')
            meta = generate_dataset(data_root, settings)
            log(f'wrote {data_root} in {meta["seconds"]} s.')
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
