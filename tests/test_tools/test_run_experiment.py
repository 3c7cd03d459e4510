"""tools/run_experiment.py: its arguments, the plans they make, and tiny
end-to-end runs (the library: tests/test_experiment/)."""
import csv
import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import (REPO, TINY_CLS_RKD, TINY_LR, TINY_RKD,
                      data_root_options, load_tool, run_tool)
from rkd_mm.apis.lr_scale import lr_scales
from rkd_mm.experiment import calibrate as exp_calibrate
from rkd_mm.experiment import plan as exp_plan
from rkd_mm.experiment import spec as exp_spec
from rkd_mm.experiment import cost as exp_cost
from rkd_mm.experiment import execute as exp_execute
from rkd_mm.utils.machine import cpu_numerics, numerics_key

runner = load_tool('run_experiment.py')


def test_plan_shares_one_protocol_across_methods(tmp_path):
    args = runner.parse_args([
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'),
        '--scales', '0.5', '0.25', '--methods', 'lr_only', 'kd', 'rkd',
        '--seeds', '0', '1', '--work-dir', str(tmp_path), '--iters', '100'
    ])
    _, runs = exp_plan.build_plan(runner.spec_of(args))
    assert [r.name for r in runs[:3]] == [
        'lr_only_x0.5_s0', 'kd_x0.5_s0', 'rkd_x0.5_s0']
    assert len(runs) == 12
    by_name = {r.name: r for r in runs}
    kd, rkd = by_name['kd_x0.25_s1'].cfg, by_name['rkd_x0.25_s1'].cfg
    lr = by_name['lr_only_x0.25_s1'].cfg
    # KD: the recipe's losses, no discriminator, no connector; RKD: CONFIG's
    kd_wiring, rkd_wiring = kd.model.distiller, rkd.model.distiller
    assert 'adversarial' not in kd_wiring and 'connectors' not in kd_wiring
    assert set(kd_wiring.distill_losses) == {'loss_kd'}
    assert rkd_wiring.distill_losses.loss_pair.type == \
        'rkd_mm.PixelAffinityLoss'
    assert rkd_wiring.adversarial.discriminator.type == \
        'rkd_mm.PatchDiscriminator'
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
    _, runs = exp_plan.build_plan(runner.spec_of(args))
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
    _, again = exp_plan.build_plan(runner.spec_of(args))
    assert [getattr(r, 'train_dir', None) for r in again] == \
        [getattr(r, 'train_dir', None) for r in runs]


