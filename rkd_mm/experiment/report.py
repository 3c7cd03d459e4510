"""The report of an experiment: rows per (method, scale) with statistics
over seeds (:func:`aggregate`), ``results.md``, ``results.csv`` and the
plots (:func:`write_reports`; the cost columns come from :mod:`.cost`, the
figures from :mod:`.plots`)."""
import csv
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

from rkd_mm.utils.machine import numerics_key
from .calibrate import calibration_file
from .plots import plot
from .spec import LABELS, METHODS, OURS, PLAIN_METHODS, Run
from .stats import (fmt_diff, fmt_gap, fmt_mean_sd, fmt_n, fmt_vs_best,
                    gap_closed, mean_sd, paired_difference)

__all__ = [
    'MixedMachinesError', 'check_machines', 'aggregate', 'write_reports',
    'table_lines', 'csv_row', 'machines_note', 'threads_note',
    'gradient_table_lines', 'CSV_FIELDS', 'EXTRA_METRICS'
]

EXTRA_METRICS = ('accuracy', 'macro_f1', 'auroc', 'rank1', 'rank5', 'mAP',
                 'verif_acc', 'tar_far_1e-3')
PER_CLASS_PREFIXES = ('IoU.', 'f1.')


def per_class_keys(row: dict) -> List[str]:
    return [k for k in row if k.startswith(PER_CLASS_PREFIXES)
            and not k.endswith('_std')]


def extra_keys(row: dict, metric: Optional[str] = None) -> List[str]:
    """The :data:`EXTRA_METRICS` ``row`` holds, the primary ``metric``
    (a column of its own) left out."""
    return [k for k in EXTRA_METRICS if k in row and k != metric]


class MixedMachinesError(ValueError):
    """Runs trained on CPUs that round differently in one comparison."""


def check_machines(results: List[dict], allow_mixed: bool = False
                   ) -> List[str]:
    """The machines (:func:`rkd_mm.utils.machine.numerics_key`) that
    trained ``results``; refuse more than one unless ``allow_mixed``.

    Paired differences compare seeds run for run; a seed trained on
    another CPU kind (or with another instruction-set cap) is another
    draw, as large as a method's effect (1.5 mIoU between an AMD and an
    Intel machine of this project for one config and seed). A run that
    recorded no machine (made before runs recorded it) counts as
    ``unknown``. Runs that were only scored (the teacher) are left out.
    """
    keys = sorted({numerics_key(r.get('machine')) for r in results
                   if r.get('train_s')})
    if len(keys) > 1 and not allow_mixed:
        by_key: Dict[str, List[str]] = {}
        for r in results:
            if r.get('train_s'):
                by_key.setdefault(numerics_key(r.get('machine')),
                                  []).append(r['name'])
        shown = '; '.join(f'{k}: {", ".join(sorted(v)[:4])}'
                          f'{" ..." if len(v) > 4 else ""}'
                          for k, v in sorted(by_key.items()))
        raise MixedMachinesError(
            f'These runs were trained on {len(keys)} different CPUs or '
            f'kernel settings ({shown}); their float rounding differs, and '
            'a paired comparison would mix that into the methods\' '
            'differences. Rerun the runs of one machine kind in their own '
            'work dir, or pass --allow-mixed-cpus to make the table anyway '
            '(it then says so).')
    return keys


