"""tools/train.py, tools/test.py and friends, run as a user runs them."""
import json
import os
import os.path as osp

import cv2
import pytest
import torch

from conftest import TINY_HR, TINY_LR, data_root_options, run_tool


def _train(config, work_dir, data_root, *extra, check=True):
    return run_tool(['tools/train.py', config, '--work-dir', work_dir,
                     '--cfg-options', *data_root_options(data_root),
                     *extra], check=check)


def _ckpt_iter(path):
    return torch.load(path, map_location='cpu',
                      weights_only=False)['meta']['iter']


@pytest.fixture(scope='module')
def trained(tiny_data_root, tmp_path_factory):
    """One tiny LR training run (4 iterations, val at 2 and 4)."""
    work_dir = str(tmp_path_factory.mktemp('train') / 'lr')
    proc = _train(TINY_LR, work_dir, tiny_data_root)
    return work_dir, proc


def test_train_writes_checkpoints_and_validates(trained):
    work_dir, proc = trained
    log = proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert _ckpt_iter(osp.join(work_dir, 'iter_4.pth')) == 4
    assert 'Iter(val) [2/2]' in log and 'mIoU' in log
    assert any(n.startswith('best_mIoU_iter_') for n in os.listdir(work_dir))


def test_test_tool_reports_writes_predictions_and_overlays(
        trained, tiny_data_root, tmp_path):
    work_dir, _ = trained
    out, show = str(tmp_path / 'preds'), str(tmp_path / 'show')
    proc = run_tool([
        'tools/test.py', TINY_LR, osp.join(work_dir, 'iter_4.pth'),
        '--work-dir', str(tmp_path / 'test'), '--out', out, '--show-dir',
        show, '--cfg-options', *data_root_options(tiny_data_root)
    ])
    log = proc.stdout + proc.stderr
    for name in ('background', 'scratch', 'crack', 'spot', 'stain', 'mIoU'):
        assert name in log
    assert '4/4' in log  # the progress bar reached the end
    preds = sorted(os.listdir(out))
    assert len(preds) == 4
    pred = cv2.imread(osp.join(out, preds[0]), cv2.IMREAD_UNCHANGED)
    assert pred.shape == (64, 64)  # LR student, scored at HR size
    # one figure per test image, named after it (the panels:
    # tests/test_engine/test_panel_visualization_hooks.py)
    figures = sorted(f for f in os.listdir(show) if f.endswith('.png'))
    assert figures == sorted(os.listdir(osp.join(tiny_data_root, 'img_dir',
                                                 'test')))
    metrics_files = [osp.join(r, f) for r, _, fs in
                     os.walk(str(tmp_path / 'test')) for f in fs
                     if f == 'test_metrics.json']
    metrics = json.load(open(metrics_files[0]))['metrics']
    assert 0 <= metrics['mIoU'] <= 100


def test_resume_continues_at_the_right_iteration(tiny_data_root, tmp_path):
    work_dir = str(tmp_path / 'resume')
    _train(TINY_HR, work_dir, tiny_data_root, 'train_cfg.max_iters=2')
    assert _ckpt_iter(osp.join(work_dir, 'iter_2.pth')) == 2
    proc = _train(TINY_HR, work_dir, tiny_data_root, 'train_cfg.max_iters=4',
                  '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed' in log.lower()
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu',
                      weights_only=False)
    assert ckpt['meta']['iter'] == 4
    # the LR schedule continued instead of restarting its warm-up
    warmup = ckpt['param_schedulers'][0]
    assert warmup['last_step'] == 4
    expected = 0.002 * (0.01 + 0.99 * 4 / warmup['total_iters'])
    assert abs(warmup['_last_value'][0] - expected) < 1e-9


def test_fresh_run_refuses_to_overwrite_a_finished_one(trained,
                                                       tiny_data_root):
    work_dir, _ = trained
    before = os.path.getmtime(osp.join(work_dir, 'iter_4.pth'))
    proc = _train(TINY_LR, work_dir, tiny_data_root, check=False)
    assert proc.returncode != 0
    assert 'already holds a run' in proc.stderr and '--resume' in proc.stderr
    assert os.path.getmtime(osp.join(work_dir, 'iter_4.pth')) == before


