"""Child processes of the runner: each tool runs as ``python tools/...``
from the repository's root with its output in a log; progress and ETA are
read from MMEngine's log lines; an interrupt stops them all."""
from __future__ import annotations

import glob
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Dict, List, Optional

if TYPE_CHECKING:
    from .spec import Run

__all__ = [
    'REPO', 'Progress', 'run_tool', 'stop_live_tools', 'is_stopping',
    'newest', 'hms'
]

#: the repository whose tools/ the runs use (rkd_mm installed with
#: ``pip install -e .``): tools run from its root, as the README's commands
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)')


# ----------------------------------------------------------------------
# running
# ----------------------------------------------------------------------
class Progress:
    """Which run, how far, and an ETA for the rest."""

    def __init__(self, runs: List[Run], jobs: int = 1) -> None:
        self.todo = [r for r in runs if not r.finished]
        self.total = len(runs)
        self.done = self.total - len(self.todo)
        self.durations: Dict[str, List[float]] = {}
        self.jobs = jobs
        self.lock = threading.Lock()  # runs end in worker threads

    def finish(self, run: Run, seconds: float) -> int:
        """Record a finished run; the number of finished runs."""
        with self.lock:
            self.durations.setdefault(run.method, []).append(seconds)
            self.done += 1
            return self.done

    def estimate(self, run: Run, current: Run,
                 current_total: float) -> Optional[float]:
        """Seconds a not-yet-started student run will take, or None.

        The mean of finished runs of its method; for a method not run yet,
        the longest known student time (finished runs' mean, or the
        running student's projection: later runs in the plan are
        distillers, which cost more than LR-only). The teacher's time says
        nothing about a student's, so while it trains and no student has
        run the answer is None.
        """
        same = self.durations.get(run.method)
        if same:
            return sum(same) / len(same)
        known = [
            sum(ds) / len(ds) for m, ds in self.durations.items()
            if m != 'teacher'
        ]
        if current.method != 'teacher':
            known.append(current_total)
        return max(known) if known else None

    def line(self, run: Run, it: int, total: int, eta: str,
             elapsed: float) -> str:
        projected = elapsed / max(it, 1) * total if it else 0.0
        rest = [r for r in self.todo if r is not run and not r.finished]
        times = [self.estimate(r, run, projected) for r in rest]
        head = (f'[{self.done + 1}/{self.total}] {run.name}: iter '
                f'{it}/{total}, run ETA {eta}')
        if None in times:
            return (f'{head}, then {len(rest)} student run(s), ETA once '
                    'the first has started')
        # N runs at a time: the rest's time shared by N workers, never
        # less than this run's own
        total_s = max(_secs(eta), (sum(times) + _secs(eta)) / self.jobs)
        return f'{head}, all runs ETA ~{hms(total_s)}'


def _secs(text: str) -> float:
    """Seconds of an MMEngine ETA such as ``0:07:39``."""
    try:
        parts = [float(p) for p in text.split(':')]
    except ValueError:
        return 0.0
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def hms(seconds: float) -> str:
    seconds = int(seconds)
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


# the tools' processes running now (several with --jobs), so that an
# interrupt of the main thread can stop them all
_LIVE: set = set()
_LIVE_LOCK = threading.Lock()
_STOP = threading.Event()  # set once: no tool starts any more


def is_stopping() -> bool:
    """Whether :func:`stop_live_tools` has run (no tool starts any more)."""
    return _STOP.is_set()


def stop_live_tools() -> None:
    """Terminate every running tool process and wait for it; start no
    new one."""
    with _LIVE_LOCK:
        _STOP.set()
        procs = list(_LIVE)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait()


def run_tool(args: List[str], log: str, progress: Optional[Progress] = None,
             run: Optional[Run] = None, threads: Optional[int] = None) -> None:
    """Run a tool, its output appended to ``log``; show training progress.

    ``threads`` sets the child's ``OMP_NUM_THREADS`` (and MKL's); None
    leaves the runner's environment as it is.
    """
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log, 'a') as out:
        with _LIVE_LOCK:  # not after stop_live_tools has run
            if _STOP.is_set():
                raise RuntimeError(f'`python {" ".join(args)}` not started: '
                                   'the runner is stopping')
            proc = subprocess.Popen([sys.executable, *args], cwd=REPO,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    env=env)
            _LIVE.add(proc)
        start, shown, last = time.time(), 0.0, ''
        try:
            while proc.poll() is None:
                time.sleep(1.0)
                if progress is None or time.time() - shown < 20:
                    continue
                shown = time.time()
                with open(log, errors='replace') as f:
                    found = ITER_RE.findall(f.read()[-20000:])
                if found:
                    it, total, eta = found[-1]
                    text = progress.line(run, int(it), int(total), eta,
                                         shown - start)
                    if text != last:
                        print(text, flush=True)
                        last = text
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
    if proc.returncode != 0:
        raise RuntimeError(
            f'`python {" ".join(args)}` failed (exit {proc.returncode}); '
            f'see {log}. Fix it and rerun the same command: finished runs '
            'are kept, this one resumes.')


def newest(pattern: str) -> Optional[str]:
    found = glob.glob(pattern)
    return max(found, key=osp.getmtime) if found else None
