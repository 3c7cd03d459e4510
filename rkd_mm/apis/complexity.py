"""FLOPs and parameter counts of a config's model at its real input size."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, ConfigDict
from mmengine.registry import DATASETS, MODELS, init_default_scope

from .model_config import is_distiller, resolved_model_cfg

__all__ = ['test_input_shape', 'count', 'model_complexity',
           'distiller_complexity', 'is_distiller']


def test_input_shape(cfg: Config) -> Tuple[int, int, int]:
    """``(C, H, W)`` that the config's test pipeline gives (the HR image;
    an LR model makes its LR view from it in its data preprocessor).

    Runs the test pipeline on the first test sample.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    inputs = dataset[0]['inputs']
    return tuple(inputs.shape)  # type: ignore[return-value]


def count(model_cfg: ConfigDict, input_shape: Sequence[int],
          network_input: bool = False) -> dict:
    """FLOPs (one multiply-add = one FLOP, fvcore/MMEngine convention) and
    parameters of a model's tensor forward for one image (a segmentor's
    backbone, neck, decode head, not the final resize to the label size; a
    classifier's backbone, neck, head).

    The image of ``input_shape`` goes through the model's own data
    preprocessor first, so an LR model (LR data preprocessor) is counted at
    its LR view; ``input_shape`` of the result is what the network sees.
    With ``network_input=True`` ``input_shape`` already is that (the
    preprocessor is skipped).
    """
    model = MODELS.build(model_cfg)
    model.eval()
    if network_input:
        data = dict(inputs=torch.zeros((1, ) + tuple(input_shape)))
    else:
        data = model.data_preprocessor(
            dict(inputs=[torch.zeros(tuple(input_shape),
                                     dtype=torch.uint8)]), False)
    with torch.no_grad():
        info = get_model_complexity_info(
            model,
            inputs=(data['inputs'], None, 'tensor'),
            show_table=False,
            show_arch=False)
    return dict(
        flops=float(info['flops']),
        params=int(info['params']),
        input_shape=tuple(int(s) for s in data['inputs'].shape[1:]))


def model_complexity(cfg: Config,
                     shape: Optional[Sequence[int]] = None) -> dict:
    """Cost of the model a config deploys, for one image.

    For a distiller config that is the student at its LR view (its data
    preprocessor's ``test_scale_factor`` of the HR test size); the teacher
    is not deployed.

    Args:
        cfg: A full config (model + test data).
        shape: HR ``(H, W)`` to use instead of the test pipeline's size.

    Returns:
        dict: ``flops`` (float), ``params`` (int), ``input_shape`` (C, H, W).
    """
    return distiller_complexity(cfg, shape)['student'] if is_distiller(cfg) \
        else count(cfg.model, _input_shape(cfg, shape))


def _input_shape(cfg: Config, shape: Optional[Sequence[int]]):
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if shape is None:
        return test_input_shape(cfg)
    return (3, ) + tuple(int(s) for s in shape)


def distiller_complexity(cfg: Config,
                         shape: Optional[Sequence[int]] = None
                         ) -> Dict[str, dict]:
    """Teacher and student of a distiller config, each at its own view of
    the HR test image (their data preprocessors make the LR views: the
    student's test scale, a teacher assistant's own scale)."""
    hr = _input_shape(cfg, shape)
    return dict(teacher=count(resolved_model_cfg(cfg, 'teacher'), hr),
                student=count(resolved_model_cfg(cfg, 'student'), hr))
