"""Teacher vs student CPU latency: PyTorch vs onnxruntime, fp32 and int8.

Usage (on a quiet machine: nothing else running)::

    python benchmarks/onnx_latency.py [--threads 1 2] [--batch-sizes 1 8]
        [--warmup 10] [--repeats 40] [--clock {wall,thread}] [--hr 128]
        [--no-ablation] [--out benchmarks/results/onnx_latency.json]

Times the tensor forward (backbone, neck, decode head: raw logits) of the
R50-FPN teacher at 128x128 and of the R18-FPN student at 64x64 (x0.5) and
32x32 (x0.25) with random weights (a dense CNN's latency does not depend on
their values), in each *backend*:

* ``pytorch``: eager, NCHW, ``no_grad`` (``benchmark.py``'s PyTorch path);
* ``pytorch-cl``: eager, channels-last tensors and weights;
* ``ort``: onnxruntime, the graph ``tools/deployment/pytorch2onnx.py``
  writes by default (static shapes) with the default
  :class:`~rkd_mm.deployment.OrtSettings` (``ORT_ENABLE_ALL``);
* ``ort-int8``: the same graph statically quantized to int8 as ``--int8``
  does (calibrated here on random inputs: the weights are random too, and
  the scales do not change which kernels run).

For every thread count and batch size all backends and models are timed in
*one* interleaved session (each round calls every one once), so they see the
same machine load and every teacher/student ratio is taken per round
(median and p25-p75 over rounds); the same intra-op threads serve PyTorch
and onnxruntime. The ablation (batch 1) varies one onnxruntime setting at a
time: graph optimisation level, dynamic batch axis, spinning, parallel
execution. ``--clock thread`` times the calling thread's CPU time instead
of the wall clock: with 1 thread it is what the forward costs even while
other jobs take the cores (they still share the caches); with more threads
it misses the worker threads' time, so it is refused there.

Writes the JSON (every round's times, the machine, the load average) and
prints Markdown tables for docs/benchmarks.md. Takes about 10 minutes on a
2-core machine.
"""
import os

# PyTorch's OpenMP threads busy-wait after a parallel region too: make them
# sleep, so that with --threads 2 they do not slow the next interleaved
# model (set before torch starts its thread pool)
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import copy
import json
import os.path as osp
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import rkd_mm  # noqa: F401  (environment shims)
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from rkd_mm.deployment import (OrtSettings, export_graph, make_session,
                               quantize_int8, run_session)
from rkd_mm.apis.complexity import count
from rkd_mm.apis.latency import machine_info

TEACHER = 'configs/teachers/defect_seg_r50_hr.py'
STUDENTS = {  # name: (config, scale)
    'x0.5': ('configs/baselines/defect_seg_r18_lr.py', 0.5),
    'x0.25': ('configs/baselines/defect_seg_r18_lr_x0.25.py', 0.25),
}
HR = 128
BACKENDS = ('pytorch', 'pytorch-cl', 'ort', 'ort-int8')
TARGET = 0.8  # the target: speed-up >= 0.8 x the FLOPs ratio
ABLATION = {  # name: (OrtSettings overrides, dynamic batch)
    'ALL (default)': (dict(), False),
    'EXTENDED': (dict(optimization='extended'), False),
    'BASIC': (dict(optimization='basic'), False),
    'dynamic batch axis': (dict(), True),
    'no spinning': (dict(spinning=False), False),
    # needs the wall clock: the inter-op threads run parts of the graph
    'parallel, 2 inter-op': (dict(execution_mode='parallel',
                                  inter_op_threads=2), False),
}


