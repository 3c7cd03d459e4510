"""One command for the whole comparison: teacher, LR-only, KD baselines, RKD.

Usage::

    python tools/run_experiment.py CONFIG [--scales 0.5 0.25]
        [--methods lr_only kd rkd] [--seeds 0 1] [--work-dir DIR]
        [--iters N] [--target-ratio R [METHOD=R ...]] [--jobs N]
        [--cfg-options key=value ...]

``CONFIG`` is an RKD (distiller) config; it fixes the data, the teacher, the
student, the schedule and the optimizer of *every* run, so all methods share
one protocol:

* ``teacher``: trained with its own config (``model.teacher.cfg_path``) if
  ``model.teacher_ckpt`` does not exist yet, into the folder that pattern
  points at (so the RKD configs find it later), then scored at HR;
* ``lr_only``: the student's own config (``model.student.cfg_path``) at the
  scale;
* a KD baseline (``kd``, ``fitnet``, ``at``, ``relkd``, ``cwd``, ``dkd``)
  or ``rkd_dense`` (the dense CRKD recipe): ``CONFIG`` with the method's
  distillation fields (taps, connectors, losses, loss inputs,
  discriminator) taken from the recipe config that CONFIG's
  ``method_recipes`` names for it (ours name ``configs/baselines/`` and
  ``configs/rkd/rkd-dense_*`` files; a method without a recipe is refused);
* ``rkd``: ``CONFIG`` itself;
* two reference models without distillation, which split the teacher -
  LR-only gap: ``lr_ceiling``, the teacher's config (network, schedule,
  input size and cost) trained and tested on the LR image brought back to
  HR size (bilinear; :func:`rkd_mm.utils.lr_scale.set_lr_ceiling`) -- the
  student's information with the teacher's capacity, the most any
  distillation can reach from these pixels -- and ``hr_student``, the
  student's config trained on the HR image (scale 1; one run per seed
  for every scale). Like the teacher they are trained once, in
  ``--reference-dir`` (``work_dirs/reference_models/<config>_<run>_<hash>/``
  by default), and reused by every work dir that plans the same
  configuration.

The scales default to CONFIG's own (its student's LR data preprocessor; its
weights were set for that scale; another scale prints a note: calibrate
with ``--target-ratio`` or pass that scale's config). Every student run gets
its scale (:func:`rkd_mm.utils.lr_scale.set_lr_scale`: the student's
``data_preprocessor.scale_factor``) and ``randomness.seed`` set, is trained
with ``tools/train.py`` and scored on the
test split with ``tools/test.py`` (best-on-val checkpoint). Each run lives in
``WORK_DIR/runs/<method>_x<scale>_s<seed>/`` with its frozen ``config.py``;
``result.json`` marks it finished and is never rewritten: rerunning skips
finished runs and resumes interrupted ones. One work dir holds one
protocol: a run whose planned config differs from the one frozen in its
folder (another ``--iters``, other ``--cfg-options``) stops the runner
with the differing keys, before anything runs. At the end it writes
``WORK_DIR/results.md``, ``results.csv`` and two plots under
``WORK_DIR/plots/``: per (method, scale) the test score's mean ± sample
std over seeds and n (one seed is marked as an indication) — the score
is the metric CONFIG selects checkpoints by (``save_best``: ``mIoU`` for
segmentation, ``accuracy`` for classification; macro-F1, AUROC and
per-class IoU or F1 are shown beside it when reported) — the paired
difference to LR-only at the same scale over shared seeds with its 95 %
Student-t interval, the share of the teacher–LR-only gap closed and of the
LR ceiling–LR-only gap (each with its interval), GFLOPs, parameters and
CPU latency. Latency is measured once per distinct
(architecture, input size) of the deployed models (LR-only and every
distiller with the same student at one scale share one), all of them and
the teacher interleaved round by round in one session (``cost.json``).

Each run records the CPU that trained it (model, instruction set, torch
and oneDNN versions, instruction-set caps such as ``ONEDNN_MAX_CPU_ISA``:
:func:`rkd_mm.utils.machine.cpu_numerics`); a table whose runs were
trained on different CPUs is refused (their rounding differs by as much as
a method's effect) unless ``--allow-mixed-cpus``, and the table names the
machine. Each run records the torch threads it trained with
(``OMP_NUM_THREADS``, inherited by its tools); a table whose students mix
thread counts says so in a warning: set it alike for every run of a work
dir (two 1-thread runners, e.g. one per scale, use 2 cores best).

``--iters N`` sets every *student* schedule to N iterations (LR schedule,
validation/checkpoint intervals and the distillation warm-up are rescaled
in proportion; e.g. ``--iters 400`` for a quick look, the configs' own
schedule being 2,000); the teacher keeps its own schedule.
``--jobs N`` trains N student runs at a time once the teacher exists (each
with ``OMP_NUM_THREADS`` torch threads if it is set, else the runner's
threads divided by N: ``--jobs 2`` on 2 cores gives two 1-thread runs,
which use the cores better than one 2-thread run). Calibrations run first,
one at a time; then the first distiller run of each teacher cache (seeds
and methods with the same taps share one) starts together with a job that
fills that cache ahead of it on another core
(``tools/fill_teacher_cache.py`` at the runs' thread count), so that the
run reads the teacher more and more instead of computing it on its one
core; the other runs follow in plan order. A failing run stops new ones
from starting, lets the running ones end, and is reported; Ctrl-C or
``kill`` stops them all.

``--cfg-options`` go to every run (teacher included) for keys all configs
share (data root, batch size); ``model.*`` keys go to the distiller runs only
(the teacher and LR-only configs have other model fields).
"""
import argparse
import copy
import csv
import glob
import hashlib
import json
import math
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Dict, List, Optional, Sequence, Tuple

import rkd_mm  # noqa: F401  (environment shims)
import torch
from mmengine.config import Config, DictAction

from rkd_mm.engine.hooks.teacher_cache_hook import random_transforms
from rkd_mm.utils.cfg_options import check_cfg_options
from rkd_mm.utils.complexity import is_distiller
from rkd_mm.utils.machine import cpu_numerics, numerics_key
from rkd_mm.utils.lr_scale import lr_scales, set_lr_ceiling, set_lr_scale
from rkd_mm.utils.teacher_cache_fill import count_variants
from rkd_mm.utils.work_dir import list_checkpoints

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the KD baselines and recipe variants the runner knows; CONFIG's
# `method_recipes` maps each it supports to the recipe config whose
# distillation fields are transplanted into CONFIG (the scale comes from
# --scales)
RECIPE_METHODS = ('kd', 'fitnet', 'at', 'relkd', 'cwd', 'dkd', 'rkd_dense')
# the two reference models beside every table (no distillation): the
# teacher's network on the LR information, the student's network on the HR
# image; they split the teacher - LR-only gap into what the LR input has
# lost and what the student's capacity misses
REFERENCE_METHODS = ('lr_ceiling', 'hr_student')
METHODS = ['lr_only', *RECIPE_METHODS, 'rkd', *REFERENCE_METHODS]
# methods that train without a teacher
PLAIN_METHODS = ('lr_only', *REFERENCE_METHODS)
# our methods: compared with the strongest baseline too
OURS = ('rkd', 'rkd_dense')
DISTILL_FIELDS = ('student_taps', 'teacher_taps', 'connectors',
                  'distill_losses', 'loss_inputs', 'discriminator',
                  'adv_loss', 'disc_tap', 'disc_connector', 'disc_steps',
                  'gen_steps')
