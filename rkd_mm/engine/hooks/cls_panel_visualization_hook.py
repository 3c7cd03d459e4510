"""Each test image with its true and predicted class, one PNG per image:
what ``tools/test.py --show-dir`` draws for the classification configs."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from rkd_mm.registry import HOOKS
from .panel_drawing import (BLACK, GREEN, GREY, RED, PerImageVisualizationHook,
                            draw_text, enlarge, is_distiller, scale_label,
                            student_scale, teacher_scale, text_size)

__all__ = ['ClsPanelVisualizationHook']

_MARGIN, _LINE_GAP = 8, 8  # px

Line = Tuple[str, Tuple[int, int, int]]


def _first(value) -> Optional[int]:
    """The first label of a ``gt_label`` / ``pred_label`` field."""
    if value is None:
        return None
    value = torch.as_tensor(value).view(-1)
    return int(value[0]) if value.numel() else None


@HOOKS.register_module()
class ClsPanelVisualizationHook(PerImageVisualizationHook):
    """Draw each test image with its true class and the predictions.

    One PNG per image (names and switches: see
    :class:`~rkd_mm.engine.hooks.panel_drawing.PerImageVisualizationHook`:
    the path below the data set's folder, ``test/ok/000.png`` ->
    ``out_dir/ok/000.png``; ``out_dir/{index:05d}.png`` for an in-memory
    data set such as Fashion-MNIST): the image as the data pipeline gives
    it (before the data preprocessor's normalisation, so in its own
    colours; grey stays grey), enlarged by an integer factor (nearest
    neighbour) until its shorter side is at least ``min_size`` pixels, and
    below it

    * ``true: <class>``,
    * ``pred: <class> (<score>)``, green where it is the true class, red
      where not (for an LR model a grey line first names its input:
      ``student input: x0.5, 14x14``),
    * for a distiller, ``teacher: <class> (<score>)`` (its HR prediction,
      computed by the distillation test loop), coloured alike.

    The figure widens for a line longer than the image (nothing clipped).

    Args:
        enable, interval, out_dir, show, wait_time: As in
            :class:`~rkd_mm.engine.hooks.panel_drawing.PerImageVisualizationHook`
            (``tools/test.py --show-dir`` sets them).
        min_size: Smallest side of the drawn image in pixels.
        font_scale: Text size (OpenCV's Hershey font).
    """

    def __init__(self,
                 enable: bool = False,
                 interval: int = 50,
                 out_dir: Optional[str] = None,
                 show: bool = False,
                 wait_time: float = 0.,
                 min_size: int = 192,
                 font_scale: float = 0.6) -> None:
        super().__init__(enable=enable, interval=interval, out_dir=out_dir,
                         show=show, wait_time=wait_time)
        self.min_size = int(min_size)
        self.font_scale = float(font_scale)

    def draw(self, runner, image: np.ndarray, data_sample,
             teacher_sample=None, dataset=None) -> np.ndarray:
        meta = dict(getattr(dataset, 'metainfo', None) or {})
        classes = list(meta.get('classes') or [])
        truth = _first(data_sample.get('gt_label'))
        lines: List[Line] = []
        if truth is not None:
            lines.append((f'true: {self._name(truth, classes)}', BLACK))
        scale = student_scale(runner.model)
        if is_distiller(runner.model) or scale not in (None, 1.0):
            lines.append((f'student input: '
                          f'{scale_label(scale, image.shape[:2])}', GREY))
        lines.append(self._prediction('pred', data_sample, truth, classes))
        if teacher_sample is not None:
            label = scale_label(teacher_scale(runner.model),
                                image.shape[:2])
            lines.append(self._prediction(
                'teacher' if label == 'HR' else f'teacher ({label})',
                teacher_sample, truth, classes))
        return self.render(image, lines)[0]

    def render(self, image: np.ndarray, lines: Sequence[Line]
               ) -> Tuple[np.ndarray, Tuple[int, int, int, int]]:
        """The enlarged image above its text lines on a white canvas.

        Args:
            image: BGR uint8 image, unenlarged.
            lines: ``(text, BGR colour)`` per line.

        Returns:
            tuple: The figure (BGR uint8) and the image's box ``(x, y,
            width, height)`` in it.
        """
        fs = self.font_scale
        img = enlarge(image, self.min_size)
        ih, iw = img.shape[:2]
        line_h = text_size('Ag', fs)[1] + text_size('Ag', fs)[2] + _LINE_GAP
        width = max([iw] + [text_size(t, fs)[0] for t, _ in lines])
        height = _MARGIN + ih + _MARGIN + line_h * len(lines) + _MARGIN
        canvas = np.full((height, width + 2 * _MARGIN, 3), 255, np.uint8)
        x = _MARGIN + (width - iw) // 2
        canvas[_MARGIN:_MARGIN + ih, x:x + iw] = img
        y = _MARGIN + ih + _MARGIN
        for text, colour in lines:
            draw_text(canvas, text, _MARGIN, y, fs, colour)
            y += line_h
        return canvas, (x, _MARGIN, iw, ih)

    @staticmethod
    def _name(label: Optional[int], classes: Sequence[str]) -> str:
        if label is None:
            return '?'
        return str(classes[label]) if 0 <= label < len(classes) else \
            str(label)

    def _prediction(self, what: str, sample, truth: Optional[int],
                    classes: Sequence[str]) -> Line:
        label = _first(sample.get('pred_label'))
        score = sample.get('pred_score')
        if label is None and score is not None:  # scores only: the top one
            label = int(torch.as_tensor(score).view(-1).argmax())
        text = f'{what}: {self._name(label, classes)}'
        if score is not None and label is not None:
            score = torch.as_tensor(score).view(-1)
            if 0 <= label < score.numel():
                text += f' ({float(score[label]):.2f})'
        if truth is None or label is None:
            return text, BLACK
        return text, GREEN if label == truth else RED
