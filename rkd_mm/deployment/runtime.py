"""onnxruntime sessions with the settings measured to serve these models.

The defaults of :class:`OrtSettings` are the best ones measured on this
project's 2-core CPUs (docs/benchmarks.md, ``benchmarks/onnx_latency.py``):

* ``ORT_ENABLE_ALL`` graph optimisation: on top of the constant folding
  and operator fusions of ``EXTENDED`` (conv + activation, conv + add) it
  runs the convolutions in MLAS's blocked NCHWc layout (ORT's channels-last
  counterpart), which made the x0.25 student ~1.7x faster than
  ``EXTENDED``;
* one sequential execution stream (``ORT_SEQUENTIAL``) with the intra-op
  threads of PyTorch's path (``torch.get_num_threads()``) unless
  ``threads`` is given, so a PyTorch and an onnxruntime timing compare
  like for like.
"""
from dataclasses import asdict, dataclass
from typing import Dict, Optional

import numpy as np

OPTIMIZATION_LEVELS = ('disable', 'basic', 'extended', 'all')
EXECUTION_MODES = ('sequential', 'parallel')


@dataclass
class OrtSettings:
    """Session options of an onnxruntime CPU session.

    Attributes:
        threads: Intra-op threads; None takes ``torch.get_num_threads()``
            (the PyTorch path's threads).
        optimization: Graph optimisation level, one of
            :data:`OPTIMIZATION_LEVELS`.
        execution_mode: ``'sequential'`` or ``'parallel'`` (independent
            branches at once, on ``inter_op_threads``).
        inter_op_threads: Threads for ``'parallel'`` execution.
        spinning: Let idle intra-op threads spin instead of sleeping
            (onnxruntime's default): lower latency on a machine of one's
            own, much higher on a loaded one, where the spinning threads
            take cores from the working ones.
    """
    threads: Optional[int] = None
    optimization: str = 'all'
    execution_mode: str = 'sequential'
    inter_op_threads: int = 1
    spinning: bool = True

    def resolved(self) -> 'OrtSettings':
        """A copy with ``threads`` filled in and the fields checked."""
        if self.optimization not in OPTIMIZATION_LEVELS:
            raise ValueError(f'optimization={self.optimization!r}: choose '
                             f'from {OPTIMIZATION_LEVELS}.')
        if self.execution_mode not in EXECUTION_MODES:
            raise ValueError(f'execution_mode={self.execution_mode!r}: '
                             f'choose from {EXECUTION_MODES}.')
        threads = self.threads
        if threads is None:
            import torch
            threads = torch.get_num_threads()
        if threads < 1 or self.inter_op_threads < 1:
            raise ValueError(f'threads={threads} and inter_op_threads='
                             f'{self.inter_op_threads} must be >= 1.')
        return OrtSettings(threads, self.optimization, self.execution_mode,
                           self.inter_op_threads, self.spinning)

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def import_onnxruntime():
    """``onnxruntime``, or an error that says how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            'onnxruntime is not installed: pip install -e ".[deploy]" '
            '(see docs/deployment.md)') from err
    return onnxruntime


def make_session(path: str, settings: Optional[OrtSettings] = None):
    """A CPU ``InferenceSession`` of the ONNX file ``path``.

    Args:
        path: ``.onnx`` file.
        settings: Session options; None uses :class:`OrtSettings`'
            defaults.

    Returns:
        onnxruntime.InferenceSession: The session.
    """
    ort = import_onnxruntime()
    s = (settings or OrtSettings()).resolved()
    levels = dict(
        disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[s.optimization]
    options.intra_op_num_threads = s.threads
    if s.execution_mode == 'parallel':
        options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        options.inter_op_num_threads = s.inter_op_threads
    else:
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
    options.add_session_config_entry('session.intra_op.allow_spinning',
                                     '1' if s.spinning else '0')
    # quiet: onnxruntime warns about every node it leaves on the CPU EP
    options.log_severity_level = 3
    return ort.InferenceSession(path, options,
                                providers=['CPUExecutionProvider'])


def run_session(session, inputs: np.ndarray) -> np.ndarray:
    """The first output of ``session`` for ``inputs`` (float32, NCHW)."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.ascontiguousarray(
        inputs, dtype=np.float32)})[0]


def session_batch_size(session) -> Optional[int]:
    """The static batch size of the session's input (None if dynamic)."""
    dim = session.get_inputs()[0].shape[0]
    return dim if isinstance(dim, int) else None


def preprocess_image(img: np.ndarray, metadata: Dict[str, object]
                     ) -> np.ndarray:
    """One loaded HR image -> the exported graph's input, from the file's
    metadata alone (no config needed): the LR resize
    (``cv2.INTER_AREA``), BGR->RGB, ``(x - mean) / std``, NCHW.

    Gives the pixels ``tools/test.py`` feeds the network (tested).

    Args:
        img: ``(H, W, 3)`` uint8 BGR image as ``cv2.imread`` loads it.
        metadata: :func:`~rkd_mm.deployment.read_metadata` of the file.

    Returns:
        np.ndarray: ``(1, 3, h, w)`` float32.
    """
    import cv2
    pre = metadata['preprocess']
    h, w = metadata['input']['shape'][2:]
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f'expected an (H, W, 3) uint8 BGR image, got '
                         f'{img.shape} {img.dtype}.')
    if img.shape[:2] != (h, w):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if pre['bgr_to_rgb']:
        img = img[..., ::-1]
    x = (img.astype(np.float32) - np.asarray(pre['mean'], np.float32)) / \
        np.asarray(pre['std'], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
