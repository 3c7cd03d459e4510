"""Score one LR student at several input resolutions on the test split.

Usage::

    python tools/analysis_tools/resolution_sweep.py CONFIG CHECKPOINT
        --scales 0.25 0.5 0.75 1.0 [--work-dir DIR] [--out sweep.csv]
        [--cfg-options key=value ...]

For each scale s the student sees the test images downscaled by s (the
LR op, area averaging) and is scored against the HR labels, exactly as
``tools/test.py`` scores it at its own scale: the sweep sets the
``test_scale_factor`` of the student's LR data preprocessor (the one home
of the scale, :mod:`rkd_mm.apis.lr_scale`), for an LR-only config and a
distiller alike (a multi-resolution student is scored at each scale it
trained on, and between). Of a distiller only the student is scored, so
the teacher is neither loaded nor run (its HR score does not change with s;
``tools/test.py`` reports it). Segmentation and classification configs
alike: the columns are the config's metrics (mIoU and per-class IoU;
accuracy, macro-F1, ...).

One MMEngine ``Runner.test()`` per scale (logs in ``WORK_DIR/x<s>/``;
:mod:`rkd_mm.apis.resolution_sweep`). Prints scale / input size / metrics
and writes them as CSV.

The checkpoint is read safely and loaded strictly, as by ``tools/test.py``
(a distiller checkpoint under a plain LR config: its student).
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction

from rkd_mm.apis.resolution_sweep import format_table, sweep, write_csv
from rkd_mm.utils.checkpoint import CheckpointError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Score an LR student at several input resolutions')
    parser.add_argument('config', help='distiller or LR-only config')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument(
        '--scales', type=float, nargs='+', default=[0.25, 0.5, 0.75, 1.0],
        help='LR/HR size ratios to score, each in (0, 1]')
    parser.add_argument(
        '--work-dir',
        help='logs go to WORK_DIR/x<scale>/ (default: '
        'work_dirs/resolution_sweep/<config name>)')
    parser.add_argument(
        '--out', help='CSV file (default: WORK_DIR/resolution_sweep.csv)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'resolution_sweep',
        osp.splitext(osp.basename(args.config))[0])
    try:
        rows = sweep(cfg, args.checkpoint, args.scales, work_dir)
    except (FileNotFoundError, ValueError, TypeError, CheckpointError) as e:
        raise SystemExit(str(e)) from None
    out = args.out or osp.join(work_dir, 'resolution_sweep.csv')
    write_csv(rows, out)
    print(f'\n{args.config} @ {args.checkpoint} (test split)')
    print(format_table(rows))
    print(f'written to {out}')
    return rows


if __name__ == '__main__':
    main()
