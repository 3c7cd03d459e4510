"""Does the LR student's FLOPs saving show up as CPU speed?

Usage::

    python benchmarks/latency_vs_flops.py [--scales 0.5 0.25]
        [--batch-sizes 1 8] [--warmup 10] [--repeats 30] [--threads N]
        [--out benchmarks/results/latency_vs_flops.json]

For each scale s, takes the shipped RKD config at that scale
(``configs/rkd/defect_seg_r50_to_r18_lr.py`` for 0.5, ``..._x0.25.py`` for
0.25; any other s: the x0.5 config with its student's LR data preprocessor
at ``scale_factor=s``, the same student architecture) and times,
interleaved round by round, the teacher's tensor forward at HR (128x128)
and the student's at LR with
:func:`rkd_mm.apis.latency.benchmark_config`. It reports the latency ratio
teacher/student next to the GFLOPs ratio and checks the target: a measured
speed-up of at least 0.8x the FLOPs ratio. Weights are random (no trained
teacher needed): a dense CNN's latency does not depend on its weights'
values. The JSON records the machine (platform, CPU model, torch threads)
and the load average before and after, since other jobs on the machine
slow both models and skew the ratio.
"""
import argparse
import json
import os
import os.path as osp
import time

import rkd_mm  # noqa: F401  (environment shims)
import torch
from mmengine.config import Config

from rkd_mm.apis.latency import benchmark_config, machine_info

CONFIGS = {
    0.5: 'configs/rkd/defect_seg_r50_to_r18_lr.py',
    0.25: 'configs/rkd/defect_seg_r50_to_r18_lr_x0.25.py',
}
TARGET = 0.8  # measured speed-up >= TARGET x the FLOPs ratio


def config_for(scale: float):
    """The shipped RKD config at ``scale`` and the overrides applied."""
    if scale in CONFIGS:
        return CONFIGS[scale], {}
    return CONFIGS[0.5], {
        'model.student.data_preprocessor.scale_factor': scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scales', type=float, nargs='+',
                        default=[0.5, 0.25])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int,
                        help='torch threads (default: torch\'s choice)')
    parser.add_argument(
        '--out', default='benchmarks/results/latency_vs_flops.json')
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    machine = machine_info()
    runs = []
    for scale in args.scales:
        path, options = config_for(scale)
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(options)
        for batch in args.batch_sizes:
            res = benchmark_config(cfg, batch_size=batch,
                                   warmup=args.warmup, repeats=args.repeats)
            runs.append(dict(
                scale=scale, config=path, cfg_options=options,
                batch_size=batch, models=res['models'],
                latency_ratio=res['latency_ratio'],
                latency_ratio_iqr=res['latency_ratio_iqr'],
                flops_ratio=res['flops_ratio'],
                speedup_vs_flops=res['speedup_vs_flops'],
                meets_target=res['speedup_vs_flops'] >= TARGET))
    load_after = machine_info()['loadavg_1_5_15']
    result = dict(
        date=time.strftime('%Y-%m-%d %H:%M'),
        weights='random (latency does not depend on their values)',
        timed='tensor forward (backbone, neck, decode head), eval, '
        'no_grad; teacher and student interleaved round by round',
        warmup=args.warmup, repeats=args.repeats, target=TARGET,
        machine=dict(machine, loadavg_1_5_15_after=load_after),
        runs=runs)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)

    head = (f'{"scale":>5} {"batch":>5} {"teacher ms":>11} '
            f'{"student ms":>11} {"latency x":>10} {"GFLOPs x":>9} '
            f'{"realised":>9}  target')
    print(head)
    print('-' * len(head))
    for r in runs:
        t, s = r['models']['teacher'], r['models']['student']
        lo, hi = r['latency_ratio_iqr']
        print(f'{r["scale"]:>5g} {r["batch_size"]:>5} '
              f'{t["median_ms"]:>11.2f} {s["median_ms"]:>11.2f} '
              f'{r["latency_ratio"]:>10.2f} {r["flops_ratio"]:>9.2f} '
              f'{r["speedup_vs_flops"]:>9.2f}  '
              + ('met' if r['meets_target'] else 'MISSED')
              + f'  (ratio p25-p75 {lo:.2f}-{hi:.2f})')
    print(f'realised = latency ratio / GFLOPs ratio (target >= {TARGET}); '
          f'{machine["cpu_model"]}, {machine["torch_threads"]} torch '
          f'threads, load average {machine["loadavg_1_5_15"]} before, '
          f'{load_after} after; random weights')
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
