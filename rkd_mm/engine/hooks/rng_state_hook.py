"""Save and restore the random number generators with each checkpoint."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from rkd_mm.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put Python's, NumPy's and torch's RNG states into checkpoints.

    MMEngine restores model, optimizers, schedulers, the iteration counter
    and (by replaying the data loader) the data order and augmentations on
    resume, but not the main process's random generators, which drive
    dropout and the distiller's per-iteration choice of LR ratio. With this
    hook a resumed run continues exactly as an uninterrupted one.

    Two details make that hold:

    * validation is made RNG-neutral (the states are put back after it):
      starting a validation data loader draws a seed from torch's generator;
      a checkpoint saved during validation (MMEngine re-saves the
      iteration's checkpoint to record the best score) gets the state from
      before the validation;
    * augmentations must run in data-loader workers (``num_workers >= 1``,
      as in all rkd_mm configs): with ``num_workers=0`` they share the main
      process's generator with the model and MMEngine's replay of the data
      loader on resume draws from it again.

    Checkpoints without the state (older runs) resume with a warning.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._stash = None

    @staticmethod
    def get_state() -> dict:
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        return state

    @staticmethod
    def set_state(state: dict) -> None:
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # MMEngine re-saves the iteration's checkpoint during validation
        # (to record the best score): store the training-time state then
        checkpoint['rng_state'] = self._stash if self._stash is not None \
            else self.get_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None:
            runner.logger.warning(
                'The checkpoint holds no RNG state: the resumed run will not '
                'repeat the random draws of an uninterrupted one.')
            return
        self.set_state(state)

    def before_val(self, runner) -> None:
        self._stash = self.get_state()

    def after_val(self, runner) -> None:
        if self._stash is not None:
            self.set_state(self._stash)
            self._stash = None
