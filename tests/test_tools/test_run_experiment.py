"""tools/run_experiment.py: the plan's configs, latency grouping, and a
tiny end-to-end run (statistics: test_run_experiment_stats.py)."""
import copy
import csv
import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import (REPO, TINY_CLS_RKD, TINY_LR, TINY_RKD,
                      data_root_options, load_tool, run_tool)
from rkd_mm.utils.lr_scale import lr_scales, set_lr_scale
from rkd_mm.utils.machine import cpu_numerics, numerics_key


runner = load_tool('run_experiment.py')


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
    # KD: the recipe's losses, no discriminator, no connector; RKD: CONFIG's
    assert kd.model.discriminator is None and 'connectors' not in kd.model
    assert set(kd.model.distill_losses) == {'loss_kd'}
    assert rkd.model.distill_losses.loss_pair.type == \
        'rkd_mm.PixelAffinityLoss'
    assert rkd.model.discriminator.type == 'rkd_mm.PatchDiscriminator'
    assert lr_scales(kd) == lr_scales(rkd) == lr_scales(lr) == \
        ((0.25, ), 0.25, 1.0)
    for cfg in (kd, rkd, lr):
        assert cfg.train_cfg.max_iters == 100
        assert cfg.randomness.seed == 1
    # everything but the distillation is CONFIG's
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler'):
        assert kd[key] == rkd[key]
    assert kd.model.student == rkd.model.student
    assert lr.model.data_preprocessor.scale_factor == 0.25


def test_plan_makes_the_reference_models(tmp_path):
    """lr_ceiling: the teacher's config on the LR view brought back to HR
    size, with the teacher's schedule; hr_student: the LR-only config at
    scale 1, one run per seed for every scale. Both train in a shared
    folder named by their config's hash."""
    args = runner.parse_args([
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'),
        '--scales', '0.5', '0.25', '--methods', 'lr_only', 'lr_ceiling',
        'hr_student', '--seeds', '0', '1', '--work-dir', str(tmp_path),
        '--iters', '100', '--reference-dir', str(tmp_path / 'refs')])
    _, runs = runner.build_plan(args)
    by_name = {r.name: r for r in runs}
    assert sorted(by_name) == sorted(
        [f'{m}_x{s:g}_s{seed}' for m in ('lr_only', 'lr_ceiling')
         for s in (0.5, 0.25) for seed in (0, 1)] +
        [f'hr_student_x1_s{seed}' for seed in (0, 1)])
    ceiling = by_name['lr_ceiling_x0.25_s1']
    teacher = Config.fromfile(
        osp.join(REPO, 'configs', 'teachers', 'defect_seg_r50_hr.py'))
    dp = ceiling.cfg.model.data_preprocessor
    assert (dp.type, dp.scale_factor, dp.upsample_back) == (
        'rkd_mm.LRSegDataPreProcessor', 0.25, 'bilinear')
    assert ceiling.cfg.model.backbone == teacher.model.backbone
    assert ceiling.cfg.train_cfg.max_iters == teacher.train_cfg.max_iters
    assert ceiling.cfg.randomness.seed == 1
    hr = by_name['hr_student_x1_s0']
    assert hr.cfg.model.data_preprocessor.scale_factor == 1.0
    assert hr.cfg.train_cfg.max_iters == 100
    assert by_name['lr_only_x0.5_s0'].cfg.model.backbone == \
        hr.cfg.model.backbone
    assert osp.dirname(ceiling.train_dir) == str(tmp_path / 'refs')
    assert osp.basename(ceiling.train_dir).startswith(
        'defect_seg_r50_hr_lr_ceiling_x0.25_s1_')
    # another seed or scale is another folder; the same plan the same one
    assert len({r.train_dir for r in runs if r.method != 'lr_only'}) == 6
    _, again = runner.build_plan(args)
    assert [getattr(r, 'train_dir', None) for r in again] == \
        [getattr(r, 'train_dir', None) for r in runs]


