"""rkd_mm.experiment: statistics over seeds and the results table,
against hand-computed numbers (no training, no timing)."""
import csv
import json
import math
import os
import os.path as osp

import pytest



from rkd_mm.experiment import plan as exp_plan
from rkd_mm.experiment import spec as exp_spec
from rkd_mm.experiment import report as exp_report
from rkd_mm.experiment import stats as exp_stats

T_2 = 4.302653  # t(0.975, 2), from any t table


@pytest.mark.parametrize('use_scipy', [True, False])
def test_t975_matches_the_table(use_scipy):
    assert exp_stats.t975(1, use_scipy) == pytest.approx(12.706205, abs=1e-6)
    assert exp_stats.t975(2, use_scipy) == pytest.approx(T_2, abs=1e-6)
    assert exp_stats.t975(30, use_scipy) == pytest.approx(2.042272, abs=1e-6)
    # df -> infinity: the normal quantile
    assert exp_stats.t975(10**6, use_scipy) == pytest.approx(1.959966,
                                                             abs=1e-5)
    with pytest.raises(ValueError, match='2 values'):
        exp_stats.t975(0, use_scipy)


def test_t975_fallback_agrees_with_scipy():
    stats = pytest.importorskip('scipy.stats')
    for df in list(range(1, 31)) + [31, 40, 60, 120, 1000]:
        exact = float(stats.t.ppf(0.975, df))
        assert exp_stats.t975(df, use_scipy=False) == pytest.approx(
            exact, abs=1e-5), df


def test_mean_sd_uses_ddof_1_and_none_for_one_value():
    assert exp_stats.mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)
    mean, sd = exp_stats.mean_sd([48.0, 50.0])
    assert mean == 49.0 and sd == pytest.approx(math.sqrt(2))
    assert exp_stats.mean_sd([49.8]) == (49.8, None)
    with pytest.raises(ValueError):
        exp_stats.mean_sd([])


def test_paired_difference_hand_computed():
    # seeds [1, 2, 3] vs [0, 0, 0]: mean 2, sd 1, half width
    # t(0.975, 2) * 1 / sqrt(3) = 4.302653 / 1.7320508 = 2.484138
    diff = exp_stats.paired_difference({0: 1.0, 1: 2.0, 2: 3.0},
                                    {0: 0.0, 1: 0.0, 2: 0.0})
    assert diff['n'] == 3 and diff['seeds'] == [0, 1, 2]
    assert diff['mean'] == 2.0 and diff['sd'] == 1.0
    assert diff['lo'] == pytest.approx(2 - 2.484138, abs=1e-5)
    assert diff['hi'] == pytest.approx(2 + 2.484138, abs=1e-5)
    assert exp_stats.fmt_diff(diff, 3) == '+2.00 [-0.48, +4.48]'


def test_paired_difference_pairs_by_seed():
    # seed 1 has no LR-only run: only seeds 0 and 2 are paired; the
    # difference is of pairs, not of means (LR-only seeds vary a lot)
    diff = exp_stats.paired_difference({0: 51.0, 1: 99.0, 2: 41.0},
                                    {0: 50.0, 2: 40.0})
    assert diff['seeds'] == [0, 2] and diff['n'] == 2
    assert diff['mean'] == 1.0 and diff['sd'] == 0.0
    assert (diff['lo'], diff['hi']) == (1.0, 1.0)
    assert exp_stats.fmt_diff(diff, 3) == '+1.00 [+1.00, +1.00] (n=2)'
    assert exp_stats.paired_difference({0: 1.0}, {1: 1.0}) is None
    assert exp_stats.fmt_diff(None) == '—'


def test_one_seed_prints_the_value_alone():
    diff = exp_stats.paired_difference({0: 49.80}, {0: 49.15})
    assert diff['n'] == 1 and diff['sd'] is None
    assert diff['lo'] is None and diff['hi'] is None
    assert exp_stats.fmt_diff(diff, 1) == '+0.65 (1 seed)'
    assert exp_stats.fmt_mean_sd(49.8, None) == '49.80'
    assert exp_stats.fmt_mean_sd(49.8, 0.354) == '49.80 ± 0.35'
    assert exp_stats.fmt_n(1) == '1 seed (indication)'
    assert exp_stats.fmt_n(3) == '3'