LABELS = {
    'teacher': 'teacher (HR)', 'lr_only': 'LR-only', 'kd': 'KD (Hinton)',
    'fitnet': 'FitNet', 'at': 'AT', 'relkd': 'Relational KD (Park)',
    'cwd': 'CWD', 'dkd': 'DKD', 'rkd_dense': 'dense CRKD (ours)',
    'rkd': 'RKD (ours)', 'lr_ceiling': 'LR ceiling (teacher net, LR input)',
    'hr_student': 'HR student (student net, HR input)'
}
#: where the reference models (``--methods lr_ceiling hr_student``) are
#: trained, one folder per config: shared by every work dir that plans the
#: same run, as the teacher's folder is
REFERENCE_ROOT = osp.join('work_dirs', 'reference_models')

ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and compare teacher, LR-only, KD baselines and '
        'RKD across LR scales')
    parser.add_argument('config', help='RKD (distiller) config')
    parser.add_argument('--scales', type=float, nargs='+',
                        help='LR/HR factors (default: CONFIG\'s own, its '
                        'student\'s data_preprocessor.scale_factor)')
    # the README's main job: LR-only and RKD at the configs' full schedule
    # fit in ~20 min on 2 cores once the teacher is trained. Put RKD before
    # KD: KD's teacher logits are then read from the shared teacher-output
    # cache that RKD filled (the cache is keyed per tap)
    parser.add_argument('--methods', nargs='+', default=['lr_only', 'rkd'],
                        choices=METHODS,
                        help='student runs per scale, run in this order '
                        '(put the method with the most teacher taps first: '
                        'the others then read them from the teacher-output '
                        'cache)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--max-seeds', nargs='+', default=[], metavar='METHOD=N',
        help='run METHOD with only the first N of --seeds (e.g. "kd=1": a '
        'baseline reported as one seed, an indication; the table says n)')
    parser.add_argument('--work-dir', default='work_dirs/experiment')
    parser.add_argument(
        '--reference-dir', default=REFERENCE_ROOT,
        help='where the reference models (--methods lr_ceiling hr_student) '
        'are trained and kept for every work dir (default %(default)s)')
    parser.add_argument('--iters', type=int,
                        help='student schedule length (default: CONFIG\'s)')
    parser.add_argument(
        '--target-ratio', nargs='+', metavar='R|METHOD=R',
        help='calibrate every distillation term of every distiller run by '
        'the project\'s rule: its loss_weight is set so that at the seeded '
        'initialisation (seed 0, trained teacher) its gradient norm on the '
        'student is R times the task\'s (tools/analysis_tools/'
        'loss_gradients.py); one calibration per method and scale, shared '
        'by its seeds, kept in WORK_DIR/calibration/. A plain R applies to '
        'every method; METHOD=R sets one method\'s R (each chosen on val, '
        'e.g. "0.1 kd=0.3"); a distiller method left without an R is an '
        'error')
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='student runs trained at a time once the teacher exists '
        '(default 1); each gets OMP_NUM_THREADS torch threads if it is set, '
        'else the runner\'s threads divided by --jobs')
    parser.add_argument('--latency-repeats', type=int, default=30,
                        help='timed rounds for the CPU latency (each '
                        'distinct model forwards once per round)')
    parser.add_argument(
        '--allow-mixed-cpus', action='store_true',
        help='make the table although its runs were trained on different '
        'CPUs or kernel settings (refused by default: their rounding '
        'differs by as much as a method\'s effect); the table then says so')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in every run\'s config, key=value pairs')
    args = parser.parse_args(argv)
    check_args(args, parser)
    args.target_ratio = parse_target_ratios(args.target_ratio, args.methods,
                                            parser)
    args.max_seeds = parse_max_seeds(args.max_seeds, args.methods, parser)
    return args


def parse_max_seeds(values: List[str], methods: List[str],
                    parser: argparse.ArgumentParser) -> Dict[str, int]:
    """``--max-seeds`` as ``{method: N}`` (N >= 1, methods of the run)."""
    out = {}
    for value in values:
        method, sep, n = value.partition('=')
        if not sep or not n.isdigit() or int(n) < 1:
            parser.error(f'--max-seeds {value!r}: write METHOD=N with N >= '
                         '1, e.g. "kd=1".')
        if method not in methods:
            parser.error(f'--max-seeds {value!r}: {method!r} is not one of '
                         f'--methods {methods}.')
        out[method] = int(n)
    return out


def check_args(args: argparse.Namespace,
               parser: argparse.ArgumentParser) -> None:
    """Refuse bad arguments before anything trains (a first run trains the
    teacher first: a typo must not surface after it)."""
    for scale in args.scales or []:
        if not 0 < scale <= 1:
            hint = f' (did you mean {scale / 100:g}?)' \
                if 1 < scale <= 100 else ''
            parser.error(f'--scales {scale:g}: a scale is the LR/HR size '
                         f'ratio, in (0, 1], e.g. 0.5 or 0.25{hint}')
    if args.iters is not None and args.iters < 1:
        parser.error(f'--iters {args.iters}: the student schedule needs at '
                     'least 1 iteration; leave --iters out for the '
                     "configs' own schedule")
    if any(seed < 0 for seed in args.seeds):
        parser.error(f'--seeds {args.seeds}: seeds are integers >= 0')
    for name in ('scales', 'methods', 'seeds'):
        values = getattr(args, name) or []
        if len(set(values)) != len(values):
            parser.error(f'--{name} {values}: each value once')
    if args.latency_repeats < 1:
        parser.error('--latency-repeats must be >= 1')
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: at least 1 run at a time')


def parse_target_ratios(values: Optional[List[str]], methods: List[str],
                        parser: argparse.ArgumentParser
                        ) -> Optional[Dict[str, float]]:
    """``['0.1', 'kd=0.3']`` -> ``{method: R}`` for every distiller
    method of the plan (None without ``--target-ratio``)."""
    if not values:
        return None
    default, ratios = None, {}
    for value in values:
        method, sep, number = value.rpartition('=')
        try:
            ratio = float(number)
        except ValueError:
            parser.error(f'--target-ratio {value!r}: expected R or '
                         'METHOD=R with R a positive number, e.g. 0.1 or '
                         'kd=0.3')
        if not ratio > 0:
            parser.error(f'--target-ratio {value!r}: R must be > 0')
        if not sep:
            default = ratio
        elif method not in methods or method in PLAIN_METHODS:
            parser.error(f'--target-ratio {value!r}: {method!r} is not a '
                         'distiller method of --methods '
                         f'({" ".join(methods)})')
        else:
            ratios[method] = ratio
    missing = [m for m in methods
               if m not in PLAIN_METHODS and m not in ratios]
    if missing and default is None:
        parser.error('--target-ratio gives no R for ' + ', '.join(missing) +
                     '; add a plain R for the rest or METHOD=R for each')
    return {m: ratios.get(m, default) for m in methods
            if m not in PLAIN_METHODS}


# ----------------------------------------------------------------------
# run configs
# ----------------------------------------------------------------------
def _rescale_schedulers(schedulers, ratio: float) -> None:
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        for value in schedulers.values():
            _rescale_schedulers(value, ratio)
        return
    for sched in schedulers if isinstance(schedulers, list) else [
            schedulers]:
        begin = int(round(sched.get('begin', 0) * ratio))
        sched['begin'] = begin
        if 'end' in sched:
            sched['end'] = max(begin + 1, int(round(sched['end'] * ratio)))


