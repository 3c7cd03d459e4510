"""Accuracy, macro-F1, per-class precision/recall, the confusion matrix and
(binary) AUROC in one single-label classification metric."""
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.evaluation import Accuracy, ConfusionMatrix, SingleLabelMetric

from rkd_mm.registry import METRICS
from .auroc import binary_auroc

__all__ = ['ClassificationMetric']


@METRICS.register_module()
class ClassificationMetric(BaseMetric):
    """Everything a single-label comparison reports, under plain names.

    The numbers come from mmpretrain's own calculators, so they agree with
    its metrics: top-1 :class:`~mmpretrain.evaluation.Accuracy`,
    per-class precision / recall / F1 of
    :class:`~mmpretrain.evaluation.SingleLabelMetric` (``average=None``) and
    :class:`~mmpretrain.evaluation.ConfusionMatrix`. What this class adds:

    * **one evaluator entry** for all of them. mmpretrain's metrics log
      ``accuracy/top1`` and ``single-label/f1-score`` (the macro average,
      under a name that does not say so) and return per-class values as one
      list; a table across resolutions and seeds wants scalar entries with
      clear names;
    * **macro-F1** named as such: the mean of the per-class F1 over all
      classes of the data set (mmpretrain's ``average='macro'``; a class
      absent from truth and predictions alike counts 0). On imbalanced data
      (ELPV: 1,508 / 295 / 106 / 715) accuracy alone rewards ignoring the
      rare classes;
    * **AUROC** for two classes, from the positive-class score
      (:func:`~rkd_mm.evaluation.binary_auroc`), which mmpretrain lacks.

    Returned entries, all in percent like mmpretrain's:

    ``accuracy``, ``macro_f1``, ``precision.<class>``, ``recall.<class>``,
    ``f1.<class>`` (a ``/`` in a class name becomes ``_``); ``auroc`` when
    there are two classes; and
    ``confusion_matrix``, a ``(C, C)`` int64 tensor of counts (row = ground
    truth, column = prediction; MMEngine logs it as a non-scalar). The
    per-class table is also printed to the log. ``save_best='macro_f1'``
    selects checkpoints by macro-F1.

    Args:
        num_classes: Number of classes; needed only when the samples carry
            a predicted label without scores and the data set has no
            ``classes`` meta.
        pos_label: Positive class of the AUROC (two classes only).
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (none by default, so the names
            are exactly the ones above).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 num_classes: Optional[int] = None,
                 pos_label: int = 1,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if pos_label not in (0, 1):
            raise ValueError(
                f'pos_label must be 0 or 1 (the AUROC is binary), got '
                f'{pos_label!r}.')
        self.num_classes = num_classes
        self.pos_label = pos_label

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            result = dict(gt_label=sample['gt_label'].cpu().view(-1)[:1])
            if 'pred_score' in sample:
                result['pred_score'] = sample['pred_score'].cpu().float()
            else:
                result['pred_label'] = sample['pred_label'].cpu().view(-1)[:1]
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, object]:
        target = torch.cat([r['gt_label'] for r in results]).long()
        scores, pred = self._predictions(results)
        names = self._class_names(scores)
        num_classes = len(names)
        for what, labels in (('ground-truth', target), ('predicted', pred)):
            bad = labels[(labels < 0) | (labels >= num_classes)]
            if bad.numel():
                raise ValueError(
                    f'A {what} label is {int(bad[0])} but there are '
                    f'{num_classes} classes {tuple(names)}: the data set '
                    "classes and the head's num_classes must agree.")

        accuracy = Accuracy.calculate(pred, target)
        precision, recall, f1, support = SingleLabelMetric.calculate(
            pred, target, average=None, num_classes=num_classes)
        metrics: Dict[str, object] = dict(
            accuracy=float(accuracy), macro_f1=float(f1.mean()))
        for i, name in enumerate(names):
            metrics[f'precision.{name}'] = float(precision[i])
            metrics[f'recall.{name}'] = float(recall[i])
            metrics[f'f1.{name}'] = float(f1[i])
        if num_classes == 2:
            if scores is None:
                print_log(
                    'ClassificationMetric: no AUROC, the predictions carry '
                    'labels without scores.', logger='current',
                    level=logging.WARNING)
            else:
                metrics['auroc'] = 100 * binary_auroc(
                    scores[:, self.pos_label], target == self.pos_label)
        matrix = ConfusionMatrix.calculate(
            pred, target, num_classes=num_classes).long()
        metrics['confusion_matrix'] = matrix
        self._log_table(names, precision, recall, f1, support, matrix)
        return metrics

    @staticmethod
    def _predictions(
            results: List[dict]
    ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(scores or None, predicted labels)`` of all samples."""
        with_scores = ['pred_score' in r for r in results]
        if all(with_scores):
            scores = torch.stack([r['pred_score'] for r in results])
            return scores, scores.argmax(dim=1)
        if any(with_scores):
            raise ValueError(
                'Some samples carry pred_score and others only pred_label: '
                'evaluate one model output format at a time.')
        return None, torch.cat([r['pred_label'] for r in results]).long()

    def _class_names(self, scores: Optional[torch.Tensor]) -> List[str]:
        """Class names from the data set's meta, checked against the
        model's number of classes; ``'0'``, ``'1'``, ... without meta."""
        classes = (self.dataset_meta or {}).get('classes')
        from_model = scores.size(1) if scores is not None else None
        if classes is not None:
            if from_model is not None and from_model != len(classes):
                raise ValueError(
                    f'The model scores {from_model} classes but the data set '
                    f'has {len(classes)} {tuple(classes)}: set the head\'s '
                    f'num_classes to {len(classes)}.')
            # MMEngine joins prefixes with '/' ('accuracy/top1'), so a '/'
            # in a class name ('T-shirt/top') would read as one in the key
            return [str(c).replace('/', '_') for c in classes]
        num_classes = from_model or self.num_classes
        if num_classes is None:
            raise ValueError(
                'ClassificationMetric cannot tell the number of classes: the '
                "predictions carry no scores and the data set no 'classes' "
                'meta. Pass num_classes=... to the metric.')
        return [str(i) for i in range(num_classes)]

    @staticmethod
    def _log_table(names: list, precision: torch.Tensor,
                   recall: torch.Tensor, f1: torch.Tensor,
                   support: torch.Tensor, matrix: torch.Tensor) -> None:
        width = max(len('class'), *(len(n) for n in names))
        lines = [f'{"class":<{width}}  precision  recall      f1  support']
        for i, name in enumerate(names):
            lines.append(f'{name:<{width}}  {float(precision[i]):9.2f}  '
                         f'{float(recall[i]):6.2f}  {float(f1[i]):6.2f}  '
                         f'{int(support[i]):7d}')
        lines.append('confusion matrix (rows: truth, columns: prediction):')
        lines.extend('  ' + ' '.join(f'{int(v):6d}' for v in row)
                     for row in matrix)
        print_log('per-class results:\n' + '\n'.join(lines),
                  logger='current')