def test_gap_closed_is_the_mean_of_per_seed_shares():
    # seed 0: (60 - 50) / (70 - 50) = 0.5; seed 1: (70 - 50) / 20 = 1
    gap = exp_stats.gap_closed({0: 60.0, 1: 70.0}, {0: 50.0, 1: 50.0}, 70.0)
    assert gap['mean'] == pytest.approx(0.75) and gap['n'] == 2
    # sd of (0.5, 1) = 0.353553; half-width t(0.975, 1) * sd / sqrt(2)
    half = 12.706205 * 0.3535534 / math.sqrt(2)
    assert gap['hi'] - gap['mean'] == pytest.approx(half, rel=1e-5)
    assert exp_stats.fmt_gap(gap) == '75.0 % [-242.7, +392.7]'
    assert exp_stats.fmt_gap(None) == '—'
    assert exp_stats.gap_closed({0: 60.0}, {}, 70.0) is None
    one = exp_stats.gap_closed({0: 60.0}, {0: 50.0}, 70.0)
    assert exp_stats.fmt_gap(one) == '50.0 % (1 seed)'


def test_gap_to_a_reference_by_seed_pairs_seeds_else_takes_its_mean():
    """The reachable gap: against the LR ceiling of the same seed; a seed
    the ceiling lacks takes the ceiling's mean."""
    values, base = {0: 42.0, 1: 45.0}, {0: 40.0, 1: 40.0}
    gap = exp_stats.gap_closed(values, base, {0: 50.0, 1: 60.0})
    # (2/10 + 5/20) / 2
    assert gap['mean'] == pytest.approx(0.225)
    one_ceiling = exp_stats.gap_closed(values, base, {0: 50.0})
    assert one_ceiling['mean'] == pytest.approx((0.2 + 0.5) / 2)
    assert exp_stats.gap_closed(values, base, {}) is None


def test_no_share_of_a_gap_that_is_not_there():
    """Where LR-only reaches the reference (the LR ceiling can), the ratio
    would change sign or explode: the result says there is no gap."""
    # LR-only equals the teacher at its one seed
    equal = exp_stats.gap_closed({0: 60.0}, {0: 70.0}, 70.0)
    assert equal['mean'] is None and equal['no_gap'] == [0]
    # one ceiling seed (85.6) against LR-only 86.02 / 85.47 / 86.07: seed 1
    # alone would give (85.51 - 85.47) / 0.13 = 31 %, seeds 0 and 2 a
    # negative denominator
    values = {0: 85.93, 1: 85.51, 2: 85.90}
    base = {0: 86.02, 1: 85.47, 2: 86.07}
    gap = exp_stats.gap_closed(values, base, {0: 85.60})
    assert gap['mean'] is None and gap['lo'] is None
    assert gap['no_gap'] == [0, 2] and gap['n'] == 3
    assert gap['gap'][0] == pytest.approx(-0.42)
    assert exp_stats.fmt_gap(gap) == \
        'no gap: reference ≤ LR-only at seeds 0, 2 of 3'
    assert exp_stats.fmt_gap(equal) == \
        'no gap: reference ≤ LR-only at seed 0 of 1'


# fake results: teacher 70; x0.5 with three seeds, x0.25 with one
FAKE = {
    ('teacher', 1.0, None): (70.00, 60.00),
    ('lr_only', 0.5, 0): (49.00, 40.00),
    ('lr_only', 0.5, 1): (50.00, 41.00),
    ('lr_only', 0.5, 2): (51.00, 42.00),
    ('rkd', 0.5, 0): (50.00, 41.00),
    ('rkd', 0.5, 1): (52.00, 42.00),
    ('rkd', 0.5, 2): (54.00, 46.00),
    ('lr_only', 0.25, 0): (35.00, 20.00),
    ('kd', 0.25, 0): (30.14, 18.00),
}


def fake_runs(root, fake=None, val=None, machines=None):
    runs = []
    for (method, scale, seed), (miou, crack) in (fake or FAKE).items():
        name = 'teacher' if seed is None else f'{method}_x{scale:g}_s{seed}'
        run = exp_spec.Run(name, method, scale, seed, None, str(root))
        os.makedirs(run.dir)
        with open(run.result_file, 'w') as f:
            json.dump(dict(name=name, method=method, scale=scale, seed=seed,
                           metrics={'mIoU': miou, 'IoU.crack': crack,
                                    'aAcc': 90.0},
                           train_s=10.0,
                           val_score=(val or {}).get((method, scale, seed)),
                           machine=(machines or {}).get(
                               (method, scale, seed))),
                      f)
        runs.append(run)
    return runs


