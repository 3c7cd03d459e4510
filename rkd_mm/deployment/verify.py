"""Check an exported model against PyTorch on the config's real data.

The inputs are the config's own: the test (or train) split through the test
pipeline and the model's data preprocessor, and for a distiller the LR view
its student sees (:func:`~rkd_mm.utils.lr_view.downsample_tensor`,
the same pixels as the LR test pipeline). Predictions from the ONNX output
go through the segmentor's own ``predict_by_feat`` and
``postprocess_result``, so identical logits give the labels
``tools/test.py`` scores, and the mIoU is computed by the config's
``test_evaluator``.
"""
import copy
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from torch import nn

from .export import DeploySpec, DeployWrapper
from .runtime import run_session, session_batch_size


def iter_batches(cfg: Config, split: str = 'test', batch_size: int = 1,
                 limit: Optional[int] = None) -> Iterator[dict]:
    """Batches of a split through the config's *test* pipeline, in order.

    Args:
        cfg: A full config.
        split: ``'test'`` or ``'train'`` (its images, test pipeline: no
            augmentation; for calibration).
        batch_size: Images per batch.
        limit: At most this many images (None: all).

    Yields:
        dict: ``inputs`` and ``data_samples`` lists, as a data loader's.
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS
    if split not in ('test', 'train'):
        raise ValueError(f'split={split!r}: choose test or train.')
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    if split == 'train':
        dataset_cfg.data_prefix = copy.deepcopy(
            cfg.train_dataloader.dataset.data_prefix)
    dataset = DATASETS.build(dataset_cfg)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, n, batch_size):
        yield pseudo_collate(
            [dataset[i] for i in range(start, min(start + batch_size, n))])


class DeployInputs:
    """Data batch -> the normalised input of the deployed network.

    Args:
        cfg: A full config.
        spec: Its :class:`DeploySpec`.
    """

    def __init__(self, cfg: Config, spec: DeploySpec) -> None:
        from mmengine.registry import init_default_scope

        from rkd_mm.registry import MODELS
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.spec = spec
        self.preprocessor = MODELS.build(copy.deepcopy(
            spec.data_preprocessor))

    def __call__(self, data_batch: dict) -> Tuple[torch.Tensor, list]:
        """``(inputs, data_samples)``: the network's normalised input."""
        from rkd_mm.utils.lr_view import downsample_tensor
        data = self.preprocessor(data_batch, False)
        inputs = data['inputs']
        if self.spec.is_distiller:  # the student's LR view of the HR batch
            inputs = downsample_tensor(inputs, self.spec.scale_factor,
                                       self.preprocessor.mean,
                                       self.preprocessor.std)
        expected = tuple(self.spec.input_shape)
        if tuple(inputs.shape[1:]) != expected:
            raise ValueError(
                f'the data give inputs of size {tuple(inputs.shape[1:])}, '
                f'the exported model takes {expected}: export with the '
                'data\'s size (--shape).')
        return inputs, data['data_samples']


