"""rkd_mm.experiment: schedules, progress, cost grouping, the gradient
table, parallel jobs, child processes and teacher-cache fills (no
training; the command line: tests/test_tools/test_run_experiment.py)."""
import copy
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, TINY_LR, TINY_RKD
from rkd_mm.apis.teacher_cache_fill import cache_signature as signature
from rkd_mm.apis.lr_scale import set_lr_scale
from rkd_mm.experiment import calibrate as exp_calibrate
from rkd_mm.experiment import execute as exp_execute
from rkd_mm.experiment import plan as exp_plan
from rkd_mm.experiment import spec as exp_spec
from rkd_mm.experiment import process as exp_process
from rkd_mm.experiment import cost as exp_cost
from rkd_mm.experiment import report as exp_report



def test_set_iters_rescales_schedule_intervals_and_warmup():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr.py'))
    exp_plan.set_iters(cfg, 200)
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


def test_progress_eta_uses_same_method_else_longest_known(tmp_path):
    def run(method):
        return exp_spec.Run(f'{method}_x0.25_s0', method, 0.25, 0, None,
                          str(tmp_path))

    teacher, lr, kd, rkd = (run(m) for m in ('teacher', 'lr_only', 'kd',
                                             'rkd'))
    progress = exp_process.Progress([teacher, lr, kd, rkd])
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


def test_architecture_key_ignores_weight_init_only():
    from rkd_mm.apis.latency import architecture_key
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
    import rkd_mm.apis.latency as latency
    runs = [exp_spec.Run(f'{m}_x0.5_s{s}', m, 0.5, s, None, str(tmp_path))
            for m in ('lr_only', 'kd', 'rkd') for s in (0, 1)]
    keys = {'lr_only': 'aaa', 'kd': 'aaa', 'rkd': 'aaa'}
    sessions = []

    def plan(runs):
        cells = {(r.method, r.scale): keys[r.method] for r in runs}
        return {k: ({}, (3, 8, 8)) for k in cells.values()}, cells

    def measure(models, **kwargs):
        sessions.append(sorted(models))
        return {k: _fake_stats(7.3 + len(sessions)) for k in models}

    monkeypatch.setattr(exp_cost, 'latency_plan', plan)
    monkeypatch.setattr(latency, 'benchmark_models', measure)
    costs = exp_cost.cost_table(runs, str(tmp_path), repeats=5)
    assert sessions == [['aaa']]
    assert {c['latency_ms'] for c in costs.values()} == {8.3}
    assert exp_cost.cost_table(runs, str(tmp_path), 5) == costs  # cached
    assert len(sessions) == 1
    cached = json.load(open(tmp_path / 'cost.json'))
    assert cached['models']['aaa']['used_by'] == [
        'kd@0.5', 'lr_only@0.5', 'rkd@0.5']
    # a new architecture: everything is timed again, in one session
    keys['rkd'] = 'bbb'
    costs = exp_cost.cost_table(runs, str(tmp_path), 5)
    assert sessions[-1] == ['aaa', 'bbb']
    assert costs['lr_only@0.5']['latency_ms'] == costs['rkd@0.5'][
        'latency_ms'] == 9.3
    # other timing settings: timed again
    exp_cost.cost_table(runs, str(tmp_path), 7)
    assert len(sessions) == 3


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
    path = exp_calibrate.calibration_file(str(tmp_path), 'rkd', 0.25)
    with open(path, 'w') as f:
        json.dump(dict(target_ratio=0.1, terms=terms), f)
    rows = [dict(method='lr_only', label='LR-only', scale=0.25),
            dict(method='rkd', label='RKD (ours)', scale=0.25),
            dict(method='kd', label='KD', scale=0.25)]  # not calibrated
    lines = exp_report.gradient_table_lines(rows, str(tmp_path))
    assert len(lines) == 4
    assert lines[2] == ('| RKD (ours) | ×0.25 | `distill.loss_kd` | 0.1 | '
                        '0.05 | 0.100 | +0.900 |  |')
    assert lines[3].startswith('| RKD (ours) | ×0.25 | `distill.loss_adv` '
                               '| 0.1 | 0.1 | 0.004 | +0.000 | adversarial')
    assert exp_report.gradient_table_lines(rows[:1], str(tmp_path)) == []


