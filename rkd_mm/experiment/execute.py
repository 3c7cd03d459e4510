"""Running a plan: each run's tools (train, test) as child processes, N at
a time, teacher-cache fills beside the runs they serve, progress and ETA,
``result.json`` per finished run."""
import json
import os
import os.path as osp
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import List, Optional

import torch
from mmengine.config import Config

from rkd_mm.engine.hooks.teacher_cache_hook import random_transforms
from rkd_mm.apis.teacher_cache_fill import cache_signature, count_variants
from rkd_mm.utils.machine import cpu_numerics
from rkd_mm.utils.work_dir import list_checkpoints
from .calibrate import calibrate
from .plan import (build_plan, check_protocol, freeze_config,
                   primary_metric)
from .process import (Progress, hms, is_stopping, newest, run_tool,
                      stop_live_tools)
from .cost import cost_table
from .report import MixedMachinesError, aggregate, write_reports
from .spec import PLAIN_METHODS, ExperimentSpec, Run

__all__ = [
    'execute', 'run_parallel', 'plan_fills', 'job_order', 'FillJob',
    'threads_per_job', 'best_val_score', 'run_experiment', 'TRAINED_FILE'
]

class FillJob:
    """Filling one teacher cache (tools/fill_teacher_cache.py, one process
    of the runs' threads), scheduled as a job beside the run it serves."""

    def __init__(self, run: Run) -> None:
        self.run = run  # the first run of its signature: config and folder
        self.name = f'teacher cache for {run.name}'
        self.log = osp.join(run.dir, 'fill_teacher_cache.log')

    def __call__(self, threads: int) -> None:
        print(f'{self.run.name}: filling the teacher cache beside it (1 '
              f'process x {threads} thread(s)), log {self.log}', flush=True)
        start = time.time()
        try:
            run_tool(['tools/fill_teacher_cache.py', self.run.config_file,
                      '--workers', '1', '--threads', str(threads)],
                     self.log, threads=threads)
        except RuntimeError as err:  # a speed-up only: the runs go on
            if is_stopping():
                raise
            print(f'WARNING: {err} The runs compute the teacher '
                  'themselves.', flush=True)
            return
        print(f'{self.run.name}: teacher cache filled '
              f'({hms(time.time() - start)})', flush=True)


def plan_fills(todo: List[Run], teacher_ckpt: str) -> List[FillJob]:
    """One :class:`FillJob` per teacher cache the distiller runs to come
    share (:func:`cache_signature`: seeds and methods with the same taps
    share one), for the first run of each.

    Side by side, a distiller run with a cold cache computes the teacher
    for every new variant on its own threads, its critical path, while
    the other cores sit idle as the other runs end. A fill job on a free
    core enumerates every variant ahead of it instead (the entries are the
    ones training would store, so no result changes), and the run reads
    more and more of them. Not planned where the training set has more
    variants than a run draws samples (a large data set, a short
    schedule): most entries would never be read.
    """
    fills, done = [], set()
    for run in todo:
        if run.method in PLAIN_METHODS or not run.train or \
                cache_signature(run.cfg) is None:  # nothing on disk to fill
            continue
        freeze_config(run, teacher_ckpt)
        signature = cache_signature(Config.fromfile(run.config_file))
        if signature is None or signature in done:
            continue
        if random_transforms(run.cfg.train_dataloader.get('dataset')):
            continue  # the cache is switched off for this run anyway
        done.add(signature)
        variants = count_variants(run.cfg)['variants']
        draws = run.cfg.train_cfg.max_iters * \
            run.cfg.train_dataloader.batch_size
        if variants > draws:
            print(f'{run.name}: no teacher-cache fill ({variants} training '
                  f'variants, more than the {draws} samples a run draws)',
                  flush=True)
            continue
        fills.append(FillJob(run))
    return fills


def job_order(todo: List[Run], fills: List[FillJob]) -> list:
    """The runs in plan order, except that each run served by a fill job
    goes first, its fill right after it (so the two start together)."""
    served = {fill.run.name for fill in fills}
    head = [x for fill in fills for x in (fill.run, fill)]
    return head + [run for run in todo if run.name not in served]


#: written into a reference run's shared training folder once it trained
TRAINED_FILE = 'trained.json'