def aggregate(runs: List[Run], costs: dict,
              metric: str = 'mIoU',
              allow_mixed_machines: bool = False) -> List[dict]:
    """One row per (method, scale): statistics over seeds.

    ``metric`` is the primary metric (CONFIG's ``save_best``). Per row:
    ``<metric>``/``<metric>_std`` (and the same for :data:`EXTRA_METRICS`
    and the per-class metrics present): mean and sample std (None for one
    seed); ``n``: seeds; ``val``/``val_std``: the val score that selected
    each checkpoint; ``diff``: the paired difference of ``metric`` to
    LR-only at the same scale (:func:`paired_difference`; None for LR-only,
    the teacher, the HR student, or without LR-only runs); ``gap_closed``:
    the share of the teacher - LR-only gap closed, ``gap_reachable``: of
    the LR ceiling - LR-only gap at that scale (:func:`gap_closed`, with
    intervals; needs the teacher, the ``lr_ceiling`` runs); ``machines``:
    the CPUs that trained the table's runs (:func:`check_machines`, which
    refuses several unless ``allow_mixed_machines``).
    """
    rows, groups = [], {}
    for run in runs:
        if run.finished:
            groups.setdefault((run.method, run.scale), []).append(
                run.result())
    machines = check_machines([r for g in groups.values() for r in g],
                              allow_mixed_machines)

    def by_seed(method, scale, key=metric):
        return {r['seed']: r['metrics'][key]
                for r in groups.get((method, scale), [])
                if key in r['metrics']}

    teacher = next(iter(by_seed('teacher', 1.0).values()), None)
    for (method, scale), results in groups.items():
        cost = costs.get(f'{method}@{scale:g}', {})
        first = results[0]['metrics']
        metric_names = [metric, *extra_keys(first, metric),
                        *per_class_keys(first)]
        row = dict(method=method, label=LABELS.get(method, method),
                   scale=scale, n=len(results), metric=metric,
                   seeds=[r['seed'] for r in results], machines=machines,
                   **cost)
        for key in metric_names:
            row[key], row[key + '_std'] = mean_sd(
                [r['metrics'][key] for r in results if key in r['metrics']])
        # the val score that picked each checkpoint: what to choose on
        # ('val_mIoU' in result.json files written before 2026-12-02)
        vals = [r.get('val_score', r.get('val_mIoU')) for r in results]
        vals = [v for v in vals if v is not None]
        row['val'], row['val_std'] = mean_sd(vals) if vals else (None, None)
        # torch threads of the training runs (None: not recorded)
        row['train_threads'] = sorted(
            {r.get('train_threads') for r in results if r['train_s']},
            key=str)
        row['diff'] = row['gap_closed'] = row['gap_reachable'] = None
        if method not in ('teacher', 'lr_only', 'hr_student'):
            mine, base = by_seed(method, scale), by_seed('lr_only', scale)
            row['diff'] = paired_difference(mine, base)
            if teacher is not None:
                row['gap_closed'] = gap_closed(mine, base, teacher)
            ceiling = by_seed('lr_ceiling', scale)
            if ceiling:
                row['gap_reachable'] = gap_closed(mine, base, ceiling)
        row['train_s'] = sum(r['train_s'] for r in results) / len(results)
        rows.append(row)
    for row in rows:  # ours against the strongest baseline at its scale
        row['vs_best'] = None
        if row['method'] not in OURS:
            continue
        rivals = [r for r in rows if r['scale'] == row['scale'] and
                  r['method'] not in (*OURS, 'teacher', *PLAIN_METHODS)]
        if rivals:
            best = max(rivals, key=lambda r: r[metric])
            diff = paired_difference(by_seed(row['method'], row['scale']),
                                     by_seed(best['method'], row['scale']))
            if diff is not None:
                row['vs_best'] = dict(diff, method=best['method'])
    # the references first: teacher, HR student, then per scale the LR
    # ceiling above LR-only and the methods
    order = {m: i for i, m in enumerate(dict.fromkeys(
        ['teacher', 'hr_student', 'lr_ceiling', *METHODS]))}
    rows.sort(key=lambda r: (-r['scale'], order.get(r['method'], 99)))
    return rows


CSV_FIELDS = ['method', 'scale', 'n', 'input', 'gflops', 'params_m',
              'latency_ms', 'latency_iqr_ms', 'val_mean', 'val_std',
              'metric', 'mean', 'std',
              'diff_mean', 'diff_lo', 'diff_hi', 'diff_n', 'gap_closed',
              'gap_closed_lo', 'gap_closed_hi', 'gap_reachable',
              'gap_reachable_lo', 'gap_reachable_hi',
              'best_baseline', 'vs_best_mean', 'vs_best_lo', 'vs_best_hi']


def csv_row(row: dict, classes: List[str],
            extras: Sequence[str] = ()) -> dict:
    """A row of results.csv (empty where a value does not exist)."""
    diff = row.get('diff') or {}

    def value(v):
        return '' if v is None else v

    out = {k: value(row.get(k)) for k in CSV_FIELDS
           if k in row and not k.startswith('gap_')}
    if 'input' in row:
        out['input'] = 'x'.join(map(str, row['input'][-2:]))
    metric = row['metric']
    out.update(val_mean=value(row.get('val')),
               val_std=value(row.get('val_std')))
    out.update(metric=metric, mean=row[metric],
               std=value(row[metric + '_std']),
               diff_mean=value(diff.get('mean')),
               diff_lo=value(diff.get('lo')), diff_hi=value(diff.get('hi')),
               diff_n=value(diff.get('n')),
               train_s=row.get('train_s', ''))
    for gap in ('gap_closed', 'gap_reachable'):
        stats = row.get(gap) or {}
        out.update({gap: value(stats.get('mean')),
                    f'{gap}_lo': value(stats.get('lo')),
                    f'{gap}_hi': value(stats.get('hi'))})
    best = row.get('vs_best') or {}
    out.update(best_baseline=value(best.get('method')),
               vs_best_mean=value(best.get('mean')),
               vs_best_lo=value(best.get('lo')),
               vs_best_hi=value(best.get('hi')))
    for key in extras:
        out.update({key: value(row.get(key)),
                    key + '_std': value(row.get(key + '_std'))})
    out.update({c: value(row.get(c)) for c in classes})
    return out


