"""Export the deployed network of a config to ONNX.

The deployed network is the model a config runs at test time: for a
:class:`~rkd_mm.models.ResolutionAwareDistiller` config its *student* at the
LR input size, for any other config ``cfg.model`` at its test input size.
The graph takes the normalised image and returns, by choice
(``graph_output``):

* ``'logits'``: the decode head's raw logit grid (stride 4 of the input,
  e.g. 8x8 for a 32x32 LR input): the cheapest graph, what the latency
  numbers time;
* ``'hr_logits'``: those logits resized to the label size (HR) in the one
  bilinear step of :class:`~rkd_mm.models.LREncoderDecoder`: ``seg_logits``
  of ``tools/test.py``;
* ``'labels'``: their arg-max, ``(N, H, W)`` int64: ``pred_sem_seg`` of
  ``tools/test.py``.

Preprocessing stays outside the graph, as in mmdeploy: the LR view
(``cv2.INTER_AREA`` of the uint8 HR image, :func:`~rkd_mm.datasets.
transforms.downsample_image`), BGR to RGB and ``(x - mean) / std``; the
values are written into the ONNX file's metadata (:func:`onnx_metadata`).
"""
import json
import warnings
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from torch import nn

GRAPH_OUTPUTS = ('logits', 'hr_logits', 'labels')
INPUT_NAME = 'input'


# a checkpoint whose weights do not fit: the project loader's error
from rkd_mm.utils.checkpoint import CheckpointMismatchError  # noqa: E402,F401


@dataclass
class DeploySpec:
    """What the exported graph needs to know about a config.

    Attributes:
        model_cfg: Config of the deployed segmentor (a distiller's student).
        input_shape: ``(C, h, w)`` the network sees (LR for a student).
        label_size: ``(H, W)`` of the label map (``ori_shape``), the size
            ``hr_logits``/``labels`` are resized to.
        scale_factor: LR/HR ratio of the input (1.0 for an HR model).
        mean: Per-channel mean of the normalisation.
        std: Per-channel std of the normalisation.
        bgr_to_rgb: Whether the loaded BGR image is turned to RGB first.
        data_preprocessor: Config of the data preprocessor that makes the
            network's input (a distiller's: the HR one, before its LR view).
        is_distiller: The config is a distiller's (its student deploys).
        classes: Class names, when the config's dataset names them.
    """
    model_cfg: ConfigDict
    input_shape: Tuple[int, int, int]
    label_size: Tuple[int, int]
    scale_factor: float
    mean: List[float]
    std: List[float]
    bgr_to_rgb: bool
    data_preprocessor: dict
    is_distiller: bool
    classes: List[str] = field(default_factory=list)


def deploy_spec(cfg: Config,
                hr_shape: Optional[Sequence[int]] = None) -> DeploySpec:
    """The deployed network of ``cfg``, its input size and preprocessing.

    The HR size comes from ``hr_shape`` or else from the first test sample
    (the test pipeline's image). The LR size is the HR size times the LR scale
    (:func:`rkd_mm.apis.lr_scale.lr_scales`: the test scale of the LR data
    preprocessor), rounded as the LR op rounds. The exported graph takes the
    LR image: making it (a camera's binning, a resize) is the caller's.

    Args:
        cfg: A full config (model + test data).
        hr_shape: HR ``(H, W)`` instead of the test data's.

    Returns:
        DeploySpec: The spec.
    """
    from rkd_mm.apis.lr_scale import lr_scales
    from rkd_mm.apis.model_config import is_distiller, resolved_model_cfg
    from rkd_mm.utils.lr_view import lr_size
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    distiller = is_distiller(cfg)
    scale = lr_scales(cfg).test
    if distiller:
        model_cfg = resolved_model_cfg(cfg, 'student')
        # the distiller's own, else its teacher's (as the distiller builds;
        # the student's normalises alike, which the distiller checks)
        preprocessor = cfg.model.get('data_preprocessor') or \
            resolved_model_cfg(cfg, 'teacher').get('data_preprocessor')
    else:
        model_cfg = cfg.model
        preprocessor = cfg.model.get('data_preprocessor') or \
            cfg.get('data_preprocessor')
    if hr_shape is None:
        channels, hr = _test_sample_sizes(cfg)
    else:
        channels, hr = 3, (int(hr_shape[0]), int(hr_shape[1]))
    lr = lr_size(hr, scale)
    if not preprocessor:
        raise ValueError('The config\'s model has no data_preprocessor: '
                         'the exported graph\'s input normalisation is '
                         'unknown.')
    preprocessor = dict(preprocessor)
    return DeploySpec(
        model_cfg=model_cfg,
        input_shape=(channels, ) + tuple(lr),
        label_size=tuple(hr),
        scale_factor=float(scale),
        mean=[float(v) for v in preprocessor.get('mean') or [0., 0., 0.]],
        std=[float(v) for v in preprocessor.get('std') or [1., 1., 1.]],
        bgr_to_rgb=bool(preprocessor.get('bgr_to_rgb', False)),
        data_preprocessor=preprocessor,
        is_distiller=distiller,
        classes=_classes(cfg))


