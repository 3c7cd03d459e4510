"""CPU inference latency of a config's model(s), next to their FLOPs.

The timed call is the segmentor's tensor forward (backbone, neck, decode
head) in ``eval()`` mode under ``torch.no_grad()``: the part
:mod:`rkd_mm.apis.complexity` counts FLOPs for, so the two compare like for
like. Data loading, normalisation and the final resize of the logits to the
label size are left out. Weights are random unless a checkpoint is given:
the time a dense CNN takes does not depend on its weights' values.

On a machine whose speed drifts (shared CPUs, other jobs), the models that
are compared are timed *interleaved* round by round, so every round puts
them under the same load and the per-round ratio stays meaningful.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import platform
import statistics
import time
from typing import (Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from torch import nn

from rkd_mm.utils.checkpoint import load_weights
from rkd_mm.utils.machine import cpu_model, cpu_numerics
from .complexity import (count, distiller_complexity, is_distiller,
                         model_complexity, test_input_shape)


def time_interleaved(fns: Mapping[str, Callable[[], object]],
                     warmup: int = 10,
                     repeats: int = 50) -> Dict[str, List[float]]:
    """Seconds per call of each function, timed round by round.

    Each round calls every function once, in order; ``warmup`` rounds run
    first and are not timed (allocator, oneDNN kernel selection, caches).

    Args:
        fns: ``{name: function without arguments}``.
        warmup: Untimed rounds first (>= 0).
        repeats: Timed rounds (>= 1).

    Returns:
        dict: ``{name: [seconds of round 0, round 1, ...]}``.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f'warmup={warmup} and repeats={repeats}: warmup '
                         'must be >= 0 and repeats >= 1.')
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def latency_stats(seconds: Sequence[float],
                  batch_size: int = 1) -> Dict[str, float]:
    """Summary of per-call times: median, quartiles, min, throughput.

    Quartiles interpolate linearly between order statistics (NumPy's
    default, ``statistics.quantiles(method='inclusive')``).

    Args:
        seconds: Per-call times in seconds.
        batch_size: Images per call, for ``fps``.

    Returns:
        dict: ``median_ms``, ``p25_ms``, ``p75_ms``, ``iqr_ms``
        (p75 - p25), ``min_ms``, ``mean_ms``, ``fps`` (images per second at
        the median) and ``n`` (number of calls).
    """
    if len(seconds) == 0:
        raise ValueError('latency_stats needs at least one time.')
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p25, median, p75 = np.percentile(ms, [25, 50, 75])
    return dict(
        median_ms=float(median),
        p25_ms=float(p25),
        p75_ms=float(p75),
        iqr_ms=float(p75 - p25),
        min_ms=float(ms.min()),
        mean_ms=float(ms.mean()),
        fps=float(batch_size * 1000.0 / median),
        n=int(ms.size))


def measure_latency(fn: Callable[[], object], warmup: int = 10,
                    repeats: int = 50,
                    batch_size: int = 1) -> Dict[str, float]:
    """:func:`latency_stats` of one function after ``warmup`` calls."""
    return latency_stats(
        time_interleaved(dict(fn=fn), warmup, repeats)['fn'], batch_size)


def machine_info() -> Dict[str, object]:
    """What a timing depends on: CPU, threads, versions and current load."""
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    return dict(
        platform=platform.platform(),
        cpu_model=cpu_model(),
        numerics=cpu_numerics(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        loadavg_1_5_15=list(load) if load is not None else None)


def build_eval_model(cfg: Config, checkpoint: Optional[str] = None
                     ) -> nn.Module:
    """Build ``cfg.model`` in eval mode, loading ``checkpoint`` if given.

    A distiller's teacher is built without ``teacher_ckpt`` (its weights
    are not needed to time it or to predict with the student, and a
    distiller checkpoint does not carry them); a checkpoint is read safely
    and loaded strictly (:func:`rkd_mm.utils.checkpoint.load_weights`), so
    one of another model stops with the mismatching keys, and a distiller
    checkpoint given to a plain student config loads its student.

    Args:
        cfg: A full config.
        checkpoint: Weights file, or None for random weights.

    Returns:
        nn.Module: The model, on the CPU, in eval mode.
    """
    from rkd_mm.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    if is_distiller(cfg):
        model_cfg.teacher_ckpt = None
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'checkpoint {checkpoint} not found: pass the .pth file that '
                'tools/train.py wrote for this config, or leave it out to '
                'use random weights (timing does not depend on them).')
        config = getattr(cfg, 'filename', None)
        load_weights(model, checkpoint,
                     f'the model of {config}' if config else 'the model')
    return model.eval()


