"""Train a model (HR teacher, LR student or distiller) from a config.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--no-data-check] [--cfg-options key=value ...]
        [--launcher {none,pytorch,slurm,mpi}]

What is trained is kept: a fresh run refuses a work dir that holds
checkpoints; ``--resume`` finds the checkpoint in a moved work dir, says so
when there is none, and refuses one written by another model or config
(``rkd_mm.ResumeCheckHook``); a NaN/inf loss stops the run before anything
of that iteration is saved (``rkd_mm.NonFiniteLossHook``); unknown
``--cfg-options`` keys are refused at any depth; the data is checked first
(``--no-data-check`` skips it). ``--amp`` is bf16 autocast on
the CPU (``rkd_mm.AutocastOptimWrapper``), fp16 with loss scaling on a GPU.
"""
import argparse
import logging
import os
import os.path as osp

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from rkd_mm.engine.hooks import (NonFiniteLossHook, ResumeCheckHook,
                                 register_strict_load_hook)
from rkd_mm.engine.optimizers import amp_optim_wrapper_cfg
from rkd_mm.utils.cfg_options import check_cfg_options
from rkd_mm.apis.config_upgrade import refuse_legacy
from rkd_mm.apis.data_check import DataCheckError, check_config_data
from rkd_mm.models.algorithms.teacher_loading import (TeacherNotFoundError,
                                                      check_teacher_ckpt)
from rkd_mm.utils.work_dir import list_checkpoints, resume_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (bf16 on CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_cfg.max_iters=100 model.decode_head.num_classes=5')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--no-data-check',
        action='store_true',
        help='skip the check of the data before training (label values, '
        '0/255 masks, missing classes, image sizes; '
        'tools/analysis_tools/check_dataset.py shows it)')
    # torch.distributed.launch passes --local-rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        import torch
        cfg.optim_wrapper = amp_optim_wrapper_cfg(cfg.optim_wrapper,
                                                  torch.cuda.is_available())

    if args.cfg_options is not None:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = find_checkpoint_to_resume(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume {args.resume}: no such checkpoint. Give an '
                'existing .pth file, or --resume without a value to continue '
                'from the latest checkpoint in the work_dir.')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def find_checkpoint_to_resume(work_dir: str) -> str:
    """The checkpoint ``--resume`` without a path continues from.

    MMEngine would log "Auto resumed from None" and train from scratch when
    there is none, and fail on the stale absolute path of a moved work dir;
    :func:`rkd_mm.utils.work_dir.resume_checkpoint` resolves both.
    """
    path, note = resume_checkpoint(work_dir)
    if path is None:
        raise FileNotFoundError(
            f'--resume: nothing to resume in {work_dir} (no last_checkpoint '
            'file, no iter_*.pth). Start a fresh run without --resume, give '
            'the checkpoint with --resume PATH.pth, or point --work-dir at '
            'the run to continue.')
    if note:
        print_log(note, logger='current', level=logging.WARNING)
    return path


def refuse_to_overwrite(cfg: Config) -> None:
    """Never let a fresh run overwrite the checkpoints of an earlier one.

    Checks the files themselves, not only MMEngine's ``last_checkpoint``
    marker: a work dir whose marker is gone still holds its ``iter_*.pth``
    and ``best_*.pth``, which a fresh run would overwrite one by one.
    """
    if cfg.get('resume', False):
        return
    found = [osp.basename(p) for p in list_checkpoints(cfg.work_dir)]
    if osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
        found.append('last_checkpoint')
    if not found:
        return
    shown = ', '.join(found[:6]) + (f' and {len(found) - 6} more'
                                    if len(found) > 6 else '')
    raise FileExistsError(
        f'{cfg.work_dir} already holds a run ({shown}). A fresh run would '
        'overwrite its checkpoints. Continue it with --resume, start anew '
        'with another --work-dir, or delete those files first.')


def register_safety_hooks(runner: Runner, cfg: Config) -> None:
    """Hooks every training run of this tool gets, registered on the runner
    rather than written into ``cfg``: they guard the run without changing
    the config the Runner dumps into the work dir (which
    ``tools/run_experiment.py`` compares with the run's protocol)."""
    if not any(isinstance(h, NonFiniteLossHook) for h in runner.hooks):
        runner.register_hook(NonFiniteLossHook())
    if cfg.get('resume', False) and cfg.get('load_from'):
        runner.register_hook(ResumeCheckHook(checkpoint=cfg.load_from))
    elif cfg.get('load_from'):  # MMEngine loads load_from non-strictly
        register_strict_load_hook(runner)


def check_data(cfg: Config) -> None:
    """Read the data before anything is built (:mod:`rkd_mm.apis.data_check`):
    a wrong label map stops here with what to change, not after a run
    that trained to nothing."""
    try:
        reports = check_config_data(cfg)
    except DataCheckError as err:
        raise SystemExit(f'{cfg.filename}: {err}') from None
    for report in reports:
        lines = report.summary_lines()
        print_log('data check: ' + lines[0], logger='current')
        for warning in report.warnings:
            print_log(f'data check ({report.split}): {warning}',
                      logger='current', level=logging.WARNING)


def check_teacher(cfg: Config) -> None:
    """A distiller's ``model.teacher_ckpt`` must name a checkpoint: say so
    before anything is built (what the distiller would say after the
    Runner's set-up), and log the file the pattern resolves to."""
    model = cfg.get('model') or {}
    ckpt = model.get('teacher_ckpt') if isinstance(model, dict) else None
    if not isinstance(ckpt, str):
        return
    teacher = model.get('teacher')
    teacher_config = teacher.get('cfg_path') if isinstance(
        teacher, dict) else None
    try:
        path = check_teacher_ckpt(ckpt, teacher_config)
    except TeacherNotFoundError as err:
        raise SystemExit(f'{cfg.filename}: {err}') from None
    print_log(f'teacher_ckpt {ckpt} -> {osp.abspath(path)}',
              logger='current')


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    try:  # an outdated config: what changed and the command that rewrites
        refuse_legacy(cfg, args.config)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    refuse_to_overwrite(cfg)
    check_teacher(cfg)
    if not args.no_data_check:
        check_data(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    register_safety_hooks(runner, cfg)
    runner.train()


if __name__ == '__main__':
    main()
