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
:mod:`rkd_mm.apis.resolution_sweep` (the student's LR data
preprocessor's ``test_scale_factor`` set to the scale: the one scoring path
of ``tools/test.py``); the comparison is
:mod:`rkd_mm.experiment.compare`. The table has, per scale and student, the
primary metric (the config's ``save_best``) as mean ± sample sd over seeds,
a second metric beside it (macro-F1 or the per-class mean where the config
has it), and the paired difference to the reference student of that scale
with its 95 % t interval, as ``tools/run_experiment.py`` reports methods. Writes
``WORK_DIR/compare_resolutions.{md,csv,json}``.
"""
import argparse
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import DictAction

from rkd_mm.experiment.compare import compare_students


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


def main(argv: Optional[List[str]] = None) -> List[dict]:
    args = parse_args(argv)
    try:
        return compare_students(args.student, args.scales, args.seeds,
                                args.reference, args.work_dir,
                                args.cfg_options)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(str(err)) from None


if __name__ == '__main__':
    main()
