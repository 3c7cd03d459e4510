"""Time an RKD training iteration with the teacher online and cached.

Usage::

    python benchmarks/teacher_cache.py [CONFIG] [--iters 6] [--warmup 1]
        [--batch 8] [--out benchmarks/results/teacher_cache_x0.25.json]

One distiller (random teacher: timing does not depend on its weights), one
batch, ``train_step`` timed with each teacher mode in turn, interleaved
round by round (medians and the range of the per-round ratios):

* ``online``: no cache, the teacher runs on the HR batch and on the LR
  view (the default RKD loss needs both);
* ``warm_memory``: every sample already cached, read from memory (a run
  whose earlier iterations, or an earlier run, met these variants);
* ``warm_disk``: every sample cached, read from the files
  (``max_memory_gb=0``: another run's entries, or a full memory budget);
* ``cold``: nothing cached (the memory is emptied before each call): the
  teacher runs on the whole batch and every entry is hashed and stored
  (in memory; the first fill writes the files), the cost of a miss.

It also checks that the teacher's taps read back from a partly filled
cache (hits, a lone miss, a batch of misses) are bit for bit the online
ones (``cached_equals_online_bitwise``).
"""
import argparse
import json
import os
import os.path as osp
import platform
import shutil
import statistics
import sys
import tempfile
from typing import Dict, List

import torch

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from rkd_mm.engine import MultiOptimWrapperConstructor
from rkd_mm.models.algorithms import TeacherOutputCache
from rkd_mm.registry import MODELS

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from rkd_overhead import make_batch, time_rounds  # noqa: E402

DEFAULT = 'configs/rkd/defect_seg_r50_to_r18_lr_x0.25.py'


def cached_equals_online(model, batch) -> bool:
    """Taps from a partly filled cache == online taps, bit for bit."""
    data = model.data_preprocessor(batch, True)
    hr = data['inputs']
    lr = model.lr_view(hr, model.scale_factors[0])
    model.teacher_cache = None
    online = model.teacher_forward(hr, lr)
    model.teacher_cache = TeacherOutputCache(None)
    model.teacher_forward(hr[[0, 3, 5]], lr[[0, 3, 5]])  # batch of misses
    model.teacher_forward(hr[[6]], lr[[6]])  # a lone miss
    cached = model.teacher_forward(hr, lr)  # 4 hits, 4 misses
    return set(cached) <= set(online) and all(
        torch.equal(v, online[k]) for k, v in cached.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--iters', type=int, default=6)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument(
        '--out', default='benchmarks/results/teacher_cache_x0.25.json')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config fields, as in tools/train.py')
    args = parser.parse_args()

    load_before = os.getloadavg()
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.model.teacher_ckpt = None
    cfg.model.teacher_cache = None  # set per part below
    model = MODELS.build(cfg.model)
    model.train()
    wrappers = MultiOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.items()
         if k != 'constructor'})(model)
    size = cfg.generator_cfg['img_size']
    batch = make_batch(args.batch, size,
                       model.student.decode_head.num_classes)

    root = tempfile.mkdtemp(prefix='teacher_cache_bench_')
    caches = dict(
        online=None,
        warm_memory=TeacherOutputCache(osp.join(root, 'a')),
        warm_disk=TeacherOutputCache(osp.join(root, 'a'), max_memory_gb=0),
        cold=TeacherOutputCache(None))

    def part(name):
        cache = caches[name]

        def step():
            if name.startswith('cold'):  # forget everything: all misses
                cache.memory, cache.memory_bytes = {}, 0
            model.teacher_cache = cache
            model.train_step(batch, wrappers)

        return step

    try:
        # fill the shared directory once; bind every cache to the teacher
        part('warm_memory')()
        torch.manual_seed(0)
        rounds = time_rounds({name: part(name) for name in caches},
                             args.iters, args.warmup)
        hit_rates = {name: c.stats()['hit_rate'] for name, c in
                     caches.items() if c is not None}
        entry_files = [f for r, _, fs in os.walk(root) for f in fs
                       if f.endswith('.pt')]
        entry_bytes = sum(
            osp.getsize(osp.join(r, f)) for r, _, fs in os.walk(root)
            for f in fs if f.endswith('.pt'))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    t = {name: statistics.median(v) for name, v in rounds.items()}
    fastest = {name: min(v) for name, v in rounds.items()}
    bitwise = cached_equals_online(model, batch)

    def ratios(name: str) -> List[float]:
        return sorted(o / c for o, c in zip(rounds['online'], rounds[name]))

    speedup: Dict[str, dict] = {}
    for name in caches:
        if name != 'online':
            r = ratios(name)
            speedup[name] = dict(median=statistics.median(r),
                                 range=[r[0], r[-1]])
    result = dict(
        config=args.config,
        cfg_options=args.cfg_options,
        batch=args.batch,
        hr_size=size,
        scale_factor=model.scale_factors[0],
        seconds=t,
        seconds_min=fastest,
        cached_equals_online_bitwise=bitwise,
        seconds_per_round=rounds,
        online_over_cached=speedup,
        hit_rates_including_warmup=hit_rates,
        disk=dict(entries=len(entry_files), bytes=entry_bytes,
                  bytes_per_entry=entry_bytes / max(len(entry_files), 1)),
        load_average_before=load_before,
        load_average_after=os.getloadavg(),
        machine=dict(
            processor=platform.processor() or platform.machine(),
            cpus=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
            torch=torch.__version__),
    )
    os.makedirs(osp.dirname(args.out) or '.', exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    for name, v in t.items():
        extra = '' if name == 'online' else (
            f'   online / {name}: {speedup[name]["median"]:.2f}x '
            f'(rounds {speedup[name]["range"][0]:.2f}-'
            f'{speedup[name]["range"][1]:.2f})')
        print(f'{name:>12}: {v * 1000:8.1f} ms (fastest round '
              f'{fastest[name] * 1000:7.1f} ms){extra}')
    print(f'cached taps == online taps bit for bit: {bitwise}')
    print(f'{len(entry_files)} entries, '
          f'{result["disk"]["bytes_per_entry"] / 1024:.0f} KiB each; load '
          f'average {load_before[0]:.2f} before, '
          f'{result["load_average_after"][0]:.2f} after')
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
