"""mmseg's IoUMetric that also returns the per-class IoU values."""
from typing import Dict

import numpy as np
from mmseg.evaluation import IoUMetric

from rkd_mm.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus ``IoU.<class>`` entries.

    mmseg logs the per-class table but returns only ``aAcc``, ``mIoU`` and
    ``mAcc``; a comparison across resolutions needs the classes (thin
    scratches vanish at x0.25, stains do not), so they are returned too, in
    percent like ``mIoU``. ``mIoU`` keeps its name, so ``save_best='mIoU'``
    works unchanged. All arguments are IoUMetric's.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        intersect, union = (sum(r) for r in tuple(zip(*results))[:2])
        iou = (intersect / union).numpy()
        for name, value in zip(self.dataset_meta['classes'], iou):
            value = np.nan_to_num(value, nan=self.nan_to_num) \
                if self.nan_to_num is not None else value
            metrics[f'IoU.{name}'] = float(np.round(value * 100, 2))
        return metrics
