"""CPU latency and throughput of a config's model(s) at its test size.

Usage::

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT]
        [--warmup 10] [--repeats 50] [--batch-size 1] [--threads N]
        [--shape H [W]] [--backend {pytorch,onnxruntime}] [--out result.json]
        [--cfg-options key=value ...]

Times the tensor forward (backbone, neck, decode head) in eval mode under
``torch.no_grad()``, the part ``get_flops.py`` counts. For a distiller
config the teacher runs at HR and the student at LR (HR size times the
config's test scale), interleaved round by round so that both see the same
machine load, and the teacher/student latency ratio is printed next to the
GFLOPs ratio; any other config is timed at its test input size. Without a
checkpoint the weights are random: a dense CNN's latency does not depend on
its weights' values. Reports the median, the interquartile range (p25-p75)
and the minimum per forward, and images per second at the median.

``--backend onnxruntime`` times the same networks exported to ONNX (raw
logits, static shapes, as ``tools/deployment/pytorch2onnx.py`` writes them)
in onnxruntime sessions with the same intra-op threads as the PyTorch path
(``--threads`` or torch's default), teacher and student alike
(:mod:`rkd_mm.deployment.benchmark`; needs ``pip install -e ".[deploy]"``).
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims)
import torch
from mmengine.config import Config, DictAction

from rkd_mm.apis.latency import benchmark_config, machine_info


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CPU latency of a config\'s model(s)')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?',
        help='weights to load (default: random weights; latency does not '
        'depend on their values)')
    parser.add_argument(
        '--warmup', type=int, default=10, help='untimed forwards first')
    parser.add_argument(
        '--repeats', type=int, default=50, help='timed forwards')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--threads', type=int,
        help='torch intra-op threads (default: torch\'s own choice)')
    parser.add_argument(
        '--shape', type=int, nargs='+',
        help='(HR) input size H [W] instead of the test pipeline\'s')
    parser.add_argument(
        '--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
        help='run the networks in PyTorch (eager) or exported to ONNX in '
        'onnxruntime, with the same threads')
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def format_table(result: dict) -> str:
    """The result as a text table (one row per timed model)."""
    head = (f'{"model":<8} {"input":>12} {"median ms":>10} '
            f'{"IQR ms (p25-p75)":>18} {"min ms":>8} {"img/s":>9} '
            f'{"GFLOPs":>8}')
    lines = [head, '-' * len(head)]
    for name, m in result['models'].items():
        shape = 'x'.join(str(s) for s in m['input_shape'])
        iqr = f'{m["p25_ms"]:.2f}-{m["p75_ms"]:.2f}'
        lines.append(
            f'{name:<8} {shape:>12} {m["median_ms"]:>10.2f} {iqr:>18} '
            f'{m["min_ms"]:>8.2f} {m["fps"]:>9.1f} {m["gflops"]:>8.3f}')
    if 'latency_ratio' in result:
        lo, hi = result['latency_ratio_iqr']
        lines.append(
            f'teacher/student: latency {result["latency_ratio"]:.2f}x '
            f'(rounds p25-p75 {lo:.2f}-{hi:.2f}), GFLOPs '
            f'{result["flops_ratio"]:.2f}x -> speed-up realises '
            f'{result["speedup_vs_flops"]:.2f} of the FLOPs ratio')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise SystemExit(
            f'checkpoint {args.checkpoint} not found. Pass the .pth file '
            'that tools/train.py wrote for this config, or leave it out to '
            'time random weights (latency does not depend on them).')
    shape = None
    if args.shape:
        if len(args.shape) > 2:
            raise SystemExit('--shape takes H or H W.')
        shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit(f'--threads {args.threads} must be >= 1.')
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.backend == 'onnxruntime':
        from rkd_mm.deployment import benchmark_config_onnxruntime
        result = benchmark_config_onnxruntime(
            cfg, args.checkpoint, shape, args.batch_size, args.warmup,
            args.repeats)
    else:
        result = benchmark_config(cfg, args.checkpoint, shape,
                                  args.batch_size, args.warmup, args.repeats)
    result = dict(config=args.config, checkpoint=args.checkpoint,
                  **result, machine=machine_info())
    print(f'Config: {args.config}')
    print(format_table(result))
    m = result['machine']
    print(f'{args.backend}, batch {args.batch_size}, {args.warmup} warm-up + '
          f'{args.repeats} timed forwards, {m["torch_threads"]} '
          f'{"intra-op" if args.backend == "onnxruntime" else "torch"} '
          f'threads, load average {m["loadavg_1_5_15"]}, '
          + ('weights from the checkpoint' if args.checkpoint else
             'random weights (latency does not depend on their values)'))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'written to {args.out}')
    return result


if __name__ == '__main__':
    main()