FAKE_COSTS = {
    'teacher@1': dict(gflops=2.84, params_m=28.5, input=[3, 128, 128],
                      latency_ms=30.0, latency_iqr_ms=1.0,
                      latency_threads=2),
    **{f'{m}@{s:g}': dict(gflops=0.499 if s == 0.5 else 0.125,
                          params_m=15.43,
                          input=[3, 64, 64] if s == 0.5 else [3, 32, 32],
                          latency_ms=7.3 if s == 0.5 else 2.1,
                          latency_iqr_ms=0.2, latency_threads=2)
       for m in ('lr_only', 'rkd', 'kd') for s in (0.5, 0.25)}
}


def test_table_reports_n_paired_difference_and_gap(tmp_path, capsys):
    rows = exp_report.aggregate(fake_runs(tmp_path), FAKE_COSTS)
    assert [(r['method'], r['scale']) for r in rows] == [
        ('teacher', 1.0), ('lr_only', 0.5), ('rkd', 0.5),
        ('lr_only', 0.25), ('kd', 0.25)]
    teacher, lr, rkd, lr4, kd = rows
    assert (rkd['n'], rkd['mIoU'], rkd['mIoU_std']) == (3, 52.0, 2.0)
    assert rkd['diff']['mean'] == 2.0 and rkd['diff']['sd'] == 1.0
    # (1/21 + 2/20 + 3/19) / 3
    assert rkd['gap_closed']['mean'] == pytest.approx(0.1018378, abs=1e-6)
    assert rkd['gap_reachable'] is None  # no lr_ceiling runs
    assert lr['diff'] is None and teacher['diff'] is None
    assert kd['n'] == 1 and kd['mIoU_std'] is None
    assert kd['diff']['mean'] == pytest.approx(-4.86)
    assert kd['gap_closed']['mean'] == pytest.approx(-4.86 / 35)

    exp_report.write_reports(rows, str(tmp_path))
    printed = capsys.readouterr().out
    lines = printed.strip().splitlines()
    assert lines[0] == (
        '| method | scale | input | GFLOPs | params (M) | CPU latency (ms) '
        '| val mIoU (mean ± sd) | test mIoU (mean ± sd) | n (seeds) '
        '| Δ mIoU vs LR-only [95 % CI] '
        '| gap closed vs teacher [95 % CI] '
        '| gap closed vs reachable [95 % CI] '
        '| Δ vs best baseline [95 % CI] | crack |')
    assert lines[2] == ('| teacher (HR) | HR | 128×128 | 2.840 | 28.50 | '
                        '30.0 | — | 70.00 | 1 seed (indication) | — | — | '
                        '— | — | 60.00 |')
    assert lines[3] == ('| LR-only | ×0.5 | 64×64 | 0.499 | 15.43 | 7.3 | '
                        '— | 50.00 ± 1.00 | 3 | — | — | — | — | '
                        '41.00 |')
    # per-seed shares 1/21, 2/20, 3/19: sd 0.055235
    assert lines[4] == ('| RKD (ours) | ×0.5 | 64×64 | 0.499 | 15.43 | '
                        '7.3 | — | 52.00 ± 2.00 | 3 | '
                        '+2.00 [-0.48, +4.48] | '
                        '10.2 % [-3.5, +23.9] | — | — | 43.00 |')
    assert lines[6] == ('| KD (Hinton) | ×0.25 | 32×32 | 0.125 | 15.43 | '
                        '2.1 | — | 30.14 | 1 seed (indication) | '
                        '-4.86 (1 seed) | -13.9 % (1 seed) | — | — | '
                        '18.00 |')
    assert '± 0.00' not in printed
    md = open(tmp_path / 'results.md').read()
    assert '\n'.join(lines) in md and '2 torch threads' in md
    # runs without a recorded machine (made before runs recorded it)
    assert 'Trained on: unknown.' in md

    with open(tmp_path / 'results.csv') as f:
        table = list(csv.DictReader(f))
    assert list(table[0])[:len(exp_report.CSV_FIELDS)] == exp_report.CSV_FIELDS
    by = {(r['method'], r['scale']): r for r in table}
    rkd_csv = by[('rkd', '0.5')]
    assert (rkd_csv['metric'], float(rkd_csv['mean']),
            float(rkd_csv['std']), rkd_csv['n']) == ('mIoU', 52.0, 2.0, '3')
    assert float(rkd_csv['diff_mean']) == 2.0
    assert float(rkd_csv['diff_lo']) == pytest.approx(2 - 2.484138, abs=1e-5)
    assert float(rkd_csv['diff_hi']) == pytest.approx(2 + 2.484138, abs=1e-5)
    assert rkd_csv['diff_n'] == '3' and rkd_csv['input'] == '64x64'
    kd_csv = by[('kd', '0.25')]
    assert kd_csv['std'] == '' and kd_csv['diff_lo'] == ''
    assert float(kd_csv['diff_mean']) == pytest.approx(-4.86)
    assert by[('lr_only', '0.5')]['diff_mean'] == ''
    for name in ('miou_vs_gflops.png', 'miou_vs_scale.png'):
        assert osp.isfile(tmp_path / 'plots' / name)


