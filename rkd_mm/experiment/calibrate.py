"""The project's weight rule, applied once per (method, scale) of a plan:
each distillation term's ``loss_weight`` is set so that its gradient on
the student at the seeded initialisation is R times the task's
(:mod:`rkd_mm.apis.loss_gradients`, through
``tools/analysis_tools/loss_gradients.py``)."""
import json
import os
import os.path as osp
from typing import TYPE_CHECKING, Dict, List, Optional

from .process import run_tool

if TYPE_CHECKING:
    from .spec import Run

__all__ = ['CALIBRATION_BATCHES', 'calibration_file', 'calibration_weights',
           'calibrate']

CALIBRATION_BATCHES = 8


def calibration_file(work_root: str, method: str, scale: float) -> str:
    return osp.join(work_root, 'calibration', f'{method}_x{scale:g}.json')


def calibration_weights(work_root: str, method: str,
                        scale: float) -> Optional[Dict[str, float]]:
    """``{cfg key: loss_weight}`` of a finished calibration, or None."""
    path = calibration_file(work_root, method, scale)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        terms = json.load(f)['terms']
    weights = {}
    for row in terms.values():
        if row.get('cfg_option'):
            key, value = row['cfg_option'].split('=')
            weights[key] = float(value)
    return weights


def calibrate(run: 'Run', runs: List['Run'], teacher_ckpt: str,
              work_root: str, threads: Optional[int] = None) -> None:
    """Calibrate ``run``'s method at its scale once (the rule of
    docs/method.md, through tools/analysis_tools/loss_gradients.py) and
    give the weights to every unfrozen run of that method and scale."""
    path = calibration_file(work_root, run.method, run.scale)
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        cal = run.cfg.calibration
        stem = path[:-len('.json')]
        run.cfg.dump(stem + '_config.py')
        print(f'{run.method} x{run.scale:g}: calibrating the distillation '
              f'weights (R={cal.target_ratio:g}, {cal.batches} batches)',
              flush=True)
        tmp = stem + '.tmp.json'
        run_tool(['tools/analysis_tools/loss_gradients.py',
                  stem + '_config.py', '--batches', str(cal.batches),
                  '--seed', str(cal.seed), '--target-ratio',
                  str(cal.target_ratio), '--device', 'cpu', '--out', tmp,
                  '--cfg-options', f'model.teacher_ckpt={teacher_ckpt}'],
                 stem + '.log', threads=threads)
        os.replace(tmp, path)
    weights = calibration_weights(work_root, run.method, run.scale)
    for other in runs:
        if (other.method, other.scale) == (run.method, run.scale) and \
                not osp.isfile(other.config_file):
            other.cfg.merge_from_dict(weights)
