"""FLOPs and parameter counts of a config's model at its real input size."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, ConfigDict
from mmengine.registry import DATASETS, MODELS, init_default_scope


def test_input_shape(cfg: Config) -> Tuple[int, int, int]:
    """``(C, H, W)`` that the config's test pipeline feeds the model.

    Runs the test pipeline on the first test sample, so an LR config reports
    its LR size (e.g. 64x64 for x0.5 of 128x128) without being told.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    inputs = dataset[0]['inputs']
    return tuple(inputs.shape)  # type: ignore[return-value]


def count(model_cfg: ConfigDict, input_shape: Sequence[int]) -> dict:
    """FLOPs (one multiply-add = one FLOP, fvcore/MMEngine convention) and
    parameters of a segmentor's tensor forward for one image (backbone,
    neck, decode head; not the final resize to the label size)."""
    model = MODELS.build(model_cfg)
    model.eval()
    data = model.data_preprocessor(
        dict(inputs=[torch.zeros(tuple(input_shape), dtype=torch.uint8)]),
        False)
    with torch.no_grad():
        info = get_model_complexity_info(
            model,
            inputs=(data['inputs'], None, 'tensor'),
            show_table=False,
            show_arch=False)
    return dict(
        flops=float(info['flops']),
        params=int(info['params']),
        input_shape=tuple(input_shape))


def is_distiller(cfg: Config) -> bool:
    """Whether the config's model is a distiller: its class (asked of the
    registry, in the config's scope) is a ``ResolutionAwareDistiller`` or a
    subclass, whatever name it is registered under."""
    from mmengine.registry import DefaultScope

    from rkd_mm.models.algorithms import ResolutionAwareDistiller
    model_type = cfg.model.get('type')
    if isinstance(model_type, type):  # a class in a pure-Python config
        cls = model_type
    else:
        scope = cfg.get('default_scope', 'mmseg')
        with DefaultScope.overwrite_default_scope(scope):
            cls = MODELS.get(model_type)
    return isinstance(cls, type) and issubclass(cls,
                                                ResolutionAwareDistiller)


def model_complexity(cfg: Config,
                     shape: Optional[Sequence[int]] = None) -> dict:
    """Cost of the model a config deploys, for one image.

    For a distiller config that is the student at its LR input (the HR test
    size times ``test_scale_factor``); the teacher is not deployed.

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
    """Teacher at its input (HR, or ``teacher_scale_factor``) and student
    at LR of a distiller config."""
    from rkd_mm.datasets.transforms import lr_size
    from rkd_mm.models.algorithms.resolution_aware_distiller import \
        resolve_model_cfg
    hr = _input_shape(cfg, shape)
    scale = cfg.model.get('test_scale_factor') or cfg.model.scale_factor
    if isinstance(scale, (list, tuple)):
        raise ValueError('A multi-resolution distiller needs '
                         'model.test_scale_factor to report one cost.')
    teacher_cfg, _ = resolve_model_cfg(cfg.model.teacher, 'teacher')
    student_cfg, _ = resolve_model_cfg(cfg.model.student, 'student')
    lr = (hr[0], ) + lr_size(hr[1:], scale)
    # a teacher assistant sees its own LR view
    t_scale = cfg.model.get('teacher_scale_factor')
    t_in = hr if t_scale is None else (hr[0], ) + lr_size(hr[1:], t_scale)
    return dict(teacher=count(teacher_cfg, t_in),
                student=count(student_cfg, lr))
