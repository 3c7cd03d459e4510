"""Mixed precision without a GPU: bf16 autocast on the model's device."""
import copy
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from rkd_mm.registry import OPTIM_WRAPPERS

# wrapper types that already run mixed precision (left as they are)
_AMP_TYPES = ('AmpOptimWrapper', 'AutocastOptimWrapper',
              'rkd_mm.AutocastOptimWrapper')


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that runs the forward pass under bf16 autocast.

    MMEngine's ``AmpOptimWrapper`` asserts a GPU (it is built around the
    CUDA ``GradScaler``). bfloat16 has float32's exponent range, so its
    gradients neither underflow nor overflow where float32's would not, and
    no loss scaling is needed: this wrapper only adds
    ``torch.autocast(device_type, dtype=torch.bfloat16)`` to
    :meth:`optim_context`, which every ``train_step`` (mmseg's, and each
    part of :class:`~rkd_mm.models.ResolutionAwareDistiller`'s) already
    wraps around its forward pass and losses. Backward, gradient clipping and
    the optimizer step stay float32, so its ``state_dict`` is a plain
    ``OptimWrapper``'s: a run can be resumed with or without AMP.

    Args:
        dtype: The autocast dtype; only ``'bfloat16'`` (float16 needs a
            ``GradScaler``: use MMEngine's ``AmpOptimWrapper`` on a GPU).
        device_type: ``'cpu'`` or ``'cuda'``; ``None`` (default) takes the
            device of the model's parameters at each :meth:`optim_context`.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 device_type: Optional[str] = None,
                 **kwargs) -> None:
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, dtype)
        if dtype != torch.bfloat16:
            raise ValueError(
                f'AutocastOptimWrapper dtype={dtype!r}: only bfloat16 works '
                'without loss scaling. For float16 on a GPU use '
                "type='AmpOptimWrapper' (it adds a GradScaler).")
        if device_type not in (None, 'cpu', 'cuda'):
            raise ValueError(
                f'AutocastOptimWrapper device_type={device_type!r}: use '
                "'cpu', 'cuda' or None (the model's device).")
        super().__init__(**kwargs)
        self.cast_dtype = dtype
        self.device_type = device_type

    @staticmethod
    def _model_device_type(model: nn.Module) -> str:
        param = next(model.parameters(), None)
        return 'cpu' if param is None else param.device.type

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper``'s context (no gradient sync while accumulating)
        plus bf16 autocast on ``model``'s device.

        Args:
            model: The module whose forward pass runs in the context.
        """
        device_type = self.device_type or self._model_device_type(model)
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield


def amp_optim_wrapper_cfg(optim_wrapper: dict, cuda: bool) -> dict:
    """The ``optim_wrapper`` config with mixed precision switched on.

    What ``tools/train.py --amp`` does. On a GPU each plain
    ``OptimWrapper`` becomes MMEngine's ``AmpOptimWrapper`` (float16 with
    dynamic loss scaling); on the CPU, where autocast supports bfloat16
    only, :class:`AutocastOptimWrapper`. A config with one wrapper per part
    (``constructor='rkd_mm.MultiOptimWrapperConstructor'``: student,
    discriminator, connectors) gets every part switched.

    Args:
        optim_wrapper: The config's ``optim_wrapper``.
        cuda: Whether training runs on a GPU.

    Returns:
        dict: A new config; ``optim_wrapper`` is not modified.

    Raises:
        ValueError: If a wrapper has a type other than ``OptimWrapper`` or
            one of the mixed-precision wrappers.
    """
    cfg = copy.deepcopy(optim_wrapper)
    if 'MultiOptimWrapperConstructor' in str(cfg.get('constructor', '')):
        for name, part in cfg.items():
            if name != 'constructor' and part is not None:
                _switch_on(part, cuda, f'optim_wrapper.{name}')
    else:
        _switch_on(cfg, cuda, 'optim_wrapper')
    return cfg


def _switch_on(cfg: dict, cuda: bool, where: str) -> None:
    kind = cfg.get('type', 'OptimWrapper')
    if kind in _AMP_TYPES:
        return  # already mixed precision
    if kind not in ('OptimWrapper', 'mmengine.OptimWrapper'):
        raise ValueError(
            f'--amp switches {where}.type="OptimWrapper" to mixed precision; '
            f'this config has {where}.type={kind!r}. Set its mixed '
            'precision in the config instead.')
    if cuda:
        cfg['type'] = 'AmpOptimWrapper'
        cfg.setdefault('loss_scale', 'dynamic')
    else:
        cfg['type'] = 'rkd_mm.AutocastOptimWrapper'
        cfg.setdefault('dtype', 'bfloat16')