def test_plan_refuses_a_non_distiller_config(tmp_path):
    args = runner.parse_args([TINY_LR, '--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='distiller'):
        runner.build_plan(args)


def test_tiny_experiment_writes_table_plots_and_skips_finished_runs(
        tiny_data_root, tmp_path):
    work = str(tmp_path / 'exp')
    # lr_only and kd: the runner's two kinds of student config (KD is
    # CONFIG with a recipe's distillation, as RKD is CONFIG itself)
    # --jobs 2: the two students train side by side, 1 thread each, after
    # KD's teacher cache was filled by 2 processes (a user's config with a
    # disk cache, on ours)
    config = tmp_path / 'tiny_rkd_cached.py'
    config.write_text(
        f'_base_ = [{TINY_RKD!r}]\n'
        'model = dict(teacher_cache=dict(_delete_=True, '
        f'cache_dir={str(tmp_path / "cache")!r}))\n')
    cmd = ['tools/run_experiment.py', str(config), '--scales', '0.5',
           '--methods', 'lr_only', 'kd', '--seeds', '0', '--jobs', '2',
           '--work-dir', work, '--latency-repeats', '3', '--cfg-options',
           # 4 iterations x 8 draw as many samples as there are variants
           # (8 images x 4 flips): filling first pays
           'train_dataloader.batch_size=8',
           *data_root_options(tiny_data_root)]
    first = run_tool(cmd)
    assert '2 student run(s), 2 at a time' in first.stdout
    assert 'kd_x0.5_s0: filling the teacher cache beside it (1 process x ' \
        '1 thread(s))' in first.stdout
    assert 'kd_x0.5_s0: teacher cache filled' in first.stdout
    # the fill and KD's training wrote the same entries (one per variant:
    # KD takes the HR logits only), KD's log shows what it read
    entries = [f for _, _, fs in os.walk(tmp_path / 'cache') for f in fs
               if f.endswith('.pt')]
    assert len(entries) == 8 * 4
    kd_log = open(osp.join(work, 'runs', 'kd_x0.5_s0', 'run.log')).read()
    assert re.findall(r'teacher_cache.hit_rate: ([0-9.]+)', kd_log)
    # the tiny config has no teacher checkpoint: the runner trains one
    assert osp.isfile(osp.join(work, 'runs', 'teacher', 'result.json'))
    with open(osp.join(work, 'results.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['method'] for r in rows] == ['teacher', 'lr_only', 'kd']
    for row in rows:
        assert row['metric'] == 'mIoU' and row['n'] == '1'
        assert 0.0 <= float(row['mean']) <= 100.0 and row['std'] == ''
        assert float(row['gflops']) > 0 and float(row['latency_ms']) > 0
    teacher_row, lr_row, kd_row = rows
    # the val score that picked each trained run's checkpoint (choose on
    # val; the tiny teacher is trained by the runner here, so it has one)
    for row in rows:
        assert 0.0 <= float(row['val_mean']) <= 100.0
    # one seed: the single paired difference, no interval
    assert float(kd_row['diff_mean']) == pytest.approx(
        float(kd_row['mean']) - float(lr_row['mean']))
    assert kd_row['diff_lo'] == '' and kd_row['diff_n'] == '1'
    # one architecture, one latency: LR-only and KD deploy the same student
    # at the same size, measured once in the teacher's session
    assert lr_row['latency_ms'] == kd_row['latency_ms']
    assert lr_row['input'] == kd_row['input'] == '32x32'
    assert teacher_row['input'] == '64x64'
    cost = json.load(open(osp.join(work, 'cost.json')))
    assert len(cost['models']) == 2 and cost['session']['repeats'] == 3
    table = open(osp.join(work, 'results.md')).read()
    assert 'KD (Hinton)' in table and 'LR-only' in table
    assert '1 seed (indication)' in table and '(1 seed)' in table
    for name in ('miou_vs_gflops.png', 'miou_vs_scale.png'):
        with open(osp.join(work, 'plots', name), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert 'all runs ETA' in first.stdout or 'mIoU' in first.stdout
    results = [osp.join(work, 'runs', n, 'result.json')
               for n in ('teacher', 'lr_only_x0.5_s0', 'kd_x0.5_s0')]
    # each student records the threads it was given, the same for both
    threads = {json.load(open(p))['train_threads'] for p in results[1:]}
    assert len(threads) == 1 and threads.pop() >= 1
    stamps = [os.stat(p).st_mtime_ns for p in results]
    second = run_tool(cmd)
    assert second.stdout.count('finished earlier, skipped') == 3
    assert 'training' not in second.stdout
    assert 'measuring CPU latency' not in second.stdout  # cost.json reused
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


def test_latency_plan_measures_one_model_per_architecture_and_size(
        tiny_data_root, tmp_path):
    args = runner.parse_args([
        TINY_RKD, '--scales', '0.5', '0.25', '--methods', 'lr_only', 'kd',
        'rkd', '--seeds', '0', '1', '--work-dir', str(tmp_path),
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    teacher, students = runner.build_plan(args)
    runs = [teacher, *students]
    assert runner.latency_plan(runs) == ({}, {})  # nothing finished
    for run in runs:  # as execute() leaves them
        os.makedirs(run.dir)
        run.cfg.dump(run.config_file)
        with open(run.result_file, 'w') as f:
            f.write('{}')
    models, cells = runner.latency_plan(runs)
    # teacher at HR, the one student at x0.5 and at x0.25: three timings
    # for seven (method, scale) cells
    assert len(models) == 3 and len(cells) == 7
    for scale, size in ((0.5, 32), (0.25, 16)):
        keys = {cells[(m, scale)] for m in ('lr_only', 'kd', 'rkd')}
        assert len(keys) == 1
        assert models[keys.pop()][1] == (3, size, size)
    assert models[cells[('teacher', 1.0)]][1] == (3, 64, 64)
    assert cells[('kd', 0.5)] != cells[('kd', 0.25)]


def test_max_seeds_runs_a_method_on_its_first_seeds_only(
        tiny_data_root, tmp_path):
    args = runner.parse_args([
        TINY_RKD, '--methods', 'lr_only', 'kd', 'rkd', '--seeds', '3', '1',
        '2', '--max-seeds', 'kd=1', '--work-dir', str(tmp_path),
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    _, students = runner.build_plan(args)
    seeds = {}
    for run in students:
        seeds.setdefault(run.method, []).append(run.seed)
    assert seeds == {'lr_only': [3, 1, 2], 'kd': [3], 'rkd': [3, 1, 2]}


def test_architecture_key_ignores_weight_init_only():
    from rkd_mm.utils.latency import architecture_key
    student = Config.fromfile(TINY_LR).model
    key = architecture_key(student, (3, 32, 32))
    other = student.copy()
    other.backbone = dict(student.backbone, init_cfg=dict(
        type='Pretrained', checkpoint='x.pth'))
    assert architecture_key(other, [3, 32, 32]) == key
    assert architecture_key(student, (3, 16, 16)) != key
    deeper = student.copy()
    deeper.backbone = dict(student.backbone, depth=34)
    assert architecture_key(deeper, (3, 32, 32)) != key


def _fake_stats(ms):
    return dict(median_ms=ms, iqr_ms=0.1, input_shape=[3, 8, 8], gflops=0.1,
                params=1000)


def test_cost_table_times_all_models_in_one_session(tmp_path, monkeypatch):
    """Every row takes its model's number; the cache is reused only when it
    holds all models, else all are measured again together."""
    import rkd_mm.utils.latency as latency
    runs = [runner.Run(f'{m}_x0.5_s{s}', m, 0.5, s, None, str(tmp_path))
            for m in ('lr_only', 'kd', 'rkd') for s in (0, 1)]
    keys = {'lr_only': 'aaa', 'kd': 'aaa', 'rkd': 'aaa'}
    sessions = []

    def plan(runs):
        cells = {(r.method, r.scale): keys[r.method] for r in runs}
        return {k: ({}, (3, 8, 8)) for k in cells.values()}, cells

    def measure(models, **kwargs):
        sessions.append(sorted(models))
        return {k: _fake_stats(7.3 + len(sessions)) for k in models}

    monkeypatch.setattr(runner, 'latency_plan', plan)
    monkeypatch.setattr(latency, 'benchmark_models', measure)
    costs = runner.cost_table(runs, str(tmp_path), repeats=5)
    assert sessions == [['aaa']]
    assert {c['latency_ms'] for c in costs.values()} == {8.3}
    assert runner.cost_table(runs, str(tmp_path), 5) == costs  # cached
    assert len(sessions) == 1
    cached = json.load(open(tmp_path / 'cost.json'))
    assert cached['models']['aaa']['used_by'] == [
        'kd@0.5', 'lr_only@0.5', 'rkd@0.5']
    # a new architecture: everything is timed again, in one session
    keys['rkd'] = 'bbb'
    costs = runner.cost_table(runs, str(tmp_path), 5)
    assert sessions[-1] == ['aaa', 'bbb']
    assert costs['lr_only@0.5']['latency_ms'] == costs['rkd@0.5'][
        'latency_ms'] == 9.3
    # other timing settings: timed again
    runner.cost_table(runs, str(tmp_path), 7)
    assert len(sessions) == 3


def test_plan_transplants_the_dense_crkd_recipe_at_any_scale(tmp_path):
    from mmengine.registry import init_default_scope

    from rkd_mm.registry import MODELS
    args = runner.parse_args([
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'),
        '--scales', '0.25', '--methods', 'rkd_dense', '--work-dir',
        str(tmp_path)
    ])
    _, runs = runner.build_plan(args)
    cfg = runs[0].cfg
    assert runs[0].name == 'rkd_dense_x0.25_s0'
    assert cfg.model.distill_losses.loss_pair.type == \
        'rkd_mm.PixelAffinityLoss'
    init_default_scope('mmseg')
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model)
    # the x0.5 recipe's connector follows the run's scale: 8x8 -> 32x32
    assert model.connectors['feat'].scale == 4


@pytest.mark.parametrize('bad', [
    ['--scales', '25'], ['--scales', '0'], ['--scales', '1.5'],
    ['--iters', '0'], ['--iters', '-5'], ['--seeds', '-1'],
    ['--seeds', '0', '0'], ['--methods', 'kd', 'kd'],
    ['--latency-repeats', '0'], ['--jobs', '0'], ['--max-seeds', 'kd=0'],
    ['--max-seeds', 'fitnet=1'], ['--max-seeds', 'kd']])
def test_bad_arguments_are_refused_before_anything_runs(bad, capsys):
    """A typo stops the runner at argument parsing, naming the argument
    (a first run would otherwise train the teacher before noticing)."""
    with pytest.raises(SystemExit) as exit_info:
        runner.parse_args([TINY_RKD, *bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert bad[0] in err
    if bad == ['--scales', '25']:
        assert 'did you mean 0.25' in err


def test_unknown_cfg_option_is_refused_with_the_nearest_key(tmp_path):
    args = runner.parse_args([TINY_RKD, '--work-dir', str(tmp_path),
                              '--cfg-options', 'randomnes.seed=5'])
    with pytest.raises(ValueError, match="did you mean 'randomness'"):
        runner.build_plan(args)


def test_target_ratio_per_method(tmp_path):
    """``--target-ratio 0.1 kd=0.3``: KD at 0.3, every other distiller
    method at 0.1, LR-only uncalibrated; a method without any R, a method
    not planned, or R <= 0 is refused before anything runs."""
    base = [TINY_RKD, '--methods', 'lr_only', 'kd', 'cwd', '--work-dir',
            str(tmp_path)]
    args = runner.parse_args(base + ['--target-ratio', '0.1', 'kd=0.3'])
    assert args.target_ratio == {'kd': 0.3, 'cwd': 0.1}
    _, runs = runner.build_plan(args)
    assert {r.method: r.cfg.get('calibration', {}).get('target_ratio')
            for r in runs} == {'lr_only': None, 'kd': 0.3, 'cwd': 0.1}
    for bad in (['kd=0.3'], ['0.1', 'fitnet=0.3'], ['0'], ['kd=x']):
        with pytest.raises(SystemExit):
            runner.parse_args(base + ['--target-ratio', *bad])


def test_target_ratio_calibrates_each_method_once_for_all_seeds(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    """--target-ratio R: the weights of a (method, scale) come from one
    calibration (seed 0, the trained teacher) shared by all its seeds, kept
    in WORK_DIR/calibration/ so that a rerun plans the same protocol; and
    they satisfy the rule (|g_term| = R |g_task| at that point)."""
    work = str(tmp_path)
    args = runner.parse_args([
        TINY_RKD, '--scales', '0.5', '--methods', 'lr_only', 'kd',
        '--seeds', '0', '1', '--work-dir', work, '--target-ratio', '0.2',
        '--cfg-options', *data_root_options(tiny_data_root)])
    _, runs = runner.build_plan(args)
    kd = [r for r in runs if r.method == 'kd']
    assert all(r.cfg.calibration.target_ratio == 0.2 for r in kd)
    assert all('calibration' not in r.cfg for r in runs
               if r.method == 'lr_only')
    runner.calibrate(kd[0], runs, tiny_teacher_ckpt, work)
    weights = runner.calibration_weights(work, 'kd', 0.5)
    key = 'model.distill_losses.loss_kd.loss_weight'
    assert list(weights) == [key] and weights[key] > 0
    assert all(r.cfg.model.distill_losses.loss_kd.loss_weight ==
               weights[key] for r in kd)
    _, again = runner.build_plan(args)  # a rerun reads the calibration
    assert all(r.cfg.model.distill_losses.loss_kd.loss_weight ==
               weights[key] for r in again if r.method == 'kd')
    cfg_file = str(tmp_path / 'kd.py')
    kd[0].cfg.dump(cfg_file)
    check = load_tool('analysis_tools/loss_gradients.py').main([
        cfg_file, '--batches', '8', '--seed', '0', '--device', 'cpu',
        '--cfg-options', f'model.teacher_ckpt={tiny_teacher_ckpt}'])
    assert check['terms']['distill.loss_kd']['ratio'] == pytest.approx(
        0.2, rel=1e-3)


def test_gradient_table_reports_each_term_at_the_weight_used(tmp_path):
    """A calibrated term shows its new weight and the ratio rescaled to it
    (R); a term left at its weight shows its own ratio and the reason."""
    os.makedirs(tmp_path / 'calibration')
    terms = {
        'task': dict(ratio=1.0, cos_task=1.0),
        'distill.loss_kd': dict(loss_weight=1.0, new_weight=0.05, ratio=2.0,
                                cos_task=0.9),
        'distill.loss_adv': dict(loss_weight=0.1, ratio=0.004, cos_task=0.0,
                                 note='adversarial: left as it is')}
    with open(runner.calibration_file(str(tmp_path), 'rkd', 0.25), 'w') as f:
        json.dump(dict(target_ratio=0.1, terms=terms), f)
    rows = [dict(method='lr_only', label='LR-only', scale=0.25),
            dict(method='rkd', label='RKD (ours)', scale=0.25),
            dict(method='kd', label='KD', scale=0.25)]  # not calibrated
    lines = runner.gradient_table_lines(rows, str(tmp_path))
    assert len(lines) == 4
    assert lines[2] == ('| RKD (ours) | ×0.25 | `distill.loss_kd` | 0.1 | '
                        '0.05 | 0.100 | +0.900 |  |')
    assert lines[3].startswith('| RKD (ours) | ×0.25 | `distill.loss_adv` '
                               '| 0.1 | 0.1 | 0.004 | +0.000 | adversarial')
    assert runner.gradient_table_lines(rows[:1], str(tmp_path)) == []


def test_threads_note_warns_when_a_table_mixes_thread_counts(capsys):
    rows = [dict(method='teacher', scale=1.0, train_threads=[]),
            dict(method='lr_only', scale=0.25, train_threads=[1]),
            dict(method='kd', scale=0.25, train_threads=[1])]
    assert runner.threads_note(rows) == ('Students trained with 1 torch '
                                         'thread(s) each.\n')
    rows[2]['train_threads'] = [1, 2]
    note = runner.threads_note(rows)
    assert note.startswith('WARNING') and "'kd x0.25': [1, 2]" in note
    assert 'WARNING' in capsys.readouterr().out
    assert runner.threads_note(rows[:1]) == ''


def _plan(tmp_path, methods, seeds):
    runs = []
    for seed in seeds:
        for method in methods:
            cfg = Config(dict(calibration=dict(target_ratio=0.1))
                         if method != 'lr_only' else {})
            runs.append(runner.Run(f'{method}_x0.25_s{seed}', method, 0.25,
                                   seed, cfg, str(tmp_path)))
    return runs


def test_jobs_run_students_side_by_side_after_every_calibration(
        tmp_path, monkeypatch):
    """--jobs 2: calibrations first, one per (method, scale), then the
    fills are planned, then the runs two at a time, each told its threads
    (OMP_NUM_THREADS if set)."""
    import threading
    import time
    events, lock = [], threading.Lock()
    live, most = [0], [0]

    def calibrate(run, runs, teacher_ckpt, work_root, threads=None):
        events.append(('calibrate', run.method, threads))

    def execute(run, progress, teacher_ckpt=None, threads=None):
        with lock:
            events.append(('start', run.name, teacher_ckpt, threads))
            live[0] += 1
            most[0] = max(most[0], live[0])
        time.sleep(0.2)
        with lock:
            live[0] -= 1
        return progress.finish(run, 0.2)

    def plan_fills(todo, teacher_ckpt):
        events.append(('fill', len(todo)))
        return []

    monkeypatch.setattr(runner, 'calibrate', calibrate)
    monkeypatch.setattr(runner, 'execute', execute)
    monkeypatch.setattr(runner, 'plan_fills', plan_fills)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    students = _plan(tmp_path, ['lr_only', 'kd', 'rkd'], [0, 1])
    progress = runner.Progress(students, jobs=2)
    runner.run_parallel(students, progress, 'teacher.pth', str(tmp_path), 2)
    assert [e[:2] for e in events[:2]] == [('calibrate', 'kd'),
                                           ('calibrate', 'rkd')]
    assert events[2] == ('fill', 6)
    assert all(e[0] == 'start' for e in events[3:]) and len(events) == 9
    assert most[0] == 2 and progress.done == 6
    starts = {e[1]: e for e in events[3:]}
    assert starts['lr_only_x0.25_s0'][2] is None  # LR-only: no teacher
    assert starts['kd_x0.25_s1'][2] == 'teacher.pth'
    assert {e[-1] for e in events if e[0] != 'fill'} == {1}
    monkeypatch.delenv('OMP_NUM_THREADS')
    monkeypatch.setattr(runner.torch, 'get_num_threads', lambda: 4)
    assert runner.threads_per_job(2) == 2 and runner.threads_per_job(8) == 1


def test_jobs_a_failed_run_starts_no_new_one_and_is_raised(
        tmp_path, monkeypatch):
    started = []

    def execute(run, progress, teacher_ckpt=None, threads=None):
        started.append(run.name)
        if run.method == 'kd':
            raise RuntimeError('kd broke')
        import time
        time.sleep(0.3)  # the other worker is still running this one

    monkeypatch.setattr(runner, 'execute', execute)
    students = _plan(tmp_path, ['lr_only', 'kd', 'fitnet', 'cwd'], [0])
    for run in students:
        run.cfg = Config()  # nothing to calibrate
    with pytest.raises(RuntimeError, match='kd broke'):
        runner.run_parallel(students, runner.Progress(students, 2), 't.pth',
                            str(tmp_path), 2)
    # lr_only (running) ended; fitnet and cwd never started
    assert started == ['lr_only_x0.25_s0', 'kd_x0.25_s0']


def test_run_tool_sets_threads_and_stop_ends_every_child(tmp_path):
    import threading
    log = str(tmp_path / 'a.log')
    runner.run_tool(['-c', 'import os; print(os.environ["OMP_NUM_THREADS"])'],
                    log, threads=3)
    assert open(log).read().strip() == '3'
    errors = []

    def sleeper():
        try:
            runner.run_tool(['-c', 'import time; time.sleep(120)'],
                            str(tmp_path / 'b.log'))
        except RuntimeError as e:
            errors.append(str(e))

    worker = threading.Thread(target=sleeper)
    worker.start()
    try:
        for _ in range(100):  # until the child runs
            if runner._LIVE:
                break
            worker.join(0.05)
        runner.stop_live_tools()
        worker.join(20)
        assert not worker.is_alive() and 'failed' in errors[0]
        with pytest.raises(RuntimeError, match='runner is stopping'):
            runner.run_tool(['-c', 'pass'], log)
    finally:
        runner._STOP.clear()


def test_scales_default_to_the_configs_own(tmp_path, capsys):
    """A x0.25 config runs at x0.25 unless told otherwise; another scale
    without --target-ratio notes that the weights were set for CONFIG's."""
    x025 = osp.join(REPO, 'configs', 'rkd',
                    'defect_seg_r50_to_r18_lr_x0.25.py')
    args = runner.parse_args([x025, '--work-dir', str(tmp_path)])
    _, runs = runner.build_plan(args)
    assert [r.name for r in runs] == ['lr_only_x0.25_s0', 'rkd_x0.25_s0']
    assert 'Note' not in capsys.readouterr().out
    args = runner.parse_args([x025, '--scales', '0.5', '--work-dir',
                              str(tmp_path)])
    _, runs = runner.build_plan(args)
    assert lr_scales(runs[1].cfg).train == (0.5, )
    assert 'weights for x0.25' in capsys.readouterr().out


def test_cache_signature_is_shared_by_seeds_not_by_other_taps():
    cfg = Config.fromfile(TINY_RKD)
    assert runner.cache_signature(cfg) is None  # no disk cache: no fill
    cfg.model.teacher_cache = dict(cache_dir='cache')
    other_seed = copy.deepcopy(cfg)
    other_seed.randomness = dict(seed=7)
    other_seed.model.distill_losses.loss_kd.loss_weight = 0.5
    assert runner.cache_signature(other_seed) == runner.cache_signature(cfg)
    other_taps = copy.deepcopy(cfg)
    other_taps.model.teacher_taps = dict(logits='decode_head.conv_seg')
    assert runner.cache_signature(other_taps) != runner.cache_signature(cfg)
    other_scale = copy.deepcopy(cfg)
    set_lr_scale(other_scale, 0.25)  # other @lr views
    assert runner.cache_signature(other_scale) != runner.cache_signature(cfg)
    assert runner.cache_signature(Config.fromfile(TINY_LR)) is None


def test_a_method_without_a_recipe_in_config_is_refused_before_training():
    config = osp.join(REPO, 'configs', 'rkd', 'cls_fmnist_r18_to_r18_lr.py')
    args = runner.parse_args([config, '--methods', 'lr_only', 'cwd'])
    with pytest.raises(ValueError, match="no recipe for method 'cwd'.*"
                       r"\['dkd', 'fitnet', 'kd', 'relkd'\]"):
        runner.build_plan(args)
    # the segmentation configs declare every baseline
    seg = Config.fromfile(osp.join(REPO, 'configs', 'rkd',
                                   'defect_seg_r50_to_r18_lr.py'))
    assert set(seg.method_recipes) == set(runner.RECIPE_METHODS)
    for method in runner.RECIPE_METHODS:
        assert osp.isfile(runner.recipe_of(seg, method))


def test_a_filled_run_starts_first_with_its_fill_beside_it(tmp_path):
    runs = _plan(tmp_path, ['lr_only', 'kd', 'rkd'], [0, 1])
    fills = [runner.FillJob(runs[2]), runner.FillJob(runs[1])]
    order = runner.job_order(runs, fills)
    assert [getattr(x, 'name') for x in order] == [
        'rkd_x0.25_s0', 'teacher cache for rkd_x0.25_s0',
        'kd_x0.25_s0', 'teacher cache for kd_x0.25_s0',
        'lr_only_x0.25_s0', 'lr_only_x0.25_s1', 'kd_x0.25_s1',
        'rkd_x0.25_s1']
    assert runner.job_order(runs, []) == runs


def test_tiny_classification_experiment_leads_with_accuracy(
        tiny_fmnist_root, tmp_path):
    """The same runner on an mmpretrain distiller config: teacher, LR-only,
    KD and RKD trained and tested, accuracy as the table's metric,
    macro-F1 beside it, per-class F1 columns, accuracy plots."""
    work = str(tmp_path / 'cls')
    references = str(tmp_path / 'reference_models')
    cmd = ['tools/run_experiment.py', TINY_CLS_RKD, '--jobs', '2',
           '--reference-dir', references, '--latency-repeats', '2',
           '--cfg-options', *data_root_options(tiny_fmnist_root)]
    run_tool(cmd + ['--work-dir', work, '--methods', 'lr_only', 'kd', 'rkd',
                    'lr_ceiling', 'hr_student'])
    with open(osp.join(work, 'results.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['method'] for r in rows] == [
        'teacher', 'hr_student', 'lr_ceiling', 'lr_only', 'kd', 'rkd']
    by = {r['method']: r for r in rows}
    # the references: the student's net at HR, the teacher's net at the
    # teacher's size on the LR information; gap vs the reachable part
    assert by['hr_student']['input'] == by['lr_ceiling']['input'] == '28x28'
    assert (by['hr_student']['scale'], by['lr_ceiling']['scale']) == (
        '1.0', '0.5')
    assert by['lr_ceiling']['gflops'] == by['teacher']['gflops']
    ceiling = float(by['lr_ceiling']['mean'])
    lr = float(by['lr_only']['mean'])
    if ceiling != lr:
        assert float(by['kd']['gap_reachable']) == pytest.approx(
            (float(by['kd']['mean']) - lr) / (ceiling - lr))
    # the runs say where they ran; the table names the machine
    result = json.load(open(osp.join(work, 'runs', 'lr_only_x0.5_s0',
                                     'result.json')))
    assert result['machine'] == cpu_numerics()
    assert f'Trained on: {numerics_key(cpu_numerics())}.' in open(
        osp.join(work, 'results.md')).read()
    # trained once: another work dir with the same plan reuses them
    again = run_tool(cmd + ['--work-dir', str(tmp_path / 'again'),
                            '--methods', 'lr_ceiling', 'hr_student'])
    assert again.stdout.count('trained earlier in ' + references) == 2
    for row in rows:
        assert row['metric'] == 'accuracy'
        assert 0.0 <= float(row['mean']) <= 100.0
        assert 0.0 <= float(row['macro_f1']) <= 100.0
        assert 'f1.T-shirt_top' in row and float(row['gflops']) > 0
    assert by['lr_only']['input'] == '14x14' and \
        by['teacher']['input'] == '28x28'
    table = open(osp.join(work, 'results.md')).read()
    assert '| test accuracy (mean ± sd) |' in table
    assert '| test macro_f1 (mean ± sd) |' in table
    assert osp.isfile(osp.join(work, 'plots', 'accuracy_vs_scale.png'))