def set_iters(cfg: Config, iters: int) -> None:
    """Shorten/lengthen an iteration-based schedule to ``iters``."""
    old = cfg.train_cfg.get('max_iters')
    if old is None:
        raise ValueError('--iters needs an iteration-based train_cfg '
                         '(max_iters).')
    ratio = iters / old
    cfg.train_cfg.max_iters = iters
    if 'val_interval' in cfg.train_cfg:
        cfg.train_cfg.val_interval = max(
            1, min(iters, int(round(cfg.train_cfg.val_interval * ratio))))
    ckpt = cfg.get('default_hooks', {}).get('checkpoint')
    if ckpt is not None and 'interval' in ckpt:
        ckpt['interval'] = max(1, min(iters,
                                      int(round(ckpt['interval'] * ratio))))
    if cfg.get('param_scheduler') is not None:
        _rescale_schedulers(cfg.param_scheduler, ratio)
    if cfg.model.get('distill_warmup_iters'):
        cfg.model.distill_warmup_iters = int(
            round(cfg.model.distill_warmup_iters * ratio))


def recipe_of(cfg: Config, method: str, config: str = 'CONFIG') -> str:
    """The recipe config of ``method`` that ``cfg`` declares in its
    ``method_recipes``; a clear error if it declares none."""
    recipes = cfg.get('method_recipes') or {}
    if method not in recipes:
        raise ValueError(
            f'{config} declares no recipe for method {method!r}: its '
            f'method_recipes has {sorted(recipes) or "none"}. Add '
            f"method_recipes=dict({method}='path/to/{method}_recipe.py') "
            'to the config (the recipe is a distiller config whose '
            'distillation fields are used), or leave the method out of '
            '--methods.')
    path = recipes[method]
    if not osp.isfile(path):
        raise FileNotFoundError(f'Recipe of {method!r} not found: {path} '
                                f'({config}, method_recipes).')
    return path


def transplant_method(cfg: Config, method: str) -> None:
    """Give ``cfg`` (a distiller config) the distillation of ``method``."""
    recipe = Config.fromfile(recipe_of(cfg, method)).model
    for field in DISTILL_FIELDS:
        if field in recipe:
            cfg.model[field] = copy.deepcopy(recipe[field])
        elif field in cfg.model:
            del cfg.model[field]


def primary_metric(cfg: Config, config: str = 'CONFIG') -> str:
    """The metric runs are chosen and compared on: the one CONFIG's
    checkpoints are selected by (``default_hooks.checkpoint.save_best``,
    e.g. ``mIoU``, ``accuracy``)."""
    hook = cfg.get('default_hooks', {}).get('checkpoint') or {}
    best = hook.get('save_best')
    if not isinstance(best, str) or best == 'auto':
        raise ValueError(
            f'{config} sets no default_hooks.checkpoint.save_best metric '
            f'(got {best!r}): the runner chooses checkpoints on val and '
            'compares methods by that metric. Set it, e.g. '
            "save_best='mIoU' (segmentation) or save_best='accuracy'.")
    return best


class Run:
    """One training (or scoring) run and its files."""

    def __init__(self, name: str, method: str, scale: float,
                 seed: Optional[int], cfg: Config, work_root: str,
                 train: bool = True, ckpt: Optional[str] = None) -> None:
        self.name, self.method, self.scale, self.seed = (name, method, scale,
                                                         seed)
        self.cfg, self.train, self.ckpt = cfg, train, ckpt
        self.dir = osp.join(work_root, 'runs', name)
        self.config_file = osp.join(self.dir, 'config.py')
        self.result_file = osp.join(self.dir, 'result.json')

    @property
    def finished(self) -> bool:
        return osp.isfile(self.result_file)

    def result(self) -> dict:
        with open(self.result_file) as f:
            return json.load(f)


def build_plan(args: argparse.Namespace) -> Tuple[Run, List[Run]]:
    """The teacher run and the student runs, in execution order."""
    cfg = Config.fromfile(args.config)
    if not is_distiller(cfg):
        raise ValueError(f'{args.config} is not a distiller config '
                         "(model.type='rkd_mm.ResolutionAwareDistiller'); "
                         'pass an RKD config such as '
                         'configs/rkd/defect_seg_r50_to_r18_lr.py.')
    for role in ('teacher', 'student'):
        if 'cfg_path' not in cfg.model[role]:
            raise ValueError(
                f'model.{role} of {args.config} must be '
                f'dict(cfg_path=...) so the runner can train the {role} '
                'config on its own.')
    options = args.cfg_options or {}
    shared = {k: v for k, v in options.items() if not k.startswith('model.')}
    check_cfg_options(cfg, options)  # a typo'd key is an error, not ignored
    cfg.merge_from_dict(options)
    # refused before anything trains (a first run trains the teacher first)
    primary_metric(cfg, args.config)
    for method in args.methods:
        if method not in ('rkd', *PLAIN_METHODS):
            recipe_of(cfg, method, args.config)
    work_root = args.work_dir

    teacher_cfg = Config.fromfile(cfg.model.teacher.cfg_path)
    teacher_cfg.merge_from_dict(shared)
    pattern = cfg.model.get('teacher_ckpt')
    existing = sorted(glob.glob(pattern), key=osp.getmtime) if pattern \
        else []
    if existing:  # a trained teacher: score it only
        teacher = Run('teacher', 'teacher', 1.0, None, teacher_cfg,
                      work_root, train=False, ckpt=existing[-1])
    else:
        teacher = Run('teacher', 'teacher', 1.0, None, teacher_cfg,
                      work_root)
        if pattern:  # train it where CONFIG looks for it
            teacher.train_dir = osp.dirname(pattern)
    own_scale = lr_scales(cfg).train
    if len(own_scale) > 1 and not args.scales:
        parser_error = (f'{args.config} trains one student for several '
                        f'scales {list(own_scale)}: give --scales.')
        raise SystemExit(parser_error)
    own_scale = own_scale[0]
    scales = args.scales or [own_scale]
    if args.target_ratio is None and any(
            s != own_scale for s in scales):
        # the configs' weights follow the rule at their own scale
        print(f'Note: {args.config} sets its distillation weights for '
              f'x{own_scale:g}; at another scale they put another share of '
              'the gradient on the student. Give --target-ratio R to '
              'calibrate them per scale, or pass the config of that scale '
              '(e.g. configs/rkd/defect_seg_r50_to_r18_lr_x0.25.py).',
              flush=True)
    students = []
    for scale in scales:
        for seed in args.seeds:
            for method in args.methods:
                if args.seeds.index(seed) >= args.max_seeds.get(
                        method, len(args.seeds)):
                    continue
                if method == 'hr_student' and scale != scales[0]:
                    continue  # one HR run per seed serves every scale
                if method in ('lr_only', 'hr_student'):
                    run_cfg = Config.fromfile(cfg.model.student.cfg_path)
                    run_cfg.merge_from_dict(shared)
                    set_lr_scale(run_cfg, scale if method == 'lr_only'
                                 else 1.0)
                elif method == 'lr_ceiling':
                    run_cfg = Config.fromfile(cfg.model.teacher.cfg_path)
                    run_cfg.merge_from_dict(shared)
                    set_lr_ceiling(run_cfg, scale)
                else:
                    run_cfg = copy.deepcopy(cfg)
                    if method != 'rkd':
                        transplant_method(run_cfg, method)
                    set_lr_scale(run_cfg, scale)
                # the LR ceiling keeps the teacher's schedule (its capacity
                # and training, the student's information)
                if args.iters is not None and method != 'lr_ceiling':
                    set_iters(run_cfg, args.iters)
                if args.target_ratio is not None and \
                        method not in PLAIN_METHODS:
                    run_cfg.calibration = dict(
                        target_ratio=args.target_ratio[method],
                        batches=CALIBRATION_BATCHES, seed=0)
                    weights = calibration_weights(work_root, method, scale)
                    if weights is not None:
                        run_cfg.merge_from_dict(weights)
                run_cfg.randomness = dict(
                    run_cfg.get('randomness', {}), seed=seed)
                run_scale = 1.0 if method == 'hr_student' else scale
                run = Run(f'{method}_x{run_scale:g}_s{seed}', method,
                          run_scale, seed, run_cfg, work_root)
                if method in REFERENCE_METHODS:
                    # trained once and kept, like the teacher: another work
                    # dir (other methods, seeds) reuses the same training
                    run.train_dir = reference_dir(run, args.reference_dir)
                students.append(run)
    return teacher, students


