"""The plan of an experiment: which runs, with which configs, in which
work dir -- and the rule that one work dir holds one protocol.

Every run of a plan shares CONFIG's data, teacher, student, schedule and
optimizer (:func:`build_plan`): ``lr_only`` is the student's own config,
a KD baseline is CONFIG with the distillation of the recipe that CONFIG's
``method_recipes`` names, ``rkd`` is CONFIG itself, and the two reference
models (``lr_ceiling``, ``hr_student``) split the teacher - LR-only gap.
"""
import copy
import glob
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config

from rkd_mm.apis.complexity import is_distiller
from rkd_mm.apis.lr_scale import lr_scales, set_lr_ceiling, set_lr_scale
from rkd_mm.utils.cfg_options import check_cfg_options, flatten_config
from .calibrate import CALIBRATION_BATCHES, calibration_weights
from .spec import (DISTILL_FIELDS, PLAIN_METHODS, REFERENCE_METHODS,
                   REFERENCE_ROOT, ExperimentSpec, Run)

__all__ = [
    'build_plan', 'set_iters', 'recipe_of', 'transplant_method',
    'primary_metric', 'reference_dir', 'comparable_config',
    'config_changes', 'check_protocol', 'freeze_config'
]

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
    """Give ``cfg`` (a distiller config) the distillation of ``method``:
    the ``model.distiller`` block of the recipe config that CONFIG's
    ``method_recipes`` names for it."""
    recipe = Config.fromfile(recipe_of(cfg, method)).model
    for key in DISTILL_FIELDS:
        if key in recipe:
            cfg.model[key] = copy.deepcopy(recipe[key])
        elif key in cfg.model:
            del cfg.model[key]


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


def build_plan(args: ExperimentSpec) -> Tuple['Run', List['Run']]:
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


# set per run, not part of the protocol: what tools/train.py adds when its
# Runner re-dumps the config into the run's folder, the teacher checkpoint
# the runner resolves to a file, the recipe list (read by the runner, not
# by training) and the test-time drawing hook (off in training)
UNCOMPARED = ('launcher', 'work_dir', 'resume', 'load_from',
              'model.teacher_ckpt', 'method_recipes',
              'default_hooks.visualization')


def comparable_config(cfg: Config) -> Dict[str, object]:
    """``cfg`` flattened (``{'a.b.0': leaf}``) without the keys that do
    not change a run (:data:`UNCOMPARED`), through the same dump/load round
    trip as a frozen config file."""
    text = Config(cfg.to_dict()).pretty_text
    loaded = Config.fromstring(text, file_format='.py')
    return {k: v for k, v in flatten_config(loaded.to_dict()).items()
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
