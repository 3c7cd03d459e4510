"""Time a training iteration in float32 and with ``--amp`` (bf16 on CPU).

Usage::

    python benchmarks/amp_speed.py CONFIG [--iters 30] [--warmup 3]
        [--batch 8] [--out benchmarks/results/amp_speed.json]
        [--cfg-options key=value ...]

CONFIG is an LR-only config (one ``OptimWrapper``) or a distiller config
(one wrapper per part). The script builds the model twice from one seed,
gives one copy the config's optimizer wrappers and the other what
``tools/train.py --amp`` makes of them
(:func:`rkd_mm.engine.optimizers.amp_optim_wrapper_cfg`), and times their
``train_step`` on the same batch, interleaved round by round (``--iters``
rounds after ``--warmup``): medians and fastest rounds, and the median and
range of the per-round ratios bf16 / fp32. A distiller's teacher is randomly
initialised and runs online (no teacher cache), in float32 in both modes,
as in training.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys

import torch

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from rkd_mm.engine.optimizers import (MultiOptimWrapperConstructor,
                                      amp_optim_wrapper_cfg)
from rkd_mm.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from rkd_overhead import make_batch, time_rounds  # noqa: E402


def build_wrappers(model, optim_cfg):
    """The config's optimizer wrapper(s) for ``model``."""
    if 'MultiOptimWrapperConstructor' in str(optim_cfg.get('constructor', '')):
        return MultiOptimWrapperConstructor(
            {k: v for k, v in optim_cfg.items() if k != 'constructor'})(model)
    return build_optim_wrapper(model, optim_cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s)')
    parser.add_argument('--out', default='benchmarks/results/amp_speed.json')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config fields, as in tools/train.py')
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    distiller = 'teacher' in cfg.model
    if distiller:
        cfg.model.teacher_ckpt = None
        cfg.model.teacher_cache = None
    # two identical models (built from the same seed: a deep copy would
    # leave the distiller's feature recorders hooked to the original)
    torch.manual_seed(0)
    fp32 = MODELS.build(cfg.model).train()
    torch.manual_seed(0)
    bf16 = MODELS.build(cfg.model).train()
    steps = {}
    for name, model, optim_cfg in (
            ('fp32', fp32, cfg.optim_wrapper),
            ('bf16', bf16, amp_optim_wrapper_cfg(cfg.optim_wrapper,
                                                 cuda=False))):
        wrappers = build_wrappers(model, optim_cfg)
        steps[name] = (lambda m, w: lambda: m.train_step(batch, w))(
            model, wrappers)
    size = cfg.generator_cfg['img_size']
    head = (fp32.student if distiller else fp32).decode_head
    batch = make_batch(args.batch, size, head.num_classes)
    # HR images for every model: an LR model's data preprocessor makes its
    # LR view (rkd_mm.apis.lr_scale), as in training

    rounds = time_rounds(steps, args.iters, args.warmup)
    t = {name: statistics.median(v) for name, v in rounds.items()}
    ratios = sorted(b / f for f, b in zip(rounds['fp32'], rounds['bf16']))
    result = dict(
        config=args.config,
        cfg_options=args.cfg_options,
        batch=args.batch,
        hr_size=size,
        seconds=t,
        fastest_seconds={name: min(v) for name, v in rounds.items()},
        seconds_per_round=rounds,
        bf16_over_fp32=statistics.median(ratios),
        bf16_over_fp32_range=[ratios[0], ratios[-1]],
        machine=dict(
            processor=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
            torch=torch.__version__))
    os.makedirs(osp.dirname(args.out) or '.', exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    for k, v in t.items():
        print(f'{k}: {v:.3f} s/iter (median), {min(rounds[k]):.3f} '
              '(fastest)')
    print(f'bf16 / fp32: {result["bf16_over_fp32"]:.3f}x (rounds '
          f'{ratios[0]:.3f}-{ratios[-1]:.3f})')
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