def reference_dir(run: Run, root: str = REFERENCE_ROOT) -> str:
    """The shared training folder of a reference run: its name and a hash
    of its config (every compared key), so that only an identical
    configuration reuses it."""
    text = json.dumps(comparable_config(run.cfg), sort_keys=True,
                      default=repr)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    stem = osp.splitext(osp.basename(run.cfg.filename or 'config'))[0]
    return osp.join(root, f'{stem}_{run.name}_{digest}')


# ----------------------------------------------------------------------
# running
# ----------------------------------------------------------------------
class Progress:
    """Which run, how far, and an ETA for the rest."""

    def __init__(self, runs: List[Run], jobs: int = 1) -> None:
        self.todo = [r for r in runs if not r.finished]
        self.total = len(runs)
        self.done = self.total - len(self.todo)
        self.durations: Dict[str, List[float]] = {}
        self.jobs = jobs
        self.lock = threading.Lock()  # runs end in worker threads

    def finish(self, run: Run, seconds: float) -> int:
        """Record a finished run; the number of finished runs."""
        with self.lock:
            self.durations.setdefault(run.method, []).append(seconds)
            self.done += 1
            return self.done

    def estimate(self, run: Run, current: Run,
                 current_total: float) -> Optional[float]:
        """Seconds a not-yet-started student run will take, or None.

        The mean of finished runs of its method; for a method not run yet,
        the longest known student time (finished runs' mean, or the
        running student's projection: later runs in the plan are
        distillers, which cost more than LR-only). The teacher's time says
        nothing about a student's, so while it trains and no student has
        run the answer is None.
        """
        same = self.durations.get(run.method)
        if same:
            return sum(same) / len(same)
        known = [
            sum(ds) / len(ds) for m, ds in self.durations.items()
            if m != 'teacher'
        ]
        if current.method != 'teacher':
            known.append(current_total)
        return max(known) if known else None

    def line(self, run: Run, it: int, total: int, eta: str,
             elapsed: float) -> str:
        projected = elapsed / max(it, 1) * total if it else 0.0
        rest = [r for r in self.todo if r is not run and not r.finished]
        times = [self.estimate(r, run, projected) for r in rest]
        head = (f'[{self.done + 1}/{self.total}] {run.name}: iter '
                f'{it}/{total}, run ETA {eta}')
        if None in times:
            return (f'{head}, then {len(rest)} student run(s), ETA once '
                    'the first has started')
        # N runs at a time: the rest's time shared by N workers, never
        # less than this run's own
        total_s = max(_secs(eta), (sum(times) + _secs(eta)) / self.jobs)
        return f'{head}, all runs ETA ~{_hms(total_s)}'


def _secs(hms: str) -> float:
    """Seconds of an MMEngine ETA such as ``0:07:39``."""
    try:
        parts = [float(p) for p in hms.split(':')]
    except ValueError:
        return 0.0
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


# the tools' processes running now (several with --jobs), so that an
# interrupt of the main thread can stop them all
_LIVE: set = set()
_LIVE_LOCK = threading.Lock()
_STOP = threading.Event()  # set once: no tool starts any more


def stop_live_tools() -> None:
    """Terminate every running tool process and wait for it; start no
    new one."""
    with _LIVE_LOCK:
        _STOP.set()
        procs = list(_LIVE)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait()


def run_tool(args: List[str], log: str, progress: Optional[Progress] = None,
             run: Optional[Run] = None, threads: Optional[int] = None) -> None:
    """Run a tool, its output appended to ``log``; show training progress.

    ``threads`` sets the child's ``OMP_NUM_THREADS`` (and MKL's); None
    leaves the runner's environment as it is.
    """
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log, 'a') as out:
        with _LIVE_LOCK:  # not after stop_live_tools has run
            if _STOP.is_set():
                raise RuntimeError(f'`python {" ".join(args)}` not started: '
                                   'the runner is stopping')
            proc = subprocess.Popen([sys.executable, *args], cwd=REPO,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    env=env)
            _LIVE.add(proc)
        start, shown, last = time.time(), 0.0, ''
        try:
            while proc.poll() is None:
                time.sleep(1.0)
                if progress is None or time.time() - shown < 20:
                    continue
                shown = time.time()
                with open(log, errors='replace') as f:
                    found = ITER_RE.findall(f.read()[-20000:])
                if found:
                    it, total, eta = found[-1]
                    text = progress.line(run, int(it), int(total), eta,
                                         shown - start)
                    if text != last:
                        print(text, flush=True)
                        last = text
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
    if proc.returncode != 0:
        raise RuntimeError(
            f'`python {" ".join(args)}` failed (exit {proc.returncode}); '
            f'see {log}. Fix it and rerun the same command: finished runs '
            'are kept, this one resumes.')


def newest(pattern: str) -> Optional[str]:
    found = glob.glob(pattern)
    return max(found, key=osp.getmtime) if found else None


# set per run, not part of the protocol: what tools/train.py adds when its
# Runner re-dumps the config into the run's folder, the teacher checkpoint
# the runner resolves to a file, the recipe list (read by the runner, not
# by training) and the test-time drawing hook (off in training)
UNCOMPARED = ('launcher', 'work_dir', 'resume', 'load_from',
              'model.teacher_ckpt', 'method_recipes',
              'default_hooks.visualization')


def _flatten(value, prefix: str = '') -> Dict[str, object]:
    """``{'a.b.0': leaf}`` for nested dicts and sequences."""
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, (list, tuple)) and value:
        items = enumerate(value)
    else:
        return {prefix: value}
    out: Dict[str, object] = {}
    for key, item in items:
        out.update(_flatten(item, f'{prefix}.{key}' if prefix else str(key)))
    return out


def comparable_config(cfg: Config) -> Dict[str, object]:
    """``cfg`` flattened (``{'a.b.0': leaf}``) without the keys that do
    not change a run (:data:`UNCOMPARED`), through the same dump/load round
    trip as a frozen config file."""
    text = Config(cfg.to_dict()).pretty_text
    loaded = Config.fromstring(text, file_format='.py')
    return {k: v for k, v in _flatten(loaded.to_dict()).items()
            if not any(k == u or k.startswith(u + '.') for u in UNCOMPARED)}


