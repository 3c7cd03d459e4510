"""Deploy the student: ONNX export, onnxruntime inference and latency.

``onnx`` and ``onnxruntime`` come with ``pip install -e ".[deploy]"``; they
are imported only when a function needs them. See docs/deployment.md.
"""
from .benchmark import benchmark_config_onnxruntime
from .export import (GRAPH_OUTPUTS, CheckpointMismatchError, DeploySpec,
                     DeployWrapper, build_deployed_model, deploy_spec,
                     export_graph, export_onnx,
                     read_metadata, spec_dict)
from .quantize import quantize_int8
from .runtime import (OrtSettings, import_onnxruntime, make_session,
                      preprocess_image, run_session)
from .verify import (DeployInputs, calibration_inputs, compare_with_pytorch,
                     iter_batches, predictions_from_output, run_padded)

__all__ = [
    'GRAPH_OUTPUTS', 'CheckpointMismatchError', 'DeployInputs',
    'DeploySpec', 'DeployWrapper', 'OrtSettings',
    'benchmark_config_onnxruntime', 'build_deployed_model',
    'calibration_inputs', 'compare_with_pytorch', 'deploy_spec',
    'export_graph', 'export_onnx', 'import_onnxruntime', 'iter_batches',
    'make_session', 'predictions_from_output',
    'preprocess_image', 'quantize_int8', 'read_metadata',
    'run_padded', 'run_session', 'spec_dict'
]