def _test_sample_sizes(cfg: Config) -> Tuple[int, Tuple[int, int]]:
    """Channels and HR size of the first test sample (the pipeline gives
    the HR image)."""
    from mmengine.registry import DATASETS
    sample = DATASETS.build(cfg.test_dataloader.dataset)[0]
    channels, h, w = sample['inputs'].shape
    return int(channels), (int(h), int(w))


def _classes(cfg: Config) -> List[str]:
    """Class names of the test dataset's class, if it declares them."""
    from mmengine.registry import DATASETS
    dataset_type = cfg.test_dataloader.dataset.get('type')
    try:
        dataset_cls = DATASETS.get(dataset_type)
    except KeyError:
        return []
    classes = getattr(dataset_cls, 'METAINFO', {}).get('classes', ())
    return [str(c) for c in classes]


# ---------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------
def build_deployed_model(spec: DeploySpec,
                         checkpoint: Optional[str] = None
                         ) -> Tuple[nn.Module, str]:
    """Build ``spec``'s network in eval mode and load ``checkpoint``.

    Accepts a checkpoint of the deployed network itself (an LR-only or
    teacher checkpoint, or a student written by
    ``tools/model_converters/extract_student.py``) or of a
    ``ResolutionAwareDistiller``, whose ``student.`` weights are taken.
    Loading is strict: a checkpoint of another architecture stops with the
    keys that do not fit.

    Args:
        spec: From :func:`deploy_spec`.
        checkpoint: Weights file, or None for random weights (latency).

    Returns:
        tuple: The model (CPU, eval) and a line saying what was loaded.
    """
    from rkd_mm.registry import MODELS
    model = MODELS.build(spec.model_cfg)
    from mmseg.models.segmentors import BaseSegmentor
    if not isinstance(model, BaseSegmentor):
        raise TypeError(
            f'ONNX export handles mmseg segmentors only so far; this config '
            f'deploys a {type(model).__name__}. A classifier\'s student '
            'is scored with tools/test.py and timed with '
            'tools/analysis_tools/benchmark.py (PyTorch backend).')
    if checkpoint is None:
        return model.eval(), 'random weights'
    # the project's loader: read safely, strictly fitted, a distiller's
    # student taken (the same rules as tools/test.py)
    from rkd_mm.utils.checkpoint import load_weights
    ckpt = load_weights(model, checkpoint,
                        'the deployed model of this config')
    state = ckpt.get('state_dict', ckpt)
    source = 'the student of a distiller checkpoint' if any(
        k.startswith('student.') for k in state) else 'a model checkpoint'
    return model.eval(), f'{source} from {checkpoint}'


# ---------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------
class DeployWrapper(nn.Module):
    """The exported function: normalised image -> ``graph_output``.

    Args:
        segmentor: An mmseg segmentor (``tensor`` mode gives its logits).
        label_size: ``(H, W)`` for ``hr_logits``/``labels``.
        graph_output: One of :data:`GRAPH_OUTPUTS`.
    """

    def __init__(self, segmentor: nn.Module, label_size: Sequence[int],
                 graph_output: str = 'logits') -> None:
        super().__init__()
        if graph_output not in GRAPH_OUTPUTS:
            raise ValueError(f'graph_output={graph_output!r}: choose from '
                             f'{GRAPH_OUTPUTS}.')
        self.segmentor = segmentor
        self.label_size = tuple(int(s) for s in label_size)
        self.graph_output = graph_output
        # the resize mmseg's predict does (LREncoderDecoder: one step)
        self.align_corners = bool(segmentor.decode_head.align_corners)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.segmentor(inputs, mode='tensor')
        if self.graph_output == 'logits':
            return logits
        logits = F.interpolate(logits, size=self.label_size,
                               mode='bilinear',
                               align_corners=self.align_corners)
        if self.graph_output == 'hr_logits':
            return logits
        return logits.argmax(dim=1)


