"""Make MMEngine's ``load_from`` and ``resume`` strict."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from rkd_mm.registry import HOOKS
from rkd_mm.utils.checkpoint import fit_state_dict, state_dict_of

__all__ = ['StrictLoadHook', 'register_strict_load_hook']


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Stop when a checkpoint does not fit the model, before it is loaded.

    MMEngine's ``Runner.load_checkpoint`` loads ``load_from`` (and so
    ``tools/test.py``'s checkpoint) with ``strict=False``: a checkpoint of
    another model leaves most weights random, and only a wall of "missing
    keys" in the log tells. ``Runner.load_checkpoint`` calls every hook's
    ``after_load_checkpoint`` with the checkpoint before it loads it, so
    this hook checks the state dict against the model there with
    :func:`rkd_mm.utils.checkpoint.fit_state_dict` and raises a
    ``CheckpointMismatchError`` naming the missing and unexpected keys and
    the shape mismatches. Once it has passed, MMEngine's non-strict load
    sets every weight.

    A distiller checkpoint given to a plain model config that its student
    fits is loaded as that student, and the log says so.

    Resuming is left to :class:`ResumeCheckHook` (``tools/train.py``
    registers it on ``--resume``), which also checks the optimizer state.

    ``tools/test.py``, ``tools/train.py`` (with ``load_from``) and
    ``resolution_sweep.py`` register it on their runner
    (:func:`register_strict_load_hook`), so the config the runner dumps
    into the work dir stays as it was.
    """

    priority = 'VERY_HIGH'  # before RNGStateHook restores any state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.cfg.get('resume', False):
            return  # ResumeCheckHook's job
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        source = str(runner.cfg.get('load_from', None) or 'the checkpoint')
        config = getattr(runner.cfg, 'filename', None)
        target = f'the model of {config}' if config else 'the model'
        state = state_dict_of(checkpoint, source)
        fitted, note = fit_state_dict(model, state, source, target)
        if note is None:
            return
        runner.logger.info(note)
        # Runner.load_checkpoint loads this very dict next: swap in place
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = fitted
        else:
            checkpoint.clear()
            checkpoint.update(fitted)


def register_strict_load_hook(runner: Runner) -> Runner:
    """Register a :class:`StrictLoadHook` on ``runner`` unless it has one.

    Args:
        runner: A built runner (before ``train()`` / ``test()``).

    Returns:
        Runner: ``runner``.
    """
    if not any(isinstance(h, StrictLoadHook) for h in runner.hooks):
        runner.register_hook(StrictLoadHook())
    return runner