def table_lines(rows: List[dict]) -> List[str]:
    """The markdown table of results.md (also printed)."""
    metric = rows[0]['metric']
    classes = per_class_keys(rows[0])
    extras = extra_keys(rows[0], metric)
    header = ['method', 'scale', 'input', 'GFLOPs', 'params (M)',
              'CPU latency (ms)', f'val {metric} (mean ± sd)',
              f'test {metric} (mean ± sd)', 'n (seeds)',
              f'Δ {metric} vs LR-only [95 % CI]',
              'gap closed vs teacher [95 % CI]',
              'gap closed vs reachable [95 % CI]',
              'Δ vs best baseline [95 % CI]'] + [
                  f'test {k} (mean ± sd)' for k in extras] + [
                  c.split('.', 1)[1] for c in classes]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    nan = float('nan')
    for row in rows:
        size = row.get('input', ['?', '?'])
        cells = [
            row['label'], 'HR' if row['method'] in ('teacher', 'hr_student')
            else f'×{row["scale"]:g}', f'{size[-2]}×{size[-1]}',
            f'{row.get("gflops", nan):.3f}',
            f'{row.get("params_m", nan):.2f}',
            f'{row.get("latency_ms", nan):.1f}',
            '—' if row.get('val') is None else fmt_mean_sd(
                row['val'], row['val_std']),
            fmt_mean_sd(row[metric], row[metric + '_std']), fmt_n(row['n']),
            fmt_diff(row['diff'], row['n']),
            fmt_gap(row['gap_closed'], row['n']),
            fmt_gap(row['gap_reachable'], row['n']),
            fmt_vs_best(row.get('vs_best'), row['n'])
        ] + [
            '—' if row.get(k) is None else fmt_mean_sd(
                row[k], row.get(k + '_std')) for k in extras
        ] + ['—' if row.get(c) is None else f'{row[c]:.2f}'
             for c in classes]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


TABLE_NOTES = (
    'val {metric}: the val score that selected each checkpoint (choose '
    'recipes and weights on it); every other number is on the test split. '
    'n: seeds per cell; a cell of one seed is an indication, not an '
    'estimate (no spread, no interval). {metric}: mean ± sample std '
    '(ddof=1) over seeds; per-class columns are means. Δ: paired over '
    'seeds, d_s = {metric}(method, seed s) − {metric}(LR-only, seed s) at '
    'the same scale, mean d and its 95 % Student-t interval '
    'mean ± t(0.975, n−1)·sd(d)/√n (an interval that excludes 0 is a '
    'difference these seeds resolve); with one seed the single '
    'difference. Gap closed vs teacher: per seed '
    '(method − LR-only)/(teacher − LR-only), its mean and 95 % interval '
    'over seeds; 0 % = LR-only, 100 % = the teacher. Gap closed vs '
    'reachable: the same against the LR ceiling at that scale '
    '(lr_ceiling: the teacher\'s network, schedule and input size trained '
    'and tested on the LR image brought back to HR size, bilinear) -- the '
    'part of the gap the LR input still holds, so 100 % is all that any '
    'method could reach from these pixels with the teacher\'s capacity; '
    'paired by seed where the ceiling has that seed, else against its '
    'mean (whose own spread is then not in the interval); "no gap" where '
    'a seed\'s LR-only is not below the reference (a share of a gap that '
    'is not there has no meaning). HR student: '
    'the student\'s network trained on the HR image (the teacher\'s '
    'information, the student\'s capacity). Δ vs best baseline (our '
    'methods only): the same paired difference against the KD baseline '
    'with the highest mean at that scale. GFLOPs and latency: one image '
    '(batch 1) at the deployed model\'s input size (the student at LR for '
    'a distiller), random weights; every distinct (architecture, input '
    'size) is timed once, teacher included, interleaved round by round in '
    'one session on this machine\'s CPU (median of the rounds; {threads} '
    'torch threads, see cost.json), so rows sharing a student show one '
    'number. Plots: {plots}.\n')