def test_threads_note_warns_when_a_table_mixes_thread_counts(capsys):
    rows = [dict(method='teacher', scale=1.0, train_threads=[]),
            dict(method='lr_only', scale=0.25, train_threads=[1]),
            dict(method='kd', scale=0.25, train_threads=[1])]
    assert exp_report.threads_note(rows) == ('Students trained with 1 torch '
                                         'thread(s) each.\n')
    rows[2]['train_threads'] = [1, 2]
    note = exp_report.threads_note(rows)
    assert note.startswith('WARNING') and "'kd x0.25': [1, 2]" in note
    assert 'WARNING' in capsys.readouterr().out
    assert exp_report.threads_note(rows[:1]) == ''


def _plan(tmp_path, methods, seeds):
    runs = []
    for seed in seeds:
        for method in methods:
            cfg = Config(dict(calibration=dict(target_ratio=0.1))
                         if method != 'lr_only' else {})
            runs.append(exp_spec.Run(f'{method}_x0.25_s{seed}', method, 0.25,
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

    monkeypatch.setattr(exp_execute, 'calibrate', calibrate)
    monkeypatch.setattr(exp_execute, 'execute', execute)
    monkeypatch.setattr(exp_execute, 'plan_fills', plan_fills)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    students = _plan(tmp_path, ['lr_only', 'kd', 'rkd'], [0, 1])
    progress = exp_process.Progress(students, jobs=2)
    exp_execute.run_parallel(students, progress, 'teacher.pth',
                             str(tmp_path), 2)
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
    monkeypatch.setattr(exp_execute.torch, 'get_num_threads', lambda: 4)
    assert exp_execute.threads_per_job(2) == 2
    assert exp_execute.threads_per_job(8) == 1


def test_jobs_a_failed_run_starts_no_new_one_and_is_raised(
        tmp_path, monkeypatch):
    started = []

    def execute(run, progress, teacher_ckpt=None, threads=None):
        started.append(run.name)
        if run.method == 'kd':
            raise RuntimeError('kd broke')
        import time
        time.sleep(0.3)  # the other worker is still running this one

    monkeypatch.setattr(exp_execute, 'execute', execute)
    students = _plan(tmp_path, ['lr_only', 'kd', 'fitnet', 'cwd'], [0])
    for run in students:
        run.cfg = Config()  # nothing to calibrate
    with pytest.raises(RuntimeError, match='kd broke'):
        exp_execute.run_parallel(students,
                                 exp_process.Progress(students, 2), 't.pth',
                                 str(tmp_path), 2)
    # lr_only (running) ended; fitnet and cwd never started
    assert started == ['lr_only_x0.25_s0', 'kd_x0.25_s0']


def test_run_tool_sets_threads_and_stop_ends_every_child(tmp_path):
    import threading
    log = str(tmp_path / 'a.log')
    exp_process.run_tool(
        ['-c', 'import os; print(os.environ["OMP_NUM_THREADS"])'], log,
        threads=3)
    assert open(log).read().strip() == '3'
    errors = []

    def sleeper():
        try:
            exp_process.run_tool(['-c', 'import time; time.sleep(120)'],
                            str(tmp_path / 'b.log'))
        except RuntimeError as e:
            errors.append(str(e))

    worker = threading.Thread(target=sleeper)
    worker.start()
    try:
        for _ in range(100):  # until the child runs
            if exp_process._LIVE:
                break
            worker.join(0.05)
        exp_process.stop_live_tools()
        worker.join(20)
        assert not worker.is_alive() and 'failed' in errors[0]
        with pytest.raises(RuntimeError, match='runner is stopping'):
            exp_process.run_tool(['-c', 'pass'], log)
    finally:
        exp_process._STOP.clear()


def test_cache_signature_is_shared_by_seeds_not_by_other_taps():
    cfg = Config.fromfile(TINY_RKD)
    assert signature(cfg) is None  # no disk cache: no fill
    cfg.model.teacher_cache = dict(cache_dir='cache')
    other_seed = copy.deepcopy(cfg)
    other_seed.randomness = dict(seed=7)
    other_seed.model.distiller.distill_losses.loss_kd.loss_weight = 0.5
    assert signature(other_seed) == signature(cfg)
    other_taps = copy.deepcopy(cfg)
    other_taps.model.distiller.teacher_taps = dict(
        logits='decode_head.conv_seg')
    assert signature(other_taps) != signature(cfg)
    other_scale = copy.deepcopy(cfg)
    set_lr_scale(other_scale, 0.25)  # other @lr views
    assert signature(other_scale) != signature(cfg)
    assert signature(Config.fromfile(TINY_LR)) is None


def test_a_filled_run_starts_first_with_its_fill_beside_it(tmp_path):
    runs = _plan(tmp_path, ['lr_only', 'kd', 'rkd'], [0, 1])
    fills = [exp_execute.FillJob(runs[2]), exp_execute.FillJob(runs[1])]
    order = exp_execute.job_order(runs, fills)
    assert [getattr(x, 'name') for x in order] == [
        'rkd_x0.25_s0', 'teacher cache for rkd_x0.25_s0',
        'kd_x0.25_s0', 'teacher cache for kd_x0.25_s0',
        'lr_only_x0.25_s0', 'lr_only_x0.25_s1', 'kd_x0.25_s1',
        'rkd_x0.25_s1']
    assert exp_execute.job_order(runs, []) == runs


def test_data_is_checked_once_per_distinct_check(tmp_path, monkeypatch):
    """The plan's data check runs once for the runs that share what it
    reads -- data, class count, ignore index, scales: LR-only and RKD at
    x0.25 share one with the LR ceiling (the teacher's model, as many
    classes, the same x0.25 view), the HR student has another -- again for
    a run where one differs, and never for a finished run."""
    from rkd_mm.apis import data_check
    from rkd_mm.apis.lr_scale import set_lr_ceiling
    rkd = Config.fromfile(osp.join(REPO, 'configs', 'rkd',
                                   'defect_seg_r50_to_r18_lr_x0.25.py'))
    lr_only = Config.fromfile(rkd.model.student.cfg_path)
    set_lr_scale(lr_only, 0.25)  # as the plan does
    ceiling = Config.fromfile(rkd.model.teacher.cfg_path)
    set_lr_ceiling(ceiling, 0.25)
    hr_student = copy.deepcopy(lr_only)
    set_lr_scale(hr_student, 1.0)
    assert data_check.data_check_key(lr_only) == \
        data_check.data_check_key(rkd)
    assert data_check.data_check_key(ceiling) == \
        data_check.data_check_key(lr_only) != \
        data_check.data_check_key(hr_student)
    # another class count is another verdict
    other = copy.deepcopy(lr_only)
    other.model.decode_head.num_classes += 1
    assert data_check.data_check_key(other) != \
        data_check.data_check_key(lr_only)

    checked = []
    monkeypatch.setattr(data_check, 'check_config_data',
                        lambda cfg: checked.append(cfg) or [])
    work = str(tmp_path)
    runs = [exp_spec.Run(name, method, scale, 0, cfg, work)
            for name, method, scale, cfg in [
                ('lr_only', 'lr_only', 0.25, lr_only),
                ('rkd', 'rkd', 0.25, rkd),
                ('lr_ceiling', 'lr_ceiling', 0.25, ceiling),
                ('hr_student', 'hr_student', 1.0, hr_student),
                ('kd', 'kd', 0.25, other)]]
    # a finished run is not checked again
    os.makedirs(runs[-1].dir)
    open(runs[-1].result_file, 'w').close()
    exp_execute.check_data_once(runs)
    assert checked == [lr_only, hr_student]
    # an unfinished run with another class count is checked
    os.remove(runs[-1].result_file)
    checked.clear()
    exp_execute.check_data_once(runs)
    assert checked == [lr_only, hr_student, other]
