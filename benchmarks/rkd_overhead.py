"""Time one RKD training iteration against its unavoidable parts.

Usage::

    python benchmarks/rkd_overhead.py [CONFIG] [--iters 10] [--warmup 3]
        [--batch 8] [--out benchmarks/results/rkd_overhead.json]
        [--cfg-options
         model.distiller.distill_losses.loss_kd.detail_weight=0 ...]

Measures, in one process on the same batch, interleaved round by round
(``--iters`` rounds; medians, and the range of the per-round ratios):

* ``rkd``: ``ResolutionAwareDistiller.train_step`` (teacher forward(s),
  student forward/backward/step, discriminator step, all losses);
* ``teacher_hr``: one teacher forward on the HR batch (no grad);
* ``teacher_lr``: one teacher forward on the LR view upsampled to HR, which
  the resolution-aware KD term needs when ``detail_weight > 0``;
* ``student``: the LR-only baseline's training step on the LR images of the
  same batch (its config's optimizer wrapper and data preprocessor).

and reports ``rkd / (teacher_hr + student)`` and
``rkd / (teacher forwards the config needs + student)`` — the overhead of
the distillation machinery itself (target <= 1.15x). The teacher is randomly
initialised: timing does not depend on its weights.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable, Dict, List

import numpy as np
import torch

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rkd_mm.utils.lr_view import downsample_image
from rkd_mm.engine import MultiOptimWrapperConstructor
from rkd_mm.registry import MODELS

DEFAULT = 'configs/rkd/defect_seg_r50_to_r18_lr_x0.25.py'


def make_batch(n: int, size: int, num_classes: int) -> dict:
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=g))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g,
                            dtype=torch.uint8) for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def time_rounds(fns: Dict[str, Callable[[], None]], iters: int,
                warmup: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, interleaved round by round.

    Interleaving puts every part of one round under the same machine load,
    so the per-round ratios stay meaningful on a machine whose speed drifts.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument(
        '--out', default='benchmarks/results/rkd_overhead.json')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config fields, as in tools/train.py')
    args = parser.parse_args()

    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model)
    model.train()
    wrappers = MultiOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.items()
         if k != 'constructor'})(model)
    size = cfg.generator_cfg['img_size']
    num_classes = model.student.decode_head.num_classes
    batch = make_batch(args.batch, size, num_classes)
    data = model.data_preprocessor(batch, True)
    hr = data['inputs']
    scale = model.scale_factors[0]
    lr = model.lr_view(hr, scale)
    lr_up = torch.nn.functional.interpolate(
        lr, size=hr.shape[-2:], mode='bilinear', align_corners=False)

    # the LR-only baseline's own training step: its config's model and
    # optimizer wrapper (clipping included), fed the LR images of the same
    # batch through its data preprocessor, as in LR-only training
    student_cfg = Config.fromfile(cfg.model.student['cfg_path'])
    student = MODELS.build(student_cfg.model)
    student.train()
    student_optim = build_optim_wrapper(student, student_cfg.optim_wrapper)
    lr_batch = dict(
        inputs=[torch.from_numpy(np.ascontiguousarray(downsample_image(
            img.permute(1, 2, 0).numpy(), scale))).permute(2, 0, 1)
            for img in batch['inputs']],
        data_samples=batch['data_samples'])

    def student_step():
        student.train_step(lr_batch, student_optim)

    @torch.no_grad()
    def teacher_on(x):
        return lambda: model.teacher._forward(x)

    def rkd_step():
        model.train_step(batch, wrappers)

    torch.manual_seed(0)
    rounds = time_rounds(
        dict(rkd=rkd_step, teacher_hr=teacher_on(hr),
             teacher_lr=teacher_on(lr_up), student=student_step),
        args.iters, args.warmup)
    t = {name: statistics.median(v) for name, v in rounds.items()}
    needs_lr = model._needs_teacher_lr()

    def ratios(n_teacher: int) -> List[float]:
        return sorted(
            r / (h + (lo if n_teacher == 2 else 0.0) + s)
            for r, h, lo, s in zip(rounds['rkd'], rounds['teacher_hr'],
                                   rounds['teacher_lr'], rounds['student']))

    one, needed = ratios(1), ratios(2 if needs_lr else 1)
    result = dict(
        config=args.config,
        cfg_options=args.cfg_options,
        batch=args.batch,
        hr_size=size,
        scale_factor=scale,
        seconds=t,
        seconds_per_round=rounds,
        # median of the per-round ratios, and their range
        ratio_vs_one_teacher_forward=statistics.median(one),
        ratio_vs_one_teacher_forward_range=[one[0], one[-1]],
        teacher_forwards_needed=2 if needs_lr else 1,
        ratio_vs_needed_teacher_forwards=statistics.median(needed),
        ratio_vs_needed_teacher_forwards_range=[needed[0], needed[-1]],
        machine=dict(
            processor=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
            torch=torch.__version__),
    )
    os.makedirs(osp.dirname(args.out) or '.', exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    for k, v in t.items():
        print(f'{k:>11}: {v * 1000:8.1f} ms')
    lo, hi = result['ratio_vs_one_teacher_forward_range']
    print(f'RKD / (teacher HR fwd + student step): '
          f'{result["ratio_vs_one_teacher_forward"]:.3f}x '
          f'(rounds {lo:.3f}-{hi:.3f})')
    lo, hi = result['ratio_vs_needed_teacher_forwards_range']
    print(f'RKD / ({result["teacher_forwards_needed"]} teacher fwd + '
          f'student step): {result["ratio_vs_needed_teacher_forwards"]:.3f}x '
          f'(rounds {lo:.3f}-{hi:.3f}; target <= 1.15x)')
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
