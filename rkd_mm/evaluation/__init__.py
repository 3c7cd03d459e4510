"""Metrics the task libraries lack."""
from .auroc import AUROC, binary_auroc
from .classification_metric import ClassificationMetric
from .per_class_iou_metric import PerClassIoUMetric

__all__ = [
    'AUROC', 'binary_auroc', 'ClassificationMetric', 'PerClassIoUMetric'
]
