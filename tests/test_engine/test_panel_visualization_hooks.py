"""The per-image --show-dir hooks: SegPanelVisualizationHook and
ClsPanelVisualizationHook (numbers by hand; files through tools/test.py)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import (TINY_CLS_LR, TINY_CLS_RKD, TINY_LR, TINY_RKD,
                      data_root_options, run_tool)
from rkd_mm.engine.hooks import (ClsPanelVisualizationHook,
                                 SegPanelVisualizationHook)
from rkd_mm.engine.hooks.panel_drawing import (enlarge, relative_name,
                                               text_size, to_bgr)


def test_enlarge_uses_the_smallest_integer_factor():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    big = enlarge(img, 5)  # ceil(5 / 2) = 3
    assert big.shape == (6, 9, 1)
    assert (big[3:6, 6:9] == img[1, 2]).all()
    assert enlarge(img, 2) is img


def test_relative_names_keep_sub_folders_and_drop_the_extension(tmp_path):
    root = str(tmp_path / 'img_dir' / 'test')
    assert relative_name(osp.join(root, 'test_0001.png'), [root], 0) == \
        'test_0001.png'
    assert relative_name(osp.join(root, 'ok', '000.jpg'), [root], 0) == \
        'ok/000.png'
    # outside every prefix: the base name; no path: the index
    assert relative_name('/elsewhere/a.b.jpeg', [root], 3) == 'a.b.png'
    assert relative_name(None, [root], 7) == '00007.png'


def test_names_written_twice_get_a_suffix():
    hook = ClsPanelVisualizationHook()
    assert [hook._unique(n) for n in ('a.png', 'a.png', 'a.png', 'b.png')] \
        == ['a.png', 'a_2.png', 'a_3.png', 'b.png']


def test_to_bgr_keeps_grey_grey():
    img = torch.tensor([[[0, 123], [200, 255]]], dtype=torch.uint8)
    out = to_bgr(img)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert (out[..., 0] == out[..., 2]).all() and out[0, 1, 1] == 123


def test_seg_overlay_by_hand():
    hook = SegPanelVisualizationHook(alpha=0.25)
    image = np.full((1, 4, 3), 123, np.uint8)
    labels = np.array([[0, 1, 255, 2]])
    palette = [(0, 0, 0), (255, 0, 0), (0, 0, 3)]
    out = hook.overlay(image, labels, palette)
    # 0.75 * 123 + 0.25 * colour; the ignored pixel and the black class
    # (the background) keep the image
    assert out[0, 0].tolist() == [123, 123, 123]
    assert out[0, 1].tolist() == [156, 92, 92]       # 156.0, 92.25
    assert out[0, 2].tolist() == [123, 123, 123]
    assert out[0, 3].tolist() == [92, 92, 93]        # 92.25, 93.0
    with pytest.raises(ValueError, match='alpha'):
        SegPanelVisualizationHook(alpha=1.5)


def test_seg_figure_shows_the_input_untouched_and_names_whole():
    hook = SegPanelVisualizationHook(min_panel_size=64)
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype(
        np.uint8)
    labels = np.zeros((16, 16), np.int64)
    names = ['background', 'a_very_long_class_name_that_is_wider_than_all']
    panels = [('input', image),
              ('truth', hook.overlay(image, labels, [(0, 0, 255)] * 2))]
    figure, boxes = hook.render(panels, names, [(0, 0, 255)] * 2)
    x, y, w, h = boxes[0]
    assert (w, h) == (64, 64)  # 16 px enlarged 4x
    assert np.array_equal(figure[y:y + h, x:x + w], enlarge(image, 64))
    # the long name fits: the figure widened for it
    assert figure.shape[1] >= text_size(names[1], hook.font_scale)[0] + 16 \
        + 6


def test_cls_lines_by_hand():
    from mmpretrain.structures import DataSample
    hook = ClsPanelVisualizationHook()
    sample = DataSample().set_gt_label(2).set_pred_score(
        torch.tensor([0.1, 0.6, 0.3]))
    text, colour = hook._prediction('pred', sample, 2, ['a', 'b', 'c'])
    assert text == 'pred: b (0.60)' and colour == (0, 0, 200)  # red
    sample.set_pred_score(torch.tensor([0.1, 0.2, 0.7]))
    text, colour = hook._prediction('pred', sample, 2, ['a', 'b', 'c'])
    assert text == 'pred: c (0.70)' and colour == (0, 140, 0)  # green
    sample.set_pred_label(0)  # the head's label wins over the arg-max
    assert hook._prediction('pred', sample, 2, ['a', 'b', 'c']) == (
        'pred: a (0.10)', (0, 0, 200))


def _pngs(folder):
    return sorted(osp.relpath(osp.join(r, f), folder)
                  for r, _, fs in os.walk(folder) for f in fs
                  if f.endswith('.png'))


def _panel_starts(figure, size):
    """x of each panel: columns where a non-white panel of ``size`` rows
    starts (the canvas is white)."""
    nonwhite = (figure != 255).any(axis=2)
    col = nonwhite.sum(axis=0) >= size
    starts = [x for x in range(len(col)) if col[x] and (x == 0 or not
                                                         col[x - 1])]
    return starts


def _saved_model(config, tmp_path) -> str:
    """A checkpoint of the config's model at its seed-0 initialisation."""
    from rkd_mm.apis.latency import build_eval_model
    torch.manual_seed(0)
    model = build_eval_model(Config.fromfile(config))
    path = str(tmp_path / 'model.pth')
    torch.save(dict(meta=dict(iter=0), state_dict=model.state_dict()), path)
    return path


