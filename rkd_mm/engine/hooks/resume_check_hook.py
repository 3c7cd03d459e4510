"""Refuse to resume a checkpoint that another model or config wrote."""
from typing import Dict, Iterable, List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from rkd_mm.registry import HOOKS


def _shown(keys: Iterable[str], limit: int = 3) -> str:
    keys = sorted(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def _own_keys(state: Dict) -> Dict[str, object]:
    # MMEngine strips DDP's ``module.`` on load; the distiller never saves
    # its frozen teacher (it is loaded from ``teacher_ckpt``)
    out = {}
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if not key.startswith('teacher.'):
            out[key] = value
    return out


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Check, before MMEngine restores anything, that a resumed checkpoint
    is this config's: same weight names and shapes, same optimizer parts.

    MMEngine resumes with a non-strict load: a checkpoint of another model
    (an LR-only student's in an RKD config's work dir) loads a few matching
    weights or none, prints a wall of "missing keys" and then fails with
    ``AssertionError: Mismatched state_dict!`` in the optimizer, or worse,
    continues with a half-loaded model. This hook raises one error that says
    what differs and what to do instead.

    ``tools/train.py`` registers it on ``--resume`` runs, where the only
    checkpoint the runner loads is the one resumed; it checks every
    checkpoint loaded while it is registered.

    Args:
        checkpoint: The checkpoint's path, for the message.
    """

    priority = 'VERY_HIGH'

    def __init__(self, checkpoint: Optional[str] = None) -> None:
        self.checkpoint = checkpoint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        problems = self._weight_problems(
            _own_keys(checkpoint.get('state_dict', {})),
            _own_keys(model.state_dict()))
        problems += self._optimizer_problems(
            checkpoint.get('optimizer'), runner.optim_wrapper)
        if not problems:
            return
        name = self.checkpoint or 'the checkpoint'
        raise ValueError(
            f'--resume: {name} does not fit this config\'s model '
            f'({type(model).__name__}): it was written by another model or '
            f'config. {" ".join(problems)} A resumed run continues the run '
            'that wrote the checkpoint: resume it with that run\'s config, '
            'or train this config in another --work-dir.')

    @staticmethod
    def _weight_problems(saved: Dict, own: Dict) -> List[str]:
        problems = []
        missing = set(own) - set(saved)
        unexpected = set(saved) - set(own)
        if missing:
            problems.append(
                f'The checkpoint lacks {len(missing)} of the model\'s '
                f'{len(own)} weights ({_shown(missing)}).')
        if unexpected:
            problems.append(f'It holds {len(unexpected)} weights the model '
                            f'does not have ({_shown(unexpected)}).')
        shapes = [
            f'{k} {tuple(saved[k].shape)} vs {tuple(own[k].shape)}'
            for k in sorted(set(own) & set(saved))
            if hasattr(saved[k], 'shape') and hasattr(own[k], 'shape')
            and tuple(saved[k].shape) != tuple(own[k].shape)
        ]
        if shapes:
            problems.append(f'{len(shapes)} weights differ in shape '
                            f'({_shown(shapes, 2)}).')
        return problems

    @staticmethod
    def _optimizer_problems(saved: Optional[dict], wrapper) -> List[str]:
        if not isinstance(saved, dict) or wrapper is None or \
                isinstance(wrapper, dict):  # not built: nothing to compare
            return []
        saved_parts = None if 'param_groups' in saved else set(saved)
        own_parts = set(wrapper.optim_wrappers) if isinstance(
            wrapper, OptimWrapperDict) else None
        if saved_parts == own_parts:
            return []

        def describe(parts):
            return 'one optimizer' if parts is None else \
                f'optimizers {sorted(parts)}'

        return [f'The checkpoint has {describe(saved_parts)}; this config '
                f'has {describe(own_parts)}.']