def config_changes(run: Run) -> List[str]:
    """Keys where the run's planned config differs from the one frozen in
    its folder at its first attempt (empty if none was frozen yet)."""
    if not osp.isfile(run.config_file):
        return []

    frozen = comparable_config(Config.fromfile(run.config_file))
    planned = comparable_config(run.cfg)
    changed = [k for k in sorted(set(frozen) | set(planned),
                                 key=lambda k: ('max_iters' not in k, k))
               if frozen.get(k, '<absent>') != planned.get(k, '<absent>')]
    return [f'{k}: {frozen.get(k, "<absent>")!r} then, '
            f'{planned.get(k, "<absent>")!r} now' for k in changed]


CALIBRATION_BATCHES = 8


def calibration_file(work_root: str, method: str, scale: float) -> str:
    return osp.join(work_root, 'calibration', f'{method}_x{scale:g}.json')


def calibration_weights(work_root: str, method: str,
                        scale: float) -> Optional[Dict[str, float]]:
    """``{cfg key: loss_weight}`` of a finished calibration, or None."""
    path = calibration_file(work_root, method, scale)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        terms = json.load(f)['terms']
    weights = {}
    for row in terms.values():
        if row.get('cfg_option'):
            key, value = row['cfg_option'].split('=')
            weights[key] = float(value)
    return weights


def calibrate(run: Run, runs: List[Run], teacher_ckpt: str,
              work_root: str, threads: Optional[int] = None) -> None:
    """Calibrate ``run``'s method at its scale once (the rule of
    docs/method.md, through tools/analysis_tools/loss_gradients.py) and
    give the weights to every unfrozen run of that method and scale."""
    path = calibration_file(work_root, run.method, run.scale)
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        cal = run.cfg.calibration
        stem = path[:-len('.json')]
        run.cfg.dump(stem + '_config.py')
        print(f'{run.method} x{run.scale:g}: calibrating the distillation '
              f'weights (R={cal.target_ratio:g}, {cal.batches} batches)',
              flush=True)
        tmp = stem + '.tmp.json'
        run_tool(['tools/analysis_tools/loss_gradients.py',
                  stem + '_config.py', '--batches', str(cal.batches),
                  '--seed', str(cal.seed), '--target-ratio',
                  str(cal.target_ratio), '--device', 'cpu', '--out', tmp,
                  '--cfg-options', f'model.teacher_ckpt={teacher_ckpt}'],
                 stem + '.log', threads=threads)
        os.replace(tmp, path)
    weights = calibration_weights(work_root, run.method, run.scale)
    for other in runs:
        if (other.method, other.scale) == (run.method, run.scale) and \
                not osp.isfile(other.config_file):
            other.cfg.merge_from_dict(weights)


def check_protocol(runs: List[Run], work_root: str) -> None:
    """Refuse to mix runs of another configuration into this work dir's
    table (e.g. a run made with ``--iters 400`` and one without)."""
    for run in runs:
        changes = config_changes(run)
        if changes:
            shown = '; '.join(changes[:4]) + (
                f'; and {len(changes) - 4} more' if len(changes) > 4 else '')
            raise SystemExit(
                f'{run.name} in {work_root} was made with another '
                f'configuration than this command plans ({shown}). One '
                'work dir holds one protocol: give this command another '
                f'--work-dir, or delete {run.dir} to redo that run.')


def freeze_config(run: Run, teacher_ckpt: Optional[str] = None) -> None:
    """Write the run's config (with the teacher's checkpoint) unless an
    earlier attempt did: a run keeps the config it started with."""
    os.makedirs(run.dir, exist_ok=True)
    if teacher_ckpt is not None:
        run.cfg.model.teacher_ckpt = teacher_ckpt
    if not osp.isfile(run.config_file):  # frozen at the first attempt
        run.cfg.dump(run.config_file)


def cache_signature(cfg: Config) -> Optional[str]:
    """What decides a distiller's teacher-cache entries (teacher, its taps
    and views, cache, training data), or None without a disk cache:
    runs of one signature (seeds, or methods with the same taps) fill
    once."""
    model = cfg.get('model', {})
    cache = model.get('teacher_cache')
    if not cache or not cache.get('cache_dir') or 'teacher' not in model:
        return None
    keys = ('teacher', 'teacher_ckpt', 'teacher_taps', 'teacher_scale_factor',
            'scale_factor', 'teacher_cache', 'data_preprocessor',
            'loss_inputs')
    parts = {k: model.get(k) for k in keys}
    parts['lr_scales'] = list(lr_scales(cfg))  # the @lr taps' view
    parts['dataset'] = cfg.train_dataloader.get('dataset')
    return json.dumps(_flatten(parts), sort_keys=True, default=repr)


class FillJob:
    """Filling one teacher cache (tools/fill_teacher_cache.py, one process
    of the runs' threads), scheduled as a job beside the run it serves."""

    def __init__(self, run: Run) -> None:
        self.run = run  # the first run of its signature: config and folder
        self.name = f'teacher cache for {run.name}'
        self.log = osp.join(run.dir, 'fill_teacher_cache.log')

    def __call__(self, threads: int) -> None:
        print(f'{self.run.name}: filling the teacher cache beside it (1 '
              f'process x {threads} thread(s)), log {self.log}', flush=True)
        start = time.time()
        try:
            run_tool(['tools/fill_teacher_cache.py', self.run.config_file,
                      '--workers', '1', '--threads', str(threads)],
                     self.log, threads=threads)
        except RuntimeError as err:  # a speed-up only: the runs go on
            if _STOP.is_set():
                raise
            print(f'WARNING: {err} The runs compute the teacher '
                  'themselves.', flush=True)
            return
        print(f'{self.run.name}: teacher cache filled '
              f'({_hms(time.time() - start)})', flush=True)


def plan_fills(todo: List[Run], teacher_ckpt: str) -> List[FillJob]:
    """One :class:`FillJob` per teacher cache the distiller runs to come
    share (:func:`cache_signature`: seeds and methods with the same taps
    share one), for the first run of each.

    Side by side, a distiller run with a cold cache computes the teacher
    for every new variant on its own threads, its critical path, while
    the other cores sit idle as the other runs end. A fill job on a free
    core enumerates every variant ahead of it instead (the entries are the
    ones training would store, so no result changes), and the run reads
    more and more of them. Not planned where the training set has more
    variants than a run draws samples (a large data set, a short
    schedule): most entries would never be read.
    """
    fills, done = [], set()
    for run in todo:
        if run.method in PLAIN_METHODS or not run.train or \
                cache_signature(run.cfg) is None:  # nothing on disk to fill
            continue
        freeze_config(run, teacher_ckpt)
        signature = cache_signature(Config.fromfile(run.config_file))
        if signature is None or signature in done:
            continue
        if random_transforms(run.cfg.train_dataloader.get('dataset')):
            continue  # the cache is switched off for this run anyway
        done.add(signature)
        variants = count_variants(run.cfg)['variants']
        draws = run.cfg.train_cfg.max_iters * \
            run.cfg.train_dataloader.batch_size
        if variants > draws:
            print(f'{run.name}: no teacher-cache fill ({variants} training '
                  f'variants, more than the {draws} samples a run draws)',
                  flush=True)
            continue
        fills.append(FillJob(run))
    return fills


