"""Fill a distiller's teacher-output cache before training it.

Usage::

    python tools/fill_teacher_cache.py CONFIG [--workers N] [--threads T]
        [--cfg-options key=value ...]

Runs the config's frozen teacher (its ``teacher_ckpt``) on every variant of
the training set that the finite augmentations (flips) can produce, HR and
``@lr`` views at every LR scale the distiller draws, and stores the taps in
``model.teacher_cache.cache_dir``, split over ``--workers`` processes of
``--threads`` torch threads each. A training run of the config then reads
the teacher instead of running it (``teacher_cache.hit_rate`` 1.0 in its
log). Entries already stored are skipped, so filling again is cheap.

The cache's namespace includes the thread count: give ``--threads`` the
thread count of the training (default: this process's, which is what
``tools/train.py`` uses here; ``OMP_NUM_THREADS`` sets both).
``tools/run_experiment.py --jobs N`` fills this way before its side-by-side
runs. Nothing here changes a training result: entries are keyed by the
teacher's input bytes.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
import torch
from mmengine.config import Config, DictAction

from rkd_mm.apis.complexity import is_distiller
from rkd_mm.apis.teacher_cache_fill import count_variants, fill_shard

RESULT_PREFIX = 'FILL_RESULT '


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Fill the teacher-output cache of a distiller config')
    parser.add_argument('config', help='distiller config')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes sharing the work (default 1)')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch threads per process; must equal the training\'s '
        '(default: this process\'s torch.get_num_threads())')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='teacher batch (default: the training batch)')
    parser.add_argument('--shard', type=int, default=None,
                        help=argparse.SUPPRESS)  # one worker's share
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings (e.g. model.teacher_ckpt=PATH)')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers {args.workers}: give 1 or more.')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads {args.threads}: give 1 or more.')
    return args


def load_config(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not is_distiller(cfg):
        raise SystemExit(f'{args.config} is not a distiller config: only a '
                         'distiller has a teacher to cache.')
    return cfg


def worker_command(config: str, args: argparse.Namespace,
                   shard: int) -> List[str]:
    cmd = [sys.executable, os.path.abspath(__file__), config,
           '--workers', str(args.workers), '--shard', str(shard)]
    if args.batch_size:
        cmd += ['--batch-size', str(args.batch_size)]
    return cmd


def run_workers(cfg: Config, args: argparse.Namespace,
                threads: int) -> List[dict]:
    """Start the workers (``threads`` each) on ``cfg`` (written to a
    temporary file: options included), wait, return their results."""
    tmp = tempfile.mkdtemp(prefix='rkd_mm_fill_')
    config = os.path.join(tmp, 'config.py')
    cfg.dump(config)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    procs = [
        subprocess.Popen(worker_command(config, args, k), env=env,
                         stdout=subprocess.PIPE, text=True)
        for k in range(args.workers)
    ]
    results, failed = [], []
    try:
        for k, proc in enumerate(procs):
            result = None
            for line in proc.stdout:
                if line.startswith(RESULT_PREFIX):
                    result = json.loads(line[len(RESULT_PREFIX):])
                else:
                    print(line, end='', flush=True)
            if proc.wait() != 0 or result is None:
                failed.append(k)
            else:
                results.append(result)
    finally:
        for proc in procs:  # an interrupt stops every worker
            if proc.poll() is None:
                proc.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise SystemExit(f'fill worker(s) {failed} failed (their output is '
                         'above); the entries they stored are kept.')
    return results


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f'signal {signum}')


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args)
    if args.shard is not None:  # a worker
        result = fill_shard(cfg, args.shard, args.workers, args.batch_size)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return result
    # `kill` (SIGTERM, as the runner stops its tools) stops the workers too
    signal.signal(signal.SIGTERM, _interrupt)
    threads = args.threads or torch.get_num_threads()
    counts = count_variants(cfg)  # also generates missing built-in data
    print(f'filling the teacher cache of {args.config}: '
          f'{counts["variants"]} variants of {counts["images"]} training '
          f'images, {args.workers} worker(s) x {threads} thread(s)',
          flush=True)
    start = time.time()
    results = run_workers(cfg, args, threads)
    total = dict(
        variants=sum(r['samples'] for r in results),
        computed=sum(r['computed'] for r in results),
        seconds=round(time.time() - start, 1),
        threads=threads,
        directory=results[0]['directory'])
    print(f'teacher cache filled: {total["variants"]} variants, the teacher '
          f'ran on {total["computed"]} new inputs (HR and @lr) in '
          f'{total["seconds"]:.0f} s; {total["directory"]}', flush=True)
    return total


if __name__ == '__main__':
    main()