class Nets:
    """The teacher and student networks, their configs and inputs, built
    once (random weights, seed 0) and exported on demand."""

    def __init__(self, tmp: str, hr: int = HR) -> None:
        init_default_scope('mmseg')
        from rkd_mm.registry import MODELS
        self.tmp = tmp
        self.cfgs = {'teacher': Config.fromfile(TEACHER)}
        self.shapes = {'teacher': (3, hr, hr)}
        for name, (path, scale) in STUDENTS.items():
            self.cfgs[name] = Config.fromfile(path)
            side = int(round(hr * scale))
            self.shapes[name] = (3, side, side)
        torch.manual_seed(0)
        self.models = {name: MODELS.build(cfg.model).eval()
                       for name, cfg in self.cfgs.items()}
        self.flops = {name: count(cfg.model, self.shapes[name])['flops']
                      for name, cfg in self.cfgs.items()}
        self._onnx: Dict[Tuple[str, int, bool, bool], str] = {}

    def onnx(self, name: str, batch: int, dynamic: bool = False,
             int8: bool = False) -> str:
        """The exported (and maybe quantized) graph's path, cached."""
        key = (name, batch, dynamic, int8)
        if key not in self._onnx:
            stem = f'{name}_b{batch}{"_dyn" if dynamic else ""}'
            path = export_graph(self.models[name], self.shapes[name],
                                osp.join(self.tmp, stem + '.onnx'),
                                batch_size=batch, dynamic_batch=dynamic)
            if int8:
                path = quantize_int8(path,
                                     osp.join(self.tmp, stem + '_int8.onnx'),
                                     self.calibration(name, batch))
            self._onnx[key] = path
        return self._onnx[key]

    def calibration(self, name: str, batch: int) -> List[np.ndarray]:
        # random weights, so random inputs: the scales only change the
        # accuracy, not which kernels run (pytorch2onnx.py --int8
        # calibrates a trained model on train images)
        rng = np.random.default_rng(0)
        return [rng.standard_normal((batch, ) + self.shapes[name],
                                    dtype=np.float32)
                for _ in range(max(1, 16 // batch))]

    def input(self, name: str, batch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return torch.randn((batch, ) + self.shapes[name], generator=gen)


def backend_fn(nets: Nets, backend: str, name: str, batch: int,
               threads: int) -> Callable[[], object]:
    """A no-argument call of one network in one backend."""
    x = nets.input(name, batch)
    if backend.startswith('pytorch'):
        model = nets.models[name]
        if backend == 'pytorch-cl':
            model = copy.deepcopy(model).to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)

        def forward():
            with torch.no_grad():
                return model(x, mode='tensor')

        return forward
    path = nets.onnx(name, batch, int8=backend == 'ort-int8')
    # Interleaved sessions: with several intra-op threads, a session's idle
    # threads spin on after its run and take the cores from the next
    # model's (measured: the 2-thread student ran slower than with 1 thread).
    # One model at a time, as deployed, spinning is onnxruntime's default.
    settings = OrtSettings(threads=threads, spinning=threads == 1)
    return _ort_fn(make_session(path, settings), x)


def _ort_fn(session, x: torch.Tensor) -> Callable[[], object]:
    arr = x.numpy()

    def run():
        return run_session(session, arr)

    return run


def interleave(fns: Dict[str, Callable[[], object]], warmup: int,
               repeats: int, clock: Callable[[], float]
               ) -> Dict[str, List[float]]:
    """Seconds per call, every function once per round (as
    :func:`rkd_mm.apis.latency.time_interleaved`, with a chosen clock)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = clock()
            fn()
            times[key].append(clock() - start)
    return times


def summarise(times: Dict[str, List[float]], flops: Dict[str, float],
              prefix: str, teacher_key: str) -> Dict[str, object]:
    """Medians per model and per-round teacher/student ratios."""
    out: Dict[str, object] = {}
    t = np.asarray(times[teacher_key])
    out['teacher_ms'] = float(np.median(t) * 1e3)
    out['teacher_min_ms'] = float(t.min() * 1e3)
    for name in STUDENTS:
        s = np.asarray(times[f'{prefix}/{name}'])
        ratios = t / s
        p25, med, p75 = np.percentile(ratios, [25, 50, 75])
        flops_ratio = flops['teacher'] / flops[name]
        out[name] = dict(
            student_ms=float(np.median(s) * 1e3),
            student_min_ms=float(s.min() * 1e3),
            latency_ratio=float(med), latency_ratio_iqr=[float(p25),
                                                         float(p75)],
            flops_ratio=flops_ratio, realised=float(med) / flops_ratio)
    return out


def run_grid(nets: Nets, args: argparse.Namespace, clock
             ) -> Tuple[List[dict], List[dict]]:
    """Summary rows and the raw per-round times of each session."""
    rows, raw = [], []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch_sizes:
            fns = {}
            for backend in BACKENDS:
                for name in ('teacher', *STUDENTS):
                    fns[f'{backend}/{name}'] = backend_fn(
                        nets, backend, name, batch, threads)
            print(f'threads {threads}, batch {batch}: {len(fns)} '
                  'forwards per round', flush=True)
            times = interleave(fns, args.warmup, args.repeats, clock)
            for backend in BACKENDS:
                rows.append(dict(
                    threads=threads, batch_size=batch, backend=backend,
                    **summarise(times, nets.flops, backend,
                                f'{backend}/teacher')))
            # what deploying changes: the int8 student vs the fp32 teacher
            rows.append(dict(
                threads=threads, batch_size=batch,
                backend='ort teacher / ort-int8 student',
                **summarise(times, nets.flops, 'ort-int8', 'ort/teacher')))
            raw.append(dict(threads=threads, batch_size=batch,
                            seconds=times))
    return rows, raw


def run_ablation(nets: Nets, args: argparse.Namespace, clock) -> List[dict]:
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        fns = {}
        for label, (overrides, dynamic) in ABLATION.items():
            if overrides.get('execution_mode') == 'parallel' and \
                    clock is time.thread_time:
                continue
            settings = OrtSettings(threads=threads, **overrides)
            for name in ('teacher', *STUDENTS):
                path = nets.onnx(name, 1, dynamic=dynamic)
                fns[f'{label}/{name}'] = _ort_fn(
                    make_session(path, settings), nets.input(name, 1))
        print(f'ablation, threads {threads}: {len(fns)} forwards per round',
              flush=True)
        times = interleave(fns, args.warmup, args.repeats, clock)
        for label in (k for k in ABLATION if f'{k}/teacher' in fns):
            rows.append(dict(threads=threads, batch_size=1, setting=label,
                             **summarise(times, nets.flops, label,
                                         f'{label}/teacher')))
    return rows


def markdown(rows: List[dict], key: str) -> str:
    head = (f'| threads | batch | {key} | teacher ms | x0.5 student ms | '
            'x0.5 ratio (p25-p75) | x0.5 realised | x0.25 student ms | '
            'x0.25 ratio (p25-p75) | x0.25 realised |')
    lines = [head, '|' + '---|' * 10]
    for r in rows:
        cells = [str(r['threads']), str(r['batch_size']), r[key],
                 f'{r["teacher_ms"]:.2f}']
        for name in STUDENTS:
            s = r[name]
            lo, hi = s['latency_ratio_iqr']
            mark = '**' if s['realised'] >= TARGET else ''
            cells += [f'{s["student_ms"]:.2f}',
                      f'{s["latency_ratio"]:.2f}x ({lo:.2f}-{hi:.2f})',
                      f'{mark}{s["realised"]:.2f}{mark}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=40)
    parser.add_argument('--clock', choices=['wall', 'thread'],
                        default='wall')
    parser.add_argument(
        '--hr', type=int, default=HR,
        help='HR side of the teacher\'s input (the students get x0.5 and '
        'x0.25 of it); the shipped configs use 128')
    parser.add_argument('--no-ablation', action='store_true')
    parser.add_argument('--out',
                        default='benchmarks/results/onnx_latency.json')
    args = parser.parse_args()
    if args.clock == 'thread' and any(t != 1 for t in args.threads):
        raise SystemExit('--clock thread measures the calling thread only: '
                         'use it with --threads 1.')
    clock = time.thread_time if args.clock == 'thread' else time.perf_counter
    machine = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        nets = Nets(tmp, args.hr)
        grid, raw = run_grid(nets, args, clock)
        ablation = [] if args.no_ablation else run_ablation(nets, args,
                                                            clock)
    import onnxruntime
    load_after = machine_info()['loadavg_1_5_15']
    result = dict(
        date=time.strftime('%Y-%m-%d %H:%M'), clock=args.clock,
        weights='random (latency does not depend on their values)',
        timed='tensor forward to raw logits; every backend and model '
        'interleaved round by round per (threads, batch)',
        warmup=args.warmup, repeats=args.repeats, target=TARGET,
        onnxruntime=onnxruntime.__version__,
        hr=args.hr, input_shapes=nets.shapes,
        gflops={k: v / 1e9 for k, v in nets.flops.items()},
        machine=dict(machine, loadavg_1_5_15_after=load_after),
        grid=grid, ablation=ablation, rounds=raw)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print('\n' + markdown(grid, 'backend'))
    if ablation:
        print('\nonnxruntime settings (fp32, batch 1):\n')
        print(markdown(ablation, 'setting'))
    print(f'\nratio = teacher / student latency per round, median; realised '
          f'= ratio / GFLOPs ratio (bold: >= {TARGET}). '
          f'{machine["cpu_model"]}, clock {args.clock}, load average '
          f'{machine["loadavg_1_5_15"]} before, {load_after} after.')
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