def job_order(todo: List[Run], fills: List[FillJob]) -> list:
    """The runs in plan order, except that each run served by a fill job
    goes first, its fill right after it (so the two start together)."""
    served = {fill.run.name for fill in fills}
    head = [x for fill in fills for x in (fill.run, fill)]
    return head + [run for run in todo if run.name not in served]


#: written into a reference run's shared training folder once it trained
TRAINED_FILE = 'trained.json'


def _write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half)."""
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def execute(run: Run, progress: Progress,
            teacher_ckpt: Optional[str] = None,
            threads: Optional[int] = None) -> dict:
    """Train (or resume) and test one run; write its ``result.json``.

    ``threads``: the torch threads of its tools (None: the runner's own).
    """
    train_dir = getattr(run, 'train_dir', run.dir)
    os.makedirs(run.dir, exist_ok=True)
    os.makedirs(train_dir, exist_ok=True)
    freeze_config(run, teacher_ckpt)
    log = osp.join(run.dir, 'run.log')
    start = time.time()
    # how the checkpoint was trained: this run, or (a shared reference
    # folder) an earlier run of the same config
    trained = dict(train_s=0.0, train_threads=None, machine=None)
    ckpt = run.ckpt
    done_file = osp.join(train_dir, TRAINED_FILE)
    if run.train and osp.isfile(done_file):
        with open(done_file) as f:
            trained = json.load(f)
        ckpt = trained['checkpoint']
        print(f'[{progress.done + 1}/{progress.total}] {run.name}: trained '
              f'earlier in {train_dir}, reused', flush=True)
    elif run.train:
        args = ['tools/train.py', run.config_file, '--work-dir', train_dir]
        # a run stopped after a checkpoint resumes (tools/train.py takes
        # the newest iter_*.pth when last_checkpoint is gone)
        if list_checkpoints(train_dir):
            args.append('--resume')
        print(f'[{progress.done + 1}/{progress.total}] {run.name}: '
              f'training ({"resuming" if "--resume" in args else "new"}), '
              f'log {log}', flush=True)
        run_tool(args, log, progress, run, threads=threads)
        ckpt = newest(osp.join(train_dir, 'best_*.pth')) or newest(
            osp.join(train_dir, 'iter_*.pth'))
        if ckpt is None:
            raise RuntimeError(f'{run.name}: no checkpoint in {train_dir} '
                               f'after training; see {log}.')
        # part of the protocol: a seed trained with another thread count
        # or on another CPU differs at float rounding, which training
        # amplifies (the child inherits OMP_NUM_THREADS and the machine)
        trained = dict(train_s=round(time.time() - start, 1),
                       train_threads=threads or torch.get_num_threads(),
                       machine=cpu_numerics(), checkpoint=ckpt)
        if train_dir != run.dir:  # a shared folder: others may reuse it
            _write_json(done_file, trained)
    print(f'[{progress.done + 1}/{progress.total}] {run.name}: testing '
          f'{ckpt}', flush=True)
    test_start = time.time()
    test_dir = osp.join(run.dir, 'test')
    run_tool(['tools/test.py', run.config_file, ckpt, '--work-dir',
              test_dir], log, threads=threads)
    metrics_file = newest(osp.join(test_dir, '*', 'test_metrics.json'))
    if metrics_file is None:
        raise RuntimeError(f'{run.name}: tools/test.py wrote no '
                           f'test_metrics.json; see {log}.')
    with open(metrics_file) as f:
        metrics = json.load(f)['metrics']
    result = dict(name=run.name, method=run.method, scale=run.scale,
                  seed=run.seed, checkpoint=ckpt, metrics=metrics,
                  # the val score that selected the checkpoint
                  val_score=best_val_score(ckpt) if run.train else None,
                  train_s=trained['train_s'],
                  train_threads=trained['train_threads'],
                  # the CPU and kernels that trained it (None: scored only)
                  machine=trained['machine'],
                  test_s=round(time.time() - test_start, 1),
                  config=run.config_file)
    _write_json(run.result_file, result)
    done = progress.finish(run, time.time() - start)
    metric = primary_metric(run.cfg, run.config_file)
    print(f'[{done}/{progress.total}] {run.name}: {metric} '
          f'{metrics.get(metric, float("nan")):.2f} '
          f'({_hms(time.time() - start)})', flush=True)
    return result


# ----------------------------------------------------------------------
# statistics over seeds (pure functions)
# ----------------------------------------------------------------------
# t_{0.975, df} for df = 1..30 (scipy.stats.t.ppf, 6 decimals): used when
# scipy cannot be imported
T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
        2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
        2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
        2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)
Z975 = 1.959963984540054  # standard normal 0.975 quantile


def t975(df: int, use_scipy: bool = True) -> float:
    """Student-t 0.975 quantile with ``df`` degrees of freedom.

    scipy's ``t.ppf`` when scipy imports (it comes with scikit-image);
    otherwise the table :data:`T975` for df <= 30 and, beyond, the
    Cornish-Fisher expansion of t around the normal quantile (error below
    1e-5 for df > 30).
    """
    if df < 1:
        raise ValueError(f'df={df}: a t interval needs at least 2 values.')
    if use_scipy:
        try:
            from scipy.stats import t
        except ImportError:
            pass
        else:
            return float(t.ppf(0.975, df))
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return (z + (z**3 + z) / (4 * df) +
            (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2) +
            (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def mean_sd(values: List[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (ddof=1; None for one value)."""
    if not values:
        raise ValueError('mean_sd needs at least one value.')
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def paired_difference(values: Dict[object, float],
                      baseline: Dict[object, float]) -> Optional[dict]:
    """Paired difference over the seeds both have.

    ``d_s = values[s] - baseline[s]``; returns ``n``, ``seeds``, ``mean``,
    ``sd`` (None for n=1) and the 95 % Student-t interval ``lo``/``hi``
    (``mean -/+ t(0.975, n-1) * sd / sqrt(n)``; None for n=1), or None
    when no seed is shared.
    """
    seeds = sorted(set(values) & set(baseline), key=str)
    if not seeds:
        return None
    diffs = [values[s] - baseline[s] for s in seeds]
    return dict(interval(diffs), seeds=seeds)


def interval(values: List[float]) -> dict:
    """Mean, sample sd and the 95 % Student-t interval of ``values``
    (``n``; ``sd``/``lo``/``hi`` None for one value)."""
    mean, sd = mean_sd(values)
    out = dict(n=len(values), mean=mean, sd=sd, lo=None, hi=None)
    if sd is not None:
        half = t975(len(values) - 1) * sd / math.sqrt(len(values))
        out.update(lo=mean - half, hi=mean + half)
    return out


def gap_closed(values: Dict[object, float], baseline: Dict[object, float],
               reference) -> Optional[dict]:
    """The share of the gap from LR-only to ``reference`` that a method
    closes, per seed, with its 95 % interval over seeds.

    ``r_s = (values[s] - baseline[s]) / (ref_s - baseline[s])`` over the
    seeds both have: 0 is LR-only, 1 the reference. ``reference`` is one
    score (the teacher) or scores by seed (the LR ceiling); a seed it lacks
    takes the mean of its seeds (then its own spread is not in the
    interval). Returns :func:`interval` of the ``r_s`` (and ``seeds``), or
    None when nothing can be divided.
    """
    if isinstance(reference, dict):
        if not reference:
            return None
        mean_ref = sum(reference.values()) / len(reference)
        ref_of = {s: reference.get(s, mean_ref) for s in values}
    else:
        ref_of = {s: reference for s in values}
    seeds = [s for s in sorted(set(values) & set(baseline), key=str)
             if ref_of[s] != baseline[s]]
    if not seeds:
        return None
    ratios = [(values[s] - baseline[s]) / (ref_of[s] - baseline[s])
              for s in seeds]
    return dict(interval(ratios), seeds=seeds)


def fmt_mean_sd(mean: float, sd: Optional[float]) -> str:
    """``49.80 ± 0.35``; one seed: the value alone."""
    return f'{mean:.2f}' if sd is None else f'{mean:.2f} ± {sd:.2f}'


def fmt_n(n: int) -> str:
    return '1 seed (indication)' if n == 1 else str(n)


def fmt_diff(diff: Optional[dict], n: Optional[int] = None) -> str:
    """``+2.00 [-0.48, +4.48]``; one seed: ``+0.65 (1 seed)``; ``n``: the
    row's seeds, the paired count is added where it differs."""
    if diff is None:
        return '—'
    if diff['lo'] is None:
        return f'{diff["mean"]:+.2f} (1 seed)'
    text = f'{diff["mean"]:+.2f} [{diff["lo"]:+.2f}, {diff["hi"]:+.2f}]'
    return text if diff['n'] == n else f'{text} (n={diff["n"]})'


def fmt_vs_best(diff: Optional[dict], n: Optional[int] = None) -> str:
    """The paired difference to the strongest baseline, naming it."""
    if diff is None:
        return '—'
    name = LABELS.get(diff['method'], diff['method'])
    return f'{fmt_diff(diff, n)} vs {name}'


def fmt_gap(gap: Optional[dict], n: Optional[int] = None) -> str:
    """``10.2 % [-4.0, +24.4]``; one seed: ``10.2 % (1 seed)``."""
    if gap is None:
        return '—'
    text = f'{100 * gap["mean"]:.1f} %'
    if gap['lo'] is None:
        return f'{text} (1 seed)'
    text += f' [{100 * gap["lo"]:+.1f}, {100 * gap["hi"]:+.1f}]'
    return text if n is None or gap['n'] == n else f'{text} (n={gap["n"]})'


# ----------------------------------------------------------------------
# cost and report
# ----------------------------------------------------------------------
LATENCY_WARMUP = 3
LATENCY_BATCH = 1


def latency_plan(runs: List[Run]) -> Tuple[Dict[str, tuple],
                                           Dict[Tuple[str, float], str]]:
    """The distinct deployed models of the finished runs, and each (method,
    scale) cell's one.

    The key is :func:`rkd_mm.utils.latency.architecture_key` of the
    deployed model (the student at its LR input for a distiller, the model
    itself for the teacher and LR-only) read from the run's frozen config:
    LR-only and every distiller sharing its student at one scale map to one
    model, measured once.

    Returns:
        tuple: ``{key: (model config, input shape)}`` and
        ``{(method, scale): key}``.
    """
    from rkd_mm.utils.latency import architecture_key, deployed_model
    models: Dict[str, tuple] = {}
    cells: Dict[Tuple[str, float], str] = {}
    shapes: dict = {}
    for run in runs:
        cell = (run.method, run.scale)
        if cell in cells or not run.finished:
            continue  # seeds of one cell share the architecture
        cfg = Config.fromfile(run.config_file) if osp.isfile(
            run.config_file) else run.cfg
        model_cfg, shape = deployed_model(cfg, shapes)
        key = architecture_key(model_cfg, shape)
        models.setdefault(key, (model_cfg, shape))
        cells[cell] = key
    return models, cells


def cost_table(runs: List[Run], work_root: str, repeats: int) -> dict:
    """GFLOPs, parameters and CPU latency per (method, scale) cell.

    Each distinct deployed model (:func:`latency_plan`) is timed once, all
    of them interleaved round by round in one session (batch 1, random
    weights: the time does not depend on their values), so rows sharing a
    student show one number. Cached in ``cost.json``; the cache is used
    only if it holds every model needed, measured with the same settings,
    else all of them are measured again together.
    """
    import torch

    from rkd_mm.utils.latency import benchmark_models, machine_info
    models, cells = latency_plan(runs)
    path = osp.join(work_root, 'cost.json')
    try:
        with open(path) as f:
            cached = json.load(f)
    except (OSError, ValueError):
        cached = {}
    settings = dict(batch_size=LATENCY_BATCH, warmup=LATENCY_WARMUP,
                    repeats=repeats, threads=torch.get_num_threads())
    session = cached.get('session', {})
    measured = cached.get('models', {})
    if models and ({k: session.get(k) for k in settings} != settings
                   or not set(models) <= set(measured)):
        print(f'measuring CPU latency of {len(models)} distinct model(s), '
              'interleaved', flush=True)
        # one task per plan (a distiller refuses a teacher of another
        # task), so one registry scope builds every model
        scope = next((r.cfg.get('default_scope') for r in runs
                      if r.cfg is not None and r.cfg.get('default_scope')),
                     'mmseg')
        measured = benchmark_models(models, batch_size=LATENCY_BATCH,
                                    warmup=LATENCY_WARMUP, repeats=repeats,
                                    default_scope=scope)
        session = dict(settings, date=time.strftime('%Y-%m-%d %H:%M'),
                       machine=machine_info())
    used_by: Dict[str, List[str]] = {}
    for (method, scale), key in cells.items():
        used_by.setdefault(key, []).append(f'{method}@{scale:g}')
    for key, names in used_by.items():
        measured[key]['used_by'] = sorted(
            set(measured[key].get('used_by', [])) | set(names))
    if models:
        tmp = f'{path}.{os.getpid()}.tmp'  # runners sharing a work dir
        with open(tmp, 'w') as f:
            json.dump(dict(session=session, models=measured), f, indent=2)
        os.replace(tmp, path)
    costs = {}
    for (method, scale), key in cells.items():
        cost = measured[key]
        costs[f'{method}@{scale:g}'] = dict(
            gflops=cost['gflops'], params_m=cost['params'] / 1e6,
            input=cost['input_shape'], latency_ms=cost['median_ms'],
            latency_iqr_ms=cost['iqr_ms'], latency_key=key,
            latency_threads=session.get('threads'))
    return costs


# besides the primary metric (CONFIG's save_best), the summary metrics a
# table shows (and plots) when the runs report them: classification
# (rkd_mm.ClassificationMetric, AUROC), re-ID (rkd_mm.ReIDMetric) and face
# verification (rkd_mm.FaceVerificationMetric); and the prefixes of
# per-class columns (means over seeds): mmseg-style IoU, per-class F1
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
    'mean (whose own spread is then not in the interval). HR student: '
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


def _dodge(i: int, n: int, step: float) -> float:
    """Factor that spreads method ``i`` of ``n`` sideways on a log axis."""
    return 1.0 + step * (i - (n - 1) / 2)


def plot(rows: List[dict], work_root: str,
         metric: Optional[str] = None) -> List[str]:
    """``metric`` (default: the primary one) vs GFLOPs (teacher as
    reference) and vs scale (``plots/<metric>_vs_gflops.png``,
    ``..._vs_scale.png``); rows without it are left out."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = metric or rows[0]['metric']
    rows = [r for r in rows if r.get(metric) is not None]
    stem = re.sub(r'[^a-z0-9]+', '_', metric.lower())
    out_dir = osp.join(work_root, 'plots')
    os.makedirs(out_dir, exist_ok=True)
    teacher = [r for r in rows if r['method'] == 'teacher']
    students = [r for r in rows if r['method'] != 'teacher']
    methods = list(dict.fromkeys(r['method'] for r in students))
    markers = 'osD^v<>Pp*'

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    # every student at one scale has the same GFLOPs: spread the methods a
    # little sideways (log axis) so their markers do not hide each other
    for i, m in enumerate(methods):
        pts = [r for r in students if r['method'] == m and 'gflops' in r]
        dodge = _dodge(i, len(methods), 0.04)
        ax.errorbar([r['gflops'] * dodge for r in pts],
                    [r[metric] for r in pts],
                    yerr=[r[metric + '_std'] or 0.0 for r in pts],
                    fmt=markers[i % 10], capsize=3, label=LABELS.get(m, m))
    for r in teacher:
        if 'gflops' in r:
            ax.plot(r['gflops'], r[metric], 'k*', markersize=12,
                    label='teacher (HR)')
    ticks = {}
    for r in rows:
        if 'gflops' in r:
            ticks[r['gflops']] = 'HR' if r['method'] == 'teacher' else \
                f'×{r["scale"]:g}'
    ax.set_xscale('log')
    ax.set_xticks(sorted(ticks))
    ax.set_xticklabels([f'{g:.3g}\n{ticks[g]}' for g in sorted(ticks)])
    ax.minorticks_off()
    if ticks:
        ax.set_xlim(min(ticks) / 1.6, max(ticks) * 1.6)
    ax.set_xlabel('GFLOPs per image (log)')
    ax.set_ylabel(f'test {metric} (%)')
    ax.set_title(f'{metric} vs compute')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vs_flops = osp.join(out_dir, f'{stem}_vs_gflops.png')
    fig.tight_layout()
    fig.savefig(vs_flops, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    scales = sorted({r['scale'] for r in students})
    for i, m in enumerate(methods):
        pts = sorted((r for r in students if r['method'] == m),
                     key=lambda r: r['scale'])
        dodge = _dodge(i, len(methods), 0.03)  # equal scores stay visible
        ax.errorbar([r['scale'] * dodge for r in pts],
                    [r[metric] for r in pts],
                    yerr=[r[metric + '_std'] or 0.0 for r in pts],
                    fmt='-' + markers[i % 10], capsize=3,
                    label=LABELS.get(m, m))
    for r in teacher:
        ax.axhline(r[metric], color='k', linestyle='--',
                   label='teacher (HR)')
    ax.set_xscale('log')  # x0.5 -> x0.25 and x0.25 -> x0.125 look alike
    ax.set_xticks(scales)
    ax.set_xticklabels([f'×{s:g}' for s in scales])
    ax.minorticks_off()
    if scales:
        ax.set_xlim(min(scales) / 1.6, max(scales) * 1.6)
    ax.set_xlabel('LR scale factor (log)')
    ax.set_ylabel(f'test {metric} (%)')
    ax.set_title(f'{metric} vs input resolution')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vs_scale = osp.join(out_dir, f'{stem}_vs_scale.png')
    fig.tight_layout()
    fig.savefig(vs_scale, dpi=120)
    plt.close(fig)
    return [vs_flops, vs_scale]


def threads_per_job(jobs: int) -> int:
    """Torch threads of each of ``jobs`` concurrent runs: the user's
    ``OMP_NUM_THREADS`` if set, else the runner's threads shared out."""
    if os.environ.get('OMP_NUM_THREADS', '').isdigit():
        return max(1, int(os.environ['OMP_NUM_THREADS']))
    return max(1, torch.get_num_threads() // jobs)


def run_parallel(students: List[Run], progress: Progress, teacher_ckpt: str,
                 work_root: str, jobs: int) -> None:
    """Train and test the unfinished ``students``, ``jobs`` at a time.

    Every calibration runs first, one at a time (a run's weights must be
    set before its config is frozen); then the runs start in plan order,
    except that each distiller run whose teacher cache gets filled
    (:func:`plan_fills`) starts first, with its fill job beside it.
    A failure lets the running runs end, starts no new one, and is raised;
    an interrupt (Ctrl-C, SIGTERM in the main thread) stops them all.
    """
    threads = threads_per_job(jobs)
    todo = [r for r in students if not r.finished]
    print(f'{len(todo)} student run(s), {jobs} at a time, {threads} torch '
          'thread(s) each', flush=True)
    calibrated = set()
    for run in todo:
        cell = (run.method, run.scale)
        if run.cfg.get('calibration') is not None and cell not in calibrated:
            calibrate(run, students, teacher_ckpt, work_root, threads)
            calibrated.add(cell)
    failed = threading.Event()

    def job(run) -> Optional[dict]:
        if failed.is_set():
            return None  # another run failed: start nothing new
        try:
            if isinstance(run, FillJob):
                return run(threads)
            return execute(run, progress,
                           None if run.method in PLAIN_METHODS else
                           teacher_ckpt,
                           threads)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(job, run)
               for run in job_order(todo, plan_fills(todo, teacher_ckpt))]
    try:
        wait_futures(futures, return_when=FIRST_EXCEPTION)
        if failed.is_set():
            print('a run failed: the running ones finish, no new one '
                  'starts', flush=True)
        wait_futures(futures)
    except BaseException:  # KeyboardInterrupt from Ctrl-C or SIGTERM
        failed.set()
        for future in futures:
            future.cancel()
        stop_live_tools()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]


