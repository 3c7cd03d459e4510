"""Validation/test loops that report the teacher's HR score beside the
student's, computed once."""
import copy
from typing import Dict, Optional, Sequence

import torch
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, ValLoop

from rkd_mm.registry import LOOPS


class _StudentAndTeacherEvaluator:
    """Evaluator facade: student metrics as they are, ``teacher/<name>``
    added from a second evaluator that sees the teacher's HR predictions
    during the first run only."""

    def __init__(self, student: Evaluator, teacher: Evaluator) -> None:
        self.student = student
        self.teacher = teacher
        self.teacher_metrics: Optional[Dict[str, float]] = None
        self.teacher_pending = False

    @property
    def dataset_meta(self):
        return self.student.dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta) -> None:
        self.student.dataset_meta = meta
        self.teacher.dataset_meta = meta

    def process(self, data_samples: Sequence, data_batch=None) -> None:
        self.student.process(data_samples, data_batch)

    def evaluate(self, size: int) -> dict:
        metrics = self.student.evaluate(size)
        if self.teacher_pending:
            found = self.teacher.evaluate(size)
            self.teacher_metrics = {f'teacher/{k}': v for k, v in
                                    found.items()}
            self.teacher_pending = False
        metrics.update(self.teacher_metrics or {})
        return metrics


class _TeacherOnceMixin:
    """Shared by :class:`DistillValLoop` and :class:`DistillTestLoop`.

    Each iteration first computes the teacher's HR predictions where
    something needs them -- the teacher evaluator in its first run, or a hook
    that asks for them (a hook method ``wants_teacher_outputs(mode,
    batch_idx, data_batch) -> bool``, as
    :class:`~rkd_mm.engine.hooks.SegPanelVisualizationHook` has) -- and keeps
    them as ``teacher_outputs`` (``None`` otherwise) while the student's
    iteration and its hooks run.
    """

    #: this batch's teacher predictions, or None where nothing asked
    teacher_outputs: Optional[Sequence] = None

    def _wrap_evaluator(self, evaluate_teacher: bool) -> None:
        self.evaluate_teacher = evaluate_teacher
        self.teacher_outputs = None
        teacher_eval = copy.deepcopy(self.evaluator)
        self.evaluator = _StudentAndTeacherEvaluator(self.evaluator,
                                                     teacher_eval)

    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    @property
    def _mode(self) -> str:
        return 'test' if isinstance(self, TestLoop) else 'val'

    def _hooks_want_teacher(self, idx: int, data_batch) -> bool:
        return any(
            hook.wants_teacher_outputs(self._mode, idx, data_batch)
            for hook in self.runner.hooks
            if callable(getattr(hook, 'wants_teacher_outputs', None)))

    def run(self) -> dict:
        model = self._model()
        self.evaluator.teacher_pending = (
            self.evaluate_teacher and self.evaluator.teacher_metrics is None
            and hasattr(model, 'teacher_predict'))
        self.teacher_outputs = None
        try:
            return super().run()
        finally:
            self.teacher_outputs = None

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        self.teacher_outputs = None
        model = self._model()
        if hasattr(model, 'teacher_predict') and (
                self.evaluator.teacher_pending
                or self._hooks_want_teacher(idx, data_batch)):
            data = model.data_preprocessor(copy.deepcopy(data_batch), False)
            self.teacher_outputs = model.teacher_predict(
                data['inputs'], data['data_samples'])
            if self.evaluator.teacher_pending:
                self.evaluator.teacher.process(self.teacher_outputs,
                                               data_batch)
        super().run_iter(idx, data_batch)


@LOOPS.register_module()
class DistillValLoop(_TeacherOnceMixin, ValLoop):
    """``ValLoop`` for distillers: the student's metrics keep their names
    (``mIoU``, so ``save_best='mIoU'`` works); the teacher's HR metrics are
    computed during the first validation only and reported with every one as
    ``teacher/<name>`` (e.g. ``teacher/mIoU``).

    Args:
        runner: The runner.
        dataloader: Data loader (config).
        evaluator: Evaluator (config).
        fp16: Validate in fp16.
        evaluate_teacher: Report the teacher's metrics.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 evaluate_teacher: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self._wrap_evaluator(evaluate_teacher)


@LOOPS.register_module()
class DistillTestLoop(_TeacherOnceMixin, TestLoop):
    """``TestLoop`` counterpart of :class:`DistillValLoop`."""

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 evaluate_teacher: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self._wrap_evaluator(evaluate_teacher)
