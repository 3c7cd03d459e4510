"""Latency of a config's model(s) in onnxruntime, as the PyTorch path
measures it.

:func:`benchmark_config_onnxruntime` is the ``--backend onnxruntime`` of
``tools/analysis_tools/benchmark.py``: the same networks (for a distiller
the teacher at HR and the student at LR, otherwise the config's model at
its test size), the same random normalised inputs, batch size, warm-up and
interleaved rounds as :func:`rkd_mm.apis.latency.benchmark_config`, and
the same result layout; each network is exported to a temporary ONNX file
(raw logits, static shapes, as ``tools/deployment/pytorch2onnx.py`` writes
by default) and run in an onnxruntime session with
:class:`~rkd_mm.deployment.runtime.OrtSettings` (by default the intra-op
threads of the PyTorch path), teacher and student with the same settings.
"""
import os.path as osp
import tempfile
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from .export import export_graph
from .runtime import OrtSettings, make_session, run_session


def benchmark_config_onnxruntime(cfg: Config,
                                 checkpoint: Optional[str] = None,
                                 shape: Optional[Sequence[int]] = None,
                                 batch_size: int = 1,
                                 warmup: int = 10,
                                 repeats: int = 50,
                                 settings: Optional[OrtSettings] = None,
                                 opset: int = 17) -> Dict[str, object]:
    """:func:`~rkd_mm.apis.latency.benchmark_config` in onnxruntime.

    Args:
        cfg: A full config (model + test data).
        checkpoint: Weights to load; None keeps random weights.
        shape: HR ``(H, W)`` instead of the test pipeline's size.
        batch_size: Images per forward (the exported graphs' batch size).
        warmup: Untimed rounds first.
        repeats: Timed rounds.
        settings: Session options, the same for every model.
        opset: ONNX opset of the export.

    Returns:
        dict: As ``benchmark_config``'s, plus ``backend`` and
        ``ort_settings``.
    """
    from rkd_mm.apis.latency import (deployed_nets, summarize_rounds,
                                      time_interleaved)
    settings = (settings or OrtSettings()).resolved()
    nets, costs = deployed_nets(cfg, checkpoint, shape, batch_size)
    gen = torch.Generator().manual_seed(0)
    fns: Dict[str, Callable[[], object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, net in nets.items():
            input_shape = tuple(costs[name]['input_shape'])
            path = export_graph(net, input_shape,
                                osp.join(tmp, name + '.onnx'),
                                batch_size=batch_size, opset=opset)
            # the session holds the weights: the file may go with tmp
            session = make_session(path, settings)
            x = torch.randn((batch_size, ) + input_shape,
                            generator=gen).numpy()
            fns[name] = _run_fn(session, x)
    rounds = time_interleaved(fns, warmup, repeats)
    result = summarize_rounds(rounds, costs, batch_size, warmup, repeats,
                              checkpoint)
    result.update(backend='onnxruntime', ort_settings=settings.as_dict())
    return result


def _run_fn(session, x: np.ndarray) -> Callable[[], object]:
    def run():
        return run_session(session, x)

    return run
