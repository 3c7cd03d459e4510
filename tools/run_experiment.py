"""One command for the whole comparison: teacher, LR-only, KD baselines,
RKD and the reference models, over scales and seeds, into one table.

Usage::

    python tools/run_experiment.py CONFIG [--scales 0.5 0.25]
        [--methods lr_only kd rkd lr_ceiling hr_student] [--seeds 0 1 2]
        [--max-seeds METHOD=N ...] [--target-ratio R [METHOD=R ...]]
        [--iters N] [--jobs N] [--work-dir DIR] [--reference-dir DIR]
        [--allow-mixed-cpus] [--cfg-options key=value ...]

``CONFIG`` is a distiller config; it fixes the data, teacher, student,
schedule and optimizer of every run. Each run lives in
``WORK_DIR/runs/<method>_x<scale>_s<seed>/``; rerunning skips finished
runs and resumes interrupted ones; the table goes to ``WORK_DIR/
results.md`` (and ``.csv``, plots). What each option does and how the
numbers are made: :mod:`rkd_mm.experiment` and docs/results.md.
"""
import argparse
import signal
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import DictAction

from rkd_mm.experiment import METHODS, ExperimentSpec, run_experiment
from rkd_mm.experiment.spec import (REFERENCE_ROOT, check_spec,
                                    parse_max_seeds, parse_target_ratios)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and compare teacher, LR-only, KD baselines, RKD '
        'and the reference models across LR scales and seeds')
    parser.add_argument('config', help='distiller (RKD) config')
    parser.add_argument('--scales', type=float, nargs='+',
                        help="LR/HR factors (default: CONFIG's own)")
    # put the method with the most teacher taps first (RKD before KD): the
    # others then read them from the teacher-output cache it filled
    parser.add_argument('--methods', nargs='+', default=['lr_only', 'rkd'],
                        choices=METHODS,
                        help='runs per scale, in this order; lr_ceiling and '
                        'hr_student are the reference models')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--max-seeds', nargs='+', default=[], metavar='METHOD=N',
        help='run METHOD on the first N of --seeds only (e.g. '
        '"lr_ceiling=1": one seed, an indication; the table says n)')
    parser.add_argument('--work-dir', default='work_dirs/experiment')
    parser.add_argument(
        '--reference-dir', default=REFERENCE_ROOT,
        help='where the reference models are trained and kept for every '
        'work dir (default %(default)s)')
    parser.add_argument('--iters', type=int,
                        help="student schedule length (default: CONFIG's)")
    parser.add_argument(
        '--target-ratio', nargs='+', metavar='R|METHOD=R',
        help="calibrate every distillation term by the project's rule "
        '(gradient on the student at initialisation = R x the task\'s), '
        'once per method and scale; a plain R for every method, METHOD=R '
        'for one')
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='student runs at a time once the teacher exists (each with '
        "OMP_NUM_THREADS threads if set, else the runner's divided by N)")
    parser.add_argument('--latency-repeats', type=int, default=30,
                        help='timed rounds for the CPU latency')
    parser.add_argument(
        '--allow-mixed-cpus', action='store_true',
        help='make the table although its runs were trained on different '
        'CPUs or kernel settings (refused by default); it then says so')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help="override settings in every run's config, key=value pairs "
        '(model.* keys: the distiller runs only)')
    args = parser.parse_args(argv)
    try:
        args.max_seeds = parse_max_seeds(args.max_seeds, args.methods)
        args.target_ratio = parse_target_ratios(args.target_ratio,
                                                args.methods)
        check_spec(spec_of(args))
    except ValueError as err:
        parser.error(str(err))
    if args.latency_repeats < 1:
        parser.error('--latency-repeats must be >= 1')
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: at least 1 run at a time')
    return args


def spec_of(args: argparse.Namespace) -> ExperimentSpec:
    """The plan's part of the arguments."""
    return ExperimentSpec(
        config=args.config, methods=args.methods, scales=args.scales,
        seeds=args.seeds, max_seeds=args.max_seeds, iters=args.iters,
        target_ratio=args.target_ratio, cfg_options=args.cfg_options,
        work_dir=args.work_dir, reference_dir=args.reference_dir)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f'signal {signum}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # `kill` (SIGTERM) stops the running train/test child too, as Ctrl-C
    # does; otherwise it trains on, orphaned, and a rerun races with it
    signal.signal(signal.SIGTERM, _interrupt)
    paths = run_experiment(spec_of(args), args.jobs, args.latency_repeats,
                           args.allow_mixed_cpus)
    print('\nwritten: ' + ', '.join(paths))


if __name__ == '__main__':
    main()
