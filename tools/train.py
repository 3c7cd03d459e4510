"""Train a model (HR teacher, LR student or distiller) from a config.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options key=value ...] [--launcher {none,pytorch,slurm,mpi}]
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
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        elif optim_wrapper == 'OptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            if torch.cuda.is_available():
                cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
            else:  # CPU autocast supports bfloat16 only
                cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
        else:
            raise ValueError(
                '--amp works with optim_wrapper.type="OptimWrapper"; this '
                f'config uses {optim_wrapper!r}: set AMP per optimizer in '
                'the config instead.')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume {args.resume}: no such checkpoint. Give an '
                'existing .pth file, or --resume without a value to continue '
                'from the latest checkpoint in the work_dir.')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def refuse_to_overwrite(cfg: Config) -> None:
    """Never let a fresh run overwrite the checkpoints of an earlier one."""
    if cfg.get('resume', False):
        return
    marker = osp.join(cfg.work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            last = f.read().strip()
        raise FileExistsError(
            f'{cfg.work_dir} already holds a run (last checkpoint: {last}). '
            'A fresh run would overwrite its checkpoints. Continue it with '
            '--resume, or start anew with another --work-dir.')


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    refuse_to_overwrite(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
