"""A terminal progress bar for testing and validation."""
from typing import Optional, Sequence

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from rkd_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show ``done/total, speed, ETA`` while a test (or val) loop runs.

    MMEngine's LoggerHook prints a line every few iterations; for
    ``tools/test.py`` a single updating bar is easier to follow. Only the
    main process draws it.

    Args:
        on_val: Also draw it during validation.
    """

    priority = 'LOW'

    def __init__(self, on_val: bool = False) -> None:
        self.on_val = on_val
        self._bar: Optional[ProgressBar] = None

    def _start(self, runner, loader) -> None:
        if is_main_process():
            self._bar = ProgressBar(len(loader.dataset))

    def _update(self, data_batch) -> None:
        if self._bar is None:
            return
        inputs = data_batch.get('inputs', []) if isinstance(
            data_batch, dict) else []
        # every rank works on its share: count the whole step
        self._bar.update(max(1, len(inputs)) * get_world_size())
        if self._bar.completed >= self._bar.task_num:
            self._finish()  # end the line before the metric table prints

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar = None

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        self._update(data_batch)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def before_val_epoch(self, runner) -> None:
        if self.on_val:
            self._start(runner, runner.val_dataloader)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if self.on_val:
            self._update(data_batch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.on_val:
            self._finish()