def benchmark_config(cfg: Config,
                     checkpoint: Optional[str] = None,
                     shape: Optional[Sequence[int]] = None,
                     batch_size: int = 1,
                     warmup: int = 10,
                     repeats: int = 50) -> Dict[str, object]:
    """Latency and FLOPs of what a config runs at test time.

    For a distiller the teacher is timed at HR and the student at LR
    (HR size times its data preprocessor's ``test_scale_factor``), interleaved
    round by round, and their ratio is set against the FLOPs ratio; for any
    other config the model is timed at its test input size.

    Args:
        cfg: A full config (model + test data).
        checkpoint: Weights to load; None keeps random weights.
        shape: HR ``(H, W)`` instead of the test pipeline's size.
        batch_size: Images per forward.
        warmup: Untimed rounds first.
        repeats: Timed rounds.

    Returns:
        dict: ``models`` (``{name: latency_stats + input_shape, gflops,
        params}``: ``teacher``/``student`` for a distiller, else
        ``model``), ``batch_size``, ``warmup``, ``repeats``, ``weights``;
        for a distiller also ``latency_ratio`` (median over rounds of
        teacher time / student time), ``latency_ratio_iqr`` ([p25, p75]
        of those ratios), ``flops_ratio`` and ``speedup_vs_flops``
        (``latency_ratio / flops_ratio``: 1 means the FLOPs saving is fully
        realised as speed).
    """
    nets, costs = deployed_nets(cfg, checkpoint, shape, batch_size)
    gen = torch.Generator().manual_seed(0)
    fns = {}
    for name, net in nets.items():
        # normalised inputs: what the data preprocessor hands the network
        x = torch.randn((batch_size, ) + tuple(costs[name]['input_shape']),
                        generator=gen)
        fns[name] = _forward_fn(net, x)
    with torch.no_grad():
        rounds = time_interleaved(fns, warmup, repeats)
    return summarize_rounds(rounds, costs, batch_size, warmup, repeats,
                            checkpoint)


def deployed_nets(cfg: Config, checkpoint: Optional[str],
                  shape: Optional[Sequence[int]], batch_size: int
                  ) -> Tuple[Dict[str, nn.Module], Dict[str, dict]]:
    """The networks a config deploys and their costs, for any backend.

    Returns:
        tuple: ``{name: network}`` (``teacher`` and ``student`` for a
        distiller, else ``model``) in eval mode with ``checkpoint``'s
        weights, and ``{name: complexity}`` (``input_shape``, ``flops``,
        ``params``, from :mod:`rkd_mm.apis.complexity`).
    """
    if batch_size < 1:
        raise ValueError(f'batch_size={batch_size} must be >= 1.')
    model = build_eval_model(cfg, checkpoint)
    if is_distiller(cfg):
        costs = distiller_complexity(cfg, shape)
        nets = dict(teacher=model.teacher, student=model.student)
    else:
        costs = dict(model=model_complexity(cfg, shape))
        nets = dict(model=model)
    return nets, costs


def summarize_rounds(rounds: Dict[str, List[float]], costs: Dict[str, dict],
                     batch_size: int, warmup: int, repeats: int,
                     checkpoint: Optional[str]) -> Dict[str, object]:
    """``benchmark_config``'s result from interleaved timing rounds."""
    models = {
        name: dict(latency_stats(times, batch_size),
                   input_shape=list(costs[name]['input_shape']),
                   gflops=costs[name]['flops'] / 1e9,
                   params=costs[name]['params'])
        for name, times in rounds.items()
    }
    result: Dict[str, object] = dict(
        models=models, batch_size=batch_size, warmup=warmup,
        repeats=repeats,
        weights='checkpoint' if checkpoint else 'random')
    if 'teacher' in models:
        result.update(ratio_summary(rounds['teacher'], rounds['student'],
                                    costs['teacher']['flops'],
                                    costs['student']['flops']))
    return result


def ratio_summary(teacher_s: Sequence[float], student_s: Sequence[float],
                  teacher_flops: float, student_flops: float
                  ) -> Dict[str, object]:
    """Teacher/student latency ratio per round against the FLOPs ratio.

    Returns:
        dict: ``latency_ratio`` (median of the per-round ratios),
        ``latency_ratio_iqr`` ([p25, p75]), ``ratio_of_medians``,
        ``flops_ratio`` and ``speedup_vs_flops`` (latency ratio / FLOPs
        ratio: 1 means the FLOPs saving is fully realised as speed).
    """
    ratios = [t / s for t, s in zip(teacher_s, student_s)]
    p25, median, p75 = np.percentile(ratios, [25, 50, 75])
    flops_ratio = teacher_flops / student_flops
    return dict(
        latency_ratio=float(median),
        latency_ratio_iqr=[float(p25), float(p75)],
        ratio_of_medians=statistics.median(teacher_s) /
        statistics.median(student_s),
        flops_ratio=flops_ratio,
        speedup_vs_flops=float(median) / flops_ratio)