def _write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half)."""
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def execute(run: Run, progress: Progress,
            teacher_ckpt: Optional[str] = None,
            threads: Optional[int] = None) -> dict:
    """Train (or resume) and test one run; write its ``result.json``.

    ``threads``: the torch threads of its tools (None: the runner's own).
    """
    train_dir = getattr(run, 'train_dir', run.dir)
    os.makedirs(run.dir, exist_ok=True)
    os.makedirs(train_dir, exist_ok=True)
    freeze_config(run, teacher_ckpt)
    log = osp.join(run.dir, 'run.log')
    start = time.time()
    # how the checkpoint was trained: this run, or (a shared reference
    # folder) an earlier run of the same config
    trained = dict(train_s=0.0, train_threads=None, machine=None)
    ckpt = run.ckpt
    done_file = osp.join(train_dir, TRAINED_FILE)
    if run.train and osp.isfile(done_file):
        with open(done_file) as f:
            trained = json.load(f)
        ckpt = trained['checkpoint']
        print(f'[{progress.done + 1}/{progress.total}] {run.name}: trained '
              f'earlier in {train_dir}, reused', flush=True)
    elif run.train:
        # the data was checked once for the plan (check_data_once)
        args = ['tools/train.py', run.config_file, '--work-dir', train_dir,
                '--no-data-check']
        # a run stopped after a checkpoint resumes (tools/train.py takes
        # the newest iter_*.pth when last_checkpoint is gone)
        if list_checkpoints(train_dir):
            args.append('--resume')
        print(f'[{progress.done + 1}/{progress.total}] {run.name}: '
              f'training ({"resuming" if "--resume" in args else "new"}), '
              f'log {log}', flush=True)
        run_tool(args, log, progress, run, threads=threads)
        ckpt = newest(osp.join(train_dir, 'best_*.pth')) or newest(
            osp.join(train_dir, 'iter_*.pth'))
        if ckpt is None:
            raise RuntimeError(f'{run.name}: no checkpoint in {train_dir} '
                               f'after training; see {log}.')
        # part of the protocol: a seed trained with another thread count
        # or on another CPU differs at float rounding, which training
        # amplifies (the child inherits OMP_NUM_THREADS and the machine)
        trained = dict(train_s=round(time.time() - start, 1),
                       train_threads=threads or torch.get_num_threads(),
                       machine=cpu_numerics(), checkpoint=ckpt)
        if train_dir != run.dir:  # a shared folder: others may reuse it
            _write_json(done_file, trained)
    print(f'[{progress.done + 1}/{progress.total}] {run.name}: testing '
          f'{ckpt}', flush=True)
    test_start = time.time()
    test_dir = osp.join(run.dir, 'test')
    run_tool(['tools/test.py', run.config_file, ckpt, '--work-dir',
              test_dir], log, threads=threads)
    metrics_file = newest(osp.join(test_dir, '*', 'test_metrics.json'))
    if metrics_file is None:
        raise RuntimeError(f'{run.name}: tools/test.py wrote no '
                           f'test_metrics.json; see {log}.')
    with open(metrics_file) as f:
        metrics = json.load(f)['metrics']
    result = dict(name=run.name, method=run.method, scale=run.scale,
                  seed=run.seed, checkpoint=ckpt, metrics=metrics,
                  # the val score that selected the checkpoint
                  val_score=best_val_score(ckpt) if run.train else None,
                  train_s=trained['train_s'],
                  train_threads=trained['train_threads'],
                  # the CPU and kernels that trained it (None: scored only)
                  machine=trained['machine'],
                  test_s=round(time.time() - test_start, 1),
                  config=run.config_file)
    _write_json(run.result_file, result)
    done = progress.finish(run, time.time() - start)
    metric = primary_metric(run.cfg, run.config_file)
    print(f'[{done}/{progress.total}] {run.name}: {metric} '
          f'{metrics.get(metric, float("nan")):.2f} '
          f'({hms(time.time() - start)})', flush=True)
    return result


def threads_per_job(jobs: int) -> int:
    """Torch threads of each of ``jobs`` concurrent runs: the user's
    ``OMP_NUM_THREADS`` if set, else the runner's threads shared out."""
    if os.environ.get('OMP_NUM_THREADS', '').isdigit():
        return max(1, int(os.environ['OMP_NUM_THREADS']))
    return max(1, torch.get_num_threads() // jobs)


def run_parallel(students: List[Run], progress: Progress, teacher_ckpt: str,
                 work_root: str, jobs: int) -> None:
    """Train and test the unfinished ``students``, ``jobs`` at a time.

    Every calibration runs first, one at a time (a run's weights must be
    set before its config is frozen); then the runs start in plan order,
    except that each distiller run whose teacher cache gets filled
    (:func:`plan_fills`) starts first, with its fill job beside it.
    A failure lets the running runs end, starts no new one, and is raised;
    an interrupt (Ctrl-C, SIGTERM in the main thread) stops them all.
    """
    threads = threads_per_job(jobs)
    todo = [r for r in students if not r.finished]
    print(f'{len(todo)} student run(s), {jobs} at a time, {threads} torch '
          'thread(s) each', flush=True)
    calibrated = set()
    for run in todo:
        cell = (run.method, run.scale)
        if run.cfg.get('calibration') is not None and cell not in calibrated:
            calibrate(run, students, teacher_ckpt, work_root, threads)
            calibrated.add(cell)
    failed = threading.Event()

    def job(run) -> Optional[dict]:
        if failed.is_set():
            return None  # another run failed: start nothing new
        try:
            if isinstance(run, FillJob):
                return run(threads)
            return execute(run, progress,
                           None if run.method in PLAIN_METHODS else
                           teacher_ckpt,
                           threads)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(job, run)
               for run in job_order(todo, plan_fills(todo, teacher_ckpt))]
    try:
        wait_futures(futures, return_when=FIRST_EXCEPTION)
        if failed.is_set():
            print('a run failed: the running ones finish, no new one '
                  'starts', flush=True)
        wait_futures(futures)
    except BaseException:  # KeyboardInterrupt from Ctrl-C or SIGTERM
        failed.set()
        for future in futures:
            future.cancel()
        stop_live_tools()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]


