"""Several students (each trained with several seeds) scored at several LR
scales and compared seed by seed: one student for several resolutions
against single-scale ones (``tools/analysis_tools/compare_resolutions.py``).

Each checkpoint is scored by :func:`rkd_mm.apis.resolution_sweep.sweep`
(the one scoring path of ``tools/test.py``); the statistics are the
runner's (:mod:`.stats`): mean ± sample sd over seeds and the paired
difference to the reference student of each scale with its 95 % interval.
"""
import csv
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from rkd_mm.apis.resolution_sweep import sweep
from .plan import primary_metric
from .stats import fmt_diff, fmt_mean_sd, fmt_n, mean_sd, paired_difference

__all__ = ['checkpoint_of', 'references', 'compare_students', 'write']

#: a student: (name, config path, checkpoint pattern with ``{seed}``)
Student = Tuple[str, str, str]

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
            raise ValueError(f'--reference {item}: no student {name!r} '
                             f'(students: {names}).')
        out[float(scale)] = name
    return out


def compare_students(students: Sequence[Student], scales: Sequence[float],
                     seeds: Sequence[int], reference: Sequence[str],
                     work_dir: str,
                     cfg_options: Optional[dict] = None) -> List[dict]:
    """Score every (student, seed) at every scale; one row per (scale,
    student) with mean, sd, the per-seed values and, against the scale's
    reference student, the paired difference. Writes
    ``WORK_DIR/compare_resolutions.{md,csv,json}``."""
    names = [s[0] for s in students]
    refs = references(reference, names)
    scores: Dict[str, Dict[float, Dict[int, dict]]] = {}
    metric = None
    for name, config, pattern in students:
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        metric = metric or primary_metric(cfg, config)
        scores[name] = {s: {} for s in scales}
        for seed in seeds:
            ckpt = checkpoint_of(pattern, seed)
            work = osp.join(work_dir, name.replace(' ', '_'), f's{seed}')
            for row in sweep(cfg, ckpt, scales, work):
                scores[name][row['scale']][seed] = row
    second = 'macro_f1'
    rows = []
    for scale in scales:
        for name in names:
            per_seed = scores[name][scale]
            values = {s: float(r[metric]) for s, r in per_seed.items()}
            mean, sd = mean_sd(list(values.values()))
            row = dict(scale=scale, student=name, n=len(values),
                       mean=mean, sd=sd, values=values)
            if all(second in r for r in per_seed.values()):
                row['second'] = mean_sd(
                    [float(r[second]) for r in per_seed.values()])
            ref = refs.get(scale)
            if ref is not None and ref != name:
                base = {s: float(r[metric])
                        for s, r in scores[ref][scale].items()}
                row['vs'] = ref
                row['diff'] = paired_difference(values, base)
            rows.append(row)
    write(rows, metric, second, work_dir)
    return rows


def write(rows: List[dict], metric: str, second: str, work_dir: str) -> None:
    """``compare_resolutions.{md,json,csv}`` in ``work_dir``; prints the
    table."""
    os.makedirs(work_dir, exist_ok=True)
    lines = [f'| scale | student | test {metric} (mean ± sd) | {second} | '
             'Δ vs reference [95 % CI] |', '|---|---|---|---|---|']
    for row in rows:
        sec = fmt_mean_sd(*row['second']) if 'second' in row else ''
        diff = (f"{fmt_diff(row['diff'])} vs {row['vs']}"
                if row.get('diff') else '(reference)' if 'vs' not in row
                else '')
        lines.append(f"| ×{row['scale']:g} | {row['student']} | "
                     f"{fmt_mean_sd(row['mean'], row['sd'])} "
                     f"({fmt_n(row['n'])}) | {sec} | {diff} |")
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