def test_ours_is_paired_with_the_strongest_baseline(tmp_path):
    """RKD vs the baseline with the highest mean at its scale (CWD here,
    not KD), paired by seed: d = [-0.5, 1, 1.5], mean 2/3, sd 1.040833,
    half-width t(0.975, 2) * sd / sqrt(3) = 2.585573."""
    fake = {
        ('lr_only', 0.5, s): (49.0 + s, 40.0) for s in (0, 1, 2)}
    fake.update({('kd', 0.5, s): (v, 40.0)
                 for s, v in zip((0, 1, 2), (49.0, 49.5, 50.0))})
    fake.update({('cwd', 0.5, s): (v, 40.0)
                 for s, v in zip((0, 1, 2), (50.5, 51.0, 52.5))})
    fake.update({('rkd', 0.5, s): (v, 40.0)
                 for s, v in zip((0, 1, 2), (50.0, 52.0, 54.0))})
    val = {('rkd', 0.5, s): v for s, v in zip((0, 1, 2), (48., 49., 53.))}
    rows = exp_report.aggregate(fake_runs(tmp_path, fake, val), {})
    rkd = next(r for r in rows if r['method'] == 'rkd')
    assert (rkd['val'], rkd['val_std']) == (50.0, 2.6457513110645907)
    assert next(r for r in rows if r['method'] == 'kd')['val'] is None
    best = rkd['vs_best']
    assert best['method'] == 'cwd' and best['n'] == 3
    assert best['mean'] == pytest.approx(2 / 3)
    assert best['sd'] == pytest.approx(1.040833, abs=1e-6)
    assert best["hi"] - best["mean"] == pytest.approx(2.585573, abs=1e-5)
    assert exp_stats.fmt_vs_best(best, 3) == '+0.67 [-1.92, +3.25] vs CWD'
    assert all(r['vs_best'] is None for r in rows if r['method'] != 'rkd')


AMD = dict(cpu_model='AMD EPYC', cpu_isa='AVX512_BF16',
           aten_capability='AVX512', torch='2.13.0+cpu', onednn='v3.12.0',
           env={})
INTEL = dict(AMD, cpu_model='Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz',
             cpu_isa='AVX512_VNNI')


def test_a_table_of_runs_from_two_cpus_is_refused(tmp_path, capsys):
    """Seed 2 of RKD trained on another CPU: its rounding differs by as
    much as a method's effect, so the paired table is refused, naming the
    machines and runs; --allow-mixed-cpus makes it, with a warning."""
    machines = {key: AMD for key in FAKE}
    machines[('rkd', 0.5, 2)] = INTEL
    runs = fake_runs(tmp_path, machines=machines)
    with pytest.raises(exp_report.MixedMachinesError) as err:
        exp_report.aggregate(runs, FAKE_COSTS)
    message = str(err.value)
    assert 'Intel(R) Xeon' in message and 'AMD EPYC' in message
    assert 'rkd_x0.5_s2' in message and '--allow-mixed-cpus' in message
    rows = exp_report.aggregate(runs, FAKE_COSTS, allow_mixed_machines=True)
    exp_report.write_reports(rows, str(tmp_path))
    md = open(tmp_path / 'results.md').read()
    assert 'WARNING: the runs of this table were trained on 2 different ' \
        'CPUs' in md
    # one CPU kind (an instruction-set cap is another kind): the table
    # names it
    machines[('rkd', 0.5, 2)] = AMD
    rows = exp_report.aggregate(fake_runs(tmp_path / 'one', machines=machines),
                            FAKE_COSTS)
    assert rows[0]['machines'] == [exp_report.numerics_key(AMD)]
    assert 'AMD EPYC [AVX512_BF16, ATen AVX512] torch 2.13.0+cpu' in \
        exp_report.machines_note(rows)
    capped = dict(AMD, env={'ONEDNN_MAX_CPU_ISA': 'AVX2'})
    machines[('rkd', 0.5, 2)] = capped
    with pytest.raises(exp_report.MixedMachinesError,
                       match='ONEDNN_MAX_CPU_ISA'):
        exp_report.aggregate(fake_runs(tmp_path / 'capped', machines=machines),
                         FAKE_COSTS)