def export_graph(model: nn.Module,
                 input_shape: Sequence[int],
                 out: str,
                 graph_output: str = 'logits',
                 label_size: Optional[Sequence[int]] = None,
                 batch_size: int = 1,
                 dynamic_batch: bool = False,
                 opset: int = 17) -> str:
    """Trace ``model`` (an mmseg segmentor, eval mode) into ``out``.

    The batch size is fixed (``batch_size``) unless ``dynamic_batch``: with
    every shape static, onnxruntime folds the shape arithmetic of the FPN's
    resizes into constants, which made the x0.25 student ~10 % faster at
    batch 1 (docs/benchmarks.md). The spatial size is always fixed: FPN's
    upsampling steps are traced with constant sizes. Batch norms are folded
    into the convolutions (eval-mode export with constant folding).

    Args:
        model: The segmentor.
        input_shape: ``(C, h, w)`` of one input image.
        out: Output ``.onnx`` path.
        graph_output: One of :data:`GRAPH_OUTPUTS`.
        label_size: ``(H, W)`` for ``hr_logits``/``labels``.
        batch_size: Batch size of the graph (>= 1).
        dynamic_batch: Make the batch axis dynamic instead.
        opset: ONNX opset (17 is tested).

    Returns:
        str: ``out``.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size={batch_size} must be >= 1.')
    if graph_output != 'logits' and label_size is None:
        raise ValueError(f'graph_output={graph_output!r} needs label_size.')
    wrapper = DeployWrapper(model, label_size or input_shape[1:],
                            graph_output).eval()
    dummy = torch.zeros((batch_size, ) + tuple(input_shape))
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {INPUT_NAME: {0: 'batch'}, graph_output: {0: 'batch'}}
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter warns about its deprecation and about
        # sizes it traces as constants (intended: the input size is fixed)
        warnings.simplefilter('ignore')
        torch.onnx.export(
            wrapper, (dummy, ), out,
            input_names=[INPUT_NAME],
            output_names=[graph_output],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False)
    return out


def export_onnx(model: nn.Module,
                spec: DeploySpec,
                out: str,
                graph_output: str = 'logits',
                batch_size: int = 1,
                dynamic_batch: bool = False,
                opset: int = 17,
                metadata: Optional[Dict[str, object]] = None) -> str:
    """:func:`export_graph` of a :class:`DeploySpec`'s network, with the
    preprocessing and output description in the file's metadata.

    Args:
        model: From :func:`build_deployed_model`.
        spec: Its :class:`DeploySpec`.
        out: Output ``.onnx`` path.
        graph_output: One of :data:`GRAPH_OUTPUTS`.
        batch_size: Batch size of the graph (>= 1).
        dynamic_batch: Make the batch axis dynamic instead.
        opset: ONNX opset.
        metadata: Extra metadata entries (JSON-encoded into the file).

    Returns:
        str: ``out``.
    """
    export_graph(model, spec.input_shape, out, graph_output,
                 spec.label_size, batch_size, dynamic_batch, opset)
    write_metadata(out, onnx_metadata(spec, graph_output, batch_size,
                                      dynamic_batch, **(metadata or {})))
    return out


def onnx_metadata(spec: DeploySpec, graph_output: str, batch_size: int,
                  dynamic_batch: bool, **extra) -> Dict[str, str]:
    """The file's ``metadata_props``: how to feed it and what it returns.

    Every value is JSON (read back with :func:`read_metadata`).
    """
    c, h, w = spec.input_shape
    meta = dict(
        producer='rkd_mm tools/deployment/pytorch2onnx.py',
        input=dict(name=INPUT_NAME, layout='NCHW', dtype='float32',
                   shape=['batch' if dynamic_batch else batch_size, c, h, w]),
        preprocess=dict(
            lr_resize='cv2.INTER_AREA of the uint8 HR image'
            if spec.scale_factor != 1.0 else 'none',
            scale_factor=spec.scale_factor, bgr_to_rgb=spec.bgr_to_rgb,
            mean=spec.mean, std=spec.std),
        graph_output=graph_output,
        label_size=list(spec.label_size),
        classes=spec.classes,
        **extra)
    return {k: json.dumps(v) for k, v in meta.items()}


def write_metadata(path: str, props: Dict[str, str]) -> None:
    """Add ``props`` to the ``metadata_props`` of the ONNX file."""
    import onnx
    model = onnx.load(path)
    existing = {p.key: p for p in model.metadata_props}
    for key, value in props.items():
        prop = existing.get(key) or model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, path)


def read_metadata(path: str) -> Dict[str, object]:
    """The JSON ``metadata_props`` of an exported file, decoded."""
    import onnx
    model = onnx.load(path, load_external_data=False)
    out = {}
    for prop in model.metadata_props:
        try:
            out[prop.key] = json.loads(prop.value)
        except ValueError:
            out[prop.key] = prop.value
    return out


def spec_dict(spec: DeploySpec) -> Dict[str, object]:
    """``spec`` without the model config, for printing and JSON."""
    return {f.name: getattr(spec, f.name) for f in fields(spec)
            if f.name not in ('model_cfg', 'data_preprocessor')}