def test_plan_refuses_a_non_distiller_config(tmp_path):
    args = runner.parse_args([TINY_LR, '--work-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='distiller'):
        exp_plan.build_plan(runner.spec_of(args))


def test_tiny_experiment_writes_table_plots_and_skips_finished_runs(
        tiny_data_root, tmp_path):
    work = str(tmp_path / 'exp')
    # lr_only and kd: the runner's two kinds of student config (KD is
    # CONFIG with a recipe's distillation, as RKD is CONFIG itself)
    # --jobs 2: the two students train side by side (1 thread each on 2
    # cores unless OMP_NUM_THREADS says otherwise), after
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
    # each job's threads: the user's OMP_NUM_THREADS if set, else the
    # runner's shared out (1 each on 2 cores)
    threads = exp_execute.threads_per_job(2)
    assert 'kd_x0.5_s0: filling the teacher cache beside it (1 process x ' \
        f'{threads} thread(s))' in first.stdout
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


def test_latency_plan_measures_one_model_per_architecture_and_size(
        tiny_data_root, tmp_path):
    args = runner.parse_args([
        TINY_RKD, '--scales', '0.5', '0.25', '--methods', 'lr_only', 'kd',
        'rkd', '--seeds', '0', '1', '--work-dir', str(tmp_path),
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    teacher, students = exp_plan.build_plan(runner.spec_of(args))
    runs = [teacher, *students]
    assert exp_cost.latency_plan(runs) == ({}, {})  # nothing finished
    for run in runs:  # as execute() leaves them
        os.makedirs(run.dir)
        run.cfg.dump(run.config_file)
        with open(run.result_file, 'w') as f:
            f.write('{}')
    models, cells = exp_cost.latency_plan(runs)
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
    _, students = exp_plan.build_plan(runner.spec_of(args))
    seeds = {}
    for run in students:
        seeds.setdefault(run.method, []).append(run.seed)
    assert seeds == {'lr_only': [3, 1, 2], 'kd': [3], 'rkd': [3, 1, 2]}


def test_plan_transplants_the_dense_crkd_recipe_at_any_scale(tmp_path):
    from mmengine.registry import init_default_scope

    from rkd_mm.registry import MODELS
    args = runner.parse_args([
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'),
        '--scales', '0.25', '--methods', 'rkd_dense', '--work-dir',
        str(tmp_path)
    ])
    _, runs = exp_plan.build_plan(runner.spec_of(args))
    cfg = runs[0].cfg
    assert runs[0].name == 'rkd_dense_x0.25_s0'
    assert cfg.model.distiller.distill_losses.loss_pair.type == \
        'rkd_mm.PixelAffinityLoss'
    init_default_scope('mmseg')
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model)
    # the x0.5 recipe's connector follows the run's scale: 8x8 -> 32x32
    assert model.distiller.connectors['feat'].scale == 4


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
        exp_plan.build_plan(runner.spec_of(args))


def test_target_ratio_per_method(tmp_path):
    """``--target-ratio 0.1 kd=0.3``: KD at 0.3, every other distiller
    method at 0.1, LR-only uncalibrated; a method without any R, a method
    not planned, or R <= 0 is refused before anything runs."""
    base = [TINY_RKD, '--methods', 'lr_only', 'kd', 'cwd', '--work-dir',
            str(tmp_path)]
    args = runner.parse_args(base + ['--target-ratio', '0.1', 'kd=0.3'])
    assert args.target_ratio == {'kd': 0.3, 'cwd': 0.1}
    _, runs = exp_plan.build_plan(runner.spec_of(args))
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
    _, runs = exp_plan.build_plan(runner.spec_of(args))
    kd = [r for r in runs if r.method == 'kd']
    assert all(r.cfg.calibration.target_ratio == 0.2 for r in kd)
    assert all('calibration' not in r.cfg for r in runs
               if r.method == 'lr_only')
    exp_calibrate.calibrate(kd[0], runs, tiny_teacher_ckpt, work)
    weights = exp_calibrate.calibration_weights(work, 'kd', 0.5)
    key = 'model.distiller.distill_losses.loss_kd.loss_weight'
    assert list(weights) == [key] and weights[key] > 0
    assert all(r.cfg.model.distiller.distill_losses.loss_kd.loss_weight ==
               weights[key] for r in kd)
    # a rerun reads the calibration
    _, again = exp_plan.build_plan(runner.spec_of(args))
    assert all(r.cfg.model.distiller.distill_losses.loss_kd.loss_weight ==
               weights[key] for r in again if r.method == 'kd')
    cfg_file = str(tmp_path / 'kd.py')
    kd[0].cfg.dump(cfg_file)
    check = load_tool('analysis_tools/loss_gradients.py').main([
        cfg_file, '--batches', '8', '--seed', '0', '--device', 'cpu',
        '--cfg-options', f'model.teacher_ckpt={tiny_teacher_ckpt}'])
    assert check['terms']['distill.loss_kd']['ratio'] == pytest.approx(
        0.2, rel=1e-3)


def test_scales_default_to_the_configs_own(tmp_path, capsys):
    """A x0.25 config runs at x0.25 unless told otherwise; another scale
    without --target-ratio notes that the weights were set for CONFIG's."""
    x025 = osp.join(REPO, 'configs', 'rkd',
                    'defect_seg_r50_to_r18_lr_x0.25.py')
    args = runner.parse_args([x025, '--work-dir', str(tmp_path)])
    _, runs = exp_plan.build_plan(runner.spec_of(args))
    assert [r.name for r in runs] == ['lr_only_x0.25_s0', 'rkd_x0.25_s0']
    assert 'Note' not in capsys.readouterr().out
    args = runner.parse_args([x025, '--scales', '0.5', '--work-dir',
                              str(tmp_path)])
    _, runs = exp_plan.build_plan(runner.spec_of(args))
    assert lr_scales(runs[1].cfg).train == (0.5, )
    assert 'weights for x0.25' in capsys.readouterr().out


def test_a_method_without_a_recipe_in_config_is_refused_before_training():
    config = osp.join(REPO, 'configs', 'rkd', 'cls_fmnist_r18_to_r18_lr.py')
    args = runner.parse_args([config, '--methods', 'lr_only', 'cwd'])
    with pytest.raises(ValueError, match="no recipe for method 'cwd'.*"
                       r"\['dkd', 'fitnet', 'kd', 'relkd'\]"):
        exp_plan.build_plan(runner.spec_of(args))
    # the segmentation configs declare every baseline
    seg = Config.fromfile(osp.join(REPO, 'configs', 'rkd',
                                   'defect_seg_r50_to_r18_lr.py'))
    assert set(seg.method_recipes) == set(exp_spec.RECIPE_METHODS)
    for method in exp_spec.RECIPE_METHODS:
        assert osp.isfile(exp_plan.recipe_of(seg, method))


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