# keys that only choose initial weights: they do not change the network a
# timing runs (random weights), so two configs differing only there share
# one measurement
WEIGHT_INIT_KEYS = ('init_cfg', 'pretrained')


def _plain(value):
    """Nested dicts/lists of a (Config)Dict, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def deployed_model(cfg: Config,
                   shapes: Optional[Dict[str, Tuple[int, ...]]] = None
                   ) -> Tuple[dict, Tuple[int, ...]]:
    """The model a config deploys and its test input ``(C, H, W)``.

    For a distiller: the student (``cfg_path`` resolved, overrides merged);
    for any other config: ``cfg.model``; each at the size its network sees,
    the test pipeline's (HR) size times the LR data preprocessor's
    ``test_scale_factor`` (:func:`rkd_mm.apis.lr_scale.model_input_scale`).
    So an LR-only config and a distiller with the same student at the same
    scale give the same pair.

    Args:
        cfg: A full config (model + test data).
        shapes: Optional cache of test pipeline sizes, keyed by the
            dumped test dataset config (building a dataset to read one
            sample's size is the slow part when many configs share it).

    Returns:
        tuple: The model config as plain dicts/lists, and the input shape.
    """
    from rkd_mm.utils.lr_view import lr_size
    from rkd_mm.apis.lr_scale import model_input_scale
    from rkd_mm.apis.model_config import resolved_model_cfg
    model_cfg = resolved_model_cfg(cfg, 'student') if is_distiller(cfg) \
        else cfg.model
    hr = _test_shape(cfg, shapes)
    shape = (hr[0], ) + tuple(lr_size(hr[1:], model_input_scale(cfg)))
    return _plain(model_cfg), tuple(int(s) for s in shape)


def _test_shape(cfg: Config, shapes: Optional[dict]) -> Tuple[int, ...]:
    if shapes is None:
        return tuple(test_input_shape(cfg))
    key = json.dumps([cfg.get('default_scope', 'mmseg'),
                      _plain(cfg.test_dataloader.dataset)],
                     sort_keys=True, default=str)
    if key not in shapes:
        shapes[key] = tuple(test_input_shape(cfg))
    return shapes[key]


def architecture_key(model_cfg: Mapping, input_shape: Sequence[int]) -> str:
    """A short id of (architecture, input size) for grouping timings.

    The SHA-1 (12 hex digits) of the model config dumped as sorted JSON,
    without its weight-initialisation keys (:data:`WEIGHT_INIT_KEYS`), and
    the input shape. Equal configs give equal ids, whatever the run, seed
    or method that holds them.
    """
    def strip(value):
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items()
                    if k not in WEIGHT_INIT_KEYS}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    text = json.dumps(dict(model=strip(_plain(model_cfg)),
                           input=[int(s) for s in input_shape]),
                      sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def benchmark_models(models: Mapping[str, Tuple[Mapping, Sequence[int]]],
                     batch_size: int = 1,
                     warmup: int = 10,
                     repeats: int = 50,
                     default_scope: str = 'mmseg'
                     ) -> Dict[str, Dict[str, object]]:
    """Latency and FLOPs of several models in one interleaved session.

    Every model is built (random weights) and fed a random normalised
    input of its own shape; :func:`time_interleaved` then calls each once
    per round, so all of them see the same machine load.

    Args:
        models: ``{name: (model config, (C, H, W))}``, e.g. from
            :func:`deployed_model`.
        batch_size: Images per forward.
        warmup: Untimed rounds first.
        repeats: Timed rounds.
        default_scope: Registry scope to build the models in.

    Returns:
        dict: ``{name: latency_stats + input_shape, gflops, params}``.
    """
    from rkd_mm.registry import MODELS
    if batch_size < 1:
        raise ValueError(f'batch_size={batch_size} must be >= 1.')
    init_default_scope(default_scope)
    gen = torch.Generator().manual_seed(0)
    fns, costs = {}, {}
    for name, (model_cfg, shape) in models.items():
        costs[name] = count(ConfigDict(copy.deepcopy(_plain(model_cfg))),
                            tuple(shape), network_input=True)
        net = MODELS.build(ConfigDict(copy.deepcopy(_plain(model_cfg))))
        x = torch.randn((batch_size, ) + tuple(shape), generator=gen)
        fns[name] = _forward_fn(net, x)
    with torch.no_grad():
        rounds = time_interleaved(fns, warmup, repeats)
    return {
        name: dict(latency_stats(times, batch_size),
                   input_shape=[int(s) for s in models[name][1]],
                   gflops=costs[name]['flops'] / 1e9,
                   params=costs[name]['params'])
        for name, times in rounds.items()
    }


def _forward_fn(net: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    net.eval()

    def forward():
        with torch.no_grad():
            return net(x, mode='tensor')

    return forward
