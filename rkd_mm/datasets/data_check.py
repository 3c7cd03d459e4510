"""What a dataset split holds, and what in it would train wrong: label
values outside the classes, masks saved as 0/255, classes missing from a
split, images of several sizes or of a size the LR factor does not divide.

:func:`check_split` reads a built dataset (mmseg's ``seg_map_path`` entries,
or mmpretrain's ``gt_label`` entries with ``img_path`` or an in-memory
``img``) and returns a :class:`SplitReport`: a summary (counts, sizes,
class frequencies) and the problems found, each naming a file and what to
change. Reading is cheap (image headers; label maps in full); a split
larger than ``max_images`` is sampled evenly and the report says so.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['SplitReport', 'check_split']


@dataclass
class SplitReport:
    """What :func:`check_split` found in one split.

    Attributes:
        split: ``'train'``, ``'val'`` or ``'test'``.
        kind: ``'segmentation'``, ``'classification'`` or ``'other'``.
        num_items: Images in the split.
        num_checked: Images read (``num_items`` unless sampled).
        sizes: ``{(h, w): images}`` over the checked images.
        classes: The class names the config declares.
        image_counts: Per class, the checked images that contain it.
        pixel_counts: Per class, its pixels (segmentation only).
        errors: Problems that make training or scoring wrong.
        warnings: Problems that make a number less meaningful.
    """
    split: str
    kind: str
    num_items: int
    num_checked: int
    sizes: Dict[Tuple[int, int], int] = field(default_factory=dict)
    classes: Sequence[str] = ()
    image_counts: List[int] = field(default_factory=list)
    pixel_counts: List[int] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    def summary_lines(self) -> List[str]:
        """The split as a few lines of text."""
        sampled = ('' if self.num_checked == self.num_items else
                   f', {self.num_checked} checked (evenly sampled; '
                   '--max-images for more)')
        sizes = ', '.join(f'{h}x{w} ({n})' for (h, w), n in
                          sorted(self.sizes.items(), key=lambda kv: -kv[1]))
        lines = [f'{self.split}: {self.num_items} images{sampled}; '
                 f'sizes {sizes or "not read"}']
        if self.image_counts:
            total = sum(self.pixel_counts) or 1
            for i, name in enumerate(self.classes):
                pixels = (f', {100 * self.pixel_counts[i] / total:.2f} % '
                          'of the pixels' if self.pixel_counts else '')
                lines.append(f'  {i} {name}: in {self.image_counts[i]} '
                             f'images{pixels}')
        lines += [f'  ERROR: {e}' for e in self.errors]
        lines += [f'  warning: {w}' for w in self.warnings]
        return lines


def _sample(n: int, max_images: Optional[int]) -> List[int]:
    if max_images is None or n <= max_images:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, max_images)})


def _image_size(info: dict) -> Optional[Tuple[int, int]]:
    if info.get('img') is not None:
        return tuple(np.asarray(info['img']).shape[:2])
    path = info.get('img_path')
    if path is None:
        return None
    from PIL import Image
    with Image.open(path) as img:  # the header only
        return img.height, img.width


def _read_mask(path: str) -> np.ndarray:
    import cv2
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise FileNotFoundError(f'label map {path} cannot be read (missing '
                                'or not an image)')
    return mask


def _check_sizes(report: SplitReport, examples: Dict[tuple, str],
                 scale_factors: Sequence[float]) -> None:
    if len(report.sizes) > 1:
        named = '; '.join(f'{h}x{w}: {examples[(h, w)]}'
                          for (h, w) in sorted(report.sizes))
        report.errors.append(
            f'images of {len(report.sizes)} sizes ({named}): an LR student '
            'and the HR teacher see every image at one size; resize them '
            'all to one size before training (the data pipelines do not '
            'resize)')
    for (h, w), _ in report.sizes.items():
        for scale in scale_factors:
            if abs(h * scale - round(h * scale)) > 1e-6 or \
                    abs(w * scale - round(w * scale)) > 1e-6:
                report.errors.append(
                    f'{h}x{w} images (e.g. {examples[(h, w)]}) at the LR '
                    f'scale {scale:g} give {h * scale:g}x{w * scale:g} '
                    'pixels: the LR view would be rounded and its grid '
                    'would not align with the HR one; use a size that '
                    f'{scale:g} divides (a multiple of {round(1 / scale)}) '
                    'or another scale')


def check_split(dataset, split: str, num_classes: int,
                ignore_index: int = 255,
                scale_factors: Sequence[float] = (),
                max_images: Optional[int] = None,
                num_classes_key: str = 'num_classes') -> SplitReport:
    """Read one split of a built dataset and report what it holds.

    Args:
        dataset: A built mmseg / mmpretrain dataset (``get_data_info``).
        split: Its name, for the messages.
        num_classes: The model's class count.
        ignore_index: The label value that the loss and metric skip
            (segmentation; mmseg's default 255).
        scale_factors: The LR scales the images will be seen at: each must
            give whole LR sizes.
        max_images: Read at most this many images, evenly spaced (None:
            all).
        num_classes_key: Where ``num_classes`` is set, for the messages
            (e.g. ``model.decode_head.num_classes``).

    Returns:
        SplitReport: Summary, errors and warnings.
    """
    n = len(dataset)
    classes = list(dataset.metainfo.get('classes') or
                   [str(i) for i in range(num_classes)])
    infos = [dataset.get_data_info(i) for i in _sample(n, max_images)]
    kind = ('segmentation' if infos and 'seg_map_path' in infos[0] else
            'classification' if infos and 'gt_label' in infos[0] else
            'other')
    report = SplitReport(split, kind, n, len(infos), classes=classes)
    named = dataset.metainfo.get('classes')
    if named and len(named) != num_classes and not (
            num_classes == 1 and len(named) == 2):  # 1: a sigmoid head
        # every label check would only repeat this
        report.errors.append(
            f'{num_classes_key}={num_classes} but the data set has '
            f'{len(named)} classes {tuple(named)}: set {num_classes_key}='
            f'{len(named)} (--cfg-options {num_classes_key}={len(named)}), '
            f'or name {num_classes} classes in metainfo classes')
        return report
    examples: Dict[tuple, str] = {}
    for index, info in zip(_sample(n, max_images), infos):
        size = _image_size(info)
        if size is not None:
            report.sizes[size] = report.sizes.get(size, 0) + 1
            examples.setdefault(size, info.get('img_path') or
                                f'item {index}')
    if kind == 'segmentation':
        _check_masks(report, infos, num_classes, ignore_index)
    elif kind == 'classification':
        _check_labels(report, infos, num_classes)
    _check_sizes(report, examples, scale_factors)
    if report.image_counts and not report.errors:
        missing = [f'{i} {classes[i]}' if i < len(classes) else str(i)
                   for i, c in enumerate(report.image_counts) if c == 0]
        if missing and split == 'train':
            report.errors.append(
                f'classes {missing} never appear in the training split: '
                'the model cannot learn them; add examples, or leave the '
                'class out of metainfo classes and num_classes')
        elif missing:
            report.warnings.append(
                f'classes {missing} never appear in the {split} split: '
                'their score there is undefined (nan) and the mean leaves '
                'them out')
    return report


def _check_masks(report: SplitReport, infos: List[dict], num_classes: int,
                 ignore_index: int) -> None:
    counts = np.zeros(256, dtype=np.int64)
    images = np.zeros(256, dtype=np.int64)
    first_bad: Optional[Tuple[str, int]] = None
    for info in infos:
        path = info['seg_map_path']
        mask = _read_mask(path)
        if mask.ndim == 3:
            report.errors.append(
                f'{path} has {mask.shape[2]} channels: a label map holds '
                'one class index per pixel (a single-channel uint8 PNG), '
                'not colours; convert it, e.g. with a palette lookup')
            return
        if mask.dtype != np.uint8:
            mask = np.clip(mask, 0, 255).astype(np.uint8)
        img_size = _image_size(info)
        if img_size is not None and tuple(mask.shape) != tuple(img_size):
            report.errors.append(
                f'{path} is {mask.shape[0]}x{mask.shape[1]}, its image '
                f'{info.get("img_path")} {img_size[0]}x{img_size[1]}: a '
                'label map has its image\'s size')
        mask = _as_trained(mask, info)
        hist = np.bincount(mask.ravel(), minlength=256)
        counts += hist
        images += hist > 0
        bad = [v for v in np.nonzero(hist)[0]
               if v >= num_classes and v != ignore_index]
        if bad and first_bad is None:
            first_bad = (path, int(bad[0]))
    values = set(np.nonzero(counts)[0].tolist())
    if num_classes >= 2 and ignore_index in values and \
            values <= {0, ignore_index}:
        report.errors.append(
            f'the label maps hold only 0 and {ignore_index} (e.g. '
            f'{infos[0]["seg_map_path"]}): masks saved as 0/255. '
            f'{ignore_index} is the ignore index here, so every defect '
            'pixel is skipped and the model learns background only; '
            f'write class indices 0..{num_classes - 1} (for one defect '
            'class: mask // 255)')
    elif first_bad is not None:
        path, value = first_bad
        out = sorted(v for v in values
                     if v >= num_classes and v != ignore_index)
        report.errors.append(
            f'label value {value} in {path} (values {out} in this split) '
            f'is not a class: num_classes={num_classes} takes 0..'
            f'{num_classes - 1}, and {ignore_index} is ignored. List every '
            'class (background included) in metainfo classes and set '
            'num_classes to their count, or fix the label maps')
    report.pixel_counts = counts[:num_classes].tolist()
    report.image_counts = images[:num_classes].tolist()


def _as_trained(mask: np.ndarray, info: dict) -> np.ndarray:
    """The mask as mmseg's ``LoadAnnotations`` hands it to the model:
    ``reduce_zero_label`` first (0 -> 255, v -> v - 1), then the dataset's
    ``label_map``."""
    if info.get('reduce_zero_label'):
        mask = mask.copy()
        mask[mask == 0] = 255
        mask = mask - 1
        mask[mask == 254] = 255
    label_map = info.get('label_map')
    if label_map:
        mapped = mask.copy()
        for old, new in label_map.items():
            mapped[mask == old] = new
        mask = mapped
    return mask


def _check_labels(report: SplitReport, infos: List[dict],
                  num_classes: int) -> None:
    labels = [int(np.asarray(info['gt_label']).reshape(-1)[0])
              for info in infos]
    bad = [(i, label) for i, label in enumerate(labels)
           if not 0 <= label < num_classes]
    if bad:
        i, label = bad[0]
        where = infos[i].get('img_path') or f'item {i}'
        report.errors.append(
            f'label {label} of {where} ({len(bad)} such images) is not a '
            f'class: num_classes={num_classes} takes 0..{num_classes - 1}; '
            'set the head\'s num_classes to the number of classes')
    counts = np.bincount([label for label in labels
                          if 0 <= label < num_classes],
                         minlength=num_classes)
    report.image_counts = counts.tolist()