def test_reference_rows_split_the_gap(tmp_path):
    """lr_ceiling and hr_student rows; gap closed against the teacher and
    against the reachable gap (LR ceiling - LR-only), paired by seed."""
    fake = {
        ('teacher', 1.0, None): (70.0, 60.0),
        ('hr_student', 1.0, 0): (65.0, 50.0),
        ('hr_student', 1.0, 1): (66.0, 50.0),
        ('lr_ceiling', 0.25, 0): (45.0, 20.0),
        ('lr_ceiling', 0.25, 1): (47.0, 20.0),
        ('lr_only', 0.25, 0): (40.0, 20.0),
        ('lr_only', 0.25, 1): (41.0, 20.0),
        ('kd', 0.25, 0): (42.0, 20.0),
        ('kd', 0.25, 1): (44.0, 20.0),
    }
    rows = exp_report.aggregate(fake_runs(tmp_path, fake), {})
    assert [(r['method'], r['scale']) for r in rows] == [
        ('teacher', 1.0), ('hr_student', 1.0), ('lr_ceiling', 0.25),
        ('lr_only', 0.25), ('kd', 0.25)]
    teacher, hr, ceiling, lr, kd = rows
    assert hr['diff'] is None and hr['gap_closed'] is None
    # kd: seed 0 (42-40)/(45-40) = 0.4, seed 1 (44-41)/(47-41) = 0.5
    assert kd['gap_reachable']['mean'] == pytest.approx(0.45)
    # against the teacher: 2/30 and 3/29
    assert kd['gap_closed']['mean'] == pytest.approx((2 / 30 + 3 / 29) / 2)
    assert ceiling['gap_reachable']['mean'] == pytest.approx(1.0)
    lines = exp_report.table_lines(rows)
    assert lines[3].startswith('| HR student (student net, HR input) | HR |')
    assert '| 45.0 % [' in lines[6]


def test_classification_rows_lead_with_accuracy_and_show_macro_f1(
        tmp_path):
    """The table follows the primary metric it is given (CONFIG's
    save_best); macro-F1 gets a mean ± sd column, per-class F1 columns;
    result.json files of before 2026-12-02 (val_mIoU) still read."""
    runs = []
    for seed, (acc, f1, val) in enumerate([(90.0, 89.0, 91.0),
                                           (92.0, 90.0, 93.0)]):
        run = exp_spec.Run(f'lr_only_x0.5_s{seed}', 'lr_only', 0.5, seed,
                         None, str(tmp_path))
        os.makedirs(run.dir)
        with open(run.result_file, 'w') as f:
            json.dump(dict(metrics={'accuracy': acc, 'macro_f1': f1,
                                    'f1.Bag': f1 - 1, 'precision.Bag': 1.0},
                           seed=seed, train_s=1.0, val_mIoU=val), f)
        runs.append(run)
    rows = exp_report.aggregate(runs, {}, metric='accuracy')
    (row, ) = rows
    assert (row['metric'], row['accuracy'], row['macro_f1']) == (
        'accuracy', 91.0, 89.5)
    assert row['accuracy_std'] == pytest.approx(2 ** 0.5)
    assert row['val'] == 92.0
    header = exp_report.table_lines(rows)[0]
    assert ('| val accuracy (mean ± sd) | test accuracy (mean ± sd) |'
            in header)
    assert 'Δ accuracy vs LR-only' in header
    assert header.endswith('| test macro_f1 (mean ± sd) | Bag |')
    csv_line = exp_report.csv_row(row, ['f1.Bag'], ['macro_f1'])
    assert (csv_line['metric'], csv_line['mean'], csv_line['macro_f1'],
            csv_line['f1.Bag']) == ('accuracy', 91.0, 89.5, 88.5)


def test_primary_metric_is_the_checkpoint_choice():
    from mmengine.config import Config
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', save_best='accuracy'))))
    assert exp_plan.primary_metric(cfg) == 'accuracy'
    cfg.default_hooks.checkpoint.save_best = 'auto'
    with pytest.raises(ValueError, match="save_best='accuracy'"):
        exp_plan.primary_metric(cfg)