@pytest.mark.parametrize('config,panels', [(TINY_LR, 3), (TINY_RKD, 4)])
def test_show_dir_writes_one_titled_figure_per_test_image(
        config, panels, tiny_data_root, tmp_path):
    """tools/test.py --show-dir: one PNG per test image, named after it,
    directly under the folder; input | truth | student (| teacher)."""
    ckpt, show = _saved_model(config, tmp_path), str(tmp_path / 'show')
    run_tool(['tools/test.py', config, ckpt, '--work-dir',
              str(tmp_path / 'test'), '--show-dir', show, '--cfg-options',
              *data_root_options(tiny_data_root)])
    test_images = sorted(os.listdir(osp.join(tiny_data_root, 'img_dir',
                                             'test')))
    assert _pngs(show) == [osp.splitext(n)[0] + '.png' for n in test_images]
    figure = cv2.imread(osp.join(show, _pngs(show)[0]))
    # 64 px images enlarged 4x to 256 px panels
    assert len(_panel_starts(figure, 256)) == panels
    # the input panel is the test image itself, enlarged
    image = cv2.imread(osp.join(tiny_data_root, 'img_dir', 'test',
                                test_images[0]))
    x = _panel_starts(figure, 256)[0]
    ys = np.nonzero((figure[:, x] != 255).any(axis=1))[0]
    y = [v for v in ys if (figure[v:v + 256, x] != 255).any(axis=1).all()][0]
    assert np.array_equal(figure[y:y + 256, x:x + 256], enlarge(image, 256))


@pytest.mark.parametrize('config,teacher', [(TINY_CLS_LR, False),
                                            (TINY_CLS_RKD, True)])
def test_show_dir_draws_every_classification_image(
        config, teacher, tiny_fmnist_root, tmp_path):
    ckpt, show = _saved_model(config, tmp_path), str(tmp_path / 'show')
    run_tool(['tools/test.py', config, ckpt, '--work-dir',
              str(tmp_path / 'test'), '--show-dir', show, '--cfg-options',
              f'test_dataloader.dataset.data_root={tiny_fmnist_root}'])
    # the 12 in-memory test images: one figure each, none overwritten
    assert _pngs(show) == [f'{i:05d}.png' for i in range(12)]
    figure = cv2.imread(osp.join(show, '00000.png'))
    # a 28 px image enlarged 7x to 196 px, grey kept grey
    assert figure.shape[1] >= 196
    assert (figure[..., 0] == figure[..., 2]).mean() > 0.5
    lines = 4 if teacher else 3  # true, student input, pred, (teacher)
    line_h = sum(text_size('Ag', 0.6)[1:]) + 8
    assert figure.shape[0] == 8 + 196 + 8 + lines * line_h + 8
