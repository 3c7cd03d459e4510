"""Collect the test metrics of several runs into one Markdown table.

Usage::

    python tools/analysis_tools/summarize_results.py WORK_ROOT [--out FILE]

Reads the newest ``test_metrics.json`` (written by ``tools/test.py``) under
each ``WORK_ROOT/<run>/``, adds GFLOPs per image and parameters of the run's
model at its test input size, prints the table and writes it to
``WORK_ROOT/summary.md`` (or ``--out``).
"""
import argparse
import glob
import json
import os.path as osp
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config

from rkd_mm.apis.complexity import model_complexity


def newest_metrics(run_dir: str) -> Optional[dict]:
    files = glob.glob(osp.join(run_dir, '**', 'test_metrics.json'),
                      recursive=True)
    if not files:
        return None
    with open(max(files, key=osp.getmtime)) as f:
        return json.load(f)


def summarize(work_root: str) -> List[str]:
    """Markdown lines of the summary table."""
    rows = []
    for run_dir in sorted(glob.glob(osp.join(work_root, '*', ''))):
        found = newest_metrics(run_dir)
        if found is None:
            continue
        cfg = Config.fromfile(found['config'])
        cost = model_complexity(cfg)
        rows.append((osp.basename(osp.normpath(run_dir)), found, cost))
    if not rows:
        raise SystemExit(f'No test_metrics.json under {work_root}/*/: run '
                         'tools/test.py on a checkpoint first.')
    classes = [k[len('IoU.'):] for k in rows[0][1]['metrics']
               if k.startswith('IoU.')]
    header = ['run', 'input', 'GFLOPs/img', 'params (M)', 'mIoU'] + classes
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for name, found, cost in rows:
        m = found['metrics']
        c, h, w = cost['input_shape']
        cells = [name, f'{h}x{w}', f'{cost["flops"] / 1e9:.3f}',
                 f'{cost["params"] / 1e6:.2f}', f'{m["mIoU"]:.2f}']
        cells += [f'{m.get("IoU." + c, float("nan")):.2f}' for c in classes]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description='Summarize test metrics')
    parser.add_argument('work_root', help='folder holding one dir per run')
    parser.add_argument('--out', help='Markdown file (default: '
                        'WORK_ROOT/summary.md)')
    args = parser.parse_args()
    lines = summarize(args.work_root)
    out = args.out or osp.join(args.work_root, 'summary.md')
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'\nwritten to {out}')


if __name__ == '__main__':
    main()