def run_padded(session, inputs: np.ndarray) -> np.ndarray:
    """Run a session whose batch size is static on any number of inputs.

    Splits ``inputs`` into the session's batch size and pads the last
    chunk with zeros (its extra outputs are dropped).
    """
    batch = session_batch_size(session)
    if batch is None or batch == len(inputs):
        return run_session(session, inputs)
    outs = []
    for start in range(0, len(inputs), batch):
        chunk = inputs[start:start + batch]
        n = len(chunk)
        if n < batch:
            pad = np.zeros((batch - n, ) + chunk.shape[1:], chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        outs.append(run_session(session, chunk)[:n])
    return np.concatenate(outs)


def predictions_from_output(segmentor: nn.Module, output: torch.Tensor,
                            data_samples: list, graph_output: str) -> list:
    """Data samples with ``pred_sem_seg`` made from a graph's output.

    ``logits``/``hr_logits`` go through the segmentor's own
    ``predict_by_feat`` (at the label size, as
    :class:`~rkd_mm.models.LREncoderDecoder` predicts) and
    ``postprocess_result``; ``labels`` are used as they are.
    """
    if graph_output == 'labels':
        for sample, labels in zip(data_samples, output):
            sample.set_data(dict(pred_sem_seg=PixelData(data=labels[None])))
        return data_samples
    metas = [_label_size_meta(s.metainfo) for s in data_samples]
    seg_logits = segmentor.decode_head.predict_by_feat(output, metas)
    return segmentor.postprocess_result(seg_logits, data_samples)


def _label_size_meta(meta: dict) -> dict:
    from rkd_mm.models.segmentors.lr_encoder_decoder import LREncoderDecoder
    return LREncoderDecoder._label_size_meta(meta)


def compare_with_pytorch(cfg: Config,
                         spec: DeploySpec,
                         model: nn.Module,
                         session,
                         graph_output: str = 'logits',
                         batch_size: int = 8,
                         limit: Optional[int] = None,
                         score: bool = False,
                         progress: Optional[Callable[[int], None]] = None
                         ) -> Dict[str, object]:
    """Run PyTorch and the ONNX session on the test split and compare.

    Args:
        cfg: A full config.
        spec: Its :class:`DeploySpec`.
        model: The deployed segmentor (eval).
        session: onnxruntime session of the exported graph.
        graph_output: What the graph returns (:data:`GRAPH_OUTPUTS`).
        batch_size: Images per PyTorch forward (the session's own batch
            size is handled by :func:`run_padded`).
        limit: At most this many test images.
        score: Also score both with the config's ``test_evaluator``.
        progress: Called with the number of images done.

    Returns:
        dict: ``num_images``; ``max_abs_diff`` and ``max_abs_logit`` (of
        the graph output; for ``labels`` of the logits it was made from
        they are None); ``label_mismatch_pixels`` (predicted labels that
        differ) and ``num_pixels``; with ``score`` also ``pytorch`` and
        ``onnx`` metrics (``mIoU``, ``IoU.<class>``, ...).
    """
    wrapper = DeployWrapper(model, spec.label_size, graph_output).eval()
    to_inputs = DeployInputs(cfg, spec)
    evaluators = _evaluators(cfg) if score else None
    max_diff, max_abs, mismatch, pixels, n = 0.0, 0.0, 0, 0, 0
    for data_batch in iter_batches(cfg, 'test', batch_size, limit):
        inputs, samples = to_inputs(data_batch)
        with torch.no_grad():
            ref = wrapper(inputs)
        out = torch.from_numpy(run_padded(session, inputs.numpy()))
        if graph_output != 'labels':
            max_diff = max(max_diff, float((out - ref).abs().max()))
            max_abs = max(max_abs, float(ref.abs().max()))
        ref_pred = predictions_from_output(
            model, ref, copy.deepcopy(samples), graph_output)
        onnx_pred = predictions_from_output(
            model, out, copy.deepcopy(samples), graph_output)
        for a, b in zip(ref_pred, onnx_pred):
            pa, pb = a.pred_sem_seg.data, b.pred_sem_seg.data
            mismatch += int((pa != pb).sum())
            pixels += pa.numel()
        if evaluators is not None:
            evaluators['pytorch'].process(ref_pred, data_batch)
            evaluators['onnx'].process(onnx_pred, data_batch)
        n += len(samples)
        if progress is not None:
            progress(n)
    result: Dict[str, object] = dict(
        num_images=n,
        max_abs_diff=max_diff if graph_output != 'labels' else None,
        max_abs_logit=max_abs if graph_output != 'labels' else None,
        label_mismatch_pixels=mismatch,
        num_pixels=pixels)
    if evaluators is not None:
        for name, evaluator in evaluators.items():
            result[name] = _quiet_evaluate(evaluator, n)
    return result


def _evaluators(cfg: Config) -> Dict[str, object]:
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DATASETS
    meta = DATASETS.build(cfg.test_dataloader.dataset).metainfo
    out = {}
    for name in ('pytorch', 'onnx'):
        evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
        evaluator.dataset_meta = meta
        out[name] = evaluator
    return out


def _quiet_evaluate(evaluator, size: int) -> Dict[str, float]:
    """``evaluator.evaluate(size)`` without mmseg's logged IoU table (the
    caller prints its own side-by-side one)."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return {k: float(v) for k, v in evaluator.evaluate(size).items()}
    finally:
        logger.setLevel(level)


def calibration_inputs(cfg: Config, spec: DeploySpec, num_images: int,
                       batch_size: int) -> List[np.ndarray]:
    """The first ``num_images`` *train* images as the network's inputs, in
    batches of the graph's batch size (for int8 calibration: never the
    test split that scores the result)."""
    to_inputs = DeployInputs(cfg, spec)
    batches = []
    for data_batch in iter_batches(cfg, 'train', batch_size, num_images):
        inputs, _ = to_inputs(data_batch)
        arr = inputs.numpy().astype(np.float32)
        if len(arr) < batch_size:  # a static graph takes full batches only
            break
        batches.append(arr)
    if not batches:
        raise ValueError(f'{num_images} calibration images make no full '
                         f'batch of {batch_size}.')
    return batches