def best_val_score(ckpt: str) -> Optional[float]:
    """The val score that selected ``ckpt`` (MMEngine's CheckpointHook
    ``best_score``), for choosing on val; None if it holds none."""
    from mmengine.runner.checkpoint import _load_checkpoint
    info = _load_checkpoint(ckpt, map_location='cpu').get(
        'message_hub', {}).get('runtime_info', {})
    score = info.get('best_score')
    return None if score is None else float(score)


def check_data_once(runs: List[Run]) -> None:
    """Check the plan's data before anything trains, rather than in each
    run's ``tools/train.py`` (the runs then skip it): once per distinct
    (data, class count, ignore index, scales), :func:`data_check_key` --
    the runs of a plan mostly share one, but the LR ceiling has the
    teacher's model and the HR student its own scale."""
    from rkd_mm.apis.data_check import (DataCheckError, check_config_data,
                                        data_check_key)
    seen = set()
    for run in runs:
        if not run.train or run.finished:
            continue
        key = data_check_key(run.cfg)
        if key in seen:
            continue
        seen.add(key)
        try:
            check_config_data(run.cfg)
        except DataCheckError as err:
            raise SystemExit(f'{run.name}: {err}') from None


def run_experiment(spec: ExperimentSpec, jobs: int = 1,
                   latency_repeats: int = 30,
                   allow_mixed_cpus: bool = False) -> List[str]:
    """Run a whole plan: the teacher (trained if missing), every student
    run (``jobs`` at a time, calibrations first), the cost table and the
    reports. Finished runs are skipped, interrupted ones resume.

    Returns:
        list[str]: The written report files (results.md, .csv, plots).

    Raises:
        SystemExit: A run's config differs from the one frozen in its
            folder (another protocol), or the runs were trained on
            different CPUs (unless ``allow_mixed_cpus``).
    """
    os.makedirs(spec.work_dir, exist_ok=True)
    teacher, students = build_plan(spec)
    runs = [teacher, *students]
    check_protocol(runs, spec.work_dir)
    check_data_once(runs)
    progress = Progress(runs, jobs)
    for run in runs:
        if run.finished:
            print(f'{run.name}: finished earlier, skipped '
                  f'({run.result_file})', flush=True)
    if not teacher.finished:
        execute(teacher, progress)
    teacher_ckpt = teacher.result()['checkpoint']
    if jobs == 1:
        for run in students:
            if not run.finished:
                if run.cfg.get('calibration') is not None:
                    calibrate(run, students, teacher_ckpt, spec.work_dir)
                execute(run, progress,
                        None if run.method in PLAIN_METHODS else
                        teacher_ckpt)
    else:
        run_parallel(students, progress, teacher_ckpt, spec.work_dir, jobs)
    costs = cost_table(runs, spec.work_dir, latency_repeats)
    metric = primary_metric(Config.fromfile(spec.config), spec.config)
    try:
        rows = aggregate(runs, costs, metric, allow_mixed_cpus)
    except MixedMachinesError as err:
        raise SystemExit(f'{err}') from None
    return write_reports(rows, spec.work_dir)
