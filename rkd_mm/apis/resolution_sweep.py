"""Score one trained LR student at several input resolutions, through the
one scoring path of ``tools/test.py``.

For each scale s the student sees the test images downscaled by s (the LR
op) and is scored against the HR labels: the sweep sets the
``test_scale_factor`` of the student's LR data preprocessor (the one home
of the scale, :mod:`rkd_mm.apis.lr_scale`), for an LR-only config and a
distiller alike. Of a distiller only the student is scored (the teacher is
neither loaded nor run). One MMEngine ``Runner.test()`` per scale; the
checkpoint is read safely and loaded strictly.
"""
import copy
import csv
import itertools
import os
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

from rkd_mm.engine.hooks import register_strict_load_hook
from rkd_mm.utils.checkpoint import check_checkpoint_file
from rkd_mm.utils.lr_view import check_scale_factor, lr_size
from .complexity import is_distiller, test_input_shape
from .lr_scale import model_input_scale, set_test_lr_scale

__all__ = ['config_at_scale', 'input_size', 'score', 'sweep', 'columns',
           'format_table', 'write_csv']

_RUN_IDS = itertools.count()  # one name per runner of this process


def config_at_scale(cfg: Config, scale: float) -> Config:
    """A copy of ``cfg`` whose test run feeds the student at ``scale``.

    Raises:
        ValueError: If ``cfg``'s model sees the HR image (no LR scale).
    """
    scale = check_scale_factor(scale, 'scale')
    cfg = copy.deepcopy(cfg)
    set_test_lr_scale(cfg, scale)
    if is_distiller(cfg):
        # the teacher is not scored here: no teacher_ckpt needed, and the
        # plain loop skips the teacher's HR pass of DistillTestLoop
        cfg.model.teacher_ckpt = None
        cfg.test_cfg = dict(type='TestLoop')
    return cfg


def input_size(cfg: Config, scale: float) -> Sequence[int]:
    """``(H, W)`` the student sees at ``scale`` (for the table)."""
    return lr_size(test_input_shape(cfg)[1:], model_input_scale(cfg))


def score(cfg: Config, checkpoint: str, scale: float, work_dir: str
          ) -> Dict[str, object]:
    """Test ``checkpoint`` at ``scale``; return the row of the table."""
    cfg = config_at_scale(cfg, scale)
    cfg.work_dir = osp.join(work_dir, f'x{scale:g}')
    cfg.load_from = checkpoint
    cfg.launcher = 'none'
    # one runner per scale in this process: a unique name keeps their
    # loggers, message hubs and visualizers apart
    cfg.experiment_name = (
        f'sweep_{osp.splitext(osp.basename(cfg.filename))[0]}_x{scale:g}_'
        f'{next(_RUN_IDS)}')
    h, w = input_size(cfg, scale)
    runner = Runner.from_cfg(cfg)
    # MMEngine loads load_from non-strictly: a checkpoint of another kind
    # of model would be scored with random weights
    register_strict_load_hook(runner)
    metrics = runner.test()
    return dict(scale=scale, input_h=h, input_w=w, **metrics)


def sweep(cfg: Config, checkpoint: str, scales: Sequence[float],
          work_dir: str) -> List[Dict[str, object]]:
    """One row per scale: ``scale``, ``input_h``, ``input_w`` and the
    metrics (``mIoU``, ``IoU.<class>``, ...)."""
    if not osp.exists(checkpoint):
        raise FileNotFoundError(
            f'Checkpoint {checkpoint} not found. Train one first with '
            f'`python tools/train.py {cfg.filename}`, or pass the path of '
            'an existing .pth file.')
    check_checkpoint_file(checkpoint)
    for s in scales:
        check_scale_factor(s, 'scale')
    config_at_scale(cfg, scales[0])  # fail before any run
    return [score(cfg, checkpoint, s, work_dir) for s in scales]


def columns(rows: List[Dict[str, object]]) -> List[str]:
    """``scale, input_h, input_w, mIoU, IoU.*``, then other metrics."""
    keys = list(rows[0])
    first = ['scale', 'input_h', 'input_w', 'mIoU']
    iou = [k for k in keys if k.startswith('IoU.')]
    return [k for k in first if k in keys] + iou + [
        k for k in keys if k not in first and k not in iou]


def format_table(rows: List[Dict[str, object]]) -> str:
    cols = [c for c in columns(rows) if c not in ('input_h', 'input_w')]
    cols.insert(1, 'input')
    names = [c[len('IoU.'):] if c.startswith('IoU.') else c for c in cols]
    widths = [max(len(n), 7) for n in names]
    lines = [' | '.join(n.rjust(w) for n, w in zip(names, widths))]
    lines.append('-+-'.join('-' * w for w in widths))
    for row in rows:
        cells = []
        for c in cols:
            if c == 'input':
                cells.append(f'{row["input_h"]}x{row["input_w"]}')
            elif c == 'scale':
                cells.append(f'{row["scale"]:g}')
            else:
                v = row.get(c)
                cells.append(f'{v:.2f}' if isinstance(v, float) else str(v))
        lines.append(' | '.join(s.rjust(w) for s, w in zip(cells, widths)))
    return '\n'.join(lines)


def write_csv(rows: List[Dict[str, object]], path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns(rows))
        writer.writeheader()
        writer.writerows(rows)
