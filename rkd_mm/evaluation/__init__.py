"""Metrics the task libraries lack."""
from .per_class_iou_metric import PerClassIoUMetric

__all__ = ['PerClassIoUMetric']
