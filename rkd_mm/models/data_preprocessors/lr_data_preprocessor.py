"""The one home of the LR scale: data preprocessors that make the LR view.

An LR model (an LR-only student, or the student inside
:class:`~rkd_mm.models.ResolutionAwareDistiller`) is the task library's
model with one of these as its ``data_preprocessor``. The data pipelines
stay HR for every config (teacher, LR-only, distiller), and the LR op runs
on the normalised batch, after the task library's own preprocessing. So a
x0.25 config changes one number (``data_preprocessor.scale_factor``), and
the distiller, the FLOP counter, the latency benchmark, the ONNX exporter,
the resolution sweep and the runner all read the scale from here
(:mod:`rkd_mm.apis.lr_scale` reads it from a config).

The op is :func:`~rkd_mm.utils.lr_view.downsample_tensor`: area
averaging on the batch's uint8 grey levels, rounded as OpenCV rounds, i.e.
the very pixels that :func:`~rkd_mm.utils.lr_view.downsample_image` gives
for the uint8 image (tested).
"""
import copy
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor
from mmseg.models.data_preprocessor import SegDataPreProcessor

from rkd_mm.utils.lr_view import (UPSAMPLE_MODES, check_scale_factor,
                                       downsample_tensor, upsample_tensor)
from rkd_mm.registry import MODELS

__all__ = [
    'LRViewMixin', 'LRSegDataPreProcessor', 'LRClsDataPreProcessor',
    'lr_preprocessor', 'hr_copy'
]

ScaleArg = Union[float, Sequence[float]]


