"""Stop training at the first NaN/inf loss, before it reaches a checkpoint."""
import math
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook

from rkd_mm.registry import HOOKS
from rkd_mm.utils.work_dir import resume_checkpoint


class NonFiniteLossError(RuntimeError):
    """A loss term (or a weight about to be saved) is NaN or infinite."""


def _value(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        return float(value.detach().float().item())
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop a run at the first iteration whose losses are not finite.

    After each training iteration it checks every loss term the model's
    ``train_step`` returned (the keys with ``loss`` in their name, the ones
    ``parse_losses`` sums: ``decode.loss_ce`` for an mmseg model;
    ``student.decode.loss_ce``, ``distill.loss_kd``, ``disc.loss_real``, ...
    for :class:`~rkd_mm.models.ResolutionAwareDistiller`) and raises
    :class:`NonFiniteLossError` naming the terms and the iteration. It runs
    before MMEngine's ``CheckpointHook`` (priority ``HIGH`` against its
    ``VERY_LOW``), so the update that followed the bad loss is never saved:
    the newest checkpoint on disk is the last good one.

    As a second guard, a checkpoint whose weights hold NaN/inf (a finite loss
    can still give an infinite gradient) is refused before it is written.

    ``tools/train.py`` registers this hook on every run whose config does
    not list it; other entry points can list
    ``dict(type='rkd_mm.NonFiniteLossHook')`` in ``custom_hooks``.
    """

    priority = 'HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        if not outputs:
            return
        bad = {}
        for key, value in outputs.items():
            number = _value(value)
            if 'loss' in key and number is not None \
                    and not math.isfinite(number):
                bad[key] = number
        if not bad:
            return
        # name the terms, not only the total they were summed into
        terms = {k: v for k, v in bad.items() if k != 'loss'} or bad
        shown = ', '.join(f'{k}={v}' for k, v in terms.items())
        remedies = ['a lower learning rate',
                    f'a smaller weight for {", ".join(terms)}',
                    'gradient clipping with clip_grad=dict(max_norm=...)']
        if _mixed_precision(runner.optim_wrapper):
            remedies.append('training without --amp')
        raise NonFiniteLossError(
            f'Iteration {runner.iter + 1}: non-finite loss {shown}. Training '
            'stopped; nothing of this iteration was saved. '
            + self._what_next(runner, remedies))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for name, tensor in checkpoint.get('state_dict', {}).items():
            if isinstance(tensor, torch.Tensor) and \
                    tensor.is_floating_point() and \
                    not torch.isfinite(tensor).all():
                it = checkpoint.get('meta', {}).get('iter', '?')
                raise NonFiniteLossError(
                    f'After iteration {it} the weight {name} holds NaN/inf '
                    '(a finite loss with an infinite gradient): that '
                    'checkpoint is not written and training stopped. ' +
                    self._what_next(runner, [
                        'a lower learning rate',
                        'gradient clipping with clip_grad=dict(max_norm=...)'
                    ]))

    @staticmethod
    def _what_next(runner, remedies: List[str]) -> str:
        # what is on disk (MMEngine's ``last_ckpt`` info already names the
        # checkpoint that the second guard refuses to write)
        last, _ = resume_checkpoint(runner.work_dir)
        fix = f'fix the cause ({", ".join(remedies)})'
        if last is None:
            return f'No checkpoint had been written yet: {fix} and start ' \
                'again.'
        return (f'The checkpoints in {runner.work_dir} are kept, the newest '
                f'good one is {last}: {fix} and continue from it with '
                '--resume.')


def _mixed_precision(optim_wrapper) -> bool:
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None) or {
        '': optim_wrapper
    }
    return any(hasattr(w, 'cast_dtype') for w in wrappers.values())
