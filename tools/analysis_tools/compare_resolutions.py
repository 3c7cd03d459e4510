"""Score several students, each trained with several seeds, at several LR
scales, and compare them seed by seed (one student for several
resolutions against single-scale ones).

Usage::

    python tools/analysis_tools/compare_resolutions.py --scales 0.5 0.25 \\
        --seeds 0 1 2 --work-dir work_dirs/multires/compare \\
        --student 'x0.5 only' configs/baselines/cls_fmnist_r18_lr.py \\
            'work_dirs/fmnist/runs/lr_only_x0.5_s{seed}/best_*.pth' \\
        --student 'x0.25 only' configs/baselines/cls_fmnist_r18_lr_x0.25.py \\
            'work_dirs/fmnist/runs/lr_only_x0.25_s{seed}/best_*.pth' \\
        --student 'x0.5+x0.25' \\
            configs/baselines/cls_fmnist_r18_lr_multires.py \\
            'work_dirs/multires/s{seed}/best_*.pth' \\
        --reference 0.5='x0.5 only' 0.25='x0.25 only'

Each checkpoint (``{seed}`` filled in; a glob takes the newest match) is
scored on the test split at every scale by
``tools/analysis_tools/resolution_sweep.py`` (the student's LR data
preprocessor's ``test_scale_factor`` set to the scale: the one scoring path
of ``tools/test.py``). The table has, per scale and student, the primary
metric (the config's ``save_best``) as mean ± sample sd over seeds, a second
metric beside it (macro-F1 or the per-class mean where the config has it),
and the paired difference to the reference student of that scale with its
95 % t interval, as ``tools/run_experiment.py`` reports methods. Writes
``WORK_DIR/compare_resolutions.{md,csv,json}``.
"""
import argparse
import csv
import glob
import importlib.util
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction

HERE = osp.dirname(osp.abspath(__file__))


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare students across LR scales, seed by seed')
    parser.add_argument(
        '--student', nargs=3, action='append', required=True,
        metavar=('NAME', 'CONFIG', 'CKPT_PATTERN'),
        help="a student: its name, config and checkpoint path ('{seed}' "
        'is replaced; a glob takes the newest match)')
    parser.add_argument('--scales', type=float, nargs='+', required=True)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--reference', nargs='+', default=[], metavar='SCALE=NAME',
        help='the student each scale is compared with')
    parser.add_argument('--work-dir', default='work_dirs/compare_resolutions')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='merged into every config (e.g. the data root)')
    return parser.parse_args(argv)


def checkpoint_of(pattern: str, seed: int) -> str:
    path = pattern.replace('{seed}', str(seed))
    matches = glob.glob(path)
    if not matches:
        raise FileNotFoundError(f'no checkpoint matches {path}')
    return max(matches, key=osp.getmtime)


def references(values: List[str], names: List[str]) -> Dict[float, str]:
    out = {}
    for item in values:
        scale, _, name = item.partition('=')
        if name not in names:
            raise SystemExit(f'--reference {item}: no student {name!r} '
                             f'(students: {names}).')
        out[float(scale)] = name
    return out


def main(argv: Optional[List[str]] = None) -> List[dict]:
    args = parse_args(argv)
    sweep = _load(osp.join(HERE, 'resolution_sweep.py'), 'resolution_sweep')
    stats = _load(osp.join(HERE, '..', 'run_experiment.py'), 'runner')
    names = [s[0] for s in args.student]
    refs = references(args.reference, names)
    scores: Dict[str, Dict[float, Dict[int, dict]]] = {}
    metric = None
    for name, config, pattern in args.student:
        cfg = Config.fromfile(config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        metric = metric or stats.primary_metric(cfg, config)
        scores[name] = {s: {} for s in args.scales}
        for seed in args.seeds:
            ckpt = checkpoint_of(pattern, seed)
            work = osp.join(args.work_dir, name.replace(' ', '_'),
                            f's{seed}')
            for row in sweep.sweep(cfg, ckpt, args.scales, work):
                scores[name][row['scale']][seed] = row
    second = 'macro_f1'
    rows = []
    for scale in args.scales:
        for name in names:
            per_seed = scores[name][scale]
            values = {s: float(r[metric]) for s, r in per_seed.items()}
            mean, sd = stats.mean_sd(list(values.values()))
            row = dict(scale=scale, student=name, n=len(values),
                       mean=mean, sd=sd, values=values)
            if all(second in r for r in per_seed.values()):
                row['second'] = stats.mean_sd(
                    [float(r[second]) for r in per_seed.values()])
            ref = refs.get(scale)
            if ref is not None and ref != name:
                base = {s: float(r[metric])
                        for s, r in scores[ref][scale].items()}
                row['vs'] = ref
                row['diff'] = stats.paired_difference(values, base)
            rows.append(row)
    write(rows, metric, second, args.work_dir, stats)
    return rows


def write(rows: List[dict], metric: str, second: str, work_dir: str,
          stats) -> None:
    os.makedirs(work_dir, exist_ok=True)
    lines = [f'| scale | student | test {metric} (mean ± sd) | {second} | '
             'Δ vs reference [95 % CI] |', '|---|---|---|---|---|']
    for row in rows:
        sec = stats.fmt_mean_sd(*row['second']) if 'second' in row else ''
        diff = (f"{stats.fmt_diff(row['diff'])} vs {row['vs']}"
                if row.get('diff') else '(reference)' if 'vs' not in row
                else '')
        lines.append(f"| ×{row['scale']:g} | {row['student']} | "
                     f"{stats.fmt_mean_sd(row['mean'], row['sd'])} "
                     f"({stats.fmt_n(row['n'])}) | {sec} | {diff} |")
    text = '\n'.join(lines) + '\n'
    with open(osp.join(work_dir, 'compare_resolutions.md'), 'w') as f:
        f.write(text)
    with open(osp.join(work_dir, 'compare_resolutions.json'), 'w') as f:
        json.dump(rows, f, indent=1, default=str)
    with open(osp.join(work_dir, 'compare_resolutions.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['scale', 'student', 'seed', metric])
        for row in rows:
            for seed, value in sorted(row['values'].items()):
                writer.writerow([row['scale'], row['student'], seed, value])
    print(text)


if __name__ == '__main__':
    main()
