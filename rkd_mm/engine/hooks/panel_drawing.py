"""What the per-image visualisation hooks share: one PNG per image, named
after the image, and the drawing primitives (enlarging, legible text).

:class:`PerImageVisualizationHook` is the base of
:class:`~rkd_mm.engine.hooks.SegPanelVisualizationHook` and
:class:`~rkd_mm.engine.hooks.ClsPanelVisualizationHook`: the switches of
mmpretrain's ``VisualizationHook`` (``enable``, ``interval``, ``out_dir``,
``show``, ``wait_time``, which ``tools/test.py --show-dir`` sets), the file
names, the teacher's predictions of a distiller (from
:class:`~rkd_mm.engine.runner.DistillTestLoop`) and the writing; a subclass
draws one figure per image (:meth:`PerImageVisualizationHook.draw`).
"""
import math
import os.path as osp
from typing import List, Optional, Sequence, Set, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

__all__ = [
    'PerImageVisualizationHook', 'enlarge', 'to_bgr', 'text_size',
    'draw_text', 'scale_label', 'FONT', 'BLACK', 'GREY', 'GREEN', 'RED',
    'WHITE'
]

FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR
BLACK, GREY, WHITE = (0, 0, 0), (110, 110, 110), (255, 255, 255)
GREEN, RED = (0, 140, 0), (0, 0, 200)


def enlarge(img: np.ndarray, min_size: int) -> np.ndarray:
    """``img`` enlarged by the smallest integer factor that makes its
    shorter side at least ``min_size`` (nearest neighbour: every pixel a
    sharp square); a large enough image is returned as it is."""
    factor = max(1, math.ceil(min_size / max(1, min(img.shape[:2]))))
    if factor == 1:
        return img
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def to_bgr(image) -> np.ndarray:
    """An image of the data batch, ``(C, H, W)`` as the packing transforms
    give it, as a uint8 ``(H, W, 3)`` array in its own colours: grey (one
    channel) as three equal channels, the channel order left as loaded
    (BGR for mmcv's loaders)."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[None]
    image = image.transpose(1, 2, 0)
    if image.dtype != np.uint8:
        image = np.clip(np.round(image.astype(np.float64)), 0,
                        255).astype(np.uint8)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def text_size(text: str, scale: float) -> Tuple[int, int, int]:
    """``(width, height, baseline)`` of ``text`` in pixels at ``scale``."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, _thickness(scale))
    return w, h, base


def draw_text(canvas: np.ndarray, text: str, x: int, y: int, scale: float,
              colour: Tuple[int, int, int] = BLACK) -> None:
    """Draw ``text`` with its top-left corner at ``(x, y)``."""
    _, h, _ = text_size(text, scale)
    cv2.putText(canvas, text, (int(x), int(y + h)), FONT, scale, colour,
                _thickness(scale), cv2.LINE_AA)


def _thickness(scale: float) -> int:
    return 1 if scale < 0.8 else 2


def scale_label(scale: Optional[float], hw: Sequence[int]) -> str:
    """``'HR'``, or the LR ratio and the LR input size, e.g.
    ``'x0.25, 32x32'`` (the size :func:`~rkd_mm.utils.lr_view.lr_size`
    gives for the HR ``hw``)."""
    from rkd_mm.utils.lr_view import lr_size
    if scale is None or scale == 1.0:
        return 'HR'
    h, w = lr_size(hw, scale)
    return f'x{scale:g}, {w}x{h}'


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def student_scale(model) -> Optional[float]:
    """The LR ratio the model tests at: a distiller's student's, or an LR
    model's data preprocessor's; ``None`` for an HR model."""
    model = _unwrap(model)
    scale = getattr(model, 'test_scale_factor', None)
    if scale is None:
        scale = getattr(getattr(model, 'data_preprocessor', None),
                        'test_scale_factor', None)
    return None if scale is None else float(scale)


def is_distiller(model) -> bool:
    """Whether ``model`` has a teacher to predict with."""
    return hasattr(_unwrap(model), 'teacher_predict')


def teacher_scale(model) -> Optional[float]:
    """A distiller's teacher's input ratio, ``None`` for an HR teacher."""
    scale = getattr(_unwrap(model), 'teacher_scale_factor', None)
    return None if scale is None else float(scale)


def _datasets(dataset) -> list:
    """``dataset`` and the data sets it wraps (concatenation, repeat)."""
    out, todo = [], [dataset]
    while todo:
        ds = todo.pop(0)
        if ds is None or any(ds is d for d in out):
            continue
        out.append(ds)
        todo.extend(getattr(ds, 'datasets', []) or [])
        todo.append(getattr(ds, 'dataset', None))
    return out


def image_prefixes(dataset) -> List[str]:
    """The image folders of ``dataset`` (``data_prefix['img_path']``, or a
    ``data_prefix`` string), wrapped data sets included."""
    prefixes = []
    for ds in _datasets(dataset):
        prefix = getattr(ds, 'data_prefix', None)
        if isinstance(prefix, dict):
            prefix = prefix.get('img_path') or prefix.get('img')
        if isinstance(prefix, str) and prefix:
            prefixes.append(prefix)
    return prefixes


def relative_name(img_path: Optional[str], prefixes: Sequence[str],
                  index: int) -> str:
    """The PNG name of one image: its path below the data set's image
    folder (sub-folders kept, the extension replaced by ``.png``); the base
    name for an image outside every folder; ``{index:05d}.png`` for a
    sample without a path (in-memory data sets)."""
    if not img_path:
        return f'{int(index):05d}.png'
    rel = None
    for prefix in prefixes:
        candidate = osp.relpath(osp.abspath(img_path), osp.abspath(prefix))
        if not candidate.startswith('..') and not osp.isabs(candidate):
            rel = candidate
            break
    if rel is None:
        rel = osp.basename(img_path)
    return osp.splitext(rel)[0].replace(osp.sep, '/') + '.png'