def test_resume_from_missing_checkpoint_is_explained(tiny_data_root,
                                                     tmp_path):
    proc = run_tool([
        'tools/train.py', TINY_LR, '--work-dir',
        str(tmp_path / 'w'), '--resume',
        str(tmp_path / 'nope.pth')
    ], check=False)
    assert proc.returncode != 0 and 'no such checkpoint' in proc.stderr


def test_test_with_missing_checkpoint_says_how_to_train(tmp_path):
    proc = run_tool(['tools/test.py', TINY_LR, str(tmp_path / 'x.pth')],
                    check=False)
    assert proc.returncode != 0
    assert 'not found' in proc.stderr and 'tools/train.py' in proc.stderr


def test_num_classes_mismatch_stops_before_training(tiny_data_root,
                                                    tmp_path):
    proc = _train(TINY_LR, str(tmp_path / 'nc'), tiny_data_root,
                  'model.decode_head.num_classes=3', check=False)
    assert proc.returncode != 0
    assert 'model.decode_head.num_classes=3' in proc.stderr
    assert 'has 5 classes' in proc.stderr
    assert not osp.exists(osp.join(str(tmp_path / 'nc'), 'iter_2.pth'))


def test_get_flops_reports_the_lr_input(tiny_data_root):
    proc = run_tool([
        'tools/analysis_tools/get_flops.py', TINY_LR, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    assert 'input shape: (3, 32, 32)' in proc.stdout
    assert 'GFLOPs/img' in proc.stdout


def test_generator_tool_writes_layout_and_preview(tmp_path):
    out = str(tmp_path / 'gen')
    preview = str(tmp_path / 'p.png')
    proc = run_tool([
        'tools/dataset_converters/generate_synthetic_defects.py', '--out',
        out, '--img-size', '64', '--num-train', '3', '--num-val', '1',
        '--num-test', '1', '--preview', preview
    ])
    assert 'train:' in proc.stdout
    assert len(os.listdir(osp.join(out, 'img_dir', 'train'))) == 3
    assert len(os.listdir(osp.join(out, 'ann_dir', 'test'))) == 1
    img = cv2.imread(preview)
    assert img.shape[1] == 4 * 64
    # refuses to overwrite
    again = run_tool([
        'tools/dataset_converters/generate_synthetic_defects.py', '--out',
        out
    ], check=False)
    assert again.returncode != 0 and 'never overwrites' in again.stderr


def test_test_tool_writes_numpy2_metric_scalars_as_json():
    """Under numpy 2 the metrics are ``np.float32`` (not a ``float``
    subclass as numpy 1's ``float64`` is); the JSON must still be written."""
    import importlib.util

    import numpy as np
    from conftest import REPO
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    metrics = dict(mIoU=np.float32(12.5), per_class=np.array([1.0, 2.0]))
    text = json.dumps(metrics, default=tool._plain)
    assert json.loads(text) == dict(mIoU=12.5, per_class=[1.0, 2.0])
    with pytest.raises(TypeError, match='object is not JSON'):
        json.dumps(dict(x=object()), default=tool._plain)


def test_test_tool_shows_and_dumps_a_classifier(tiny_fmnist_root, tmp_path):
    """--show-dir and --out on an mmpretrain config: rkd_mm's
    ClsPanelVisualizationHook draws each test image, DumpResults writes
    every prediction (the classification metric has no output_dir)."""
    import pickle

    from mmengine.config import Config

    from conftest import TINY_CLS_LR
    from rkd_mm.apis.latency import build_eval_model
    torch.manual_seed(0)
    model = build_eval_model(Config.fromfile(TINY_CLS_LR))
    ckpt = str(tmp_path / 'cls.pth')
    torch.save(dict(meta=dict(iter=0), state_dict=model.state_dict()), ckpt)
    out, show = str(tmp_path / 'preds'), str(tmp_path / 'show')
    proc = run_tool([
        'tools/test.py', TINY_CLS_LR, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--out', out, '--show-dir', show,
        '--cfg-options', f'test_dataloader.dataset.data_root='
        f'{tiny_fmnist_root}'])
    log = proc.stdout + proc.stderr
    assert 'accuracy' in log and 'macro_f1' in log
    with open(osp.join(out, 'predictions.pkl'), 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 12  # the 12 test images
    assert preds[0]['pred_score'].shape == (10, )
    drawn = [f for _, _, fs in os.walk(show) for f in fs
             if f.endswith('.png')]
    assert len(drawn) == 12