class LRViewMixin:
    """Adds the LR view to a task library's data preprocessor.

    In training each batch is seen at ``scale_factor`` (a list: one ratio
    drawn per batch with torch's generator, which the runner seeds and
    ``rkd_mm.RNGStateHook`` saves: one student for several resolutions); in
    validation and testing at ``test_scale_factor``.

    The host class must normalise (``mean``/``std`` set): the LR op works on
    the batch's grey levels, which it recovers with them. The host's own
    arguments pass through.

    With ``upsample_back`` the LR view is brought back to the batch's HR
    size (:func:`~rkd_mm.utils.lr_view.upsample_tensor`): an HR
    network then sees exactly the LR information at its own input size and
    cost -- the *LR-information ceiling* (the teacher's network trained on
    the student's information, ``tools/run_experiment.py --methods
    lr_ceiling``).
    """

    def __init__(self,
                 *args,
                 scale_factor: ScaleArg = 0.5,
                 test_scale_factor: Optional[float] = None,
                 lr_resize: str = 'area',
                 upsample_back: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if lr_resize != 'area':
            raise ValueError(f"lr_resize={lr_resize!r}: only 'area' exists "
                             '(rkd_mm.utils.lr_view.downsample_image).')
        if upsample_back not in (None, *UPSAMPLE_MODES):
            raise ValueError(
                f'upsample_back={upsample_back!r}: None (the network sees '
                f'the LR view) or one of {UPSAMPLE_MODES} (the LR view '
                'brought back to the HR size).')
        self.lr_resize = lr_resize
        self.upsample_back = upsample_back
        self.set_scale(scale_factor, test_scale_factor)
        if getattr(self, 'mean', None) is None:
            raise ValueError(
                f'{type(self).__name__} needs mean and std: the LR op '
                'averages the grey levels, which it recovers from the '
                'normalised batch with them. Set data_preprocessor.mean/std '
                '(e.g. mean=[0.0], std=[1.0] to keep raw levels).')

    def set_scale(self, scale_factor: ScaleArg,
                  test_scale_factor: Optional[float] = None) -> None:
        """Set the training ratio(s) and the test ratio.

        Args:
            scale_factor: LR/HR ratio in (0, 1], or a list to draw one per
                training batch.
            test_scale_factor: Ratio for validation and testing; defaults to
                ``scale_factor`` (required when that is a list).
        """
        scales = list(scale_factor) if isinstance(
            scale_factor, (list, tuple)) else [scale_factor]
        if not scales:
            raise ValueError('scale_factor must not be an empty list.')
        self.scale_factors: List[float] = [
            check_scale_factor(s, 'data_preprocessor.scale_factor')
            for s in scales
        ]
        if test_scale_factor is None:
            if len(self.scale_factors) > 1:
                raise ValueError(
                    f'data_preprocessor.scale_factor={self.scale_factors} '
                    'draws a ratio per training batch: set '
                    'data_preprocessor.test_scale_factor to the ratio that '
                    'validation and testing use.')
            test_scale_factor = self.scale_factors[0]
        self.test_scale_factor = check_scale_factor(
            test_scale_factor, 'data_preprocessor.test_scale_factor')

    def draw_scale(self) -> float:
        """This training batch's ratio (drawn only for a list)."""
        if len(self.scale_factors) == 1:
            return self.scale_factors[0]
        idx = int(torch.randint(len(self.scale_factors), (1, )).item())
        return self.scale_factors[idx]

    def lr_view(self, inputs: torch.Tensor,
                scale: Optional[float] = None) -> torch.Tensor:
        """The LR view of a batch normalised by this preprocessor.

        Args:
            inputs: Normalised HR batch ``(N, C, H, W)``.
            scale: Ratio; defaults to ``test_scale_factor``.
        """
        scale = self.test_scale_factor if scale is None else scale
        lr = downsample_tensor(inputs, scale, self.mean, self.std)
        if self.upsample_back is not None and lr.shape[-2:] != \
                inputs.shape[-2:]:
            lr = upsample_tensor(lr, inputs.shape[-2:], self.upsample_back)
        return lr

    def forward(self, data: dict, training: bool = False) -> dict:
        """The task library's preprocessing, then the LR view."""
        data = super().forward(data, training)
        scale = self.draw_scale() if training else self.test_scale_factor
        data['inputs'] = self.lr_view(data['inputs'], scale)
        return data

    def extra_repr(self) -> str:
        scales = self.scale_factors if len(self.scale_factors) > 1 else \
            self.scale_factors[0]
        back = '' if self.upsample_back is None else \
            f', upsample_back={self.upsample_back!r}'
        return (f'scale_factor={scales}, '
                f'test_scale_factor={self.test_scale_factor}{back}')


_ARGS_DOC = """
    Args:
        scale_factor: LR/HR ratio in (0, 1] (0.5, 0.25, ...), or a list to
            draw one per training batch (one student for several
            resolutions).
        test_scale_factor: Ratio for validation and testing; defaults to
            ``scale_factor`` (required when that is a list).
        lr_resize: The LR op; only ``'area'``.
        upsample_back: ``None``, or ``'bilinear'`` to bring the LR view back
            to the HR size (the LR-information ceiling).
        **kwargs: The host preprocessor's own arguments (``mean``, ``std``,
            ``size_divisor``, ...).
"""


@MODELS.register_module()
class LRSegDataPreProcessor(LRViewMixin, SegDataPreProcessor):
    __doc__ = ("mmseg's ``SegDataPreProcessor``, then the LR view of the "
               'batch; the label maps stay HR.\n' + _ARGS_DOC)


@MODELS.register_module()
class LRClsDataPreProcessor(LRViewMixin, ClsDataPreprocessor):
    __doc__ = ("mmpretrain's ``ClsDataPreprocessor`` (batch augments "
               'included), then the LR view of the batch.\n' + _ARGS_DOC)


def lr_preprocessor(model: torch.nn.Module) -> Optional[LRViewMixin]:
    """``model``'s data preprocessor if it makes an LR view, else None."""
    pre = getattr(model, 'data_preprocessor', None)
    return pre if isinstance(pre, LRViewMixin) else None


def hr_copy(pre: BaseDataPreprocessor) -> BaseDataPreprocessor:
    """A copy of ``pre`` that keeps the HR size (an LR one at ratio 1)."""
    pre = copy.deepcopy(pre)
    if isinstance(pre, LRViewMixin):
        pre.set_scale(1.0)
    return pre
