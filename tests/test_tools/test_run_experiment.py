"""tools/run_experiment.py: the plan's configs, and a tiny end-to-end run."""
import csv
import importlib.util
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, TINY_LR, TINY_RKD, data_root_options, run_tool


def _load_runner():
    spec = importlib.util.spec_from_file_location(
        'run_experiment', osp.join(REPO, 'tools', 'run_experiment.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def test_set_lr_scale_changes_every_lr_step_and_refuses_hr_configs():
    cfg = Config.fromfile(TINY_LR)
    runner.set_lr_scale(cfg, 0.25)
    steps = [s for name in ('train_dataloader', 'val_dataloader',
                            'test_dataloader')
             for s in cfg[name].dataset.pipeline
             if s.type == 'rkd_mm.LRDownsample']
    assert len(steps) == 3
    assert all(s.scale_factor == 0.25 for s in steps)
    hr = Config.fromfile(osp.join(REPO, 'tests', 'data', 'configs',
                                  'tiny_fpn_r50_hr.py'))
    with pytest.raises(ValueError, match='LRDownsample'):
        runner.set_lr_scale(hr, 0.5)


def test_set_iters_rescales_schedule_intervals_and_warmup():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'))
    runner.set_iters(cfg, 200)
    assert cfg.train_cfg.max_iters == 200
    assert cfg.train_cfg.val_interval == 50  # 250 of 1000
    assert cfg.default_hooks.checkpoint.interval == 50
    assert cfg.model.distill_warmup_iters == 20  # 100 of 1000
    warm, poly = cfg.param_scheduler.student
    assert (warm.begin, warm.end) == (0, 10)
    assert (poly.begin, poly.end) == (10, 200)
    # a 1-iteration constant scheduler keeps a non-empty range
    const = cfg.param_scheduler.discriminator[0]
    assert const.end - const.begin >= 1


def test_plan_shares_one_protocol_across_methods(tmp_path):
    args = runner.parse_args([
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'),
        '--scales', '0.5', '0.25', '--methods', 'lr_only', 'kd', 'rkd',
        '--seeds', '0', '1', '--work-dir', str(tmp_path), '--iters', '100'
    ])
    _, runs = runner.build_plan(args)
    assert [r.name for r in runs[:3]] == [
        'lr_only_x0.5_s0', 'kd_x0.5_s0', 'rkd_x0.5_s0']
    assert len(runs) == 12
    by_name = {r.name: r for r in runs}
    kd, rkd = by_name['kd_x0.25_s1'].cfg, by_name['rkd_x0.25_s1'].cfg
    lr = by_name['lr_only_x0.25_s1'].cfg
    # KD: the recipe's losses, no discriminator; RKD: CONFIG's
    assert kd.model.discriminator is None
    assert 'loss_mmd' not in kd.model.distill_losses
    assert 'loss_mmd' in rkd.model.distill_losses
    assert kd.model.scale_factor == rkd.model.scale_factor == 0.25
    for cfg in (kd, rkd, lr):
        assert cfg.train_cfg.max_iters == 100
        assert cfg.randomness.seed == 1
    # everything but the distillation is CONFIG's
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler'):
        assert kd[key] == rkd[key]
    assert kd.model.student == rkd.model.student
    assert lr.test_dataloader.dataset.pipeline[1].scale_factor == 0.25


def test_plan_refuses_a_non_distiller_config(tmp_path):
    args = runner.parse_args([TINY_LR, '--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='distiller'):
        runner.build_plan(args)


def test_tiny_experiment_writes_table_plots_and_skips_finished_runs(
        tiny_data_root, tmp_path):
    work = str(tmp_path / 'exp')
    # lr_only and kd: the runner's two kinds of student config (KD is
    # CONFIG with a recipe's distillation, as RKD is CONFIG itself)
    cmd = ['tools/run_experiment.py', TINY_RKD, '--scales', '0.5',
           '--methods', 'lr_only', 'kd', '--seeds', '0',
           '--work-dir', work, '--latency-repeats', '3', '--cfg-options',
           *data_root_options(tiny_data_root)]
    first = run_tool(cmd)
    # the tiny config has no teacher checkpoint: the runner trains one
    assert osp.isfile(osp.join(work, 'runs', 'teacher', 'result.json'))
    with open(osp.join(work, 'results.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['method'] for r in rows] == ['teacher', 'lr_only', 'kd']
    for row in rows:
        assert 0.0 <= float(row['mIoU']) <= 100.0
        assert float(row['gflops']) > 0 and float(row['latency_ms']) > 0
    table = open(osp.join(work, 'results.md')).read()
    assert 'KD (Hinton)' in table and 'LR-only' in table
    for name in ('miou_vs_gflops.png', 'miou_vs_scale.png'):
        with open(osp.join(work, 'plots', name), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert 'all runs ETA' in first.stdout or 'mIoU' in first.stdout
    results = [osp.join(work, 'runs', n, 'result.json')
               for n in ('teacher', 'lr_only_x0.5_s0', 'kd_x0.5_s0')]
    stamps = [os.stat(p).st_mtime_ns for p in results]
    second = run_tool(cmd)
    assert second.stdout.count('finished earlier, skipped') == 3
    assert 'training' not in second.stdout
    assert [os.stat(p).st_mtime_ns for p in results] == stamps
    # another schedule in the same work dir would mix protocols in one
    # table: refused, naming the change and the fix, nothing rewritten
    third = run_tool(cmd + ['--iters', '2'], check=False)
    assert third.returncode != 0
    assert 'train_cfg.max_iters: 4 then, 2 now' in third.stderr
    assert '--work-dir' in third.stderr
    assert [os.stat(p).st_mtime_ns for p in results] == stamps


def test_progress_eta_uses_same_method_else_longest_known(tmp_path):
    def run(method):
        return runner.Run(f'{method}_x0.25_s0', method, 0.25, 0, None,
                          str(tmp_path))

    teacher, lr, kd, rkd = (run(m) for m in ('teacher', 'lr_only', 'kd',
                                             'rkd'))
    progress = runner.Progress([teacher, lr, kd, rkd])
    # while the teacher trains nothing says how long a student takes
    assert progress.estimate(lr, teacher, 2700.0) is None
    line = progress.line(teacher, 100, 2000, '0:40:00', 130.0)
    assert line.endswith('then 3 student run(s), ETA once the first has '
                         'started')
    progress.durations['teacher'] = [2700.0]
    # a running student's projection stands in for methods not run yet
    assert progress.estimate(rkd, lr, 300.0) == 300.0
    progress.durations['lr_only'] = [100.0, 140.0]
    assert progress.estimate(run('lr_only'), kd, 900.0) == 120.0  # own mean
    assert progress.estimate(rkd, kd, 300.0) == 300.0  # not the teacher's
    assert progress.estimate(rkd, kd, 50.0) == 120.0
    for finished in (teacher, lr):
        os.makedirs(finished.dir)
        with open(finished.result_file, 'w') as f:
            f.write('{}')
    line = progress.line(kd, 100, 400, '0:05:00', 75.0)
    # KD projects 75 / 100 * 400 = 300 s, so RKD is put at 300 s: 5 + 5 min
    assert line.endswith('run ETA 0:05:00, all runs ETA ~0:10:00')
