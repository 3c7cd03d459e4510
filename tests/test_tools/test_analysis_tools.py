"""tools/analysis_tools/{benchmark,resolution_sweep,visualize_predictions}
and rkd_mm.apis.latency, on the tiny configs (in-process, for speed)."""
import csv
import json
import os
import os.path as osp
import statistics
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import (TINY_HR, TINY_LR, TINY_RKD, data_root_options,
                      load_tool)
from rkd_mm.utils.checkpoint import CheckpointMismatchError
from rkd_mm.apis.latency import (build_eval_model, latency_stats,
                                  time_interleaved)
from rkd_mm.apis.lr_scale import lr_scales


def analysis_tool(name: str):
    """Import tools/analysis_tools/<name>.py as a module."""
    return load_tool(f'analysis_tools/{name}.py')


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory, tiny_teacher_ckpt):
    """Random tiny checkpoints: teacher, LR-only, and an RKD distiller
    whose student has exactly the LR-only weights."""
    root = tmp_path_factory.mktemp('ckpts')
    torch.manual_seed(1)
    lr_only = build_eval_model(Config.fromfile(TINY_LR))
    lr_path = str(root / 'lr_only.pth')
    torch.save(dict(meta=dict(iter=4), state_dict=lr_only.state_dict()),
               lr_path)
    torch.manual_seed(2)
    rkd = build_eval_model(Config.fromfile(TINY_RKD))
    rkd.student.load_state_dict(lr_only.state_dict())
    rkd_path = str(root / 'rkd.pth')
    torch.save(dict(meta=dict(iter=4), state_dict=rkd.state_dict()),
               rkd_path)
    return dict(teacher=tiny_teacher_ckpt, lr_only=lr_path, rkd=rkd_path)


def test_latency_stats_against_the_statistics_module():
    seconds = [0.004, 0.001, 0.010, 0.002, 0.003, 0.0025]
    stats = latency_stats(seconds, batch_size=4)
    ms = [s * 1000 for s in seconds]
    q1, q2, q3 = statistics.quantiles(ms, n=4, method='inclusive')
    assert stats['median_ms'] == pytest.approx(2.75)
    assert stats['p25_ms'] == pytest.approx(q1)
    assert stats['p75_ms'] == pytest.approx(q3)
    assert stats['iqr_ms'] == pytest.approx(q3 - q1)
    assert stats['min_ms'] == pytest.approx(1.0)
    assert stats['mean_ms'] == pytest.approx(sum(ms) / 6)
    assert stats['fps'] == pytest.approx(4 / 0.00275)
    assert stats['n'] == 6
    with pytest.raises(ValueError, match='at least one'):
        latency_stats([])


def test_time_interleaved_warms_up_then_alternates():
    calls = []
    times = time_interleaved(
        dict(a=lambda: calls.append('a'),
             b=lambda: (calls.append('b'), time.sleep(0.003))),
        warmup=2, repeats=3)
    assert calls == ['a', 'b'] * 5  # 2 untimed rounds, then 3 timed
    assert len(times['a']) == len(times['b']) == 3
    assert min(times['b']) >= 0.003 > max(times['a'])
    with pytest.raises(ValueError, match='repeats'):
        time_interleaved(dict(a=lambda: None), repeats=0)


