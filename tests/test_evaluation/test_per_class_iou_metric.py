"""PerClassIoUMetric returns mmseg's metrics plus per-class IoU."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rkd_mm.evaluation import PerClassIoUMetric


def _sample(pred, gt):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.tensor(gt)[None])
    s.set_metainfo(dict(img_path='x.png'))
    return s.to_dict()


def test_per_class_iou_by_hand():
    metric = PerClassIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('bg', 'a', 'b'))
    gt = [[0, 0, 1, 1], [0, 0, 2, 2]]
    pred = [[0, 1, 1, 1], [0, 0, 2, 0]]
    metric.process([{}], [_sample(pred, gt)])
    out = metric.compute_metrics(metric.results)
    # bg: inter 3, union 5; a: inter 2, union 3; b: inter 1, union 2
    expected = {'bg': 3 / 5, 'a': 2 / 3, 'b': 1 / 2}
    for name, iou in expected.items():
        assert out[f'IoU.{name}'] == pytest.approx(100 * iou, abs=0.01)
    assert out['mIoU'] == pytest.approx(
        100 * np.mean(list(expected.values())), abs=0.01)
