"""int8 quantization of an exported model with onnxruntime.

Static quantization (QDQ format, int8 weights per output channel, uint8
activations, ranges calibrated on train images) is what these networks
gain from: onnxruntime then runs its integer convolution kernels, ~2-3x
faster than fp32 here on CPUs with AVX-512 VNNI, and the weights take a
quarter of the memory, which matters for the x0.25 student whose batch-1
forward is dominated by reading its 15 M weights. *Dynamic* quantization
(``quantize_dynamic``, no calibration) turns each convolution into
``ConvInteger`` plus runtime activation quantization, which was 3-5x
*slower* than fp32 here (docs/benchmarks.md), so it is not offered.

A quantized model's accuracy is its own: score it on the test split
(``pytorch2onnx.py ... --int8 --test-miou``) before deploying it.
"""
import os.path as osp
import tempfile
from typing import Iterable, List

import numpy as np

from .export import INPUT_NAME


def quantize_int8(fp32_path: str, out: str,
                  calibration: Iterable[np.ndarray],
                  per_channel: bool = True) -> str:
    """Statically quantize ``fp32_path`` to int8 (QDQ) into ``out``.

    Args:
        fp32_path: The fp32 ``.onnx`` file.
        out: Output path.
        calibration: Input batches (float32, the graph's batch size) whose
            activation ranges (min/max) set the quantization scales.
        per_channel: One weight scale per output channel (more accurate,
            as fast).

    Returns:
        str: ``out``.
    """
    from onnxruntime.quantization import (CalibrationDataReader,
                                          QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):

        def __init__(self, batches: List[np.ndarray]) -> None:
            self.batches = iter(batches)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    batches = [np.ascontiguousarray(b, dtype=np.float32)
               for b in calibration]
    if not batches:
        raise ValueError('int8 calibration needs at least one batch.')
    with tempfile.TemporaryDirectory() as tmp:
        # shape inference + graph clean-up first, as onnxruntime advises
        pre = osp.join(tmp, 'preprocessed.onnx')
        quant_pre_process(fp32_path, pre)
        quantize_static(
            pre, out, Reader(batches),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8)
    return out
