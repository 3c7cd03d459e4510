"""Input, truth and predictions of a segmentation model side by side, one
PNG per test image: what ``tools/test.py --show-dir`` draws for the
segmentation configs."""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from rkd_mm.registry import HOOKS
from .panel_drawing import (BLACK, GREY, PerImageVisualizationHook,
                            draw_text, enlarge, is_distiller, scale_label,
                            student_scale, teacher_scale, text_size)

__all__ = ['SegPanelVisualizationHook']

_MARGIN, _GAP = 10, 12  # canvas margin, gap between panels (px)
_SWATCH, _ITEM_GAP, _ROW_GAP = 16, 22, 8  # legend swatch, spacing (px)


def _fallback_palette(num: int) -> List[Tuple[int, int, int]]:
    rng = np.random.RandomState(42)
    return [tuple(int(c) for c in rng.randint(0, 256, 3)) for _ in
            range(num)]


@HOOKS.register_module()
class SegPanelVisualizationHook(PerImageVisualizationHook):
    """Draw each test image's input, truth and predictions side by side.

    One PNG per image (names and switches: see
    :class:`~rkd_mm.engine.hooks.panel_drawing.PerImageVisualizationHook`;
    ``img_dir/test/test_0001.png`` -> ``out_dir/test_0001.png``), each
    panel with its title above it:

    * ``input``: the HR image as the data pipeline loads it, in its own
      colours (grey stays grey), nothing drawn on it;
    * ``truth``: the input under the label map at ``alpha`` (pixels of
      ``ignore_index``, and of a class coloured black -- the background in
      our palettes -- uncoloured, so the image shows through at full
      brightness);
    * the model's prediction, drawn the same way: ``prediction`` for an HR
      model, ``student (x0.25, 32x32)`` for an LR model (its ratio and
      input size);
    * for a distiller, ``teacher (HR)``: the teacher's prediction on the HR
      image (or on its own LR view, ``teacher (x0.5, ...)``), computed by
      the distillation test loop for the drawn batches.

    Below the panels a legend: every class of the data set's ``metainfo``
    (``classes``, ``palette``) as a colour swatch and its full name, in as
    many rows as the width needs (the figure widens for a name longer than
    the panels). Small images are enlarged by an integer factor (nearest
    neighbour) until a panel's shorter side is ``min_panel_size`` pixels
    or more.

    Args:
        enable, interval, out_dir, show, wait_time: As in
            :class:`~rkd_mm.engine.hooks.panel_drawing.PerImageVisualizationHook`
            (``tools/test.py --show-dir`` sets them).
        alpha: Opacity of the label colours over the image (0: image only,
            1: flat label colours).
        min_panel_size: Smallest panel side in pixels.
        font_scale: Size of the titles and legend (OpenCV's Hershey font).
        ignore_index: Label left uncoloured.
    """

    def __init__(self,
                 enable: bool = False,
                 interval: int = 50,
                 out_dir: Optional[str] = None,
                 show: bool = False,
                 wait_time: float = 0.,
                 alpha: float = 0.5,
                 min_panel_size: int = 256,
                 font_scale: float = 0.6,
                 ignore_index: int = 255) -> None:
        super().__init__(enable=enable, interval=interval, out_dir=out_dir,
                         show=show, wait_time=wait_time)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(
                f'SegPanelVisualizationHook: alpha={alpha!r} must lie in '
                '[0, 1].')
        self.alpha = float(alpha)
        self.min_panel_size = int(min_panel_size)
        self.font_scale = float(font_scale)
        self.ignore_index = int(ignore_index)

    # -- one figure ------------------------------------------------------

    def draw(self, runner, image: np.ndarray, data_sample,
             teacher_sample=None, dataset=None) -> np.ndarray:
        meta = dict(getattr(dataset, 'metainfo', None) or {})
        classes = list(meta.get('classes') or [])
        num = max(len(classes), self._max_label(data_sample, teacher_sample))
        classes += [str(i) for i in range(len(classes), num)]
        palette = self._bgr_palette(meta.get('palette'), num)

        hw = image.shape[:2]
        scale = student_scale(runner.model)
        distiller = is_distiller(runner.model)
        if distiller or scale not in (None, 1.0):
            student = f'student ({scale_label(scale, hw)})'
        else:
            student = 'prediction'
        panels = [('input', image)]
        if 'gt_sem_seg' in data_sample:
            panels.append(('truth', self.overlay(
                image, self._labels(data_sample.gt_sem_seg, hw), palette)))
        if 'pred_sem_seg' in data_sample:
            panels.append((student, self.overlay(
                image, self._labels(data_sample.pred_sem_seg, hw), palette)))
        if teacher_sample is not None and 'pred_sem_seg' in teacher_sample:
            title = 'teacher (' + scale_label(
                teacher_scale(runner.model), hw) + ')'
            panels.append((title, self.overlay(
                image, self._labels(teacher_sample.pred_sem_seg, hw),
                palette)))
        return self.render(panels, classes, palette)[0]

    def overlay(self, image: np.ndarray, labels: np.ndarray,
                palette: Sequence[Tuple[int, int, int]]) -> np.ndarray:
        """``image`` (BGR) under the colours of ``labels`` at ``alpha``;
        pixels of ``ignore_index``, of a class coloured black or of an id
        without a colour keep the image's own."""
        colours = np.asarray(palette, np.float64).reshape(-1, 3)
        valid = (labels >= 0) & (labels < len(colours)) & \
            (labels != self.ignore_index)
        black = ~colours.any(axis=1)  # e.g. the background: drawn clear
        valid &= ~black[np.where(valid, labels, 0)]
        out = image.astype(np.float64)
        blend = (1 - self.alpha) * out + self.alpha * colours[
            np.where(valid, labels, 0)]
        out[valid] = blend[valid]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def render(self, panels: List[Tuple[str, np.ndarray]],
               classes: Sequence[str],
               palette: Sequence[Tuple[int, int, int]]
               ) -> Tuple[np.ndarray, List[Tuple[int, int, int, int]]]:
        """Lay out titled panels and the legend on a white canvas.

        Args:
            panels: ``(title, BGR image)`` pairs of one size, unenlarged.
            classes: Class names, in label order.
            palette: BGR colour of each class.

        Returns:
            tuple: The figure (BGR uint8) and each panel's box
            ``(x, y, width, height)`` in it.
        """
        fs = self.font_scale
        images = [enlarge(img, self.min_panel_size) for _, img in panels]
        ph, pw = images[0].shape[:2]
        title_h = text_size('Ag', fs)[1] + text_size('Ag', fs)[2]
        slots = [max(pw, text_size(t, fs)[0] + 4) for t, _ in panels]
        panels_w = sum(slots) + _GAP * (len(slots) - 1)

        # legend items, wrapped greedily to the width
        items = [(name, _SWATCH + 6 + text_size(name, fs)[0])
                 for name in classes]
        width = max([panels_w] + [w for _, w in items])
        rows: List[List[Tuple[int, str, int]]] = [[]]
        x = 0
        for idx, (name, w) in enumerate(items):
            if rows[-1] and x + w > width:
                rows.append([])
                x = 0
            rows[-1].append((idx, name, x))
            x += w + _ITEM_GAP
        row_h = max(_SWATCH, title_h) + _ROW_GAP
        legend_h = _MARGIN + row_h * len(rows) - _ROW_GAP if items else 0

        top = _MARGIN + title_h + 6
        canvas = np.full((top + ph + legend_h + _MARGIN,
                          width + 2 * _MARGIN, 3), 255, np.uint8)
        boxes = []
        x = _MARGIN + (width - panels_w) // 2
        for (title, _), img, slot in zip(panels, images, slots):
            tw = text_size(title, fs)[0]
            draw_text(canvas, title, x + (slot - tw) // 2, _MARGIN, fs,
                      BLACK)
            px = x + (slot - pw) // 2
            canvas[top:top + ph, px:px + pw] = img
            boxes.append((px, top, pw, ph))
            x += slot + _GAP

        y = top + ph + _MARGIN
        for row in rows:
            for idx, name, ix in row:
                sx = _MARGIN + ix
                sy = y + (row_h - _ROW_GAP - _SWATCH) // 2
                cv2.rectangle(canvas, (sx, sy),
                              (sx + _SWATCH - 1, sy + _SWATCH - 1),
                              tuple(int(c) for c in palette[idx]), -1)
                cv2.rectangle(canvas, (sx, sy),
                              (sx + _SWATCH - 1, sy + _SWATCH - 1), GREY, 1)
                th = text_size(name, fs)[1]
                draw_text(canvas, name, sx + _SWATCH + 6,
                          sy + (_SWATCH - th) // 2, fs, BLACK)
            y += row_h
        return canvas, boxes

    # -- helpers ---------------------------------------------------------

    def _max_label(self, *samples) -> int:
        top = 0
        for sample in samples:
            if sample is None:
                continue
            for key in ('gt_sem_seg', 'pred_sem_seg'):
                if key in sample:
                    labels = np.asarray(sample.get(key).data.cpu())
                    labels = labels[labels != self.ignore_index]
                    if labels.size:
                        top = max(top, int(labels.max()) + 1)
        return top

    @staticmethod
    def _bgr_palette(palette: Optional[Sequence], num: int
                     ) -> List[Tuple[int, int, int]]:
        """The data set's palette (RGB, mmseg's convention) as BGR, with
        made-up colours for ids beyond it."""
        rgb = [tuple(int(c) for c in colour) for colour in (palette or [])]
        rgb += _fallback_palette(num)[len(rgb):]
        return [(b, g, r) for r, g, b in rgb]

    @staticmethod
    def _labels(pixel_data, hw: Sequence[int]) -> np.ndarray:
        """A label map ``(H, W)`` at the image's size (nearest neighbour
        where the prediction was made at another size)."""
        labels = np.asarray(pixel_data.data.detach().cpu()).astype(np.int64)
        labels = labels.reshape(labels.shape[-2:])
        if labels.shape != tuple(hw):
            labels = cv2.resize(labels.astype(np.int32), (hw[1], hw[0]),
                                interpolation=cv2.INTER_NEAREST)
        return labels.astype(np.int64)