def test_benchmark_distiller_times_teacher_at_hr_student_at_lr(
        tiny_data_root, tmp_path):
    out = str(tmp_path / 'bench.json')
    analysis_tool('benchmark').main([
        TINY_RKD, '--warmup', '1', '--repeats', '3', '--batch-size', '2',
        '--threads', '1', '--out', out, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    result = json.load(open(out))
    for key in ('config', 'checkpoint', 'models', 'batch_size', 'warmup',
                'repeats', 'weights', 'latency_ratio', 'latency_ratio_iqr',
                'flops_ratio', 'speedup_vs_flops', 'machine'):
        assert key in result, key
    teacher, student = result['models']['teacher'], result['models']['student']
    assert teacher['input_shape'] == [3, 64, 64]
    assert student['input_shape'] == [3, 32, 32]
    for m in (teacher, student):
        assert m['n'] == 3
        assert 0 < m['min_ms'] <= m['p25_ms'] <= m['median_ms'] <= \
            m['p75_ms']
        assert m['fps'] == pytest.approx(2 * 1000 / m['median_ms'])
    assert result['flops_ratio'] == pytest.approx(
        teacher['gflops'] / student['gflops'])
    assert result['latency_ratio'] > 0
    assert result['speedup_vs_flops'] == pytest.approx(
        result['latency_ratio'] / result['flops_ratio'])
    assert result['weights'] == 'random'
    assert result['machine']['torch_threads'] == 1
    assert {'cpu_model', 'platform', 'loadavg_1_5_15'} <= set(
        result['machine'])


def test_benchmark_plain_config_loads_the_checkpoint(tiny_data_root, ckpts,
                                                     tmp_path):
    bench = analysis_tool('benchmark')
    result = bench.main([
        TINY_LR, ckpts['lr_only'], '--warmup', '0', '--repeats', '2',
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    assert list(result['models']) == ['model']
    assert result['models']['model']['input_shape'] == [3, 32, 32]
    assert result['weights'] == 'checkpoint'
    # the weights really are the checkpoint's
    model = build_eval_model(Config.fromfile(TINY_LR), ckpts['lr_only'])
    saved = torch.load(ckpts['lr_only'], weights_only=False)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    with pytest.raises(SystemExit, match='not found'):
        bench.main([TINY_LR, str(tmp_path / 'missing.pth')])


def test_eval_models_load_checkpoints_strictly(ckpts):
    """benchmark.py and visualize_predictions.py load through
    build_eval_model: strict, and a distiller's checkpoint in its
    student's plain config is that student."""
    model = build_eval_model(Config.fromfile(TINY_LR), ckpts['rkd'])
    saved = torch.load(ckpts['lr_only'], weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    with pytest.raises(CheckpointMismatchError,
                       match=r'lr_only.pth does not fit the model of .*'
                       r'tiny_rkd.py: 198 missing keys'):
        build_eval_model(Config.fromfile(TINY_RKD), ckpts['lr_only'])


def test_resolution_sweep_writes_one_row_per_scale(tiny_data_root, ckpts,
                                                   tmp_path):
    sweep = analysis_tool('resolution_sweep')
    scales = ['0.25', '0.5']
    lr_csv, rkd_csv = str(tmp_path / 'lr.csv'), str(tmp_path / 'rkd.csv')
    lr_rows = sweep.main([
        TINY_LR, ckpts['lr_only'], '--scales', *scales, '--work-dir',
        str(tmp_path / 'lr'), '--out', lr_csv, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    rkd_rows = sweep.main([
        TINY_RKD, ckpts['rkd'], '--scales', '0.25', '--work-dir',
        str(tmp_path / 'rkd'), '--out', rkd_csv, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    with open(lr_csv) as f:
        rows = list(csv.DictReader(f))
    assert [float(r['scale']) for r in rows] == [0.25, 0.5]
    assert [(int(r['input_h']), int(r['input_w'])) for r in rows] == \
        [(16, 16), (32, 32)]
    assert 'mIoU' in rows[0] and 'IoU.scratch' in rows[0]
    assert 0 <= float(rows[0]['mIoU']) <= 100
    with open(rkd_csv) as f:
        assert [r['scale'] for r in csv.DictReader(f)] == ['0.25']
    # same student weights, at x0.25 (not the configs' own x0.5): the
    # distiller and the LR-only config (both: the student's LR data
    # preprocessor at test_scale_factor) give the very same scores
    a, b = lr_rows[0], rkd_rows[0]
    assert (a['input_h'], a['input_w']) == (b['input_h'], b['input_w'])
    for key in ('mIoU', 'aAcc', 'IoU.background', 'IoU.crack'):
        assert a[key] == pytest.approx(b[key], abs=1e-6, nan_ok=True)


def test_resolution_sweep_loads_checkpoints_strictly(tiny_data_root, ckpts,
                                                     tmp_path):
    sweep = analysis_tool('resolution_sweep')
    options = ['--scales', '0.5', '--cfg-options',
               *data_root_options(tiny_data_root)]
    # MMEngine loads non-strictly: a plain checkpoint under a distiller
    # config is refused before it could be scored with random weights
    with pytest.raises(SystemExit, match='no "student." keys'):
        sweep.main([TINY_RKD, ckpts['lr_only'], '--work-dir',
                    str(tmp_path / 'refused'), *options])
    # a distiller checkpoint under its student's plain config: the student
    rows = [
        sweep.main([TINY_LR, ckpts[name], '--work-dir', str(tmp_path / name),
                    *options])[0] for name in ('rkd', 'lr_only')
    ]
    assert rows[0]['mIoU'] == pytest.approx(rows[1]['mIoU'])


def test_resolution_sweep_explains_a_config_without_a_scale():
    from rkd_mm.apis import resolution_sweep as sweep
    with pytest.raises(ValueError, match='sees the HR image'):
        sweep.config_at_scale(Config.fromfile(TINY_HR), 0.5)
    with pytest.raises(ValueError, match='out of range'):
        sweep.config_at_scale(Config.fromfile(TINY_LR), 1.5)
    # only the test scale changes; training's stays
    for path in (TINY_RKD, TINY_LR):
        cfg = sweep.config_at_scale(Config.fromfile(path), 0.25)
        assert lr_scales(cfg) == ((0.5, ), 0.25, 1.0)


def test_visualize_writes_one_png_per_image_with_all_panels(
        tiny_data_root, ckpts, tmp_path):
    vis = analysis_tool('visualize_predictions')
    size = 64  # the tiny data are 64x64: panels are not resized
    options = data_root_options(tiny_data_root)
    paths = vis.main([
        '--teacher', TINY_HR, ckpts['teacher'], '--lr-only', TINY_LR,
        ckpts['lr_only'], '--rkd', TINY_RKD, ckpts['rkd'], '--num', '2',
        '--panel-size', str(size), '--out-dir', str(tmp_path / 'all'),
        '--cfg-options', *options
    ])
    assert sorted(os.listdir(tmp_path / 'all')) == ['00000.png',
                                                    '00001.png']
    img = cv2.imread(paths[0])[..., ::-1]  # RGB
    band = (img.shape[0] - size) // 2  # title band above, legend below
    assert img.shape[1] == 6 * size
    panels = [img[band:band + size, i * size:(i + 1) * size]
              for i in range(6)]
    # panel 3: the ground truth in the data set's palette
    gt = cv2.imread(osp.join(tiny_data_root, 'ann_dir', 'test', '00000.png'),
                    cv2.IMREAD_UNCHANGED)
    palette = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75],
                        [255, 225, 25], [0, 130, 200]], np.uint8)
    assert np.array_equal(panels[2], palette[gt])
    # panel 1: the HR image itself (grey)
    hr = cv2.imread(osp.join(tiny_data_root, 'img_dir', 'test', '00000.png'))
    assert np.array_equal(panels[0], hr[..., ::-1])
    # LR-only and RKD students hold the same weights and see the same LR
    # pixels, so their panels agree
    assert np.array_equal(panels[4], panels[5])

    # without --lr-only: HR, LR, truth, teacher, RKD
    vis.main([
        '--teacher', TINY_HR, ckpts['teacher'], '--rkd', TINY_RKD,
        ckpts['rkd'], '--num', '1', '--panel-size', '48', '--out-dir',
        str(tmp_path / 'two'), '--cfg-options', *options
    ])
    img = cv2.imread(str(tmp_path / 'two' / '00000.png'))
    assert img.shape[1] == 5 * 48


def test_visualize_refuses_a_missing_checkpoint(tmp_path):
    vis = analysis_tool('visualize_predictions')
    with pytest.raises(SystemExit, match='not found'):
        vis.main(['--teacher', TINY_HR, str(tmp_path / 'none.pth'),
                  '--out-dir', str(tmp_path)])


def test_compare_resolutions_pairs_students_seed_by_seed(
        tiny_data_root, ckpts, tmp_path):
    """Two students (here: the same weights under the LR-only and the
    distiller config, one 'seed' per checkpoint copy) at two scales: the
    table holds each at each scale and the paired difference to the
    reference, which is exactly 0 for identical weights."""
    import shutil
    compare = analysis_tool('compare_resolutions')
    for seed in (0, 1):
        shutil.copy(ckpts['lr_only'], tmp_path / f'lr_s{seed}.pth')
        shutil.copy(ckpts['rkd'], tmp_path / f'rkd_s{seed}.pth')
    rows = compare.main([
        '--scales', '0.5', '0.25', '--seeds', '0', '1',
        '--student', 'lr', TINY_LR, str(tmp_path / 'lr_s{seed}.pth'),
        '--student', 'rkd', TINY_RKD, str(tmp_path / 'rkd_s{seed}.pth'),
        '--reference', '0.5=lr', '0.25=lr',
        '--work-dir', str(tmp_path / 'out'), '--cfg-options',
        *data_root_options(tiny_data_root)])
    assert [(r['scale'], r['student']) for r in rows] == [
        (0.5, 'lr'), (0.5, 'rkd'), (0.25, 'lr'), (0.25, 'rkd')]
    assert all(r['n'] == 2 and r['sd'] == 0 for r in rows)
    for row in rows[1::2]:
        assert row['vs'] == 'lr'
        assert row['diff']['mean'] == 0 and row['diff']['n'] == 2
    text = (tmp_path / 'out' / 'compare_resolutions.md').read_text()
    assert '×0.25' in text and '(reference)' in text
