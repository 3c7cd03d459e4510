"""tools/analysis_tools/logit_grid_oracle.py: IoU by hand, and the bound
behaves as a bound (a grid at the label size fits the labels exactly; a
coarse grid cannot hold a 1-pixel line)."""
import math

import numpy as np
import pytest
import torch

from conftest import TINY_LR, data_root_options, load_tool

oracle = load_tool('analysis_tools/logit_grid_oracle.py')


def test_iou_by_hand_with_ignored_pixels_and_absent_class():
    labels = torch.tensor([[[0, 0, 1, 255]]])
    pred = torch.tensor([[[0, 1, 1, 2]]])
    iou = oracle.iou(pred, labels, 3)
    # class 0: inter 1, union 2; class 1: inter 1, union 2; class 2: only
    # predicted on an ignored pixel -> never present, never predicted
    assert iou[0] == pytest.approx(50.0) and iou[1] == pytest.approx(50.0)
    assert math.isnan(iou[2])


def test_lovasz_softmax_is_zero_for_perfect_and_positive_otherwise():
    labels = torch.tensor([0, 1, 1, 0])
    perfect = torch.nn.functional.one_hot(labels, 2).float()
    assert oracle.lovasz_softmax(perfect, labels).item() == pytest.approx(0.0)
    assert oracle.lovasz_softmax(torch.full((4, 2), 0.5), labels) > 0


def test_grid_at_label_size_fits_exactly_a_coarse_grid_cannot():
    torch.manual_seed(0)
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[:, 5, :] = 1  # a 1-pixel line
    labels[:, 10:14, 2:6] = 2  # a 4x4 blob
    weight = torch.ones(3)
    fine = oracle.fit_grid(labels, 3, 16, weight, steps=200, lr=0.3)
    assert torch.equal(fine, labels)
    coarse = oracle.fit_grid(labels, 3, 2, weight, steps=200, lr=0.3)
    assert np.nanmean(oracle.iou(coarse, labels, 3)) < \
        np.nanmean(oracle.iou(fine, labels, 3))


def test_main_reads_a_config_split(tiny_data_root, tmp_path):
    out = tmp_path / 'oracle.json'
    results = oracle.main([
        TINY_LR, '--grids', '4', '64', '--steps', '60', '--split', 'val',
        '--out', str(out), '--cfg-options', *data_root_options(
            tiny_data_root)])
    assert set(results) == {'4', '64'}
    assert results['64']['mIoU'] >= results['4']['mIoU']
    assert out.exists()