def machines_note(rows: List[dict]) -> str:
    """Which CPU trained the table's runs; a warning when there are
    several (a table made with ``--allow-mixed-cpus``)."""
    machines = rows[0].get('machines') or [] if rows else []
    if len(machines) == 1:
        return f'Trained on: {machines[0]}.\n'
    if not machines:
        return ''
    warning = ('WARNING: the runs of this table were trained on '
               f'{len(machines)} different CPUs or kernel settings '
               f'({"; ".join(machines)}): float rounding differs between '
               'them, so paired differences mix machine noise into the '
               'methods\' effects (--allow-mixed-cpus).\n')
    print(warning, flush=True)
    return warning


def write_reports(rows: List[dict], work_root: str) -> List[str]:
    """results.csv, results.md and the plots; returns the written paths."""
    metric = rows[0]['metric']
    classes = per_class_keys(rows[0])
    extras = extra_keys(rows[0], metric)
    fields = [*CSV_FIELDS, *(f for k in extras for f in (k, k + '_std')),
              *classes, 'train_s']
    csv_path = osp.join(work_root, 'results.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_row(row, classes, extras))
    lines = table_lines(rows)
    threads = next((r['latency_threads'] for r in rows
                    if r.get('latency_threads')), '?')
    gradients = gradient_table_lines(rows, work_root)
    # the primary metric and each summary metric the runs report (e.g.
    # accuracy and macro-F1), each against compute and against scale
    plots = [path for key in (metric, *extras)
             for path in plot(rows, work_root, key)]
    md_path = osp.join(work_root, 'results.md')
    with open(md_path, 'w') as f:
        f.write('# Results (test split, best-on-val checkpoints)\n\n')
        f.write('\n'.join(lines) + '\n\n')
        f.write(TABLE_NOTES.format(
            threads=threads, metric=metric,
            plots=', '.join(osp.relpath(p, work_root) for p in plots)))
        f.write(machines_note(rows))
        f.write(threads_note(rows))
        if gradients:
            f.write('\n## What each term puts on the student, at the weight '
                    'used\n\n' + '\n'.join(gradients) + '\n\n' +
                    GRADIENT_NOTES)
    print('\n'.join(lines))
    return [md_path, csv_path, *plots]


def threads_note(rows: List[dict]) -> str:
    """Which torch thread counts trained the students; a warning when the
    table mixes several (``OMP_NUM_THREADS``: set it alike for every run
    of one work dir)."""
    counts = {t for row in rows if row['method'] != 'teacher'
              for t in row.get('train_threads', [])}
    if not counts:
        return ''
    if len(counts) == 1:
        return (f'Students trained with {counts.pop()} torch thread(s) '
                'each.\n')
    mixed = {f"{row['method']} x{row['scale']:g}": row['train_threads']
             for row in rows if row['method'] != 'teacher'}
    warning = ('WARNING: the students of this table were trained with '
               f'different torch thread counts ({mixed}; None = not '
               'recorded): a seed trained with another count is another '
               'draw, so paired differences mix protocols. Rerun with one '
               'OMP_NUM_THREADS for every run of the work dir.\n')
    print(warning, flush=True)
    return warning


GRADIENT_NOTES = (
    'At the seeded initialisation (seed 0, trained teacher, 8 batches) of '
    'each calibrated (method, scale), from WORK_DIR/calibration/: '
    '|g|/|g_task| is the norm of the term\'s gradient on the student\'s '
    'parameters over the task loss\'s at the weight the runs used (R by '
    'construction for a calibrated term), cos its cosine with the task '
    'gradient (independent of the weight). Terms the rule leaves at their '
    'configured weight say why.\n')


def gradient_table_lines(rows: List[dict], work_root: str) -> List[str]:
    """Per calibrated (method, scale) of the table, each distillation term's
    weight, gradient ratio at that weight and cosine with the task."""
    lines = []
    for row in rows:
        path = calibration_file(work_root, row['method'], row['scale'])
        if row['method'] in ('teacher', 'lr_only') or not osp.isfile(path):
            continue
        with open(path) as f:
            calibration = json.load(f)
        for term, t in calibration['terms'].items():
            if 'loss_weight' not in t:  # the task's own terms
                continue
            weight = t.get('new_weight', t['loss_weight'])
            ratio = t['ratio'] * weight / t['loss_weight'] \
                if t['loss_weight'] else t['ratio']
            lines.append(
                f"| {row['label']} | ×{row['scale']:g} | `{term}` | "
                f"{calibration['target_ratio']:g} | {weight:.4g} | "
                f"{ratio:.3f} | {t['cos_task']:+.3f} | "
                f"{t.get('note', '')} |")
    if not lines:
        return []
    return ['| method | scale | term | R | weight | \\|g\\|/\\|g_task\\| | '
            'cos | note |', '|---|---|---|---|---|---|---|---|', *lines]