class PerImageVisualizationHook(Hook):
    """Base of the per-image visualisation hooks: one figure per image.

    In testing every image is drawn; in validation (only when ``enable``)
    the images of every ``interval``-th batch. Each figure is written to
    ``out_dir/<name>`` in testing and ``out_dir/iter_<n>/<name>`` in
    validation, ``<name>`` the image's path below the data set's image
    folder with a ``.png`` extension (``img_dir/test/a/b.jpg`` ->
    ``a/b.png``; ``{index:05d}.png`` for a sample without ``img_path``);
    a name already written in the run gets ``_2``, ``_3``, ... With
    ``out_dir=None`` the figures go to the visualizer's backends
    (``vis_data/``) instead.

    For a distiller, the teacher's predictions of the batch are read from
    the distillation loop (``teacher_outputs`` of
    :class:`~rkd_mm.engine.runner.DistillTestLoop` /
    ``DistillValLoop``), which computes them only for batches this hook
    draws (:meth:`wants_teacher_outputs`).

    Args:
        enable: Draw at all (off by default, as mmpretrain's hook:
            ``tools/test.py --show-dir`` turns it on).
        interval: In validation, draw the images of every ``interval``-th
            batch (testing draws all).
        out_dir: Where the PNGs go, as given (relative to the working
            directory); ``None``: the visualizer's backends.
        show: Also show each figure in a window.
        wait_time: Seconds each shown figure stays up.
    """

    priority = 'LOW'

    def __init__(self,
                 enable: bool = False,
                 interval: int = 50,
                 out_dir: Optional[str] = None,
                 show: bool = False,
                 wait_time: float = 0.) -> None:
        if int(interval) != interval or interval < 1:
            raise ValueError(f'{type(self).__name__}: interval={interval!r} '
                             'must be a positive integer.')
        self.enable = enable
        self.interval = int(interval)
        self.out_dir = out_dir
        self.show = show
        self.wait_time = wait_time
        self._names: Set[str] = set()

    # -- what the distillation loops ask ---------------------------------

    def wants_teacher_outputs(self, mode: str, batch_idx: int,
                              data_batch=None) -> bool:
        """Whether this hook draws batch ``batch_idx`` of a ``'val'`` or
        ``'test'`` run (the distillation loops then compute the teacher's
        predictions for it)."""
        if not self.enable:
            return False
        return mode == 'test' or batch_idx % self.interval == 0

    # -- hook points -----------------------------------------------------

    def before_val_epoch(self, runner) -> None:
        self._names = set()

    def before_test_epoch(self, runner) -> None:
        self._names = set()

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if self.wants_teacher_outputs('val', batch_idx, data_batch):
            self._draw_batch(runner, 'val', data_batch, outputs)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.wants_teacher_outputs('test', batch_idx, data_batch):
            self._draw_batch(runner, 'test', data_batch, outputs)

    # -- drawing ---------------------------------------------------------

    def draw(self, runner, image: np.ndarray, data_sample,
             teacher_sample=None, dataset=None) -> np.ndarray:
        """One figure (BGR uint8) for one image; the subclass's.

        Args:
            runner: The runner (the model, for its LR scale).
            image: The image as the data pipeline gives it, ``(H, W, 3)``
                uint8 in its own colours (:func:`to_bgr`).
            data_sample: The model's prediction for it (truth included).
            teacher_sample: A distiller's teacher's prediction, or None.
            dataset: The data set (its ``metainfo``).
        """
        raise NotImplementedError

    def _draw_batch(self, runner, mode: str, data_batch, outputs) -> None:
        if not outputs:
            return
        loop = runner.test_loop if mode == 'test' else runner.val_loop
        teacher = getattr(loop, 'teacher_outputs', None)
        if teacher is not None and len(teacher) != len(outputs):
            teacher = None
        dataloader = runner.test_dataloader if mode == 'test' else \
            runner.val_dataloader
        dataset = getattr(dataloader, 'dataset', None)
        prefixes = image_prefixes(dataset)
        step = 0 if mode == 'test' else runner.iter
        for i, sample in enumerate(outputs):
            figure = self.draw(runner, to_bgr(data_batch['inputs'][i]),
                               sample, None if teacher is None else
                               teacher[i], dataset)
            name = self._unique(relative_name(
                sample.get('img_path'), prefixes,
                sample.get('sample_idx', len(self._names))))
            self._emit(runner, figure, name, mode, step)

    def _unique(self, name: str) -> str:
        root, ext = osp.splitext(name)
        candidate, n = name, 1
        while candidate in self._names:
            n += 1
            candidate = f'{root}_{n}{ext}'
        self._names.add(candidate)
        return candidate

    def _emit(self, runner, figure: np.ndarray, name: str, mode: str,
              step: int) -> None:
        if self.out_dir is not None:
            folder = self.out_dir if mode == 'test' else osp.join(
                self.out_dir, f'iter_{step}')
            mmcv.imwrite(figure, osp.join(folder, name))
        if self.show:
            runner.visualizer.show(mmcv.bgr2rgb(figure), win_name=name,
                                   wait_time=self.wait_time)
        if self.out_dir is None and not self.show:
            # the backends write <name>_<step>.png into one folder
            runner.visualizer.add_image(
                osp.splitext(name)[0].replace('/', '_'),
                mmcv.bgr2rgb(figure), step=step)