def best_val_score(ckpt: str) -> Optional[float]:
    """The val score that selected ``ckpt`` (MMEngine's CheckpointHook
    ``best_score``), for choosing on val; None if it holds none."""
    from mmengine.runner.checkpoint import _load_checkpoint
    info = _load_checkpoint(ckpt, map_location='cpu').get(
        'message_hub', {}).get('runtime_info', {})
    score = info.get('best_score')
    return None if score is None else float(score)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f'signal {signum}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # `kill` (SIGTERM) stops the running train/test child too, as Ctrl-C
    # does; otherwise it trains on, orphaned, and a rerun races with it
    signal.signal(signal.SIGTERM, _interrupt)
    os.makedirs(args.work_dir, exist_ok=True)
    teacher, students = build_plan(args)
    runs = [teacher, *students]
    check_protocol(runs, args.work_dir)
    progress = Progress(runs, args.jobs)
    for run in runs:
        if run.finished:
            print(f'{run.name}: finished earlier, skipped '
                  f'({run.result_file})', flush=True)
    if not teacher.finished:
        execute(teacher, progress)
    teacher_ckpt = teacher.result()['checkpoint']
    if args.jobs == 1:
        for run in students:
            if not run.finished:
                if run.cfg.get('calibration') is not None:
                    calibrate(run, students, teacher_ckpt, args.work_dir)
                execute(run, progress,
                        None if run.method in PLAIN_METHODS else
                        teacher_ckpt)
    else:
        run_parallel(students, progress, teacher_ckpt, args.work_dir,
                     args.jobs)
    costs = cost_table(runs, args.work_dir, args.latency_repeats)
    metric = primary_metric(Config.fromfile(args.config), args.config)
    try:
        rows = aggregate(runs, costs, metric, args.allow_mixed_cpus)
    except MixedMachinesError as err:
        raise SystemExit(f'{err}') from None
    paths = write_reports(rows, args.work_dir)
    print('\nwritten: ' + ', '.join(paths))


if __name__ == '__main__':
    main()
