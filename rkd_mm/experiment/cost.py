"""The cost columns of an experiment: GFLOPs, parameters and CPU latency
of each distinct deployed model (architecture and input size), measured
once, interleaved, and cached in the work dir."""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Tuple

from mmengine.config import Config

from .spec import Run

__all__ = ['latency_plan', 'cost_table']

LATENCY_WARMUP = 3
LATENCY_BATCH = 1


def latency_plan(runs: List[Run]) -> Tuple[Dict[str, tuple],
                                           Dict[Tuple[str, float], str]]:
    """The distinct deployed models of the finished runs, and each (method,
    scale) cell's one.

    The key is :func:`rkd_mm.apis.latency.architecture_key` of the
    deployed model (the student at its LR input for a distiller, the model
    itself for the teacher and LR-only) read from the run's frozen config:
    LR-only and every distiller sharing its student at one scale map to one
    model, measured once.

    Returns:
        tuple: ``{key: (model config, input shape)}`` and
        ``{(method, scale): key}``.
    """
    from rkd_mm.apis.latency import architecture_key, deployed_model
    models: Dict[str, tuple] = {}
    cells: Dict[Tuple[str, float], str] = {}
    shapes: dict = {}
    for run in runs:
        cell = (run.method, run.scale)
        if cell in cells or not run.finished:
            continue  # seeds of one cell share the architecture
        cfg = Config.fromfile(run.config_file) if osp.isfile(
            run.config_file) else run.cfg
        model_cfg, shape = deployed_model(cfg, shapes)
        key = architecture_key(model_cfg, shape)
        models.setdefault(key, (model_cfg, shape))
        cells[cell] = key
    return models, cells


def cost_table(runs: List[Run], work_root: str, repeats: int) -> dict:
    """GFLOPs, parameters and CPU latency per (method, scale) cell.

    Each distinct deployed model (:func:`latency_plan`) is timed once, all
    of them interleaved round by round in one session (batch 1, random
    weights: the time does not depend on their values), so rows sharing a
    student show one number. Cached in ``cost.json``; the cache is used
    only if it holds every model needed, measured with the same settings,
    else all of them are measured again together.
    """
    import torch

    from rkd_mm.apis.latency import benchmark_models, machine_info
    models, cells = latency_plan(runs)
    path = osp.join(work_root, 'cost.json')
    try:
        with open(path) as f:
            cached = json.load(f)
    except (OSError, ValueError):
        cached = {}
    settings = dict(batch_size=LATENCY_BATCH, warmup=LATENCY_WARMUP,
                    repeats=repeats, threads=torch.get_num_threads())
    session = cached.get('session', {})
    measured = cached.get('models', {})
    if models and ({k: session.get(k) for k in settings} != settings
                   or not set(models) <= set(measured)):
        print(f'measuring CPU latency of {len(models)} distinct model(s), '
              'interleaved', flush=True)
        # one task per plan (a distiller refuses a teacher of another
        # task), so one registry scope builds every model
        scope = next((r.cfg.get('default_scope') for r in runs
                      if r.cfg is not None and r.cfg.get('default_scope')),
                     'mmseg')
        measured = benchmark_models(models, batch_size=LATENCY_BATCH,
                                    warmup=LATENCY_WARMUP, repeats=repeats,
                                    default_scope=scope)
        session = dict(settings, date=time.strftime('%Y-%m-%d %H:%M'),
                       machine=machine_info())
    used_by: Dict[str, List[str]] = {}
    for (method, scale), key in cells.items():
        used_by.setdefault(key, []).append(f'{method}@{scale:g}')
    for key, names in used_by.items():
        measured[key]['used_by'] = sorted(
            set(measured[key].get('used_by', [])) | set(names))
    if models:
        tmp = f'{path}.{os.getpid()}.tmp'  # runners sharing a work dir
        with open(tmp, 'w') as f:
            json.dump(dict(session=session, models=measured), f, indent=2)
        os.replace(tmp, path)
    costs = {}
    for (method, scale), key in cells.items():
        cost = measured[key]
        costs[f'{method}@{scale:g}'] = dict(
            gflops=cost['gflops'], params_m=cost['params'] / 1e6,
            input=cost['input_shape'], latency_ms=cost['median_ms'],
            latency_iqr_ms=cost['iqr_ms'], latency_key=key,
            latency_threads=session.get('threads'))
    return costs


# besides the primary metric (CONFIG's save_best), the summary metrics a
# table shows (and plots) when the runs report them: classification
# (rkd_mm.ClassificationMetric, AUROC), re-ID (rkd_mm.ReIDMetric) and face
# verification (rkd_mm.FaceVerificationMetric); and the prefixes of
# per-class columns (means over seeds): mmseg-style IoU, per-class F1
